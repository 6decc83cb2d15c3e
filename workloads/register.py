"""The register workload: read, write and compare-and-set over independent keys.

Each client slot (a worker; its process number changes after an `info`, the
slot does not) draws its operations from its own random stream, seeded from the
run's seed and the slot, so the sequence of operations a slot issues does not
depend on timing. Written values are unique per key (slot-striped counters),
which lets the graph checker find reads-from edges without guessing.

A cas needs an expected value; the slot uses the last value it saw for that key
(from its own reads and writes), which is what makes some of them succeed.

Independent keys, Jepsen's way (`ops-per-key`): the slots are split into `keys` groups,
each working on one key at a time; once a key has had about ops-per-key operations (each
slot of the group does its share) the group moves on to a fresh key. So a few keys are
hot at any time, which is what exposes bugs, while each key's history stays small enough
for the linearizability search.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from workloads.base import Operation, Option

if TYPE_CHECKING:
    from harness.schedule import WorkloadSpec
    from harness.systems.base import Client
    from raftnode.client import Result


@dataclass
class RegisterSlot:
    """One worker's operation stream."""

    slot: int
    slots: int
    keys: list[str]
    mix: list[tuple[str, float]]
    rng: random.Random
    quota: int = 0  # operations this slot does on a key before moving on; 0: never
    writes: int = 0
    done: int = 0  # operations issued
    last_seen: dict[str, Any] = field(default_factory=dict)

    def current_keys(self) -> list[str]:
        """The keys this slot's next operation may use."""
        if not self.quota:
            return self.keys
        group = self.slot % len(self.keys)
        return [f"k{group}-{self.done // self.quota}"]

    def keys_used(self) -> list[str]:
        if not self.quota:
            return self.keys
        group = self.slot % len(self.keys)
        return [f"k{group}-{r}" for r in range((max(self.done, 1) - 1) // self.quota + 1)]

    def _fresh_value(self) -> int:
        # Unique across all slots: slot-striped counter, starting at 1.
        self.writes += 1
        return (self.writes - 1) * self.slots + self.slot + 1

    def next_operation(self) -> Operation:
        f = self.rng.choices([m[0] for m in self.mix], weights=[m[1] for m in self.mix])[0]
        key = self.rng.choice(self.current_keys())
        self.done += 1
        if f == "read":
            return Operation("read", key, None)
        if f == "write":
            return Operation("write", key, self._fresh_value())
        return Operation("cas", key, [self.last_seen.get(key), self._fresh_value()])

    def observe(self, op: Operation, outcome: str, value: Any) -> None:
        """Remember what the register held, as seen by this slot's own completed operation."""
        if outcome != "ok":
            return
        if op.f == "read":
            self.last_seen[op.key] = value
        elif op.f == "write":
            self.last_seen[op.key] = op.value
        elif op.f == "cas":
            self.last_seen[op.key] = op.value[1]


def key_names(count: int) -> list[str]:
    return [f"k{i}" for i in range(count)]


def make_slots(spec: WorkloadSpec, seed: int) -> list[RegisterSlot]:
    keys = key_names(spec.keys)
    mix = [(f, w) for f, w in spec.mix.items() if w > 0]
    per_key = spec.ops_per_key
    # Each key's operations are shared by the slots of its group.
    group = max(1, spec.concurrency // spec.keys)
    quota = -(-per_key // group) if per_key else 0
    return [
        RegisterSlot(
            slot=i,
            slots=spec.concurrency,
            keys=keys,
            mix=mix,
            rng=random.Random(f"{seed}/register/{i}"),
            quota=quota,
        )
        for i in range(spec.concurrency)
    ]


class RegisterWorkload:
    """read / write / cas over independent keys, unique values (history models
    `cas-register` per key)."""

    name = "register"
    operations = ("read", "write", "cas")
    checker = "linearizable"  # the history checker that fits it (checkers/registry.py)
    default_keys = 8  # eight registers
    default_mix = {"read": 0.5, "write": 0.3, "cas": 0.2}
    options: ClassVar[dict[str, Option]] = {}  # no fields of its own

    def slots(self, spec: WorkloadSpec, seed: int) -> list[RegisterSlot]:
        return make_slots(spec, seed)

    def initial_operations(self, spec: WorkloadSpec) -> list[Operation]:
        return []

    async def call(self, client: Client, op: Operation) -> Result:
        if op.f == "read":
            return await client.get(op.key)
        if op.f == "write":
            return await client.put(op.key, op.value)
        return await client.cas(op.key, op.value[0], op.value[1])

    def ok_value(self, op: Operation, result: Result) -> Any:
        return result.value if op.f == "read" else op.value

    def final_operations(
        self, spec: WorkloadSpec, slots: Sequence[RegisterSlot]
    ) -> list[Operation]:
        keys = dict.fromkeys(k for slot in slots for k in slot.keys_used())
        return [Operation("read", key, None) for key in keys]
