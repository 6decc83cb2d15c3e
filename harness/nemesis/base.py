"""The fault protocol, target resolution, and the set of active faults of a run."""

from __future__ import annotations

import random
import threading
from typing import Any


class FaultError(ValueError):
    """A fault spec that cannot be applied (unknown mode, target or option)."""


TARGETS = ("one", "leader", "minority", "majority", "all")


class Fault:
    """start() applies the fault and returns what it did (for the history's nemesis
    event); heal() undoes it and returns what it undid. heal() of a fault that is
    not active does nothing, so healing twice is safe."""

    name = "fault"
    options: tuple[str, ...] = ()

    def __init__(self, cluster, options: dict[str, Any], rng: random.Random):
        unknown = set(options) - set(self.options)
        if unknown:
            raise FaultError(
                f"{self.name}: unknown option(s) {', '.join(sorted(unknown))}; "
                f"expected {', '.join(self.options) or 'none'}"
            )
        self.cluster = cluster
        self.opts = options
        self.rng = rng
        self.active = False
        self.applied: dict[str, Any] = {}

    def start(self) -> dict[str, Any]:
        if self.active:
            raise FaultError(f"{self.name} is already active")
        self.applied = self._start()
        self.active = True
        return self.applied

    def heal(self) -> dict[str, Any]:
        if not self.active:
            return {}
        try:
            self._heal()
        finally:
            self.active = False
        return self.applied

    def _start(self) -> dict[str, Any]:
        raise NotImplementedError

    def _heal(self) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.opts} {'active' if self.active else 'idle'}>"


def resolve_targets(cluster, target: Any, rng: random.Random) -> list[str]:
    """`one`, `leader`, `minority`, `majority`, `all`, a node name, or a list of them."""
    nodes = list(cluster.nodes)
    if isinstance(target, list):
        bad = [t for t in target if t not in nodes]
        if bad:
            raise FaultError(f"unknown node(s) {bad}; the cluster has {nodes}")
        return list(dict.fromkeys(target))
    if target in nodes:
        return [target]
    n = len(nodes)
    if target == "one":
        return [rng.choice(nodes)]
    if target == "leader":
        return [find_leader(cluster)]
    if target == "minority":
        return rng.sample(nodes, (n - 1) // 2 or 1)
    if target == "majority":
        return rng.sample(nodes, n // 2 + 1)
    if target == "all":
        return nodes
    raise FaultError(f"unknown target {target!r}; expected one of {TARGETS} or node names")


class NoLeader(FaultError):
    """No node leads at this moment. The run driver (harness/driver.py) tries the fault
    again a little later, in its own clock (real or virtual), for up to LEADER_WAIT_S."""


def find_leader(cluster) -> str:
    """The leader now, without waiting: waiting is the driver's, in the run's own time."""
    lead = cluster.leader()
    if lead is None:
        raise NoLeader("target leader: no node leads right now")
    return lead


class Nemesis:
    """The faults of one run: start them through here and heal_all() at the end."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self._lock = threading.Lock()

    def start(self, fault: Fault) -> dict[str, Any]:
        """Starts `fault` and keeps it for heal_all(). A fault whose start raised is not
        kept: a start either applies the fault or undoes what it did (packet.py)."""
        applied = fault.start()
        with self._lock:
            self.faults.append(fault)
        return applied

    def heal_all(self) -> list[str]:
        """Heals every active fault, newest first; returns the errors (never raises)."""
        errors = []
        with self._lock:
            faults = list(reversed(self.faults))
        # Resume paused nodes first: nothing else can be undone inside a frozen container.
        faults.sort(key=lambda f: f.name != "pause")
        for f in faults:
            try:
                f.heal()
            except Exception as exc:
                errors.append(f"{f.name}: {exc}")
        return errors
