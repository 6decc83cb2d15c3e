"""A second, independent linearizability method: cycles in a precedence graph.

It applies to register histories whose written values are unique per key. Then every
read names the operation it read from, and a linearization has a simple shape: the
history splits into *versions*, one per written value, each being its write followed
by the reads of that value; a successful cas(a, b) both ends version a and starts
version b, so a chain of cas operations glues versions into one block that must stay
contiguous and in chain order. The history is linearizable exactly when

- no read returns a value that nothing wrote, and no value is cas'ed away twice;
- no read completes before the write of its value was invoked;
- within a cas chain, nothing from a later version completes before something from an
  earlier version was invoked;
- the blocks, ordered by real time (an operation that completed before another was
  invoked comes first), form no cycle.

The graph is built with networkx and a cycle is reported as a chain of operations with
the reason for every edge. An `info` write or cas counts as having happened when some
read saw its value (it may then take effect any time after its invoke) and is dropped
otherwise. A failed cas's observation ("the register held something else") does not fit
the graph; it is ignored, so with such operations "no cycle" is reported as unknown.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

from checkers.history import Op
from checkers.linear.models import Model, freeze, show

INF = float("inf")


@dataclass
class Edge:
    """One step of an explanation: `src` must come before `dst`, because `reason`."""

    src: Op | None  # None: the initial state
    dst: Op | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": None if self.src is None else self.src.index,
            "to": None if self.dst is None else self.dst.index,
            "reason": self.reason,
        }


@dataclass
class GraphResult:
    valid: bool | str
    key: Any = None
    cycle: list[Edge] = field(default_factory=list)
    reason: str | None = None
    hint: dict[int, float] | None = None  # an order to try first (operation id -> rank)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"valid": self.valid, "checker": "graph"}
        if self.key is not None:
            d["key"] = self.key
        if self.reason:
            d["reason"] = self.reason
        if self.cycle:
            d["cycle"] = [e.to_dict() for e in self.cycle]
        return d

    def to_text(self) -> str:
        if self.valid is True:
            return "precedence graph: no cycle (linearizable)"
        if self.valid == "unknown":
            return f"precedence graph: {self.reason}"
        lines = [f"precedence graph on key {self.key!r}: {self.reason}"]
        for e in self.cycle:
            lines.append(f"  - {e.reason}")
        return "\n".join(lines)


class _NotApplicable(Exception):
    pass


@dataclass(eq=False)
class _Node:
    """An operation as the graph sees it."""

    op: Op | None  # None: the initial write of nil
    call: float
    ret: float
    reads: Any = None  # the value it observed (read result, cas expected), if any
    writes: Any = None  # the value it wrote, if any
    has_read: bool = False
    has_write: bool = False
    cluster: Any = None  # the version (value) it belongs to
    block: int = -1
    pos: int = -1


def _desc(n: _Node, model: Model) -> str:
    if n.op is None:
        return "the initial state nil"
    return f"op {n.op.index} (process {n.op.process}, {model.describe_operation(n.op)})"


def check_graph(ops: list[Op], model: Model) -> GraphResult:
    """Look for a cycle in each key's precedence graph; stop at the first found."""
    if model.name not in ("register", "cas-register"):
        return GraphResult(
            "unknown", reason=f"the graph method handles registers, not {model.name}"
        )
    undecided: GraphResult | None = None
    for key, group in model.partition(ops):
        r = check_graph_key(key, group, model)
        if r.valid is False:
            return r
        if r.valid != True and undecided is None:  # noqa: E712 - "unknown" is truthy
            undecided = r
    return undecided if undecided is not None else GraphResult(True)


def check_graph_key(key: Any, group: list[Op], model: Model) -> GraphResult:
    """One key's operations: True, False (with the cycle) or "unknown" (not applicable,
    or no cycle but failed-cas observations the graph cannot weigh)."""
    if model.name not in ("register", "cas-register"):
        return GraphResult("unknown", key=key, reason=f"registers only, not {model.name}")
    if getattr(model, "initial", None) is not None:  # the graph's first version is nil
        return GraphResult("unknown", key=key, reason="registers that start at nil only")
    try:
        res, partial = _check_key(key, group, model)
    except _NotApplicable as e:
        return GraphResult("unknown", key=key, reason=str(e))
    if res is not None:
        return res
    if partial:  # not reached today: kept for observations the graph cannot place
        return GraphResult(
            "unknown", key=key, reason="failed-cas observations are not in the graph"
        )
    return GraphResult(True, key=key)


@dataclass
class _Versions:
    """One key's operations as the graph sees them: the nodes (the initial write of nil
    first), each value's writer, the failed cas's observations, and once glued, each
    version's cas successor and the chains of versions (blocks)."""

    init: _Node
    nodes: list[_Node]
    writer: dict[Any, _Node]
    observations: list[Op]  # failed cas: the register held something else
    successor: dict[Any, _Node] = field(default_factory=dict)
    chains: list[list[Any]] = field(default_factory=list)


def _check_key(key: Any, group: list[Op], model: Model) -> tuple[GraphResult | None, bool]:
    """The graph method on one key, step by step (the module docstring says why each
    holds): (a violation or None, whether failed-cas observations left it undecided).
    Raises _NotApplicable."""
    v = _versions(key, group)
    found = (
        _unwritten_read(key, v, model) or _cas_successors(key, v, model) or _blocks(key, v, model)
    )
    if found is not None:
        return found, False
    g, found = _real_time(key, v, model)
    if found is not None:
        return found, False
    cyc = _earliest_short_cycle(g, v.nodes)
    if cyc is not None:
        witnesses = [g.edges[a, b]["witness"] for a, b in cyc]
        return _explain(key, witnesses, v.chains, v.writer, model), False
    if v.observations:
        g.add_nodes_from(range(len(v.chains)))
        fits, hint = _observations_fit(g, v.nodes, v.chains, v.writer, v.observations)
        if not fits:
            reason = "no cycle, but a failed cas did not fit the order tried"
            return GraphResult("unknown", key, reason=reason, hint=hint), True
    return None, False


def _versions(key: Any, group: list[Op]) -> _Versions:
    """The nodes: ok reads, writes and cas that did not fail; a value written twice (or
    nil written) makes the method inapplicable. An info write or cas is kept only when
    someone observed its value."""
    init = _Node(None, -1, -1, has_write=True, writes=None)
    v = _Versions(init, [init], {None: init}, [])
    pending_info: list[_Node] = []
    for op in group:
        n = _node(op, v.observations)
        if n is None:
            continue
        if n.has_write:
            if n.writes is None:
                raise _NotApplicable("a write of nil makes the initial value ambiguous")
            if n.writes in v.writer:
                raise _NotApplicable(
                    f"values are not unique on key {key!r}: {show(n.writes)} is written twice"
                )
            v.writer[n.writes] = n
        if op.ret is None:
            pending_info.append(n)
        else:
            v.nodes.append(n)
    _keep_observed_infos(v, pending_info)
    return v


def _node(op: Op, observations: list[Op]) -> _Node | None:
    """The node of one operation, or None for one the graph leaves out (a failed write,
    a failed cas: its observation goes to `observations`)."""
    st, ret = op.status, INF if op.ret is None else op.ret
    if op.f == "read":
        if st != "ok":
            return None
        return _Node(op, op.call, ret, reads=freeze(op.output), has_read=True)
    if op.f == "write":
        if st == "fail":
            return None
        return _Node(op, op.call, ret, writes=freeze(op.value), has_write=True)
    if op.f == "cas":
        if st == "fail":
            if op.error == "precondition":
                observations.append(op)
            return None
        old, new = freeze(op.value[0]), freeze(op.value[1])
        return _Node(op, op.call, ret, reads=old, writes=new, has_read=True, has_write=True)
    raise _NotApplicable(f"the graph method does not know f {op.f!r}")


def _keep_observed_infos(v: _Versions, pending_info: list[_Node]) -> None:
    """An info op happened only if someone observed its value; an observed info cas
    observed its own expected value too."""
    observed = {n.reads for n in v.nodes if n.has_read}
    kept: set[int] = set()
    changed = True
    while changed:
        changed = False
        for n in pending_info:
            if n.writes in observed and id(n) not in kept:
                kept.add(id(n))
                v.nodes.append(n)
                if n.has_read and n.reads not in observed:
                    observed.add(n.reads)
                    changed = True
    for n in pending_info:
        if id(n) not in kept:
            del v.writer[n.writes]


def _unwritten_read(key: Any, v: _Versions, model: Model) -> GraphResult | None:
    """A read (or cas) that observed a value nothing wrote."""
    for n in v.nodes:
        if n.has_read and n.reads not in v.writer:
            what = f"{_desc(n, model)} observed {show(n.reads)}, which no operation wrote"
            edges = [Edge(None, n.op, what)]
            return GraphResult(False, key, edges, "an observed value was never written")
    return None


def _cas_successors(key: Any, v: _Versions, model: Model) -> GraphResult | None:
    """Each version's cas successor (a cas both ends version a and starts version b),
    and each node's version; two cas from the same value are a violation."""
    for n in v.nodes:
        n.cluster = n.writes if n.has_write else n.reads
        if not (n.has_write and n.has_read):
            continue
        other = v.successor.get(n.reads)
        if other is not None:
            w = v.writer[n.reads]
            first = f"{_desc(other, model)} replaced {show(n.reads)}, written by {_desc(w, model)}"
            again = (
                f"{_desc(n, model)} also replaced it; "
                "values are unique, so it cannot have come back"
            )
            edges = [Edge(w.op, other.op, first), Edge(w.op, n.op, again)]
            return GraphResult(
                False, key, edges, "two cas operations succeeded from the same value"
            )
        v.successor[n.reads] = n
    return None


def _blocks(key: Any, v: _Versions, model: Model) -> GraphResult | None:
    """Cas chains glue versions into blocks: each node gets its block and its position
    in it. A loop of cas ops with no start is a cycle by itself."""
    successor, writer = v.successor, v.writer
    has_pred = {n.writes for n in successor.values()}
    block_of: dict[Any, tuple[int, int]] = {}
    for start in writer:
        if start in has_pred:
            continue
        chain = [start]
        while chain[-1] in successor:
            chain.append(successor[chain[-1]].writes)
        for pos, val in enumerate(chain):
            block_of[val] = (len(v.chains), pos)
        v.chains.append(chain)
    if len(block_of) != len(writer):
        loop = [x for x in writer if x not in block_of]
        edges = [
            Edge(writer[x].op, successor[x].op, f"{_desc(successor[x], model)} replaced {show(x)}")
            for x in loop
            if x in successor
        ]
        return GraphResult(False, key, edges, "cas operations form a loop of versions")
    for n in v.nodes:
        n.block, n.pos = block_of[n.cluster]
    return None


def _real_time(key: Any, v: _Versions, model: Model) -> tuple[Any, GraphResult | None]:
    """The blocks' graph of real-time edges, reduced: a -> b when a returned before b
    was invoked and no c sits wholly between them. Within a block, real time must agree
    with the chain's order (else the violation, second)."""
    import networkx as nx  # lazy: only this method needs it

    by_ret = sorted((n for n in v.nodes if n.ret != INF), key=lambda n: n.ret)
    rets = [n.ret for n in by_ret]
    prefix_max_call: list[float] = []
    mx = -INF
    for n in by_ret:
        mx = max(mx, n.call)
        prefix_max_call.append(mx)
    g = nx.DiGraph()
    for b in v.nodes:
        if b is v.init:
            continue
        hi = bisect.bisect_left(rets, b.call)
        if hi == 0:
            continue
        lo = bisect.bisect_left(rets, prefix_max_call[hi - 1])
        for a in by_ret[lo:hi]:
            if a.block != b.block:
                if not g.has_edge(a.block, b.block):
                    g.add_edge(a.block, b.block, witness=(a, b))
            elif a.pos > b.pos or (
                a.pos == b.pos and a.cluster == b.cluster and b.has_write and not a.has_write
            ):
                return g, _intra_block(key, a, b, v.writer, v.chains, model)
    return g, None


def _observations_fit(
    g: Any, nodes: list[_Node], chains: list[list[Any]], writer: dict[Any, _Node], obs: list[Op]
) -> tuple[bool, dict[int, float]]:
    """Build one linearization from the blocks in topological order and check that every
    failed cas fits in it somewhere its interval allows, at a moment the register held
    something else. True: linearizable. False: this order does not show it (another might);
    then the order, as a rank per operation id, is a hint for the search."""
    import networkx as nx

    readers: dict[Any, list[_Node]] = {}
    for n in nodes:
        if not n.has_write:
            readers.setdefault(n.cluster, []).append(n)
    # among the blocks free to go next, the one whose first write was invoked first:
    # close to the order things happened, which is where failed cas ops fit
    first_call = [min(writer[v].call for v in chain) for chain in chains]
    order: list[_Node] = []
    for b in nx.lexicographical_topological_sort(g, key=first_call.__getitem__):
        for val in chains[b]:
            order.append(writer[val])
            order.extend(sorted(readers.get(val, ()), key=lambda n: n.call))
    pos = {id(n): i for i, n in enumerate(order)}
    hint: dict[int, float] = {n.op.id: i for i, n in enumerate(order) if n.op is not None}
    version = [n.cluster for n in order]
    nxt = [len(order)] * len(order)  # next position holding another version
    for i in range(len(order) - 2, -1, -1):
        nxt[i] = i + 1 if version[i + 1] != version[i] else nxt[i + 1]
    by_ret = sorted((n for n in order if n.ret != INF), key=lambda n: n.ret)
    rets = [n.ret for n in by_ret]
    prefix_max: list[int] = []
    for n in by_ret:
        prefix_max.append(max(pos[id(n)], prefix_max[-1] if prefix_max else 0))
    by_call = sorted((n for n in order if n.op is not None), key=lambda n: n.call)
    calls = [n.call for n in by_call]
    suffix_min = [len(order)] * (len(by_call) + 1)
    for i in range(len(by_call) - 1, -1, -1):
        suffix_min[i] = min(pos[id(by_call[i])], suffix_min[i + 1])
    placed: list[tuple[float, float, int]] = []
    fits = True
    for op in obs:
        expected = freeze(op.value[0])
        k = bisect.bisect_left(rets, op.call)
        lo = prefix_max[k - 1] if k else 0  # after everything that completed before it
        hi = suffix_min[bisect.bisect_right(calls, op.ret)] - 1  # before all invoked after
        gap = lo if version[lo] != expected else nxt[lo]
        hint[op.id] = min(gap, max(hi, lo)) + 0.5
        if gap > hi:
            fits = False
            continue
        placed.append((op.call, op.ret, gap))  # type: ignore[arg-type]
    # failed cas ops among themselves: one that completed before another began must
    # not be placed after it
    placed.sort(key=lambda t: t[1])
    ends = [t[1] for t in placed]
    best = -1
    gaps_max: list[int] = []
    for t in placed:
        best = max(best, t[2])
        gaps_max.append(best)
    for call, _, gap in placed:
        k = bisect.bisect_left(ends, call)
        if k and gaps_max[k - 1] > gap:
            return False, hint
    return fits, hint


def _earliest_short_cycle(g: Any, nodes: list[_Node]) -> list[tuple[int, int]] | None:
    """A shortest cycle through the earliest block (by first invoke) that is on a cycle:
    the first violation in time, explained in as few steps as possible."""
    import networkx as nx

    first_call: dict[int, float] = {}
    for n in nodes:
        if n.block in g and n.call < first_call.get(n.block, INF):
            first_call[n.block] = n.call
    best: list[int] | None = None
    for scc in nx.strongly_connected_components(g):
        if len(scc) < 2:
            continue
        u = min(scc, key=lambda b: first_call.get(b, INF))
        if best is not None and first_call.get(u, INF) >= first_call.get(best[0], INF):
            continue
        sub = g.subgraph(scc)
        paths = [nx.shortest_path(sub, v, u) for v in sub.successors(u)]
        best = [u, *min(paths, key=len)]
    if best is None:
        return None
    return list(zip(best, best[1:], strict=False))


def _same_block_reason(b: _Node, a: _Node, chains: list[list[Any]], writer, model) -> str:
    """Why b and a (same block) are ordered b before a or glued together."""
    if b.cluster == a.cluster:
        w = writer[b.cluster]
        return (
            f"{_desc(b, model)} and {_desc(a, model)} both belong to the version "
            f"{show(b.cluster)} written by {_desc(w, model)}: a value's write and its reads "
            "are consecutive, since values are unique"
        )
    return (
        f"{_desc(b, model)} (version {show(b.cluster)}) and {_desc(a, model)} (version "
        f"{show(a.cluster)}) are glued by the cas chain "
        + " -> ".join(show(v) for v in chains[b.block])
        + ": successive versions are consecutive"
    )


def _explain(key, witnesses, chains, writer, model) -> GraphResult:  # type: ignore[no-untyped-def]
    edges: list[Edge] = []
    k = len(witnesses)
    for i, (a, b) in enumerate(witnesses):
        edges.append(
            Edge(a.op, b.op, f"{_desc(a, model)} completed before {_desc(b, model)} was invoked")
        )
        nxt_a = witnesses[(i + 1) % k][0]
        if nxt_a is not b:
            edges.append(Edge(b.op, nxt_a.op, _same_block_reason(b, nxt_a, chains, writer, model)))
    return GraphResult(
        False, key, edges, f"a cycle through {k} version blocks, so no order satisfies them all"
    )


def _intra_block(key, a, b, writer, chains, model) -> GraphResult:  # type: ignore[no-untyped-def]
    if a.cluster == b.cluster:
        w = b
        reason = (
            f"{_desc(a, model)} read {show(a.cluster)}, but completed before "
            f"{_desc(w, model)}, which wrote it, was invoked"
        )
        return GraphResult(
            False,
            key,
            [
                Edge(w.op, a.op, f"{_desc(a, model)} read the value {_desc(w, model)} wrote"),
                Edge(a.op, w.op, reason),
            ],
            "a read saw a value before it was written",
        )
    chain = " -> ".join(show(v) for v in chains[a.block])
    return GraphResult(
        False,
        key,
        [
            Edge(
                b.op,
                a.op,
                f"the cas chain {chain} puts version {show(b.cluster)} "
                f"({_desc(b, model)}) before version {show(a.cluster)} ({_desc(a, model)})",
            ),
            Edge(a.op, b.op, f"{_desc(a, model)} completed before {_desc(b, model)} was invoked"),
        ],
        "real time contradicts the order of a cas chain",
    )
