"""Cycles in the dependency graph: strongly connected components first (a valid history
has none), then, inside each, the shortest cycle of each kind (Elle, section 6).

A kind is a constraint on the relations a cycle uses: G0 ww only; G1c ww and wr, at
least one wr; G-single exactly one rw; G-nonadjacent two or more rw, none next to
another; G2-item two or more rw. Each has variants that may (and must) also use process
or real-time edges. The search is a breadth-first search from every edge of the kind's
first relation back to its source, over states (node, rw edges so far, last edge rw?,
variant edge seen?), so the first cycle it meets is the shortest through that edge. Kinds
are searched from the worst down, and one found makes the kinds it implies redundant in
that component. The work per component is bounded; a component where no kind was found in
the bound still has a cycle, and any cycle in it (networkx's) is reported as found.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from checkers.elle.consistency import CYCLES, implied
from checkers.elle.deps import DATA, PROCESS, REALTIME, RW, WR, WW, Graph
from checkers.elle.scc import components as components  # re-exported: it lived here

ORDERS = PROCESS | REALTIME

# State expansions one kind's search may spend in one component, and after it found one.
BUDGET = 200_000
FOUND_BUDGET = 20_000

Step = tuple[int, int, int]  # (from txn, to txn, the one relation it stands for)


@dataclass(frozen=True)
class Spec:
    name: str
    allowed: int  # relations a step may use
    first: int  # the relation of the edge the search starts from
    rw: str  # none | one | nonadjacent | many
    required: int = 0  # a relation the cycle must use at least once (its variant's)


_BASE = {
    "G0": (WW, WW, "none"),
    "G1c": (WW | WR, WR, "none"),
    "G-single": (DATA, RW, "one"),
    "G-nonadjacent": (DATA, RW, "nonadjacent"),
    "G2-item": (DATA, RW, "many"),
}


def spec(kind: str, variant_bit: int = 0) -> Spec:
    allowed, first, rw = _BASE[kind]
    suffix = {0: "", PROCESS: "-process", REALTIME: "-realtime"}[variant_bit]
    return Spec(kind + suffix, allowed | variant_bit, first, rw, variant_bit)


def classify(steps: list[Step]) -> str:
    rels = [r for _, _, r in steps]
    nrw = rels.count(RW)
    if nrw == 0:
        kind = "G1c" if WR in rels else "G0"
    elif nrw == 1:
        kind = "G-single"
    else:
        adjacent = any(rels[i] == RW and rels[i - 1] == RW for i in range(len(rels)))
        kind = "G2-item" if adjacent else "G-nonadjacent"
    if REALTIME in rels:
        return kind + "-realtime"
    if PROCESS in rels:
        return kind + "-process"
    return kind


def cycles_in(g: Graph, scc: list[int], variant_bits: int) -> list[tuple[str, list[Step]]]:
    """(name, steps) for each kind found in one component, worst first.

    An edge that is a data dependency counts as that dependency only, never as the
    process or real-time order it may also be: a cycle is named after its data
    dependencies, and a -process or -realtime variant needs an order that no data
    dependency already gives (Elle explains each edge by its data dependencies first, and
    names the cycle by the explanation)."""
    members = set(scc)
    sub = {
        u: {v: (r & ~ORDERS if r & DATA else r) for v, r in g[u].items() if v in members}
        for u in scc
    }
    found: list[tuple[str, list[Step]]] = []
    names: set[str] = set()
    for bit in (0, PROCESS, REALTIME):
        if bit and not bit & variant_bits:
            continue
        for kind in CYCLES:
            s = spec(kind, bit)
            if any(s.name in implied(n) for n in names):
                continue
            steps = shortest_cycle(sub, s)
            if steps is not None:
                name = classify(steps)
                found.append((name, steps))
                names.add(name)
    if not found:
        steps = _any_cycle(sub)
        found.append((classify(steps), steps))
    return found


def shortest_cycle(
    sub: dict[int, dict[int, int]], s: Spec, budget: int = BUDGET
) -> list[Step] | None:
    """The shortest cycle of kind `s` found within `budget` expansions, or None. A cycle
    of the kind lies inside one component of the graph cut down to the kind's relations
    (Elle's first check, "does a cycle exist?"): only those are searched. Once one is
    found, looking for a shorter one gets FOUND_BUDGET more at most: in a dense component
    (a stale register read has an anti-dependency to every later write of its key) the
    search from every edge would cost far more than a shorter explanation is worth."""
    best: list[Step] | None = None
    for part in _projected_components(sub, s.allowed):
        if s.rw == "one":
            steps, budget = _one_rw(part, s, budget)
            if steps is not None and (best is None or len(steps) < len(best)):
                best = steps
            continue
        for a in sorted(part):
            for b, rels in sorted(part[a].items()):
                if not rels & s.first:
                    continue
                if budget <= 0 or (best is not None and len(best) == 2):
                    return best
                steps, budget = _search(part, s, (a, b, s.first), budget)
                if steps is not None and (best is None or len(steps) < len(best)):
                    if best is None:
                        budget = min(budget, FOUND_BUDGET)
                    best = steps
    return best


def _projected_components(
    sub: dict[int, dict[int, int]], allowed: int
) -> list[dict[int, dict[int, int]]]:
    """The components (of more than one txn) of `sub` with only the `allowed` relations."""
    nodes = sorted(sub)
    number = {u: i for i, u in enumerate(nodes)}
    g: Graph = [{number[v]: r & allowed for v, r in sub[u].items() if r & allowed} for u in nodes]
    out = []
    for comp in components(g):
        members = {nodes[i] for i in comp}
        out.append(
            {nodes[i]: {nodes[j]: r for j, r in g[i].items() if nodes[j] in members} for i in comp}
        )
    return out


def _search(
    sub: dict[int, dict[int, int]], s: Spec, first: Step, budget: int
) -> tuple[list[Step] | None, int]:
    """BFS from the first edge's target back to its source, within the constraints."""
    a, b, r0 = first
    start = (b, int(r0 == RW), r0 == RW, bool(r0 & s.required) or not s.required)
    parent: dict[tuple[int, int, bool, bool], tuple[tuple[int, int, bool, bool], int] | None]
    parent = {start: None}
    queue = deque([start])
    while queue and budget > 0:
        state = queue.popleft()
        u, nrw, last_rw, req = state
        for v, rels in sub[u].items():
            budget -= 1
            rels &= s.allowed
            while rels:
                rel = rels & -rels
                rels ^= rel
                if rel == RW:
                    if (
                        s.rw == "none"
                        or (s.rw == "one" and nrw)
                        or (s.rw == "nonadjacent" and last_rw)
                    ):
                        continue
                    nxt = (v, min(nrw + 1, 2), True, req)
                else:
                    nxt = (v, nrw, False, req or bool(rel & s.required))
                if v == a:
                    if _closes(s, nxt, r0):
                        return _steps(parent, state, a, b, r0, rel), budget
                    continue
                if nxt not in parent:
                    parent[nxt] = (state, rel)
                    queue.append(nxt)
    return None, budget


def _one_rw(part: dict[int, dict[int, int]], s: Spec, budget: int) -> tuple[list[Step] | None, int]:
    """The shortest cycle of a kind with exactly one rw edge (G-single and its variants):
    an rw edge a -> b and a path back from b to a without one. One breadth-first search
    backwards from each txn a that has rw edges finds the nearest of its rw targets, where
    a search from every rw edge (a stale register read has one to every later write of its
    key) would cover the same ground again and again."""
    rev: dict[int, list[tuple[int, int]]] = {v: [] for v in part}
    for u, succ in part.items():
        for v, rels in succ.items():
            if rels & s.allowed & ~RW:
                rev[v].append((u, rels & s.allowed & ~RW))
    best: list[Step] | None = None
    for a in sorted(part):
        targets = {b for b, rels in part[a].items() if rels & RW}
        if not targets:
            continue
        if budget <= 0 or (best is not None and len(best) == 2):
            break
        start = (a, not s.required)
        parent: dict[tuple[int, bool], tuple[tuple[int, bool], int] | None] = {start: None}
        queue = deque([start])
        while queue and budget > 0:
            state = queue.popleft()
            x, done = state
            if done and x in targets:
                back = [(a, x, RW)]
                while parent[state] is not None:
                    nxt, rel = parent[state]  # type: ignore[misc]
                    back.append((state[0], nxt[0], rel))
                    state = nxt
                if best is None or len(back) < len(best):
                    best = back
                break
            for u, rels in rev[x]:
                budget -= 1
                while rels:
                    rel = rels & -rels
                    rels ^= rel
                    prev = (u, done or bool(rel & s.required))
                    if prev not in parent:
                        parent[prev] = (state, rel)
                        queue.append(prev)
    return best, budget


def _closes(s: Spec, state: tuple[int, int, bool, bool], r0: int) -> bool:
    _, nrw, last_rw, req = state
    if not req:
        return False
    if s.rw == "none":
        return nrw == 0
    if s.rw == "one":
        return nrw == 1
    if s.rw == "nonadjacent":
        return nrw >= 2 and not (last_rw and r0 == RW)
    return nrw >= 2


def _steps(parent, state, a: int, b: int, r0: int, last_rel: int) -> list[Step]:  # type: ignore[no-untyped-def]
    back: list[Step] = [(state[0], a, last_rel)]
    while parent[state] is not None:
        prev, rel = parent[state]
        back.append((prev[0], state[0], rel))
        state = prev
    return _simple([(a, b, r0), *reversed(back)])


def _simple(steps: list[Step]) -> list[Step]:
    """Cut detours: a walk that passes a txn twice holds a shorter cycle through the
    first edge (the searches before this one would have found the other half)."""
    out: list[Step] = []
    at: dict[int, int] = {}
    for step in steps:
        src = step[0]
        if src in at:
            del out[at[src] :]
            at = {s[0]: i for i, s in enumerate(out)}
        at[src] = len(out)
        out.append(step)
    return out


_PREFERENCE = (WW, WR, PROCESS, REALTIME, RW)


def _any_cycle(sub: dict[int, dict[int, int]]) -> list[Step]:
    import networkx as nx  # here: only a component the searches gave up on needs it

    dg = nx.DiGraph((u, v) for u, succ in sub.items() for v in succ)
    edges = nx.find_cycle(dg)
    return [(u, v, next(r for r in _PREFERENCE if sub[u][v] & r)) for u, v in edges]
