"""Network partitions through the backend's `cut_many`/`block_many` (iptables inside each
container on Docker).

Modes (docs/DESIGN.md): `one` (a random node alone), `leader` (the leader alone),
`halves` (random halves), `majority` (a majority that holds the leader, against the
rest), `minority` (the leader and a minority of followers, against a majority: a deposed
leader that still has followers to redirect clients to it), `random` (a random proper
subset against the rest), `majorities-ring` (each node sees a majority, no two the same
one; needs 4 or more nodes), `bridge` (two sides that only one node, the bridge, can
reach both of).

`one-way: true` (two-sided modes only): the first side (the isolated node, the
minority, ...) can no longer send to the others but still hears them.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

from harness.nemesis.base import Fault, FaultError, check_bool, check_choice, find_leader

MODES = (
    "one",
    "halves",
    "majority",
    "majorities-ring",
    "bridge",
    "leader",
    "random",
    "minority",
)
# How often a drawn partition (a nemesis package's, a hunt's) takes each mode. Modes that
# cut the leader off from a majority weigh more: a leader change under load is where a
# consensus system is most fragile (Jepsen's `primaries` target), and the other modes
# mostly cut followers, which a correct and a buggy node both shrug off. Two in three
# rather than one in two: more moments per run with two would-be leaders, where the bugs
# a deposed leader shows (stale reads, expired leases) can be seen at all.
DRAW_WEIGHTS = {"leader": 6, "minority": 6}
# How often a drawn two-sided partition is one-way. Seldom: a leader on the muted side
# still hears the others, so it learns of its successor at once and there are never two
# nodes that believe they lead; one-way cuts test other things (a node that cannot be
# heard), and 15% of the draws keep them in every long run.
ONE_WAY_SHARE = 0.15


def ring_cuts(order: list[str]) -> list[tuple[str, str]]:
    """Pairs to cut so each node keeps only its ring neighbours within distance k,
    k chosen so that it sees a majority (itself included) and no two nodes see the
    same set."""
    n = len(order)
    majority = n // 2 + 1
    k = -(-(majority - 1) // 2)  # ceil
    if n < 4 or 2 * k + 1 >= n:
        raise FaultError(f"majorities-ring needs 4 or more nodes that a ring can split; got {n}")
    cuts = []
    for i, j in itertools.combinations(range(n), 2):
        d = min(j - i, n - (j - i))
        if d > k:
            cuts.append((order[i], order[j]))
    return cuts


class PartitionFault(Fault):
    name = "partition"
    options = ("mode", "one-way")
    group = "network"

    @classmethod
    def _validate(cls, options: dict[str, Any]) -> dict[str, Any]:
        mode = check_choice(cls.name, "mode", options.get("mode", "halves"), MODES)
        one_way = check_bool(cls.name, "one-way", options.get("one-way", False))
        if one_way and mode in ("majorities-ring", "bridge"):
            raise FaultError(f"partition: one-way needs a two-sided mode, not {mode}", ("one-way",))
        return {"mode": mode, "one-way": one_way}

    @classmethod
    def draw(cls, rng: random.Random, nodes: list[str], target: Any) -> dict[str, Any]:
        modes = [m for m in MODES if m != "majorities-ring" or len(nodes) >= 4]
        mode = rng.choices(modes, [DRAW_WEIGHTS.get(m, 1) for m in modes])[0]
        options: dict[str, Any] = {"mode": mode}
        if mode not in ("majorities-ring", "bridge"):
            options["one-way"] = rng.random() < ONE_WAY_SHARE
        return options

    def __init__(self, cluster, options, rng):
        super().__init__(cluster, options, rng)
        self.mode = self.opts["mode"]
        self.one_way = self.opts["one-way"]

    def sides(self) -> list[list[str]]:
        nodes = list(self.cluster.nodes)
        n = len(nodes)
        if n < 2:
            raise FaultError("partition: needs at least two nodes")
        shuffled = self.rng.sample(nodes, n)
        if self.mode == "one":
            first = [shuffled[0]]
        elif self.mode == "leader":
            first = [find_leader(self.cluster)]
        elif self.mode == "halves":
            first = shuffled[: n // 2]
        elif self.mode == "majority":
            lead = find_leader(self.cluster)
            others = [x for x in shuffled if x != lead]
            majority = [lead, *others[: n // 2]]
            first = [x for x in nodes if x not in majority]
        elif self.mode == "minority":
            lead = find_leader(self.cluster)
            others = [x for x in shuffled if x != lead]
            first = [lead, *others[: max(0, (n - 1) // 2 - 1)]]
        elif self.mode == "random":
            first = shuffled[: self.rng.randint(1, n - 1)]
        else:
            raise AssertionError(self.mode)
        return [sorted(first), sorted(x for x in nodes if x not in first)]

    def _start(self) -> dict[str, Any]:
        c = self.cluster
        if self.mode == "majorities-ring":
            order = self.rng.sample(list(c.nodes), len(c.nodes))
            cuts = ring_cuts(order)
            c.cut_many(cuts)
            return {"mode": self.mode, "ring": order, "cuts": [list(p) for p in cuts]}
        if self.mode == "bridge":
            order = self.rng.sample(list(c.nodes), len(c.nodes))
            if len(order) < 3:
                raise FaultError("partition: bridge needs at least three nodes")
            half = (len(order) - 1) // 2
            a, bridge, b = order[:half], order[half], order[half + 1 :]
            c.cut_many(list(itertools.product(a, b)))
            return {"mode": self.mode, "groups": [sorted(a), sorted(b)], "bridge": bridge}
        first, rest = self.sides()
        pairs = list(itertools.product(first, rest))
        if self.one_way:
            c.block_many(pairs)
        else:
            c.cut_many(pairs)
        return {"mode": self.mode, "groups": [first, rest], "one-way": self.one_way}

    def _heal(self) -> None:
        self.cluster.heal_network()
