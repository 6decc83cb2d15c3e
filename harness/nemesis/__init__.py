"""Faults from outside the node: each a small object with start() and heal().

Build one from a schedule entry with `make_fault(spec, cluster, rng)`; keep the
ones you start in a `Nemesis`, whose `heal_all()` heals whatever is still active
(a run calls it at the end, whatever happened). Targets are resolved when a fault
starts, so `target: leader` means the leader at that moment.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.backends.base import Cluster
    from harness.schedule import FaultSpec

from harness.nemesis.base import Fault, FaultError, Nemesis, NoLeader
from harness.nemesis.clock import ClockFault
from harness.nemesis.kill import KillFault
from harness.nemesis.membership import MembershipFault
from harness.nemesis.packet import PacketFault
from harness.nemesis.partition import PartitionFault
from harness.nemesis.pause import PauseFault

# Every fault by name: what a schedule's `fault:` and a package may name. Adding a fault:
# its module (a Fault subclass: name, options, group, validate/draw, _start/_heal) and a
# line here.
FAULTS: dict[str, type[Fault]] = {
    "partition": PartitionFault,
    "kill": KillFault,
    "pause": PauseFault,
    "clock": ClockFault,
    "packet": PacketFault,
    "membership": MembershipFault,
}
TIMING_KEYS = ("at", "start", "every", "for")  # a schedule entry's timing, not options


def make_fault(
    spec: FaultSpec | dict[str, Any], cluster: Cluster | None, rng: random.Random | None = None
) -> Fault:
    """A fault from a schedule entry: a dict like {fault: partition, mode: halves, for: 10}
    (timing keys are ignored here) or a schedule's FaultSpec."""
    if isinstance(spec, dict):
        kind = spec.get("fault")
        options = {k: v for k, v in spec.items() if k != "fault" and k not in TIMING_KEYS}
    else:
        kind, options = spec.fault, dict(spec.options)
    if kind not in FAULTS:
        raise FaultError(f"unknown fault {kind!r}; expected one of {', '.join(FAULTS)}")
    return FAULTS[kind](cluster, options, rng or random.Random())


__all__ = ["FAULTS", "TIMING_KEYS", "Fault", "FaultError", "Nemesis", "NoLeader", "make_fault"]
