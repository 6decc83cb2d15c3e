"""The set workload (Jepsen's): clients add unique elements to a set, and a final read
(after healing) returns them all; the set checker (checkers/) then says which
acknowledged adds were lost, which elements nobody added turned up, and which adds of
unknown outcome were recovered. Reads during the run (mix `read`) are checked the same way.

On raftnode the set is a list-valued key: an add is a one-micro-op transaction appending
the element, a read a read-only transaction of the key (history: f "add" with the
element, f "read" with the list of elements; DESIGN's history section).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from workloads.base import Operation, Option

if TYPE_CHECKING:
    from harness.schedule import WorkloadSpec
    from harness.systems.base import Client
    from raftnode.client import Result

SET_KEY = "set"


@dataclass
class SetSlot:
    slot: int
    slots: int
    read_share: float
    rng: random.Random
    added: int = 0

    def next_operation(self) -> Operation:
        if self.rng.random() < self.read_share:
            return Operation("read", None, None)
        self.added += 1
        return Operation("add", None, (self.added - 1) * self.slots + self.slot + 1)

    def observe(self, op: Operation, outcome: str, value: Any) -> None:
        pass


class SetWorkload:
    name = "set"
    operations = ("add", "read")
    checker = "set"  # the history checker that fits it (checkers/registry.py)
    default_keys = 8  # not used (one set); as schedules have always shown it
    default_mix = {"add": 1.0}
    options: ClassVar[dict[str, Option]] = {}  # no fields of its own

    def slots(self, spec: WorkloadSpec, seed: int) -> list[SetSlot]:
        mix = spec.mix if set(spec.mix) <= set(self.operations) else self.default_mix
        share = mix.get("read", 0) / (sum(mix.values()) or 1)
        return [
            SetSlot(i, spec.concurrency, share, random.Random(f"{seed}/set/{i}"))
            for i in range(spec.concurrency)
        ]

    def initial_operations(self, spec: WorkloadSpec) -> list[Operation]:
        return []

    async def call(self, client: Client, op: Operation) -> Result:
        if op.f == "add":
            return await client.txn([["append", SET_KEY, op.value]])
        return await client.txn([["r", SET_KEY, None]])

    def ok_value(self, op: Operation, result: Result) -> Any:
        if op.f == "add":
            return op.value
        return list(result.value[0][2] or [])  # the key's list; never written: empty

    def final_operations(self, spec: WorkloadSpec, slots: Sequence[SetSlot]) -> list[Operation]:
        return [Operation("read", None, None, label=SET_KEY)]
