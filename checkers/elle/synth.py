"""Synthetic list-append and rw-register txn histories that are strict serializable by
construction (for the benchmark and the tests), as checkers/history/synth.py does for
single registers.

Clients run txns of random duration one after another; each txn takes effect at a random
point inside its interval, and applying the txns in the order of those points to an
in-memory map of lists gives every read its result. Keys rotate as in Elle's generator: a
few are active at a time, and one that has taken `writes_per_key` appends is retired for
a fresh one, so reads stay short. Some txns fail (nothing happened) and some end info
(half of those took effect, at their point).
"""

from __future__ import annotations

import heapq
import random
from typing import Any

from checkers.history import Event


def list_append_history(
    n_txns: int,
    keys: int = 10,
    writes_per_key: int = 32,
    clients: int = 10,
    max_mops: int = 4,
    info_rate: float = 0.01,
    fail_rate: float = 0.01,
    seed: int = 0,
    max_latency: int = 2_000_000,
    write: str = "append",
) -> list[Event]:
    """`write`: "append" (list-append: a read sees the list) or "w" (rw-register: each
    write sets the key to its value, a read sees the last one)."""
    rng = random.Random(seed)
    free = [(0, c) for c in range(clients)]  # (time the client is free, client)
    heapq.heapify(free)
    active = list(range(keys))
    next_key = keys
    written = dict.fromkeys(active, 0)  # appends planned per active key
    planned = []
    for _ in range(n_txns):
        t, c = heapq.heappop(free)
        invoke = t + rng.randint(1_000, 50_000)
        complete = invoke + rng.randint(10_000, max_latency)
        heapq.heappush(free, (complete, c))
        mops: list[list[Any]] = []
        for _ in range(rng.randint(1, max_mops)):
            slot = rng.randrange(keys)
            k = active[slot]
            if rng.random() < 0.5:
                mops.append(["r", k, None])
                continue
            written[k] += 1
            mops.append([write, k, written[k]])
            if written[k] >= writes_per_key:  # retire the key: later txns use a fresh one
                active[slot] = next_key
                written[next_key] = 0
                next_key += 1
        planned.append((rng.uniform(invoke, complete), invoke, complete, c, mops))
    # apply in the order the txns took effect
    state: dict[Any, list[Any]] = {}
    outcome: list[tuple[str, Any]] = [("ok", None)] * n_txns
    for i in sorted(range(n_txns), key=lambda i: planned[i][0]):
        mops = planned[i][4]
        r = rng.random()
        if r < fail_rate:
            outcome[i] = ("fail", mops)
            continue
        info = r < fail_rate + info_rate
        if info and rng.random() < 0.5:
            outcome[i] = ("info", mops)  # never took effect
            continue
        seen = []
        for f, k, v in mops:
            if f == "append":
                state.setdefault(k, []).append(v)
                seen.append([f, k, v])
            elif f == "w":
                state[k] = v
                seen.append([f, k, v])
            else:
                cur = state.get(k)
                seen.append([f, k, list(cur) if type(cur) is list else cur])
        outcome[i] = ("info", mops) if info else ("ok", seen)
    raw = []
    process = list(range(clients))
    next_process = clients
    for i in sorted(range(n_txns), key=lambda i: planned[i][1]):
        _, invoke, complete, c, mops = planned[i]
        status, value = outcome[i]
        p = process[c]
        raw.append((invoke, 0, p, "invoke", mops))
        raw.append((complete, 1, p, status, value))
        if status == "info":
            process[c] = next_process
            next_process += 1
    raw.sort(key=lambda r: (r[0], r[1]))
    return [Event(i, r[0], r[2], r[3], "txn", r[4], None, line=i + 1) for i, r in enumerate(raw)]


def rw_register_history(n_txns: int, **kwargs: Any) -> list[Event]:
    """As list_append_history, with register writes (`w`) in place of appends."""
    return list_append_history(n_txns, write="w", **kwargs)
