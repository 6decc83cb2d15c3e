"""A nemesis package: a seeded random sequence of faults from the families it names, over
the whole run (Jepsen's combined nemesis), and the one place that knows how a plan of
faults and each fault's options are drawn: schedules' `package:` entries, `raftquake
hunt` and the property tests all draw through `draw_plan`, each with its own `Shape`.

Every `interval` seconds on average (the gap is drawn from [interval/2, 3 interval/2],
so faults do not beat in time with anything periodic in the system), one fault starts:
a family the package names (partitions weigh more, `WEIGHTS`), with a target and
options drawn from all the nemesis offers (`random_options`), lasting a time drawn from
`duration`. A package's faults overlap only where that is safe: at most one at a time
from each group (`Fault.group`: a group's faults undo each other), and families of
different groups act on different things. The property tests ask for more
(`Shape.exclusive` off: faults of one group overlap, as in no plan a package draws, the
worst a safety test can throw).

Everything is drawn from the given random stream, so a seed gives the same plan; a
hypothesis-controlled one (`st.randoms(use_true_random=False)`) makes it a strategy that
shrinks. Such a stream answers `choices` evenly, whatever the weights, and draws floats
towards the ends of their range (hypothesis's own bias), so its plans are not a
package's mix: the hunt draws from a true Random hypothesis seeds (harness/hunt.py).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
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

# (start, end, family, options) of one drawn fault, in seconds from the run's start.
Drawn = tuple[float, float, str, dict[str, Any]]


@dataclass(frozen=True)
class Shape:
    """How a plan is drawn. The defaults are a schedule's package (docs/schedules.md);
    the hunt and the property tests change what their search needs."""

    families: tuple[str, ...]  # a family named twice is drawn twice as often
    interval: float  # seconds between fault starts, on average
    duration: tuple[float, float]  # the shortest and longest fault, seconds
    exclusive: bool = True  # at most one fault at a time per group (GROUPS)
    weights: Mapping[str, float] = field(default_factory=lambda: dict(WEIGHTS))  # others: 1
    most: int | None = None  # faults at most (None: as many as the interval gives)
    decimals: int = 3  # times rounded to this many decimals (a hunt writes tenths)


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


def draw_plan(
    rng: random.Random, nodes: list[str], start: float, until: float, shape: Shape
) -> list[Drawn]:
    """The faults of a plan within [start, until), in start order: the one generator."""
    plan: list[Drawn] = []
    busy_until: dict[str, float] = {}  # group -> when its current fault heals
    t = start + rng.uniform(0, shape.interval)
    while t < until and (shape.most is None or len(plan) < shape.most):
        free = [f for f in shape.families if busy_until.get(GROUPS.get(f, f), 0.0) <= t]
        if free:
            family = rng.choices(free, [shape.weights.get(f, 1.0) for f in free])[0]
            at = round(t, shape.decimals)
            end = round(t + rng.uniform(*shape.duration), shape.decimals)
            plan.append((at, end, family, random_options(rng, nodes, family)))
            if shape.exclusive:
                busy_until[GROUPS.get(family, family)] = end
        t += rng.uniform(shape.interval / 2, 3 * shape.interval / 2)
    return plan


def package_plan(
    rng: random.Random,
    families: list[str],
    nodes: list[str],
    start: float,
    until: float,
    interval: float,
    duration: tuple[float, float],
) -> list[Drawn]:
    """A schedule's `package:` entry: `draw_plan` in a package's shape."""
    return draw_plan(rng, nodes, start, until, Shape(tuple(families), interval, duration))
