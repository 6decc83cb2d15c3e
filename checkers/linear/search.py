"""Linearizability: the WGL search with Lowe's memoization, split by key.

For each key (P-compositionality) a depth-first search linearizes operations one by
one: an operation may come next when every operation that completed before it was
invoked is already linearized (WGL). Configurations already explored are remembered
by (the set of linearized operations as a bitset, the model state) and not explored
again (Lowe). On top of that:

- The bitset is kept relative to the first operation not yet linearized (`lo`), so it
  stays as small as the window of concurrent operations, not the whole history.
- A read-only operation (a read, a failed cas's observation) that is allowed in the
  current state is linearized at once, without branching: moving it earlier cannot
  harm any other operation, because it changes nothing.
- An `info` operation (outcome unknown) may be linearized at any time after its
  invoke, or never: it never blocks the search, and the search ends when every
  completed operation is placed. Identical info operations are interchangeable, so
  only the earliest unused one of each kind is tried; and a configuration that has
  used a superset of another's info operations, with the same state and the same
  completed operations, is pruned (it can only do less).
- Keys are searched interleaved, a slice at a time, and the check stops at the first
  key that fails; a time limit answers "unknown" instead of hanging.

A failure comes with a counterexample: the operation that could not be placed (the
first, by completion, of those never linearized on the deepest path), the operations
around it, the longest partial linearization found, and the states the model could
be in at that point.
"""

from __future__ import annotations

import bisect
import gc
import time
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from typing import Any

from checkers.history import Event, HistoryError, Op, pair_events
from checkers.linear.models import INVALID, NO_NEED, Model, ModelError
from checkers.protocol import (
    Valid,
)
from checkers.timefmt import seconds

INF = float("inf")
IRRELEVANT = object()  # stands for a state nobody will observe, in memo keys

# How many search steps a key gets before the next key's turn (and a clock check).
SLICE = 2000
# Caps on what a counterexample lists, to keep it readable.
MAX_STATES = 16
MAX_CONCURRENT = 24
TAIL = 8
# Search steps on one key before the precedence graph is asked (registers).
GRAPH_AFTER = 50 * SLICE
# How many later operations the viability pruning looks at.
LOOKAHEAD = 4


@dataclass
class Counterexample:
    key: Any
    stuck: Op  # the operation that could not be linearized
    concurrent: list[Op]  # operations on that key overlapping it in time
    linearized: list[Op]  # the longest partial linearization found (in order)
    linearized_count: int
    states: list[str]  # the states the model could be in when it got stuck
    model: Model
    cycle: list[Any] = field(default_factory=list)  # graph.Edge list, when found that way
    method: str = "search"

    def ops_involved(self) -> list[Op]:
        seen: dict[int, Op] = {}
        for op in [*self.linearized[-TAIL:], *self.concurrent, self.stuck]:
            seen[op.id] = op
        return sorted(seen.values(), key=lambda o: o.call)

    def to_dict(self) -> dict[str, Any]:
        d = self.model.describe_operation
        return {
            "method": self.method,
            "cycle": [e.to_dict() for e in self.cycle],
            "key": self.key,
            "stuck": {**self.stuck.to_dict(), "text": d(self.stuck)},
            "ops": [{**op.to_dict(), "text": d(op)} for op in self.ops_involved()],
            "linearized_count": self.linearized_count,
            "linearized_tail": [{**op.to_dict(), "text": d(op)} for op in self.linearized[-TAIL:]],
            "linearized": [op.index for op in self.linearized],
            "states": self.states,
        }

    def to_text(self, origin_ns: int | None = 0) -> str:
        """The explanation; operation times in seconds from `origin_ns` (the workload's
        start), or as they are when None (a history whose times are positions)."""
        d = self.model.describe_operation
        s = self.stuck
        key = f"key {self.key!r}" if self.key is not None else _whole(self.model)
        if self.method == "graph":
            lines = [
                f"not linearizable on {key}: the precedence graph has a cycle "
                "(the search gave up on this key first); each step must come before the next:"
            ]
            lines += [f"  - {e.reason}" for e in self.cycle]
            return "\n".join(lines)
        lines = [
            f"not linearizable on {key}: no order of the operations explains {_op_ref(s)} {d(s)}",
            f"  the longest linearizable prefix has {self.linearized_count} operations; "
            f"it ends with:",
        ]
        for op in self.linearized[-TAIL:]:
            lines.append(f"    {_op_ref(op):>22}  {d(op)}")
        states = ", ".join(self.states)
        lines.append(f"  there the model could be in: {states}")
        lines.append(f"  operations concurrent with {_op_ref(s)}:")
        for op in self.concurrent:
            lines.append(f"    {_op_ref(op):>22}  {d(op)}  {_interval(op, origin_ns)}")
        return "\n".join(lines)


def _whole(model: Model) -> str:
    """What a history without keys is about: the register, the mutex, ..."""
    return "the registers" if model.name == "multi-register" else f"the {model.name.split('-')[-1]}"


def _op_ref(op: Op) -> str:
    return f"op {op.index} (process {op.process})"


def _interval(op: Op, origin_ns: int | None) -> str:
    """When the operation ran: "[2.500 .. 3.257 s]" ("?": it never completed)."""
    done = op.ret_time is not None and op.status != "info"
    if origin_ns is None:  # positions, not times
        return f"[{op.call_time} .. {op.ret_time if done else '?'}]"
    end = seconds(op.ret_time, origin_ns) if done else "?"
    return f"[{seconds(op.call_time, origin_ns)} .. {end} s]"


@dataclass
class LinearizabilityResult:
    valid: Valid  # True, False or "unknown"
    model: str
    ops: int = 0  # operations checked (after dropping those that constrain nothing)
    keys: int = 0
    elapsed: float = 0.0
    counterexample: Counterexample | None = None
    reason: str | None = None  # why "unknown"
    explored: int = 0  # search steps, for benchmarks
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "valid": self.valid,
            "checker": "linearizable",
            "model": self.model,
            "ops": self.ops,
            "keys": self.keys,
            "elapsed": round(self.elapsed, 6),
        }
        if self.reason:
            d["reason"] = self.reason
        if self.counterexample is not None:
            d["counterexample"] = self.counterexample.to_dict()
        d.update(self.extra)
        return d


# ---- one key's search ---------------------------------------------------------------
#
# The core (`_search`) is WGL's depth-first search: a configuration is (the linearized
# operations, the model state); a child linearizes one more candidate. Each
# optimisation beside it has its own name, and the module docstring says why it is
# sound:
#   `_KeySearch.settle`        greedy reads, the sliding window (`lo`), and the
#                              viability pruning of reads that can never be satisfied
#   `_KeySearch.seen`          Lowe's memo, with info-subset pruning and
#   `_KeySearch.state_key`     state abstraction (a state no read will observe)
#   `_KeySearch.info_candidates`  info operations: one per signature, only when useful


@dataclass
class _KeyOutcome:
    valid: bool
    steps: int
    stuck: int = -1  # index into the key's definite ops
    path: Any = None
    states: list[Any] = field(default_factory=list)
    depth: int = 0


_COMPLETE = object()  # settle's answer when every completed operation is linearized


class _KeySearch:
    """One key's operations as arrays, and what the optimisations need to know about
    them, computed once. `definite`: (call, ret, prepared, read_only), sorted by call;
    `infos`: (call, prepared) of the unknown-outcome operations, sorted by call. A
    configuration's linearized operations are a bitset `done` relative to `lo`, the
    first operation not yet linearized (the sliding window), and `used`, a bitset of
    the info operations taken."""

    __slots__ = (
        "rank", "irank", "step", "m", "call", "ret", "prep", "ro", "ret_order", "ni", "icall",
        "iprep", "isig", "memo_plain", "memo_info", "viable", "has_viable", "is_reset",
        "resets", "info_resets", "resets_upto", "info_is_reset", "info_followers",
        "followers_by_state", "abstractable", "next_ro",
    )  # fmt: skip
    followers_by_state: dict[Any, list[int]] | None

    def __init__(
        self,
        definite: list[tuple[int, int, Any, bool]],
        infos: list[tuple[int, Any]],
        model: Model,
        rank: list[float] | None = None,
        irank: list[float] | None = None,
    ) -> None:
        # `rank`, `irank`: an order to try the candidates in, definite and info (a hint
        # from the precedence graph: any order gives the same verdict)
        self.rank, self.irank = rank, irank
        self.step = model.step
        self.m = m = len(definite)
        self.call = [d[0] for d in definite]
        self.ret = ret = [d[1] for d in definite]
        self.prep = prep = [d[2] for d in definite]
        self.ro = ro = [d[3] for d in definite]
        self.ret_order = sorted(range(m), key=ret.__getitem__)
        self.ni = len(infos)
        self.icall = [c for c, _ in infos]
        self.iprep = iprep = [p for _, p in infos]
        # info ops with the same signature are interchangeable: only the earliest
        # unused one of each is tried
        self.isig = model.info_signatures(iprep, prep)
        self.memo_plain: set[tuple[int, int, Any]] = set()
        self.memo_info: dict[tuple[int, int, Any], list[int]] = {}

        self.viable = model.viable
        self.has_viable = type(model).viable is not Model.viable
        self._index_resets(infos, model)
        self._index_info_followers(model)
        # State abstraction: blind writes (never refused, e.g. kv's put and append)
        # make it sound.
        self.abstractable = (
            bool(self.resets)
            and all(ro[j] or model.blind(prep[j]) for j in range(m))
            and all(model.blind(p) for _, p in infos)
        )
        self.next_ro = next_ro = [m] * (m + 1)  # the first read-only op from j on
        for j in range(m - 1, -1, -1):
            next_ro[j] = j if ro[j] else next_ro[j + 1]

    def _index_resets(self, infos: list[tuple[int, Any]], model: Model) -> None:
        """For viability: models that say which states a read can still be satisfied
        from without a reset (kv: the read's string must extend the state, unless a put
        may come first). `resets_upto[i]`: how many resetting ops (in call order) were
        invoked before op i returned; an info reset counts as always possible."""
        m, ro, prep, call, ret = self.m, self.ro, self.prep, self.call, self.ret
        self.is_reset = is_reset = [not ro[j] and model.resets(prep[j]) for j in range(m)]
        self.resets = [j for j in range(m) if is_reset[j]]
        self.info_resets = [(c, p) for c, p in infos if model.resets(p)]
        self.resets_upto = (
            [bisect.bisect_left(call, ret[i]) for i in range(m)] if self.has_viable else []
        )
        self.info_is_reset = [model.resets(p) for _, p in infos]

    def _index_info_followers(self, model: Model) -> None:
        """The info operations that are not resets; when the model says which state each
        needs (a cas: its expected value), indexed by it, so that finding one that may
        follow a state is a lookup, not a scan."""
        self.info_followers = [j for j in range(self.ni) if not self.info_is_reset[j]]
        by_state: dict[Any, list[int]] = {}
        self.followers_by_state = by_state
        for j in self.info_followers:
            need = model.needs_state(self.iprep[j])
            if need is NO_NEED:
                self.followers_by_state = None
                break
            by_state.setdefault(need, []).append(j)

    def settle(self, lo: int, done: int, lo_ret: int, state: Any, path: Any) -> Any:
        """Greedy reads: linearize at once every read-only operation the state allows
        (it changes nothing, so placing it early harms no one), until none is left.
        Returns (lo, done, lo_ret, path, candidates, waiting reads, minret, whether a
        read was placed); the candidates are the operations not linearized yet that
        were invoked before the first pending return (WGL), `lo` slid past the
        linearized prefix. `_COMPLETE` when every completed operation is placed; None
        when a read can never be satisfied any more (viability)."""
        m, ret_order, ret, call = self.m, self.ret_order, self.ret, self.call
        ro, prep, step, viable = self.ro, self.prep, self.step, self.viable
        has_viable, bisect_left = self.has_viable, bisect.bisect_left
        read_any = False
        while True:
            while lo_ret < m:
                j = ret_order[lo_ret]
                if j < lo or (done >> (j - lo)) & 1:
                    lo_ret += 1
                else:
                    break
            if lo_ret == m:
                return _COMPLETE
            minret = ret[ret_order[lo_ret]]
            if done & 1:  # slide the window past the linearized prefix
                t = (~done & (done + 1)).bit_length() - 1
                done >>= t
                lo += t
            placed = False
            cands: list[int] = []
            waiting: list[int] = []  # read-only ops the current state does not allow
            # the ops invoked before minret that are not linearized yet: the zero bits
            # of `done` below hi (found bit by bit, not op by op: the window can hold
            # hundreds of linearized ops behind one slow write)
            hi = bisect_left(call, minret, lo)
            z = ~done & ((1 << (hi - lo)) - 1)
            while z:
                low = z & -z
                z ^= low
                i = lo + low.bit_length() - 1
                if not ro[i]:
                    cands.append(i)
                elif step(state, prep[i]) is not INVALID:
                    done |= low
                    path = (i, path)
                    placed = True
                elif (
                    has_viable
                    and not viable(state, prep[i])
                    and not self.reset_possible(i, lo, done, state)
                ):
                    return None  # viability: this read can never be satisfied
                else:
                    waiting.append(i)
            if not placed:
                if has_viable and self.later_read_dead(hi, lo, done, state):
                    return None
                if self.rank is not None and len(cands) > 1:
                    cands.sort(key=self.rank.__getitem__)
                return lo, done, lo_ret, path, cands, waiting, minret, read_any
            read_any = True

    def ranked(self, c: int) -> float:
        """A candidate's place in the hinted order (definite or info)."""
        assert self.rank is not None and self.irank is not None
        return self.rank[c] if c < self.m else self.irank[c - self.m]

    def later_read_dead(self, i: int, lo: int, done: int, state: Any) -> bool:
        """Viability, looking ahead: one of the LOOKAHEAD operations invoked from op i
        on is a read that can never be satisfied."""
        ro, prep, viable = self.ro, self.prep, self.viable
        end = min(self.m, i + LOOKAHEAD)
        while i < end:
            if (
                ro[i]
                and not (done >> (i - lo)) & 1
                and not viable(state, prep[i])
                and not self.reset_possible(i, lo, done, state)
            ):
                return True
            i += 1
        return False

    def reset_possible(self, i: int, lo: int, done: int, state: Any) -> bool:
        """Could a reset still come before op i and start a state that i can accept?"""
        step, viable, prep = self.step, self.viable, self.prep
        p_i = prep[i]
        if self.info_resets:
            ret_i = self.ret[i]
            for c, p in self.info_resets:
                if c > ret_i:
                    break
                if viable(step(state, p), p_i):
                    return True
        resets, hi = self.resets, self.resets_upto[i]
        for k in range(bisect.bisect_left(resets, lo), len(resets)):
            j = resets[k]
            if j >= hi:
                return False
            if not (done >> (j - lo)) & 1 and viable(step(state, prep[j]), p_i):
                return True
        return False

    def state_key(self, lo: int, done: int, state: Any) -> Any:
        """State abstraction (for `abstractable` keys): the state as the memo keys it,
        IRRELEVANT when every read
        still to come must follow a reset still to come. The state is then overwritten
        before anyone sees it, so configurations that differ only in it are the same
        (the order of unobserved appends before a put)."""
        resets, call, ret = self.resets, self.call, self.ret
        reset_ret = INF  # the earliest return of a reset not linearized yet
        for k in range(bisect.bisect_left(resets, lo), len(resets)):
            j = resets[k]
            if call[j] >= reset_ret:
                break
            if not (done >> (j - lo)) & 1 and ret[j] < reset_ret:
                reset_ret = ret[j]
        if reset_ret == INF:
            return state
        m, next_ro = self.m, self.next_ro
        r = next_ro[lo]
        while r < m and (done >> (r - lo)) & 1:
            r = next_ro[r + 1]
        return IRRELEVANT if r == m or call[r] > reset_ret else state

    def seen(self, lo: int, done: int, state: Any, used: int, fresh: int) -> bool:
        """Lowe's memo: was this configuration explored already? With info operations,
        also when one that could do at least as much was: it had used a subset of these
        info operations (and was no fresher)."""
        mkey = (lo, done, self.state_key(lo, done, state) if self.abstractable else state)
        if not self.ni:
            if mkey in self.memo_plain:
                return True
            self.memo_plain.add(mkey)
            return False
        prev = self.memo_info.get(mkey)
        if prev is None:
            self.memo_info[mkey] = [(used << 1) | fresh]
            return False
        if any(not ((u >> 1) & ~used) and (u & 1) <= fresh for u in prev):
            return True
        prev.append((used << 1) | fresh)
        return False

    def info_candidates(
        self, used: int, state: Any, minret: int, fresh: int, waiting: list[int], cands: list[int]
    ) -> list[int]:
        """The info operations worth trying next (numbered m + j): invoked before
        minret, not used yet, the earliest of their signature, and with an effect that
        lets a waiting read through or another operation follow (else the child dies at
        once). Listed only once the definite candidates are exhausted."""
        m, step, icall, iprep, prep = self.m, self.step, self.icall, self.iprep, self.prep
        out: list[int] = []
        followers = [c for c in cands if not self.is_reset[c]]
        seen_sig = set()
        for j in range(self.ni):
            if icall[j] > minret:
                break
            if (used >> j) & 1 or (fresh and self.info_is_reset[j]):
                continue
            sig = self.isig[j]
            if sig in seen_sig:
                continue
            seen_sig.add(sig)
            ns = step(state, iprep[j])
            if ns is INVALID:
                continue
            if (
                any(step(ns, prep[i]) is not INVALID for i in waiting)
                or any(step(ns, prep[c]) is not INVALID for c in followers)
                or self.info_may_follow(j, ns, used, minret)
            ):
                out.append(m + j)
        return out

    def info_may_follow(self, j: int, ns: Any, used: int, minret: int) -> bool:
        """Another unused info operation, invoked before minret, may follow state ns."""
        by_state = self.followers_by_state
        others = self.info_followers if by_state is None else by_state.get(ns, ())
        icall, iprep, step = self.icall, self.iprep, self.step
        return any(
            j2 != j
            and icall[j2] < minret
            and not (used >> j2) & 1
            and step(ns, iprep[j2]) is not INVALID
            for j2 in others
        )


def _search(
    definite: list[tuple[int, int, Any, bool]],
    infos: list[tuple[int, Any]],
    model: Model,
    rank: list[float] | None = None,
    irank: list[float] | None = None,
) -> Generator[None, None, _KeyOutcome]:
    """Search one key (see _KeySearch for the arguments). Yields every SLICE steps so
    that the caller can interleave keys and watch the clock."""
    ks = _KeySearch(definite, infos, model, rank, irank)
    # info candidates are listed once the others are exhausted, unless a ranking says
    # where they belong
    eager = rank is not None and ks.ni > 0
    infos_listed = not ks.ni or eager  # a new frame's: nothing left to add later
    m, step, prep, iprep, is_reset = ks.m, ks.step, ks.prep, ks.iprep, ks.is_reset
    settle, seen, complete = ks.settle, ks.seen, _COMPLETE
    best = -1  # the deepest lo_ret reached, its path and states: the counterexample's
    best_path: Any = None
    best_states: list[Any] = []
    steps = 0
    # A frame: [lo, done, lo_ret, used, state, path, cands, next cand, minret, fresh,
    # infos listed, waiting reads]. `fresh`: the last op was an info op whose effect
    # nobody has observed yet; then a reset may not come next (the info op might as
    # well never have happened).
    stack: list[list[Any]] = []
    # configurations to settle and push: the initial one, then each child
    pending: list[tuple[int, int, int, int, Any, Any, int]] = [(0, 0, 0, 0, model.init(), None, 0)]
    while True:
        if pending:
            lo, done, lo_ret, used, state, path, fresh = pending.pop()
            settled = settle(lo, done, lo_ret, state, path)
            if settled is None:
                continue
            if settled is complete:
                return _KeyOutcome(True, steps)
            lo, done, lo_ret, path, cands, waiting, minret, read_any = settled
            if lo_ret >= best:
                if lo_ret > best:
                    best, best_path, best_states = lo_ret, path, []
                if len(best_states) < MAX_STATES and state not in best_states:
                    best_states.append(state)
            if fresh and read_any:  # a read observed the info op's effect
                fresh = 0
            if seen(lo, done, state, used, fresh):
                continue
            if fresh:
                cands = [c for c in cands if not is_reset[c]]
            if eager:
                cands.extend(ks.info_candidates(used, state, minret, fresh, waiting, cands))
                cands.sort(key=ks.ranked)
            stack.append([lo, done, lo_ret, used, state, path, cands, 0, minret, fresh,
                          infos_listed, waiting])  # fmt: skip
        if not stack:
            stuck = ks.ret_order[best]
            return _KeyOutcome(False, steps, stuck, best_path, best_states, best)
        frame = stack[-1]
        cands = frame[6]
        k = frame[7]
        if k == len(cands):
            if frame[10]:
                stack.pop()
                continue
            frame[10] = True
            cands.extend(
                ks.info_candidates(frame[3], frame[4], frame[8], frame[9], frame[11], cands)
            )
            if k == len(cands):
                stack.pop()
                continue
        frame[7] = k + 1
        c = cands[k]
        steps += 1
        if steps % SLICE == 0:
            yield
        lo, done, lo_ret, used, state, path = frame[:6]
        if c < m:
            ns = step(state, prep[c])
            if ns is not INVALID:
                pending.append((lo, done | (1 << (c - lo)), lo_ret, used, ns, (c, path), 0))
        else:
            ns = step(state, iprep[c - m])
            if ns is not INVALID:
                pending.append((lo, done, lo_ret, used | (1 << (c - m)), ns, (c, path), 1))


def _prepare_key(
    ops: list[Op], model: Model, file: str
) -> tuple[list[tuple[int, int, Any, bool]], list[tuple[int, Any]], list[Op], list[Op]]:
    definite: list[tuple[int, int, Any, bool, Op]] = []
    infos: list[tuple[int, Any, Op]] = []
    for op in ops:
        try:
            p = model.prepare(op)
        except ModelError as e:
            raise HistoryError(file, op.line, str(e)) from None
        if p is None:
            continue
        if op.ret is None:
            if model.read_only(p):
                continue  # an observation with no known outcome constrains nothing
            infos.append((op.call, p, op))
        else:
            definite.append((op.call, op.ret, p, model.read_only(p), op))
    definite.sort(key=lambda d: d[0])
    infos.sort(key=lambda d: d[0])
    return (
        [d[:4] for d in definite],
        [(c, p) for c, p, _ in infos],
        [d[4] for d in definite],
        [i[2] for i in infos],
    )


def check_ops(
    ops: list[Op], model: Model, timeout: float | None = None, file: str = "<history>"
) -> LinearizabilityResult:
    """Check paired operations against a model; `timeout` in seconds (None: no limit)."""
    # The search allocates millions of small tuples and frees them in order; the cyclic
    # garbage collector would rescan every live object again and again for nothing.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _check_ops(ops, model, timeout, file)
    finally:
        if was_enabled:
            gc.enable()


def _check_ops(
    ops: list[Op], model: Model, timeout: float | None, file: str
) -> LinearizabilityResult:
    t0 = time.perf_counter()
    deadline = None if timeout is None else t0 + timeout
    searches = []
    checked = 0
    for key, group in model.partition(ops):
        definite, infos, dops, iops = _prepare_key(group, model, file)
        checked += len(dops) + len(iops)
        if not definite:
            continue  # nothing completed: info operations may all never happen
        searches.append((key, _search(definite, infos, model), dops, iops, group, definite, infos))
    nkeys = len(searches)
    steps = 0
    # [key, search, definite ops, info ops, all ops, steps given so far, prepared...]
    active = [[*entry[:5], 0, *entry[5:]] for entry in searches]
    while active:
        still = []
        for n, entry in enumerate(active):
            key, gen, dops, iops, group, given = entry[:6]
            try:
                next(gen)
            except StopIteration as stop:
                out: _KeyOutcome = stop.value
                steps += out.steps
                if not out.valid:
                    cx = _counterexample(key, out, dops, iops, group, model)
                    return LinearizabilityResult(
                        False, model.name, checked, nkeys, time.perf_counter() - t0,
                        counterexample=cx, explored=steps,
                    )  # fmt: skip
                continue
            entry[5] = given = given + SLICE
            if given == GRAPH_AFTER:
                # A hard key: for registers with unique values the precedence graph
                # decides in polynomial time. If it cannot (not applicable), search on.
                from checkers.linear.graph import check_graph_key

                g = check_graph_key(key, group, model)
                if g.valid is False:
                    return LinearizabilityResult(
                        False, model.name, checked, nkeys, time.perf_counter() - t0,
                        counterexample=_graph_counterexample(key, g, group, model),
                        explored=steps + given,
                    )  # fmt: skip
                if g.valid is True:
                    steps += given
                    continue
                if g.hint:
                    # the graph's order failed only on some failed cas: search again,
                    # trying candidates in that order first
                    rank = [g.hint.get(op.id, INF) for op in dops]
                    irank = [g.hint.get(op.id, INF) for op in iops]
                    steps += given
                    entry[1] = _search(entry[6], entry[7], model, rank, irank)
            still.append(entry)
            if deadline is not None and time.perf_counter() > deadline:
                unfinished = len(still) + len(active) - n - 1
                return LinearizabilityResult(
                    "unknown", model.name, checked, nkeys, time.perf_counter() - t0,
                    reason=f"time limit of {timeout:g} s reached ({unfinished} keys unfinished)",
                    explored=steps + sum(e[5] for e in active),
                )  # fmt: skip
        active = still
    return LinearizabilityResult(
        True, model.name, checked, nkeys, time.perf_counter() - t0, explored=steps
    )


def _graph_counterexample(key: Any, g: Any, group: list[Op], model: Model) -> Counterexample:
    """A counterexample from the precedence graph's cycle (the search gave up first)."""
    in_cycle = {op.id: op for e in g.cycle for op in (e.src, e.dst) if op is not None}
    ops = sorted(in_cycle.values(), key=lambda o: o.call)
    stuck = ops[-1] if ops else group[0]
    return Counterexample(
        key=key,
        stuck=stuck,
        concurrent=[op for op in ops if op is not stuck],
        linearized=[],
        linearized_count=0,
        states=[],
        model=model,
        cycle=g.cycle,
        method="graph",
    )


def check_history(
    events: Iterable[Event], model: Model, timeout: float | None = None, file: str = "<history>"
) -> LinearizabilityResult:
    """Entry point for the harness: events as read from a history file."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return check_ops(pair_events(events, file), model, timeout, file)
    finally:
        if was_enabled:
            gc.enable()


def _counterexample(
    key: Any, out: _KeyOutcome, dops: list[Op], iops: list[Op], group: list[Op], model: Model
) -> Counterexample:
    order: list[Op] = []
    node = out.path
    m = len(dops)
    while node is not None:
        i, node = node
        order.append(dops[i] if i < m else iops[i - m])
    order.reverse()
    stuck = dops[out.stuck]
    assert stuck.ret is not None
    concurrent = [
        op
        for op in group
        if op is not stuck and op.call < stuck.ret and (op.ret is None or op.ret > stuck.call)
    ]
    concurrent.sort(key=lambda o: o.call)
    return Counterexample(
        key=key,
        stuck=stuck,
        concurrent=concurrent[:MAX_CONCURRENT],
        linearized=order,
        linearized_count=len(order),
        states=[model.describe_state(s) for s in out.states],
        model=model,
    )
