"""Transactions as the Elle checker sees them: one per txn invoke, with the micro-ops that
happened (an ok completion's, which hold what the reads saw) or were asked for (the
invoke's, for fail and info: their reads saw nothing we know).

A txn's `value` is a list of micro-ops [f, key, v] (docs/DESIGN.md "History"); the JSONL
reader checks their shape, other readers (EDN) do not, so this module checks again, and
that a completion's micro-ops are its invoke's; HistoryError names the file and line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from checkers.history import NEMESIS, Event, HistoryError, Op, pair_events, txn_problem

TXN = "txn"


@dataclass(slots=True)
class Txn:
    id: int  # position in the checker's list: the graph's node
    index: int  # the invoke event's index (what a person finds in the file)
    process: Any
    status: str  # ok | fail | info
    call: int  # event positions: the real-time order
    ret: int | None  # None: info (may take effect any time after its invoke, or never)
    line: int
    ret_index: int | None  # the completion event's index
    mops: list[list[Any]]  # [f, key, v]: the history's own lists

    def name(self) -> str:
        who = "no process" if self.process is None else f"process {self.process}"
        return f"op {self.index} ({who}, line {self.line})"


def txns_from_events(
    events: Iterable[Event],
    file: str = "<history>",
    validated: bool = False,
    lone_completions: bool = False,
) -> list[Txn]:
    """The txn operations, in invoke order; other operations are left out. Raises
    HistoryError (file:line) on a malformed micro-op. `validated`: the events come from
    the JSONL reader, which has checked every micro-op's shape already.
    `lone_completions`: a completion without an invoke is a txn invoked at an unknown time
    (as Elle reads its own histories; pair_events), not bad input."""
    events = list(events)
    if not validated:
        for ev in events:
            if ev.f == TXN and ev.process != NEMESIS:
                problem = txn_problem(ev.value, ev.type)
                if problem is not None:
                    raise HistoryError(file, ev.line, problem)
    return txns_from_ops(pair_events(events, file, lone_completions), file)


def txns_from_ops(ops: Iterable[Op], file: str = "<history>") -> list[Txn]:
    """As txns_from_events, from paired operations whose micro-ops are well formed."""
    out: list[Txn] = []
    for op in ops:
        if op.f == TXN:
            mops = _mops(op, file)
            out.append(
                Txn(
                    len(out),
                    op.index,
                    op.process,
                    op.status,
                    op.call,
                    op.ret,
                    op.line,
                    op.ret_index,
                    mops,
                )  # fmt: skip
            )
    return out


def _mops(op: Op, file: str) -> list[list[Any]]:
    """The micro-ops [f, key, v] that happened (ok) or were asked for."""
    if op.status != "ok":
        return op.value
    got = op.output
    if got is None:
        raise HistoryError(file, op.line, "expected the ok completion to list the micro-ops")
    # a completion holds the invoke's micro-ops, with what each read saw filled in
    # (compared as whole lists: one comparison in C instead of one per micro-op)
    if [m if m[0] != "r" else [m[0], m[1], None] for m in got] != op.value:
        raise HistoryError(
            file,
            op.line,
            f"the ok completion (event {op.ret_index}) lists other micro-ops than this invoke; "
            "expected the same [f, key] at each position, the same appended or written "
            "values, and reads null on the invoke",
        )
    return got
