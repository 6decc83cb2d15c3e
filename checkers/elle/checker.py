"""The Elle checker: a txn history against a consistency model.

Steps: txns from the history (txns.py); indexes, version orders and the anomalies that need
no graph (infer.py); the dependency graph (deps.py); its strongly connected components and
the shortest cycle of each kind in each (cycles.py); explanations (explain.py). The
verdict is invalid when an anomaly the model prohibits was found (consistency.py), and
names every model the anomalies rule out. Below, the plug-in (checkers/protocol.py): the
run checker `elle` and its part in `raftquake check` (list-append and rw-register, chosen
by the micro-ops, `--consistency`, the register version orders' options); its report
section is report.py's.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from checkers.elle import consistency as cm
from checkers.elle.cycles import components, cycles_in
from checkers.elle.deps import PROCESS, REALTIME, build_graph
from checkers.elle.explain import case_dict
from checkers.elle.infer import Case, Index, Uncheckable, build_index, check_txns_alone
from checkers.elle.registers import DEFAULT_OPTIONS, RegisterOptions
from checkers.elle.txns import Txn, txns_from_events
from checkers.history import Event, History, HistoryError, first_client_op
from checkers.protocol import (
    Checked,
    CheckSupport,
    HistoryChecker,
    HistoryResult,
    Page,
    Section,
    Valid,
    anomaly_verdict,
)


@dataclass
class ElleResult:
    valid: Valid
    consistency: str
    txns: int = 0
    keys: int = 0
    elapsed: float = 0.0
    anomalies: list[str] = field(default_factory=list)  # every anomaly found, worst first
    prohibited: list[str] = field(default_factory=list)  # those the model rules out
    ruled_out: list[str] = field(default_factory=list)  # the models the anomalies rule out
    counts: dict[str, int] = field(default_factory=dict)
    cases: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    reason: str | None = None  # why "unknown"
    model: str = "list-append"  # list-append, rw-register, or both (keys of each kind)
    sources: list[str] = field(default_factory=list)  # register version orders used
    empty_graph: bool = False  # Elle's empty-transaction-graph: no dependency at all

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "valid": self.valid,
            "checker": "elle",
            "model": self.model,
            "consistency": self.consistency,
            "txns": self.txns,
            "keys": self.keys,
            "elapsed": round(self.elapsed, 6),
            "anomalies": self.anomalies,
            "prohibited": self.prohibited,
            "not": self.ruled_out,
            "counts": self.counts,
            "cases": self.cases,
        }
        if self.sources:
            d["version-orders"] = self.sources
        if self.empty_graph:
            d[cm.EMPTY_GRAPH] = True
        if self.reason:
            d["reason"] = self.reason
        return d

    def to_text(self) -> str:
        """The explanation: each anomaly the model prohibits, its cases, then the rest."""
        if self.reason and not self.anomalies:
            return self.reason
        lines: list[str] = [self.reason] if self.reason else []
        if self.ruled_out:
            lines.append(f"ruled out: {', '.join(self.ruled_out)}")
        allowed = [a for a in self.anomalies if a not in self.prohibited]
        for name in [*self.prohibited, *allowed]:
            note = "" if name in self.prohibited else f", allowed by {self.consistency}"
            shown = len(self.cases.get(name, []))
            count = self.counts.get(name, shown)
            more = f", {shown} shown" if count > shown else ""
            lines.append(f"{name} ({count} found{more}{note}):")
            for case in self.cases.get(name, []):
                lines += ["  " + ln for ln in case["text"].split("\n")]
        return "\n".join(lines)


@contextmanager
def _no_gc() -> Iterator[None]:
    # hundreds of thousands of small objects, none cyclic: the collector would rescan
    # them again and again for nothing (pairing 100,000 txns took 5 times as long)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def check_txns(
    txns: list[Txn],
    consistency: str | tuple[str, ...] | None = cm.DEFAULT,
    file: str = "<history>",
    registers: RegisterOptions = DEFAULT_OPTIONS,
    anomalies: tuple[str, ...] = (),
) -> ElleResult:
    """The txns against consistency models and/or specific anomalies (Elle's
    :consistency-models and :anomalies: the verdict is invalid when an anomaly any of
    them prohibits, or one implying it, was found; `consistency` None: the anomalies
    alone).
    `registers`: which orders register keys' versions are inferred from."""
    model = _model(consistency, anomalies)
    if not txns:
        return ElleResult("unknown", model.name, reason="the history has no txn operations")
    with _no_gc():
        return _check(txns, model, file, registers)


def _model(consistency: str | tuple[str, ...] | None, anomalies: tuple[str, ...]) -> cm.Consistency:
    """One model standing for all of them (Elle takes several models and anomalies at
    once): what any prohibits, the orders any needs."""
    names = (consistency,) if isinstance(consistency, str) else consistency or ()
    parts = [cm.get_consistency(n) for n in names]
    if anomalies or not parts:
        parts.append(cm.requested(anomalies))
    if len(parts) == 1:
        return parts[0]
    return cm.Consistency(
        " and ".join(p.name for p in parts),
        frozenset().union(*(p.prohibits for p in parts)),
        any(p.process for p in parts),
        any(p.realtime for p in parts),
    )


def _check(
    txns: list[Txn], model: cm.Consistency, file: str, registers: RegisterOptions
) -> ElleResult:
    t0 = time.perf_counter()
    try:
        ix = build_index(txns, file, registers)
    except Uncheckable as exc:
        return ElleResult("unknown", model.name, len(txns), reason=str(exc))
    check_txns_alone(ix)
    g = build_graph(ix, model.process, model.realtime)
    empty = not any(g)  # Elle's empty-transaction-graph: no two txns could be related
    variants = (PROCESS if model.process else 0) | (REALTIME if model.realtime else 0)
    for scc in components(g):
        for name, steps in cycles_in(g, scc, variants):
            ix.add(Case(name, [a for a, _, _ in steps], {"steps": steps}))
    found = cm.order(ix.counts)
    bad = cm.prohibited(found, model)
    reason = None
    if not bad and empty:
        reason = (
            "no dependency between any two txns could be inferred (Elle's "
            "empty-transaction-graph): nothing to judge the model by"
        )
    return ElleResult(
        valid=False if bad else ("unknown" if reason else True),
        consistency=model.name,
        txns=len(txns),
        keys=len(ix.writer.keys() | ix.readers.keys()),
        elapsed=time.perf_counter() - t0,
        anomalies=found,
        prohibited=bad,
        ruled_out=cm.ruled_out(found),
        counts={a: ix.counts[a] for a in found},
        cases={a: [case_dict(ix, c) for c in ix.cases[a]] for a in found},
        reason=reason,
        model=_model_name(ix),
        empty_graph=empty,
        sources=ix.registers.used if ix.registers is not None and ix.registers.keys else [],
    )


def _model_name(ix: Index) -> str:
    registers = ix.registers is not None and bool(ix.registers.writer)
    if registers and ix.appended:
        return "list-append+rw-register"
    return "rw-register" if registers else "list-append"


def check_txn_history(
    events: Iterable[Event],
    consistency: str | tuple[str, ...] | None = cm.DEFAULT,
    file: str = "<history>",
    validated: bool = False,
    registers: RegisterOptions = DEFAULT_OPTIONS,
    anomalies: tuple[str, ...] = (),
    lone_completions: bool = False,
) -> ElleResult:
    """Entry point for the harness: events as read from a history file (`validated`: by
    the JSONL reader; `lone_completions`: a completion without an invoke is an op, as Elle
    reads its histories). Raises HistoryError on a malformed txn."""
    with _no_gc():
        txns = txns_from_events(events, file, validated, lone_completions)
        return check_txns(txns, consistency, file, registers, anomalies)


# ---- in `raftquake check` (checkers/protocol.py's CheckSupport) ----------------------


class ElleCheck:
    models: tuple[str, ...] = ("list-append", "rw-register")
    model_help = (
        "list-append, rw-register: txn histories checked by Elle's method (chosen by the "
        "micro-ops: append or w)"
    )
    fallback = False

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--consistency",
            default="strict-serializable",
            choices=list(cm.MODELS),
            help="with --model list-append or rw-register: the consistency model the txns "
            "must obey (default strict-serializable)",
        )
        parser.add_argument(
            "--wfr-keys",
            action=argparse.BooleanOptionalAction,
            default=True,
            help="rw-register: a txn's write of a key follows its read of it, ordering those "
            "two versions (Elle's :wfr-keys?; default on)",
        )
        parser.add_argument(
            "--sequential-keys",
            action="store_true",
            help="rw-register: assume each key sequentially consistent, ordering versions by "
            "each process's txns (Elle's :sequential-keys?)",
        )
        parser.add_argument(
            "--linearizable-keys",
            action="store_true",
            help="rw-register: assume each key linearizable, ordering versions by real time "
            "(Elle's :linearizable-keys?)",
        )

    def claims(self, history: History) -> str | None:
        """A txn history's model; but a txn of Knossos's :read/:write micro-ops is
        multi-register's (a linearizability model, checkers/linear/models.py)."""
        from checkers.history.importers import default_model

        first = first_client_op(history.events)
        if first is None or first.f != "txn" or default_model(history) == "multi-register":
            return None
        return _elle_model(history)

    def check(self, history: History, model: str, args: argparse.Namespace) -> Checked:
        path = history.file
        if model == "rw-register" and (line := _appends(history)) is not None:
            raise HistoryError(
                path,
                line,
                "--model rw-register: this txn appends (list-append's micro-op); expected "
                "only r and w micro-ops (--model list-append takes both)",
            )
        consistency = args.consistency
        r = check_txn_history(
            history.events,
            consistency,
            path,
            history.format == "jsonl",
            RegisterOptions(args.wfr_keys, args.sequential_keys, args.linearizable_keys),
            lone_completions=history.format != "jsonl",
        )
        what = f"{r.txns} txns, {r.keys} keys, model {r.model}, {r.elapsed:.3f} s"
        verdicts: dict[Any, str] = {True: consistency, False: f"NOT {consistency}"}
        verdict = verdicts.get(r.valid, "unknown")
        if r.anomalies:
            what += f"; found {', '.join(r.anomalies)}"
        return anomaly_verdict(path, verdict, what, r)


def _elle_model(history: History) -> str:
    """rw-register when the txns write registers (`w`) and append to nothing, else
    list-append (which also takes register keys beside its lists)."""
    writes = False
    for ev in history.events:
        if ev.f == "txn" and type(ev.value) is list:
            for m in ev.value:
                if type(m) is list and m and m[0] == "append":
                    return "list-append"
                writes = writes or (type(m) is list and bool(m) and m[0] == "w")
    return "rw-register" if writes else "list-append"


def _appends(history: History) -> int | None:
    """The line of the first append, or None."""
    for ev in history.events:
        if ev.f == "txn" and type(ev.value) is list:
            if any(type(m) is list and m and m[0] == "append" for m in ev.value):
                return ev.line
    return None


# ---- as a run checker (checkers/protocol.py) ----------------------------------------


class ElleChecker(HistoryChecker):
    """The run's txns (a list-append or rw-register workload) against strict
    serializability; register versions ordered by the initial state and writes following
    reads (the per-key orders assume what the run is testing)."""

    name = "elle"
    cli: CheckSupport | None = ElleCheck()
    consistency = cm.DEFAULT

    def judge(self, events: list[Event], path: str) -> HistoryResult:
        return check_txn_history(events, self.consistency, path, validated=True)

    def report_section(self, name: str, entry: dict[str, Any], page: Page) -> Section | None:
        from checkers.elle.report import section

        return section(name, entry, page)

    def summarize(self, entry: dict[str, Any]) -> str:
        s = f"{entry.get('txns', '?')} txns over {entry.get('keys', '?')} key(s)"
        if entry.get("model", "list-append") != "list-append":
            s += f" ({entry['model']})"
        s += f", {entry.get('consistency', '?')}"
        if entry.get("anomalies"):
            s += f"; found {', '.join(entry['anomalies'])}"
        return s


CHECKER = ElleChecker()
