"""The dependency graph over txns: an edge a -> b says a must come before b.

Data dependencies (Adya's, inferred as in Elle): ww (b appended right after a's append in
the key's version order), wr (b read a version a wrote), rw (a read the version just
before b's append: it did not see b's write). Plus, when the consistency model asks, each
process's own order and the real-time order.

Only ok txns and info ones take part (a failed txn did not happen); an info txn's reads
saw nothing we know, so it has no rw edges out, and it enters cycles only through its
visible writes. Edges are built per key from the indexes, never by comparing all pairs;
the graph is a list of dicts, node -> {successor: relation bits}.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from checkers.elle.infer import INIT, Index

WW, WR, RW, PROCESS, REALTIME = 1, 2, 4, 8, 16
DATA = WW | WR | RW
REL_NAMES = {WW: "ww", WR: "wr", RW: "rw", PROCESS: "process", REALTIME: "realtime"}

Graph = list[dict[int, int]]


def build_graph(ix: Index, process: bool = False, realtime: bool = False) -> Graph:
    txns = ix.txns
    g: Graph = [{} for _ in txns]
    live = [t.status != "fail" for t in txns]
    for k, writers in ix.writer.items():
        readers = ix.readers.get(k, {})
        if k in ix.appended:
            _list_edges(g, live, ix.order.get(k, []), ix.position.get(k, {}), writers, readers)
        else:
            _register_edges(g, live, writers, readers)
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


def _register_edges(
    g: Graph, live: list[bool], writers: dict[Any, int], readers: dict[Any, list[int]]
) -> None:
    # A blind write keeps no history: only that the initial version precedes every write.
    for v, rs in readers.items():
        if v is INIT:
            for b in writers.values():
                if live[b]:
                    for r in rs:
                        if r != b:
                            _link(g, r, b, RW)
            continue
        a = writers.get(v)
        if a is not None and live[a]:
            for r in rs:
                if r != a:
                    _link(g, a, r, WR)


def _process_edges(g: Graph, ix: Index) -> None:
    last: dict[Any, int] = {}
    for t in ix.txns:  # in invoke order; a process runs one at a time
        if t.status == "fail":
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
