"""Strongly connected components of a graph given as adjacency (a list, per node, of its
successors: deps.py's Graph, or any list of dicts or lists of node numbers). Apart from
cycles.py so that registers.py, which cycles.py's graph depends on, can use it too
without an import circle."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

Graph = Sequence[Iterable[int]]


def components(g: Graph) -> list[list[int]]:
    """The strongly connected components of more than one txn (no txn has an edge to
    itself). Tarjan's algorithm, iterative, on the graph's own lists: with networkx, copying
    a 100,000-txn graph into a DiGraph alone took 1.3 s, its search 0.4 s; this, 0.2 s."""
    n = len(g)
    index = [0] * n  # preorder number, 1-based; 0: not visited yet
    low = [0] * n
    on_stack = [False] * n
    stack: list[int] = []
    out: list[list[int]] = []
    counter = 0
    for root in range(n):
        if index[root]:
            continue
        counter += 1
        index[root] = low[root] = counter
        stack.append(root)
        on_stack[root] = True
        work = [(root, iter(g[root]))]
        while work:
            v, successors = work[-1]
            for w in successors:
                if not index[w]:
                    counter += 1
                    index[w] = low[w] = counter
                    stack.append(w)
                    on_stack[w] = True
                    work.append((w, iter(g[w])))
                    break
                if on_stack[w] and index[w] < low[v]:
                    low[v] = index[w]
            else:
                work.pop()
                if work:
                    u = work[-1][0]
                    if low[v] < low[u]:
                        low[u] = low[v]
                if low[v] != index[v]:
                    continue
                if stack[-1] == v:  # the usual case: a component of one
                    stack.pop()
                    on_stack[v] = False
                    continue
                comp = []
                while True:
                    w = stack.pop()
                    on_stack[w] = False
                    comp.append(w)
                    if w == v:
                        break
                out.append(sorted(comp))
    return out
