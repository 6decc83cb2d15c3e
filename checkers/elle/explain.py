"""Explanations a person can check against the history: each cycle as one sentence per
edge, in Elle's words ("T1 < T2, because T1 did not observe T2's append of 8 to 255"),
and each other anomaly as one sentence. Edges carry only their relation; the facts behind
one (which key, which values) are found again from the indexes, as Elle's explainers do.
"""

from __future__ import annotations

import json
from typing import Any

from checkers.elle.deps import PROCESS, REALTIME, REL_NAMES, RW, WR, WW
from checkers.elle.infer import INIT, Case, Index
from checkers.elle.txns import Txn


def show(v: Any) -> str:
    if v is None:
        return "nil"
    if isinstance(v, list | tuple):
        return "[" + " ".join(show(e) for e in v) + "]"
    return json.dumps(v) if isinstance(v, str) else str(v)


def describe_txn(t: Txn) -> str:
    # a read of an ok txn shows what it saw (nil too); of another, nothing is known
    unknown = t.status != "ok"
    mops = ", ".join(f"{f} {show(k)}" + ("" if f == "r" and unknown else f" {show(v)}")
                     for f, k, v in t.mops)  # fmt: skip
    status = "" if t.status == "ok" else f" ({t.status})"
    return f"{t.name()}{status}: {mops}"


def txn_dict(t: Txn) -> dict[str, Any]:
    return {
        "index": t.index,
        "process": t.process,
        "line": t.line,
        "status": t.status,
        "value": [[f, k, v] for f, k, v in t.mops],
    }


def _prev(ix: Index, k: Any, v: Any) -> Any:
    """The version right before v's append in the key's order (an append nobody read:
    the last version read)."""
    order = ix.order.get(k, [])
    i = ix.position.get(k, {}).get(v)
    if i is None:
        return order[-1] if order else INIT
    return order[i - 1] if i else INIT


def _versions_read(t: Txn, k: Any, ix: Index) -> list[Any]:
    listed = k in ix.appended
    return [
        ((v[-1] if v else INIT) if listed else v) for f, key, v in t.mops if f == "r" and key == k
    ]


def edge_facts(ix: Index, a: int, b: int, rel: int, names: dict[int, str]) -> dict[str, Any]:
    """{"type", "key", ..., "text"} for the edge a -> b standing for `rel`."""
    ta, tb = ix.txns[a], ix.txns[b]
    na, nb = names[a], names[b]
    facts: dict[str, Any] = {"type": REL_NAMES[rel], "from": ta.index, "to": tb.index}
    why = ""
    if rel in (WW, WR, RW):
        found = _register_facts(ix, a, b, rel, na, nb)
        if found is not None:
            more, why = found
            facts.update(more)
            rel = 0  # explained
    if rel == WW:
        for f, k, v in tb.mops:
            prev = _prev(ix, k, v) if f == "append" else INIT
            if prev is not INIT and ix.writer[k].get(prev) == a:
                facts.update(key=k, value=prev, next=v)
                why = f"{nb} appended {show(v)} after {na} appended {show(prev)} to {show(k)}"
                break
    elif rel == WR:
        for f, k, v in tb.mops:
            last = (v[-1] if v else INIT) if f == "r" and k in ix.appended else v
            if f == "r" and last is not INIT and ix.writer.get(k, {}).get(last) == a:
                facts.update(key=k, value=last)
                why = (
                    f"{nb} observed {na}'s append of {show(last)} to {show(k)}"
                    if k in ix.appended
                    else f"{nb} read {show(k)} = {show(last)}, which {na} wrote"
                )
                break
    elif rel == RW:
        for f, k, v in tb.mops:
            if f != "append":
                continue
            prev = _prev(ix, k, v)
            if prev not in _versions_read(ta, k, ix):
                continue
            facts.update(key=k, value=prev, next=v)
            if prev is INIT:
                why = f"{na} observed the initial (empty) state of {show(k)}, which {nb} created by appending {show(v)}"  # noqa: E501
            else:
                why = f"{na} did not observe {nb}'s append of {show(v)} to {show(k)}"
            break
    elif rel == PROCESS:
        why = f"process {ta.process} ran {na} before {nb}"
    elif rel == REALTIME:
        why = f"{na} completed (index {ta.ret_index}) before {nb} was invoked (index {tb.index})"
    facts["text"] = f"{na} < {nb}, because {why or 'of a ' + facts['type'] + ' dependency'}"
    return facts


# Why a register version came after another, by the source that ordered them
# (registers.py); {a} and {b} are the two versions, {w} the txn that wrote {b}.
_ORDER_WHY = {
    "initial-state": "every key starts at nil",
    "wfr-keys": "{w} read {a} before it wrote {b}",
    "sequential-keys": "a process met {a} before {b}; each key is taken to be sequential",
    "linearizable-keys": "{a} was met by a txn that completed before one that met {b} "
    "began; each key is taken to be linearizable",
}


def _register_facts(
    ix: Index, a: int, b: int, rel: int, na: str, nb: str
) -> tuple[dict[str, Any], str] | None:
    """The key and versions behind an edge between register accesses, and the sentence."""
    regs = ix.registers
    if regs is None or not regs.keys:
        return None
    if rel == WR:
        writes, reads = regs.final[a] or {}, regs.first[b] or {}
        for k, v in reads.items():
            if v is not INIT and writes.get(k) == v:
                return {"key": k, "value": v}, f"{nb} read {show(k)} = {show(v)}, which {na} wrote"
        return None
    before = (regs.final[a] if rel == WW else regs.first[a]) or {}
    after = regs.final[b] or {}
    for k, v1 in before.items():
        v2 = after.get(k)
        if v2 is None or v2 not in regs.versions.get(k, {}).get(v1, ()):
            continue
        order = _ORDER_WHY[regs.source_of(k, v1, v2)].format(a=show(v1), b=show(v2), w=nb)
        if rel == WW:
            did = f"{na} set {show(k)} to {show(v1)}"
        elif v1 is INIT:
            did = f"{na} read {show(k)} = nil (its initial state)"
        else:
            did = f"{na} read {show(k)} = {show(v1)}"
        why = (
            f"{did}, and {nb} set it to {show(v2)}, which came later in the version order ({order})"
        )
        return {"key": k, "value": v1, "next": v2}, why
    return None


def cycle_dict(ix: Index, case: Case) -> dict[str, Any]:
    steps = case.facts["steps"]
    names = {a: f"T{i + 1}" for i, (a, _, _) in enumerate(steps)}
    edges = [edge_facts(ix, a, b, rel, names) for a, b, rel in steps]
    lines = ["Let:"]
    lines += [f"  {names[a]} = {describe_txn(ix.txns[a])}" for a, _, _ in steps]
    lines.append("Then:")
    for i, e in enumerate(edges):
        last = i == len(edges) - 1
        text = f"{e['text']} ({e['type']})"
        lines.append(f"  - However, {text}: a contradiction!" if last and i else f"  - {text}.")
    return {
        "type": case.name,
        "txns": [txn_dict(ix.txns[a]) for a, _, _ in steps],
        "steps": edges,
        "text": "\n".join(lines),
    }


def case_dict(ix: Index, case: Case) -> dict[str, Any]:
    if "steps" in case.facts:
        return cycle_dict(ix, case)
    ts = [ix.txns[i] for i in case.txns]
    return {
        "type": case.name,
        "txns": [txn_dict(t) for t in ts],
        **case.facts,
        "text": _sentence(ix, case, ts),
    }


def _sentence(ix: Index, case: Case, ts: list[Txn]) -> str:
    f = case.facts
    k = show(f.get("key"))
    names = [t.name() for t in ts]
    wrote = "appended" if f.get("key") in ix.appended else "wrote"
    match case.name:
        case "G1a":
            return f"{names[0]} read {show(f['element'])} in key {k}, which {names[1]} {wrote} and which failed"  # noqa: E501
        case "G1b":
            return (
                f"{names[0]} read key {k} at {show(f['element'])}, which {names[1]} {wrote} "
                f"and then overwrote itself: an intermediate version"
            )
        case "incompatible-order":
            a, b = f["values"]
            return f"reads of key {k} fit no single order of appends: {names[0]} read {show(a)}, {names[-1]} read {show(b)}"  # noqa: E501
        case "duplicate-elements":
            dups = ", ".join(show(e) for e in f["duplicates"])
            return f"{names[0]} read key {k} as {show(f['value'])}, with {dups} more than once"
        case "garbage-read":
            return f"{names[0]} read {show(f['element'])} in key {k}, which no txn {wrote}"
        case "internal":
            exp = show(f["expected"])
            if f.get("prefix_known") is False and f.get("key") in ix.appended:
                exp = "[... " + exp[1:] if f["expected"] else exp
            return f"{describe_txn(ts[0])}: its read of key {k} saw {show(f['read'])}, but its own earlier operations say {exp}"  # noqa: E501
        case "future-read":
            return f"{names[0]} read {show(f['element'])} in key {k} before it {wrote} it itself"
        case "dirty-update":
            vs = " ".join(show(v) for v in f["values"])
            return (
                f"key {k} went through [{vs}]: {names[0]} appended {show(f['values'][0])} and "
                f"failed, yet {names[-1]}, whose {show(f['values'][-1])} came after it with "
                "nothing committed between, committed: a write on top of an aborted one"
            )
        case "cyclic-versions":
            vs = ", ".join(show(v) for v in f["versions"])
            used = ", ".join(f["sources"][:-1]) or "nothing"
            return (
                f"the version orders of key {k} from {', '.join(f['sources'])} put its "
                f"versions {vs} in a cycle (each before another): {f['sources'][-1]}, the "
                f"last added, was set aside, and the graph uses {used}"
            )
        case "lost-update":
            version = "its initial state" if f["version"] is INIT else show(f["version"])
            if f.get("key") in ix.appended and f["version"] is not INIT:
                version = f"the version ending in {version}"
            return (
                f"{' and '.join(names)} read key {k} at {version} and then each {wrote} "
                f"to it: one of the writes was made from a stale read"
            )
    return f"{case.name}: {', '.join(names)}"
