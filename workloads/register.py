"""The register workload: read, write and compare-and-set over independent keys.

Each client slot (a worker; its process number changes after an `info`, the
slot does not) draws its operations from its own random stream, seeded from the
run's seed and the slot, so the sequence of operations a slot issues does not
depend on timing. Written values are unique per key (slot-striped counters),
which lets the graph checker find reads-from edges without guessing.

A cas needs an expected value; the slot uses the last value it saw for that key
(from its own reads and writes), which is what makes some of them succeed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from workloads.base import Operation


@dataclass
class RegisterSlot:
    """One worker's operation stream."""

    slot: int
    slots: int
    keys: list[str]
    mix: list[tuple[str, float]]
    rng: random.Random
    writes: int = 0
    last_seen: dict[str, Any] = field(default_factory=dict)

    def _fresh_value(self) -> int:
        # Unique across all slots: slot-striped counter, starting at 1.
        self.writes += 1
        return (self.writes - 1) * self.slots + self.slot + 1

    def next_operation(self) -> Operation:
        f = self.rng.choices([m[0] for m in self.mix], weights=[m[1] for m in self.mix])[0]
        key = self.rng.choice(self.keys)
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


def make_slots(spec: Any, seed: int) -> list[RegisterSlot]:
    keys = key_names(spec.keys)
    mix = [(f, w) for f, w in spec.mix.items() if w > 0]
    return [
        RegisterSlot(
            slot=i,
            slots=spec.concurrency,
            keys=keys,
            mix=mix,
            rng=random.Random(f"{seed}/register/{i}"),
        )
        for i in range(spec.concurrency)
    ]


class RegisterWorkload:
    """read / write / cas over independent keys, unique values (history models
    `cas-register` per key)."""

    name = "register"

    def slots(self, spec: Any, seed: int) -> list[RegisterSlot]:
        return make_slots(spec, seed)

    async def call(self, client: Any, op: Operation) -> Any:
        if op.f == "read":
            return await client.get(op.key)
        if op.f == "write":
            return await client.put(op.key, op.value)
        return await client.cas(op.key, op.value[0], op.value[1])

    def ok_value(self, op: Operation, result: Any) -> Any:
        return result.value if op.f == "read" else op.value

    def final_operations(self, spec: Any) -> list[Operation]:
        return [Operation("read", key, None) for key in key_names(spec.keys)]
