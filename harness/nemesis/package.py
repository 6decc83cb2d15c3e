"""A nemesis package: a seeded random sequence of faults from the families it names, over
the whole run (Jepsen's combined nemesis).

Every `interval` seconds on average (the gap is drawn from [interval/2, 3 interval/2],
so faults do not beat in time with anything periodic in the system), one fault starts:
a family the package names (partitions weigh more, `WEIGHTS`), with a mode, target and
options drawn from all the nemesis offers, lasting a time drawn from `for`. Faults
overlap only where that is safe: at most one at a time from each group (`Fault.group`:
a group's faults undo each other), and families of different groups act on different
things.

Everything is drawn from the given random stream, so a seed gives the same plan.
"""

from __future__ import annotations

import random
from typing import Any

from harness.nemesis import FAULTS
from harness.nemesis.base import TARGETS

FAMILIES = tuple(FAULTS)
GROUPS = {name: fault.group or name for name, fault in FAULTS.items()}
# How much more often than another family a free one is drawn. Partitions are the fault
# most consensus bugs need (a leader cut off while clients still reach it: Jepsen's
# findings are mostly theirs), and they share the network group with packet faults, so
# drawn evenly they came least often (5 a minute against 12 membership changes). At 2.5
# the generic package catches stale reads in 9 runs of 10 rather than 6-7, the other
# bugs as often or more (benchmarks/bench_detection.py, docs/detection.md).
WEIGHTS = {"partition": 2.5}


def random_options(rng: random.Random, nodes: list[str], family: str) -> dict[str, Any]:
    """Options for a fault of `family`, drawn from everything the nemesis offers (each
    fault's `draw`). The target is drawn first for every family, those without one too,
    so a seed's plan stays what it was."""
    if family not in FAULTS:
        raise ValueError(f"unknown fault family {family!r}; expected one of {FAMILIES}")
    target: Any = rng.choice([*TARGETS, "nodes"])
    if target == "nodes":
        target = sorted(rng.sample(nodes, rng.randint(1, len(nodes))))
    return FAULTS[family].draw(rng, nodes, target)


def package_plan(
    rng: random.Random,
    families: list[str],
    nodes: list[str],
    start: float,
    until: float,
    interval: float,
    duration: tuple[float, float],
) -> list[tuple[float, float, str, dict[str, Any]]]:
    """(start, end, family, options) of each fault, in start order, within [start, until)."""
    plan: list[tuple[float, float, str, dict[str, Any]]] = []
    busy_until: dict[str, float] = {}  # group -> when its current fault heals
    t = start + rng.uniform(0, interval)
    while t < until:
        free = [f for f in families if busy_until.get(GROUPS.get(f, f), 0.0) <= t]
        if free:
            family = rng.choices(free, [WEIGHTS.get(f, 1.0) for f in free])[0]
            at, end = round(t, 3), round(t + rng.uniform(*duration), 3)
            plan.append((at, end, family, random_options(rng, nodes, family)))
            busy_until[GROUPS.get(family, family)] = end
        t += rng.uniform(interval / 2, 3 * interval / 2)
    return plan
