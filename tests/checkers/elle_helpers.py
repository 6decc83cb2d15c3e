"""Building small txn histories for the Elle checker's tests."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from checkers.history import Event

# a txn: (process, micro-ops as completed, status); reads hold what they saw
TxnSpec = tuple[Any, list[list[Any]], str]


def asked(mops: list[list[Any]]) -> list[list[Any]]:
    """The invoke's micro-ops: reads not done yet."""
    return [[f, k, None if f == "r" else v] for f, k, v in mops]


def events_of(order: list[tuple[str, int]], txns: list[TxnSpec]) -> list[Event]:
    """Events in the given order of ("invoke" | "end", txn number); an info txn's end is
    an info completion, a fail's a fail."""
    out = []
    for kind, i in order:
        p, mops, status = txns[i]
        typ = "invoke" if kind == "invoke" else status
        value = mops if typ == "ok" else asked(mops)
        out.append(Event(len(out), len(out) * 10, p, typ, "txn", value, line=len(out) + 1))
    return out


def serial(*txns: TxnSpec) -> list[Event]:
    """Each txn invoked and completed before the next: real time orders them all."""
    order = [(kind, i) for i in range(len(txns)) for kind in ("invoke", "end")]
    return events_of(order, list(txns))


def concurrent(*txns: TxnSpec) -> list[Event]:
    """Every txn invoked before any completes: no real-time order between them."""
    order = [("invoke", i) for i in range(len(txns))] + [("end", i) for i in range(len(txns))]
    return events_of(order, list(txns))


def ok(p: Any, *mops: list[Any]) -> TxnSpec:
    return (p, list(mops), "ok")


def failed(p: Any, *mops: list[Any]) -> TxnSpec:
    return (p, list(mops), "fail")


def info(p: Any, *mops: list[Any]) -> TxnSpec:
    return (p, list(mops), "info")


def join(*parts: list[Event]) -> list[Event]:
    """Histories one after another (each part's txns complete before the next's begin)."""
    events = [e for part in parts for e in part]
    return [replace(e, index=i, time=i * 10, line=i + 1) for i, e in enumerate(events)]
