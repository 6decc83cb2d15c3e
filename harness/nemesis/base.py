"""The fault protocol, target resolution, and the set of active faults of a run."""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from harness.backends.base import Cluster


class FaultError(ValueError):
    """A fault spec that cannot be applied (unknown mode, target or option). `option` is
    where in the fault's options the problem is (("delta-ms",), ("target", 2)), or ()
    for the options as a whole (a required one missing), so a schedule can name its line."""

    def __init__(self, message: str, option: tuple = ()):
        super().__init__(message)
        self.option = option


TARGETS = ("one", "leader", "minority", "majority", "all")
Nodes = Sequence[str] | None  # the cluster's node names; None: not known yet
# A fault's `target`: one of TARGETS, a node name, or a list of node names.
Target = str | list[str]


class Fault:
    """start() applies the fault and returns what it did (for the history's nemesis
    event); heal() undoes it and returns what it undid. heal() of a fault that is
    not active does nothing, so healing twice is safe.

    A fault also knows its options: `validate` checks a schedule entry's (the schedule
    parser calls it), `draw` makes random ones (nemesis packages). So adding a fault is
    its module and a line in harness/nemesis/__init__.py."""

    name = "fault"
    options: tuple[str, ...] = ()  # every option it takes, beyond a schedule's timing keys
    # Faults of one group undo each other (healing a partition clears every iptables rule,
    # a packet fault's included; a paused container cannot be killed), so a package runs
    # at most one fault of a group at a time. Its own name: a group of one.
    group: str = ""

    @classmethod
    def validate(cls, options: dict[str, Any], nodes: Nodes = None) -> dict[str, Any]:
        """The options as the fault will use them, defaults filled in; FaultError naming
        the option otherwise. `nodes`: the names a target may use (None: any name, checked
        when the fault starts)."""
        for key in options:
            if key not in cls.options:
                raise FaultError(
                    f"{cls.name}: unknown option {key!r}; "
                    f"expected one of: {', '.join(cls.options) or 'none'}",
                    (key,),
                )
        out: dict[str, Any] = {}
        if "target" in cls.options:
            out["target"] = check_target(cls.name, options.get("target", "one"), nodes)
        out.update(cls._validate(options))
        return out

    @classmethod
    def _validate(cls, options: dict[str, Any]) -> dict[str, Any]:
        """The fault's own options (all but `target`), checked, defaults filled in."""
        return {}

    @classmethod
    def draw(cls, rng: random.Random, nodes: list[str], target: Target) -> dict[str, Any]:
        """Options drawn at random from everything the fault offers (a nemesis package);
        `target` is already drawn, for the faults that take one."""
        raise NotImplementedError(f"{cls.name} offers no random options")

    def __init__(self, cluster: Cluster | None, options: dict[str, Any], rng: random.Random):
        self.cluster = cluster
        self.opts = self.validate(options, None if cluster is None else list(cluster.nodes))
        self.rng = rng
        self.active = False
        self.applied: dict[str, Any] = {}

    def start(self) -> dict[str, Any]:
        if self.active:
            raise FaultError(f"{self.name} is already active")
        why = self.cluster.refuses(self.name) if self.cluster is not None else None
        if why:  # the system under test cannot take it: a fault problem, never faked
            from harness.backends.base import Unsupported

            raise Unsupported(why)
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


class ProcessFault(Fault):
    """A fault done to the processes of each targeted node and undone on heal, node by node
    (kill and restart, pause and resume): `target` is its only option."""

    options = ("target",)
    group = "process"
    # What the fault adds to the nodes it was applied to (the history's fault entry).
    details: ClassVar[dict[str, Any]] = {}

    @classmethod
    def draw(cls, rng: random.Random, nodes: list[str], target: Target) -> dict[str, Any]:
        return {"target": target}

    def _start(self) -> dict[str, Any]:
        cluster = self._cluster()
        self.targets = resolve_targets(cluster, self.opts.get("target", "one"), self.rng)
        for node in self.targets:
            self._apply(cluster, node)
        return {"nodes": self.targets, **self.details}

    def _heal(self) -> None:
        cluster = self._cluster()
        for node in self.targets:
            self._undo(cluster, node)

    def _cluster(self) -> Cluster:
        if self.cluster is None:
            raise FaultError(f"{self.name} needs a cluster to act on")
        return self.cluster

    def _apply(self, cluster: Cluster, node: str) -> None:
        raise NotImplementedError

    def _undo(self, cluster: Cluster, node: str) -> None:
        raise NotImplementedError


# ---- checking options --------------------------------------------------------------------


def check_target(fault: str, value: object, nodes: Nodes) -> Target:
    """A target: one of TARGETS, a node name, or a non-empty list of node names."""
    if isinstance(value, list):
        if not value:
            raise FaultError(f"{fault}: target list is empty", ("target",))
        for i, node in enumerate(value):
            if not isinstance(node, str) or (nodes is not None and node not in nodes):
                expected = ", ".join(nodes) if nodes is not None else "node names"
                raise FaultError(
                    f"{fault}: target[{i}] is {node!r}; expected one of: {expected}",
                    ("target", i),
                )
        return list(value)
    if value in TARGETS or (isinstance(value, str) and (nodes is None or value in nodes)):
        return value
    choices = ", ".join([*TARGETS, *(nodes or [])])
    raise FaultError(f"{fault}: target is {value!r}; expected one of: {choices}", ("target",))


def check_choice(fault: str, key: str, value: object, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise FaultError(
            f"{fault}: {key} is {value!r}; expected one of: {', '.join(choices)}", (key,)
        )
    return value


def check_number(fault: str, key: str, value: object, minimum: float | None = None) -> float:
    """A number (not a bool), at least `minimum` when given; returned as written."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (minimum is not None and value < minimum)
    ):
        at_least = f" >= {minimum:g}" if minimum is not None else ""
        raise FaultError(f"{fault}: {key} must be a number{at_least}, got {value!r}", (key,))
    return value


def check_bool(fault: str, key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise FaultError(f"{fault}: {key} must be true or false, got {value!r}", (key,))
    return value


# ---- at run time --------------------------------------------------------------------------


def resolve_targets(cluster: Cluster, target: Target, rng: random.Random) -> list[str]:
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


def find_leader(cluster: Cluster) -> str:
    """The leader now, without waiting: waiting is the driver's, in the run's own time."""
    lead = cluster.leader()
    if lead is None:
        raise NoLeader("target leader: no node leads right now")
    return lead


class Nemesis:
    """The faults of one run: start them through here and heal_all() at the end."""

    # How long heal_all waits for starts still in flight (a kill of every node is a docker
    # exec each): longer than any start takes, short of hanging a run's end for ever.
    START_WAIT_S = 120.0

    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self._lock = threading.Condition()
        self._starting = 0  # starts in flight (each in a worker thread)

    def start(self, fault: Fault) -> dict[str, Any]:
        """Starts `fault` and keeps it for heal_all(). A fault whose start raised is not
        kept: a start either applies the fault or undoes what it did (packet.py)."""
        with self._lock:
            self._starting += 1
        try:
            applied = fault.start()
            with self._lock:
                self.faults.append(fault)
        finally:
            with self._lock:
                self._starting -= 1
                self._lock.notify_all()
        return applied

    def heal_all(self) -> list[str]:
        """Heals every active fault, newest first; returns the errors (never raises).

        A start still in flight is waited for first: the driver cancels its nemesis task
        at the end of the workload, but a start already handed to a worker thread runs on
        (a kill fault killing its nodes one exec at a time), and a fault kept after this
        heal would stay in force: every node killed, the final reads unanswered."""
        errors = []
        with self._lock:
            if not self._lock.wait_for(lambda: self._starting == 0, self.START_WAIT_S):
                errors.append(f"a fault still starting after {self.START_WAIT_S:g} s")
            faults = list(reversed(self.faults))
        # Resume paused nodes first: nothing else can be undone inside a frozen container.
        faults.sort(key=lambda f: f.name != "pause")
        for f in faults:
            try:
                f.heal()
            except Exception as exc:
                errors.append(f"{f.name}: {exc}")
        return errors
