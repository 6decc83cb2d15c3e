"""Elle's own test expectations, as cases this checker is held to (tests/checkers/
test_elle_agreement.py), and the tally: `.venv/bin/python tests/checkers/elle_agreement.py`.

Each case is one assertion of jepsen-io/elle's test namespaces (test/elle/
rw_register_test.clj, list_append_test.clj, consistency_model_test.clj, at commit ccdee6f):
the history it builds, re-written here op for op in Elle's own shape (EDN op maps, often
without :f, :process or an invoke, reads written [:r :x]) and read through this project's
EDN reader, the options it passes, and what it expects. The histories are Elle's test
inputs transcribed, not Elle's code; each case names the test it comes from.

What is compared, per kind of case:
- "check": the verdict (:valid?), the anomalies Elle reports (:anomaly-types: those the
  models or anomalies asked for prohibit, plus empty-transaction-graph) and, when the test
  states it, :not (the weakest models ruled out), as the set of models offered here that
  imply one of them. Elle's item anomalies take this checker's names (G-single-item is
  G-single here: every dependency here is on an item).
- "graph": the dependency graph's edges (Elle's analyzers' unit tests).
- "finds": whether an anomaly of the given kinds is found (Elle's case finders).
- "versions": a register key's version order from one source.
- "models": the consistency-model table's answers, over the models offered here.

A case Elle's tests assert that cannot be compared says why (`skip`): an Elle feature this
checker does not have, or a test of Elle's internals with no counterpart. A case that is
compared but comes out differently says why (`differs`), and the test checks that it
still differs that way.

garbage-read (a read of a value nobody wrote) is this checker's own anomaly: Elle's
rw-register takes such a value for "probably an initial state", and its tests use
unwritten values that way. Cases are compared with garbage-read set aside and say so.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository
sys.path.insert(0, str(Path(__file__).resolve().parent))  # elle_cases, as pytest imports it

from checkers.elle import check_txn_history  # noqa: E402
from checkers.elle import consistency as cm  # noqa: E402
from checkers.elle.deps import DATA, build_graph  # noqa: E402
from checkers.elle.infer import build_index  # noqa: E402
from checkers.elle.registers import RegisterOptions  # noqa: E402
from checkers.elle.txns import txns_from_events  # noqa: E402
from checkers.history.importers import read_edn  # noqa: E402

RW_TEST = "rw_register_test.clj"
LA_TEST = "list_append_test.clj"
CM_TEST = "consistency_model_test.clj"

# This checker's own anomalies, set aside when comparing (see the module's docstring).
EXTENSIONS = ("garbage-read",)

# Elle's item anomalies under this checker's names.
_ITEM = {"G-single-item": "G-single", "G-nonadjacent-item": "G-nonadjacent"}
ELLE_NAME = {e + v: o + v for e, o in _ITEM.items() for v in ("", "-process", "-realtime")} | {
    "strong-serializable": "strict-serializable"
}

# The models offered here that imply (are at least as strong as) each Elle model a test
# names in :not, after Elle's `models` graph: ruling that model out rules these out.
_SI_AND_UP = {
    "snapshot-isolation",
    "strong-session-snapshot-isolation",
    "serializable",
    "strong-session-serializable",
    "strict-serializable",
}
_RR_AND_UP = {
    "repeatable-read",
    "serializable",
    "strong-session-serializable",
    "strict-serializable",
}
IMPLYING: dict[str, set[str]] = {
    "read-uncommitted": set(cm.MODELS),
    "read-committed": set(cm.MODELS) - {"read-uncommitted"},
    "repeatable-read": _RR_AND_UP,
    "cursor-stability": _RR_AND_UP | _SI_AND_UP,  # repeatable read, and SI via consistent view
    "update-atomic": _SI_AND_UP,  # SI -> parallel SI -> update atomic
    "read-atomic": _SI_AND_UP,  # SI -> prefix -> causal (Cerone) -> read atomic
    "consistent-view": _SI_AND_UP,  # SI -> forward consistent view -> consistent view
    "forward-consistent-view": _SI_AND_UP,
    "monotonic-atomic-view": _SI_AND_UP | _RR_AND_UP,
    "monotonic-view": _SI_AND_UP,
    "monotonic-snapshot-read": _SI_AND_UP,
    "causal-cerone": _SI_AND_UP,
    "parallel-snapshot-isolation": _SI_AND_UP,
    "prefix": _SI_AND_UP,
    "snapshot-isolation": _SI_AND_UP,
    "serializable": {"serializable", "strong-session-serializable", "strict-serializable"},
    "update-serializable": {"serializable", "strong-session-serializable", "strict-serializable"},
    "strong-session-snapshot-isolation": {
        "strong-session-snapshot-isolation",
        "strong-session-serializable",
        "strict-serializable",
    },
    "strong-session-read-committed": {
        "strong-session-snapshot-isolation",
        "strong-session-serializable",
        "strict-serializable",
    },
    "strong-session-read-uncommitted": {
        "strong-session-snapshot-isolation",
        "strong-session-serializable",
        "strict-serializable",
    },
    "strong-session-serializable": {"strong-session-serializable", "strict-serializable"},
    "strong-snapshot-isolation": {"strict-serializable"},
    "strong-read-committed": {"strict-serializable"},
    "strong-read-uncommitted": {"strict-serializable"},
    "strong-serializable": {"strict-serializable"},
}


@dataclass
class Case:
    test: str  # Elle's file, deftest and testing string
    kind: str = "check"  # check | graph | cycle | finds | versions | models
    ops: list[dict[str, Any]] = field(default_factory=list)  # Elle's op maps
    opts: dict[str, Any] = field(default_factory=dict)  # Elle's checker options
    valid: Any = None  # Elle's :valid? (True, False, "unknown"); None: not asserted
    types: tuple[str, ...] | None = ()  # Elle's :anomaly-types; None: not asserted
    not_: tuple[str, ...] | None = None  # Elle's :not, when the test states it
    also_not: tuple[str, ...] | None = None  # Elle's :also-not, when stated
    graph: dict[int, set[int]] | None = None  # "graph": txn -> successors (txn positions)
    rels: int = DATA  # "graph": which relations
    only: tuple[str, ...] = ()  # "finds": the kinds looked at
    count: int | None = None  # "finds": how many cases Elle lists
    versions: dict[Any, dict[Any, set[Any]]] | None = None  # "versions": key -> v -> after
    source: str = ""  # "versions": the source compared
    models: Any = None  # "models": a function returning (ours, Elle's)
    skip: str | None = None  # not comparable: why
    differs: str | None = None  # compared, and comes out differently: why
    error: bool = False  # Elle refuses the history
    says: str = ""  # ... and says this (the refusal's reason holds it)


# --- Elle's op shapes ----------------------------------------------------------------------


def rw(s: str, process: Any = 0, type: str = "ok") -> dict[str, Any]:
    """rw_register_test's `op`: "wx1ry_" is [[:w :x 1] [:r :y nil]]; no :f."""
    mops: list[list[Any]] = []
    for c in s:
        if c in "wr":
            mops.append([c])
        elif c in "xyz":
            mops[-1].append(c)
        else:
            mops[-1].append(None if c == "_" else int(c))
    return {"process": process, "type": type, "value": mops}


def la(s: str, process: Any = 0, type: str = "ok") -> dict[str, Any]:
    """list_append_test's `op`: "ax1ry12" is [[:append :x 1] [:r :y [1 2]]]; "rx" is a
    read written [:r :x]."""
    mops: list[list[Any]] = []
    for c in s:
        if c == "a":
            mops.append(["append"])
        elif c == "r":
            mops.append(["r"])
        elif c in "xyztu":
            mops[-1].append(c)
        elif mops[-1][0] == "append":
            mops[-1].append(int(c))
        elif len(mops[-1]) == 2:
            mops[-1].append([int(c)])
        else:
            mops[-1][2].append(int(c))
    return {"time": 0, "process": process, "type": type, "f": "txn", "value": mops}


def fail(op: dict[str, Any]) -> dict[str, Any]:
    return {**op, "type": "fail"}


def pair(op: dict[str, Any]) -> list[dict[str, Any]]:
    """Elle's `pair`: the invoke (reads not done yet) and the completion."""
    asked = [[m[0], m[1], None] if m[0] == "r" else m for m in op["value"]]
    return [{**op, "type": "invoke", "value": asked}, op]


def edn(v: Any) -> str:
    """Elle's test data as EDN: every string is a keyword there."""
    if v is None:
        return "nil"
    if v is True or v is False:
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return ":" + v
    if isinstance(v, list | tuple):
        return "[" + " ".join(edn(x) for x in v) + "]"
    return "{" + ", ".join(f":{k} {edn(x)}" for k, x in v.items()) + "}"


# --- running a case --------------------------------------------------------------------------


def _events(case: Case) -> list[Any]:
    text = "\n".join(edn(op) for op in case.ops) + "\n"
    return read_edn("<elle case>", text).events


def _registers(opts: dict[str, Any]) -> RegisterOptions:
    return RegisterOptions(
        opts.get("wfr-keys?", False),
        opts.get("sequential-keys?", False),
        opts.get("linearizable-keys?", False),
    )


def _consistency(opts: dict[str, Any]) -> tuple[str, ...] | None:
    models = opts.get("consistency-models", ["strict-serializable"])
    if models is None:
        return None
    return tuple(ELLE_NAME.get(m, m) for m in models)


def _ruled(not_: tuple[str, ...], also_not: tuple[str, ...] | None = None) -> set[str]:
    return set().union(*(IMPLYING[m] for m in (*not_, *(also_not or ()))))


@dataclass
class Outcome:
    agrees: bool
    ours: str  # what this checker says
    elle: str  # what Elle's test expects
    extensions: tuple[str, ...] = ()  # garbage-read etc. found and set aside


_RAN: dict[int, Outcome] = {}  # case id -> its outcome: the tally reuses the tests' runs


def run(case: Case) -> Outcome:
    from checkers.history import HistoryError

    if id(case) not in _RAN:
        try:
            _RAN[id(case)] = _run(case)
        except HistoryError as exc:
            _RAN[id(case)] = Outcome(False, f"bad input: {exc}", "a history Elle reads")
    return _RAN[id(case)]


def _run(case: Case) -> Outcome:
    return {
        "check": _run_check,
        "graph": _run_graph,
        "cycle": _run_cycle,
        "finds": _run_finds,
        "versions": _run_versions,
        "models": _run_models,
    }[case.kind](case)


def _run_check(case: Case) -> Outcome:
    opts = case.opts
    anomalies = tuple(ELLE_NAME.get(a, a) for a in opts.get("anomalies", ()))
    r = check_txn_history(
        _events(case),
        _consistency(opts),
        "<elle case>",
        registers=_registers(opts),
        anomalies=anomalies,
        lone_completions=True,
    )
    elle = f"valid {case.valid}, {sorted(case.types or ())}" + (
        f", not {sorted(case.not_)}" if case.not_ is not None else ""
    )
    if case.error:
        ok = r.valid == "unknown" and case.says in (r.reason or "") and not r.anomalies
        return Outcome(ok, f"valid {r.valid}: {r.reason}", f"refused, saying {case.says}")
    ext = tuple(a for a in r.anomalies if a in EXTENSIONS)
    found = [a for a in r.anomalies if a not in EXTENSIONS]
    bad = [a for a in r.prohibited if a not in EXTENSIONS]
    valid: Any = False if bad else ("unknown" if r.empty_graph else True)
    types = set(bad) | ({cm.EMPTY_GRAPH} if r.empty_graph else set())
    ours = f"valid {valid}, {sorted(types)}"
    agrees = case.valid is None or valid == case.valid
    if case.types is not None:
        agrees &= types == {ELLE_NAME.get(t, t) for t in case.types}
    if case.not_ is not None:
        ruled = set(cm.ruled_out(found))
        ours += f", rules out {sorted(ruled)}"
        agrees &= ruled == _ruled(case.not_, case.also_not)
    return Outcome(agrees, ours, elle, ext)


def _index(case: Case) -> Any:
    txns = txns_from_events(_events(case), "<elle case>", lone_completions=True)
    return build_index(txns, "<elle case>", _registers(case.opts))


def _run_graph(case: Case) -> Outcome:
    from checkers.elle.infer import Uncheckable

    try:
        ix = _index(case)
    except Uncheckable as exc:
        return Outcome(case.error, f"refused: {exc}", "refused" if case.error else str(case.graph))
    g = build_graph(ix)
    edges = {a: {b for b, r in succ.items() if r & case.rels} for a, succ in enumerate(g)}
    edges = {a: bs for a, bs in edges.items() if bs}
    expected = {a: bs for a, bs in (case.graph or {}).items() if bs}
    return Outcome(edges == expected and not case.error, str(edges), str(expected))


def _run_cycle(case: Case) -> Outcome:
    """Elle's analyzer unit tests (elle.core/check with one analyzer): valid iff the
    graph of those relations has no cycle."""
    from checkers.elle.cycles import components
    from checkers.elle.infer import Uncheckable

    try:
        g = build_graph(_index(case))
    except Uncheckable as exc:
        return Outcome(False, f"refused: {exc}", f"valid {case.valid}")
    projected = [{b: r for b, r in succ.items() if r & case.rels} for succ in g]
    valid = not components(projected)
    return Outcome(valid == case.valid, f"valid {valid}", f"valid {case.valid}")


def _run_finds(case: Case) -> Outcome:
    r = check_txn_history(
        _events(case),
        None,
        "<elle case>",
        registers=_registers(case.opts),
        anomalies=("G0",),
        lone_completions=True,
    )
    found = {a for a in r.anomalies if a in case.only}
    expected = set(case.types or ())
    agrees = found == expected
    if case.count is not None:
        agrees &= sum(r.counts.get(a, 0) for a in case.only) == case.count
    return Outcome(agrees, f"{sorted(found)} {r.counts}", f"{sorted(expected)} x{case.count}")


def _run_versions(case: Case) -> Outcome:
    ix = _index(case)
    regs = ix.registers
    got: dict[Any, dict[Any, set[Any]]] = {}
    for k, vk in regs.versions.items():
        for v1, after in vk.items():
            for v2 in after:
                if regs.source_of(k, v1, v2) == case.source:
                    got.setdefault(k, {}).setdefault(v1, set()).add(v2)
    expected = {k: {v: s for v, s in vs.items() if s} for k, vs in (case.versions or {}).items()}
    expected = {k: vs for k, vs in expected.items() if vs}
    return Outcome(got == expected, str(got), str(expected))


def _run_models(case: Case) -> Outcome:
    ours, elle = case.models()
    return Outcome(ours == elle, str(ours), str(elle))


# --- the tally ----------------------------------------------------------------------------


def tally(cases: list[Case]) -> dict[str, Any]:
    out: dict[str, Any] = {"asserted": len(cases), "agree": 0, "differ": [], "skipped": []}
    out["with-extensions"] = 0
    for c in cases:
        if c.skip:
            out["skipped"].append((c.test, c.skip))
            continue
        o = run(c)
        if o.agrees:
            out["agree"] += 1
            out["with-extensions"] += bool(o.extensions)
        else:
            out["differ"].append((c.test, c.differs or "UNEXPLAINED", o.ours, o.elle))
    return out


def main() -> int:
    from elle_cases import CASES

    t = tally(CASES)
    compared = t["asserted"] - len(t["skipped"])
    print(
        f"Elle's test assertions: {t['asserted']}; compared {compared}: {t['agree']} agree "
        f"({t['with-extensions']} of them once garbage-read is set aside), "
        f"{len(t['differ'])} differ; {len(t['skipped'])} not comparable"
    )
    for test, why, ours, elle in t["differ"]:
        print(f"  differs: {test}\n    why: {why}\n    ours: {ours}\n    Elle: {elle}")
    reasons: dict[str, list[str]] = {}
    for test, why in t["skipped"]:
        reasons.setdefault(why, []).append(test)
    for why, tests in reasons.items():
        print(f"  not comparable ({len(tests)}): {why}")
        for test in tests:
            print(f"    {test}")
    return 1 if any(why == "UNEXPLAINED" for _, why, _, _ in t["differ"]) else 0


if __name__ == "__main__":
    sys.exit(main())
