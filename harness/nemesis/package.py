"""A nemesis package: a seeded random sequence of faults from the families it names, over
the whole run (Jepsen's combined nemesis).

Every `interval` seconds on average (the gap is drawn from [interval/2, 3 interval/2],
so faults do not beat in time with anything periodic in the system), one fault starts:
a family the package names, with a mode, target and options drawn from all the nemesis
offers, lasting a time drawn from `for`. Faults overlap only where that is safe: at most
one at a time from each group below, since a group's faults undo each other (healing a
partition clears every iptables rule, a packet fault's included; a paused container
cannot be killed), and families of different groups act on different things.

Everything is drawn from the given random stream, so a seed gives the same plan.
"""

from __future__ import annotations

import random
from typing import Any

from harness.nemesis.partition import MODES as PARTITION_MODES

FAMILIES = ("partition", "kill", "pause", "clock", "packet")
GROUPS = {"partition": "network", "packet": "network", "kill": "process", "pause": "process"}
TARGETS = ("one", "leader", "minority", "majority", "all")


def random_options(rng: random.Random, nodes: list[str], family: str) -> dict[str, Any]:
    """Options for a fault of `family`, drawn from everything the nemesis offers."""
    target: Any = rng.choice([*TARGETS, "nodes"])
    if target == "nodes":
        target = sorted(rng.sample(nodes, rng.randint(1, len(nodes))))
    if family == "partition":
        modes = [m for m in PARTITION_MODES if m != "majorities-ring" or len(nodes) >= 4]
        mode = rng.choice(modes)
        options: dict[str, Any] = {"mode": mode}
        if mode not in ("majorities-ring", "bridge"):
            options["one-way"] = rng.random() < 0.3
        return options
    if family in ("kill", "pause"):
        return {"target": target}
    if family == "clock":
        delta = rng.choice([-1, 1]) * rng.choice([100, 500, 1000, 3000])
        if rng.random() < 0.5:
            return {"mode": "bump", "delta-ms": delta, "target": target}
        period = rng.choice([50, 200, 500])
        return {"mode": "strobe", "delta-ms": delta, "period-ms": period, "target": target}
    if family == "packet":
        options = {"target": target}
        if rng.random() < 0.7:
            options["delay-ms"] = rng.choice([5, 20, 50, 200])
        if "delay-ms" not in options or rng.random() < 0.5:
            options["loss"] = rng.choice([5, 20, 50])
        return options
    raise ValueError(f"unknown fault family {family!r}; expected one of {FAMILIES}")


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
            family = rng.choice(free)
            at, end = round(t, 3), round(t + rng.uniform(*duration), 3)
            plan.append((at, end, family, random_options(rng, nodes, family)))
            busy_until[GROUPS.get(family, family)] = end
        t += rng.uniform(interval / 2, 3 * interval / 2)
    return plan
