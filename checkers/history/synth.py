"""Synthetic register histories that are linearizable by construction.

Clients run operations of random duration one after another; each operation takes
effect at a random point inside its interval, and the register model applied in the
order of those points gives every read its result and every cas its outcome. So the
history is what a correct system could have produced, with realistic overlap. Used by
the benchmarks and the tests. Like the register workload, written values are unique per
key and a cas expects the last value its client saw.
"""

from __future__ import annotations

import heapq
import random
from typing import Any

from checkers.history import Event


def register_history(
    n_ops: int,
    keys: int = 16,
    clients: int = 20,
    info_rate: float = 0.01,
    seed: int = 0,
    mix: tuple[float, float, float] = (0.5, 0.3, 0.2),
    max_latency: int = 2_000_000,
) -> list[Event]:
    """`n_ops` operations (read/write/cas by `mix`); `info_rate` of them end `info`
    (half of those took effect); a client whose op ended info continues under a new
    process number. Times are nanoseconds."""
    rng = random.Random(seed)
    free = [(0, c) for c in range(clients)]  # (time the client is free, client)
    heapq.heapify(free)
    counters = [0] * clients
    last_seen: list[dict[str, Any]] = [{} for _ in range(clients)]
    planned = []
    for _ in range(n_ops):
        t, c = heapq.heappop(free)
        invoke = t + rng.randint(1_000, 50_000)
        complete = invoke + rng.randint(10_000, max_latency)
        point = rng.uniform(invoke, complete)
        heapq.heappush(free, (complete, c))
        r = rng.random()
        f = "read" if r < mix[0] else "write" if r < mix[0] + mix[1] else "cas"
        key = f"k{rng.randrange(keys)}"
        value: Any = None
        if f != "read":
            counters[c] += 1
            new = (counters[c] - 1) * clients + c + 1
            value = new if f == "write" else [last_seen[c].get(key), new]
            if f == "write":
                last_seen[c][key] = new
        planned.append([point, invoke, complete, c, f, key, value])
    # apply in the order the operations took effect
    state: dict[str, Any] = {}
    outcome: dict[int, tuple[str, Any, Any]] = {}
    by_point = sorted(range(n_ops), key=lambda i: planned[i][0])
    for i in by_point:
        _, _, _, c, f, key, value = planned[i]
        info = rng.random() < info_rate
        if info and rng.random() < 0.5:
            outcome[i] = ("info", value, None)  # never took effect
            continue
        cur = state.get(key)
        if f == "read":
            outcome[i] = ("info", None, None) if info else ("ok", cur, None)
        elif f == "write":
            state[key] = value
            outcome[i] = ("info" if info else "ok", value, None)
        elif cur == value[0]:
            state[key] = value[1]
            outcome[i] = ("info" if info else "ok", value, None)
        else:
            outcome[i] = ("fail", value, "precondition")
    # a client's cas uses what it saw: not modelled after the fact; fine for a checker
    raw = []
    process = list(range(clients))
    next_process = clients
    for i in sorted(range(n_ops), key=lambda i: planned[i][1]):
        _, invoke, complete, c, f, key, value = planned[i]
        status, out, err = outcome[i]
        p = process[c]
        raw.append((invoke, 0, p, "invoke", f, key, value, None))
        raw.append((complete, 1, p, status, f, key, out if f == "read" else value, err))
        if status == "info":
            process[c] = next_process
            next_process += 1
    raw.sort(key=lambda r: (r[0], r[1]))
    return [
        Event(i, r[0], r[2], r[3], r[4], r[6], r[5], None, r[7], i + 1) for i, r in enumerate(raw)
    ]
