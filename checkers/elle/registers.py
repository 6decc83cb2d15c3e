"""Version orders of register keys (`w`), inferred as Elle's rw-register does (Kingsbury
and Alvaro, section 4.3; jepsen-io/elle's elle.rw-register).

A blind write keeps no history, so a read names its writer and nothing more. What orders
versions comes from outside the values, from sources each an assumption about the
database, tried in this order:

- initial-state: every key starts at nil, which precedes every version written or read.
- wfr-keys (writes follow reads, on by default): a txn that read version v of a key and
  then wrote v' installed v' after v.
- sequential-keys (an option: each key sequentially consistent): each process's txns see
  a key's versions in order, so the last version one txn touched precedes the first the
  process's next txn on that key touched.
- linearizable-keys (an option: each key linearizable): the same over real time: a txn
  that completed before another was invoked touched earlier versions.

Only a txn's external reads and writes count (the first read of a key before the txn
wrote it, its last write of a key): the rest is the txn's own business (`internal`,
G1b). A source whose order, added to those before it, would make some key's versions
cycle is dropped and the cycle reported (`cyclic-versions`), as Elle does. The edges of
the version orders then give the dependency graph's ww edges (the writers of v and v')
and rw edges (the readers of v to the writer of v'); wr edges come from the reads alone.

Failed txns take no part. An info txn's writes take part: they enter a cycle only through
an edge out of them, which needs a read of one of their values (then they happened).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from checkers.elle.scc import components
from checkers.elle.txns import Txn

INIT = None  # the initial version of every key (values written are never null)

SOURCES = ("initial-state", "wfr-keys", "sequential-keys", "linearizable-keys")


@dataclass(frozen=True)
class RegisterOptions:
    """Which orders to infer register versions from, besides the initial state (Elle's
    :wfr-keys?, :sequential-keys?, :linearizable-keys?)."""

    wfr: bool = True
    sequential: bool = False
    linearizable: bool = False

    def sources(self) -> list[str]:
        on = (True, self.wfr, self.sequential, self.linearizable)
        return [s for s, used in zip(SOURCES, on, strict=True) if used]


DEFAULT_OPTIONS = RegisterOptions()


Versions = dict[Any, dict[Any, set[Any]]]  # key -> version -> the versions right after it


@dataclass
class Registers:
    """External reads and writes of the register keys, and their version orders."""

    keys: set[Any]
    first: list[dict[Any, Any] | None]  # per txn: key -> its external read (ok txns)
    final: list[dict[Any, Any] | None]  # per txn: key -> its last write (ok and info)
    readers: dict[Any, dict[Any, list[int]]] = field(default_factory=dict)  # k -> v -> txns
    writer: dict[Any, int] = field(default_factory=dict)  # (k, v) -> the txn whose final write
    versions: Versions = field(default_factory=dict)
    ordered_by: dict[tuple[Any, Any, Any], str] = field(default_factory=dict)  # (k, v, v')
    # -> the per-key order that gave the edge (the others' are told apart by `source_of`)
    used: list[str] = field(default_factory=list)  # the sources whose orders were kept
    cycles: list[dict[str, Any]] = field(default_factory=list)  # cyclic-versions: facts

    def writer_of(self, k: Any, v: Any) -> int | None:
        return None if v is INIT else self.writer.get((k, v))

    def source_of(self, k: Any, v1: Any, v2: Any) -> str:
        """The source that ordered v1 right before v2 (an edge of the version order):
        nil first, or the writer of v2 read v1, or a per-key order."""
        if v1 is INIT:
            return "initial-state"
        b = self.writer_of(k, v2)
        reads = self.first[b] if b is not None else None
        if "wfr-keys" in self.used and reads is not None and reads.get(k, INIT) == v1:
            return "wfr-keys"
        return self.ordered_by[(k, v1, v2)]


def external(txns: list[Txn], keys: set[Any]) -> Registers:
    """Each txn's external reads (ok txns: the first read of a key before any write of it)
    and final writes (ok and info txns) of the register keys."""
    first: list[dict[Any, Any] | None] = [None] * len(txns)
    final: list[dict[Any, Any] | None] = [None] * len(txns)
    regs = Registers(keys, first, final)
    readers, writer = regs.readers, regs.writer
    for t in txns:
        if t.status == "fail":
            continue
        ok = t.status == "ok"
        reads: dict[Any, Any] = {}
        writes: dict[Any, Any] = {}
        for f, k, v in t.mops:
            if k not in keys:
                continue
            if f == "w":
                writes[k] = v
            elif ok and k not in reads and k not in writes:
                reads[k] = v
        if reads:
            first[t.id] = reads
            for k, v in reads.items():
                rk = readers.get(k)
                if rk is None:
                    readers[k] = {v: [t.id]}
                elif v in rk:
                    rk[v].append(t.id)
                else:
                    rk[v] = [t.id]
        if writes:
            final[t.id] = writes
            for k, v in writes.items():
                writer[(k, v)] = t.id
    return regs


def infer(txns: list[Txn], keys: set[Any], opts: RegisterOptions) -> Registers:
    """The external reads and writes, and the version orders the sources allow."""
    regs = external(txns, keys)
    for source in opts.sources():
        edges = _GRAPHERS[source](txns, regs)
        # nil before everything is no cycle: only the sources after it can close one
        cycles = _cycles_with(regs.versions, edges) if regs.used else []
        if cycles:
            for k, scc in cycles:
                regs.cycles.append({"key": k, "versions": scc, "sources": [*regs.used, source]})
            continue  # Elle drops the whole source, keeps the cycle as the anomaly
        versions = regs.versions
        for k, v1, v2 in edges:
            vk = versions.get(k)
            if vk is None:
                versions[k] = vk = {}
            succ = vk.get(v1)
            if succ is None:
                vk[v1] = {v2}
            elif v2 not in succ:
                succ.add(v2)
            else:
                continue
            if source in _PER_KEY:
                regs.ordered_by.setdefault((k, v1, v2), source)
        regs.used.append(source)
    return regs


Edge = tuple[Any, Any, Any]  # (key, version, the version after it)


def _initial_state(txns: list[Txn], regs: Registers) -> list[Edge]:
    """nil precedes every version written (ok and info txns) or read (ok txns)."""
    seen = {(k, v) for (k, v) in regs.writer}
    for k, rk in regs.readers.items():
        seen.update((k, v) for v in rk if v is not INIT)
    return [(k, INIT, v) for k, v in seen]


def _wfr(txns: list[Txn], regs: Registers) -> list[Edge]:
    """An ok txn that read v of a key and wrote v' to it: v before v'."""
    out = []
    for t in txns:
        reads, writes = regs.first[t.id], regs.final[t.id]
        if reads is None or writes is None or t.status != "ok":
            continue
        for k, v in reads.items():
            w = writes.get(k)
            if v is not INIT and w is not None and w != v:
                out.append((k, v, w))
    return out


def _last(regs: Registers, t: int, k: Any) -> Any:
    """The version of k the txn left: its final write, else what it read."""
    writes = regs.final[t]
    if writes is not None and k in writes:
        return writes[k]
    return regs.first[t][k]  # type: ignore[index]


def _earliest(regs: Registers, t: int, k: Any) -> Any:
    """The version of k the txn met first: what it read, else its final write."""
    reads = regs.first[t]
    if reads is not None and k in reads:
        return reads[k]
    return regs.final[t][k]  # type: ignore[index]


def _touched(regs: Registers, t: int) -> set[Any]:
    reads, writes = regs.first[t], regs.final[t]
    return (reads.keys() if reads else set()) | (writes.keys() if writes else set())


def _sequential(txns: list[Txn], regs: Registers) -> list[Edge]:
    """Each process's ok txns, in order: per key, the version one left precedes the one
    the process's next txn on that key met (Elle's process graph holds ok txns only)."""
    out = []
    last: dict[tuple[Any, Any], int] = {}  # (process, key) -> the process's last txn on it
    for t in txns:
        if t.status != "ok" or t.process is None:
            continue
        for k in _touched(regs, t.id):
            a = last.get((t.process, k))
            if a is not None:
                v1, v2 = _last(regs, a, k), _earliest(regs, t.id, k)
                if v1 != v2:
                    out.append((k, v1, v2))
            last[(t.process, k)] = t.id
    return out


def _linearizable(txns: list[Txn], regs: Registers) -> list[Edge]:
    """Per key, the real-time order of the txns that touched it (ok txns, and info txns
    that wrote it, which follow but never precede), reduced to its covering pairs by
    Elle's sweep: the version one left precedes the one each next txn met."""
    per_key: dict[Any, list[tuple[int, int]]] = {}  # key -> (event position, id or ~id)
    for t in txns:
        if t.status == "fail":
            continue
        keys = _touched(regs, t.id) if t.status == "ok" else (regs.final[t.id] or {}).keys()
        for k in keys:
            points = per_key.setdefault(k, [])
            points.append((t.call, t.id))
            if t.status == "ok" and t.ret is not None:
                points.append((t.ret, ~t.id))
    out = []
    for k, points in per_key.items():
        points.sort()
        frontier: set[int] = set()  # completed txns no later completion has covered
        before: dict[int, list[int]] = {}
        pairs: set[tuple[Any, Any]] = set()  # many txns leave or meet the same versions
        for _, i in points:
            if i >= 0:
                before[i] = list(frontier)
                v2 = _earliest(regs, i, k)
                for a in frontier:
                    v1 = _last(regs, a, k)
                    if v1 != v2 and (v1, v2) not in pairs:
                        pairs.add((v1, v2))
                        out.append((k, v1, v2))
            else:
                i = ~i
                frontier.difference_update(before.pop(i, ()))
                frontier.add(i)
    return out


_PER_KEY = ("sequential-keys", "linearizable-keys")
_GRAPHERS = {
    "initial-state": _initial_state,
    "wfr-keys": _wfr,
    "sequential-keys": _sequential,
    "linearizable-keys": _linearizable,
}


def _cycles_with(versions: Versions, edges: list[Edge]) -> list[tuple[Any, list[Any]]]:
    """The (key, versions) of every cycle the edges would close in the version orders.
    The orders so far have none, so a new one passes through a new edge: a depth-first
    search from the new edges' sources finds out, per key, and only a key that has one
    pays for its strongly connected components."""
    added: dict[Any, dict[Any, set[Any]]] = {}
    for k, v1, v2 in edges:
        added.setdefault(k, {}).setdefault(v1, set()).add(v2)
    out = []
    for k, new in added.items():
        old = versions.get(k, {})

        def after(v: Any, old: dict[Any, set[Any]] = old, new: dict[Any, set[Any]] = new) -> Any:
            a, b = old.get(v), new.get(v)
            return (a | b if b else a) if a else (b or ())

        if _has_cycle(list(new), after):
            out.extend((k, scc) for scc in _components(old, new))
    return out


def _has_cycle(starts: list[Any], after: Any) -> bool:
    """Whether a path from the starts comes back on itself (iterative, three colours)."""
    done: set[Any] = set()
    for root in starts:
        if root in done:
            continue
        on_path = {root}
        stack = [(root, iter(after(root)))]
        while stack:
            v, it = stack[-1]
            for w in it:
                if w in on_path:
                    return True
                if w not in done:
                    on_path.add(w)
                    stack.append((w, iter(after(w))))
                    break
            else:
                stack.pop()
                on_path.discard(v)
                done.add(v)
    return False


def _components(old: dict[Any, set[Any]], new: dict[Any, set[Any]]) -> list[list[Any]]:

    nodes = list({*old, *new, *(w for s in (*old.values(), *new.values()) for w in s)})
    number = {v: i for i, v in enumerate(nodes)}
    g = [dict.fromkeys((number[w] for w in (*old.get(v, ()), *new.get(v, ()))), 0) for v in nodes]
    return [_sorted([nodes[i] for i in comp]) for comp in components(g)]


def _sorted(vs: list[Any]) -> list[Any]:
    """Versions in a stable order: nil first, then as Python orders them (by repr when
    they mix types)."""
    rest = [v for v in vs if v is not INIT]
    try:
        rest.sort()
    except TypeError:
        rest.sort(key=repr)
    return [INIT, *rest] if len(rest) < len(vs) else rest
