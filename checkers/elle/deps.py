"""The dependency graph over txns: an edge a -> b says a must come before b.

Data dependencies (Adya's, inferred as in Elle): ww (b appended right after a's append in
the key's version order), wr (b read a version a wrote), rw (a read the version just
before b's append: it did not see b's write); for register keys the same over the
version orders registers.py infers. Plus, when the consistency model asks, each process's
own order and the real-time order.

Only ok txns and info ones take part (a failed txn did not happen); an info txn's reads
saw nothing we know, so it has no rw edges out, and it enters cycles only through its
visible writes. Edges are built per key from the indexes, never by comparing all pairs;
the graph is a list of dicts, node -> {successor: relation bits}.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from checkers.elle.infer import INIT, Index
from checkers.elle.registers import Registers

WW, WR, RW, PROCESS, REALTIME = 1, 2, 4, 8, 16
DATA = WW | WR | RW
REL_NAMES = {WW: "ww", WR: "wr", RW: "rw", PROCESS: "process", REALTIME: "realtime"}

Graph = list[dict[int, int]]


def build_graph(ix: Index, process: bool = False, realtime: bool = False) -> Graph:
    txns = ix.txns
    g: Graph = [{} for _ in txns]
    live = [t.status != "fail" for t in txns]
    for k, writers in ix.writer.items():
        if k in ix.appended:
            readers = ix.readers.get(k, {})
            _list_edges(g, live, ix.order.get(k, []), ix.position.get(k, {}), writers, readers)
    if ix.registers is not None:
        _register_edges(g, ix.registers)
    if process:
        _process_edges(g, ix)
    if realtime:
        _realtime_edges(g, ix)
    return g


def _link(g: Graph, a: int, b: int, rel: int) -> None:
    d = g[a]
    d[b] = d.get(b, 0) | rel


def _list_edges(
    g: Graph,
    live: list[bool],
    order: list[Any],
    position: dict[Any, int],
    writers: dict[Any, int],
    readers: dict[Any, list[int]],
) -> None:
    def follows(prev: Any, b: int) -> None:
        # b's append came right after version `prev`: its writer and its readers precede b
        a = writers.get(prev) if prev is not INIT else None
        if a is not None and a != b and live[a]:
            _link(g, a, b, WW)
        for r in readers.get(prev, ()):
            if r != b:
                _link(g, r, b, RW)

    prev: Any = INIT
    for v in order:
        b = writers.get(v)
        if b is not None and live[b]:
            follows(prev, b)
        prev = v
    # An append no read saw came after every version read (else the longest read would
    # hold it), so after the last one: Elle links it there too.
    for v, b in writers.items():
        if v not in position and live[b]:
            follows(prev, b)
    for last, rs in readers.items():
        a = writers.get(last) if last is not INIT else None
        if a is not None and live[a]:
            for r in rs:
                if r != a:
                    _link(g, a, r, WR)


def _register_edges(g: Graph, regs: Registers) -> None:
    """wr from each external read to the txn whose final write it saw; over each edge
    v -> v' of a key's version order, ww from v's writer and rw from v's readers to the
    writer of v' (failed txns are not in the indexes: they did not happen)."""
    for k, rk in regs.readers.items():
        for v, rs in rk.items():
            a = regs.writer_of(k, v)
            if a is not None:
                for r in rs:
                    if r != a:
                        _link(g, a, r, WR)
    for k, succ in regs.versions.items():
        rk = regs.readers.get(k, {})
        for v1, after in succ.items():
            a = regs.writer_of(k, v1)
            rs = rk.get(v1, ())
            for v2 in after:
                b = regs.writer_of(k, v2)
                if b is None:
                    continue
                if a is not None and a != b:
                    _link(g, a, b, WW)
                for r in rs:
                    if r != b:
                        _link(g, r, b, RW)


def _process_edges(g: Graph, ix: Index) -> None:
    last: dict[Any, int] = {}
    for t in ix.txns:  # in invoke order; a process runs one at a time
        if t.status == "fail" or t.process is None:  # None: an EDN op with no :process
            continue
        a = last.get(t.process)
        if a is not None:
            _link(g, a, t.id, PROCESS)
        last[t.process] = t.id


def _realtime_edges(g: Graph, ix: Index) -> None:
    """a -> b when a completed before b was invoked; only a transitive reduction of that
    order (Elle's sweep): an invoke is linked from the txns completed since the last
    completion that every one of them preceded."""
    points: list[tuple[int, int]] = []  # (event position, txn id; ~id for a completion)
    for t in ix.txns:
        if t.status != "fail":
            points.append((t.call, t.id))
            if t.ret is not None:
                points.append((t.ret, ~t.id))
    points.sort()
    frontier: set[int] = set()
    before: dict[int, list[int]] = defaultdict(list)
    for _, i in points:
        if i >= 0:
            if frontier:
                preds = list(frontier)
                before[i] = preds
                for a in preds:  # _link, inlined: most of a big graph's edges are these
                    d = g[a]
                    d[i] = d.get(i, 0) | REALTIME
        else:
            i = ~i
            # what completed before i was invoked is now implied by i itself
            frontier.difference_update(before.pop(i, ()))
            frontier.add(i)
