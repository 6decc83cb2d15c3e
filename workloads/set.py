"""The set workload (Jepsen's): clients add unique elements to a set, and a final read
(after healing) returns them all; the set checker (checkers/) then says which
acknowledged adds were lost, which elements nobody added turned up, and which adds of
unknown outcome were recovered. Reads during the run (mix `read`) are checked the same way.

On raftnode the set is a list-valued key: an add is a one-micro-op transaction appending
the element, a read a read-only transaction of the key (history: f "add" with the
element, f "read" with the list of elements; DESIGN's history section). A client of a
system with a set type of its own offers `add(key, element)` and `members(key)` (Redis:
SADD and SMEMBERS), and the workload uses them instead: the set is then the system's own,
not a list standing in for it, and the client's `txn` need not pretend to be one.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, cast

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


class SetClient(Protocol):
    """A client with a set type of its own (optional beside the Client protocol)."""

    async def add(self, key: str, element: Any) -> Result: ...

    async def members(self, key: str) -> Result:
        """ok value: the elements, a list."""
        ...


def own_set(client: Any) -> bool:
    """Whether the client offers a set type of its own (add and members)."""
    return callable(getattr(client, "add", None)) and callable(getattr(client, "members", None))


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
        if own_set(client):
            sets = cast("SetClient", client)
            if op.f == "add":
                return await sets.add(SET_KEY, op.value)
            return await sets.members(SET_KEY)
        if op.f == "add":
            return await client.txn([["append", SET_KEY, op.value]])
        result = await client.txn([["r", SET_KEY, None]])
        if result.ok:  # the key's list; never written: empty
            result.value = list(result.value[0][2] or [])
        return result

    def ok_value(self, op: Operation, result: Result) -> Any:
        if op.f == "add":
            return op.value
        return list(result.value or [])

    def final_operations(self, spec: WorkloadSpec, slots: Sequence[SetSlot]) -> list[Operation]:
        return [Operation("read", None, None, label=SET_KEY)]
