"""The list-append workload (Elle's generator, jepsen.tests.cycle.append): transactions of
1 to N micro-ops over a small rolling set of hot keys. Each micro-op is an append of a
value unique to its key (here unique over the whole run: slot-striped counters) or a read
of the key's whole list. Reads returning whole lists are what lets the Elle checker
(checkers/elle/) infer each key's version order and so every dependency between
transactions.

Hot keys roll, Elle's way: after about `ops-per-key` writes a key is retired and a fresh
one takes its place, so few keys are hot at any time (contention exposes anomalies) while
no key's history grows long. Slots agree on the keys without talking: key i of epoch e is
e * keys + i, and a slot's epoch follows its own count of operations (slots run at the
same rate, so their epochs move together).

The rw-register workload (workloads/rw_register.py) is the same generator with blind
register writes (`w`) in place of appends.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from workloads.base import Operation, Option, int_range

if TYPE_CHECKING:
    from harness.schedule import WorkloadSpec
    from harness.systems.base import Client
    from raftnode.client import Result

DEFAULT_OPS_PER_KEY = 32  # Elle's max-writes-per-key


@dataclass
class TxnSlot:
    slot: int
    slots: int
    keys: int
    lengths: tuple[int, int]
    write_share: float  # of micro-ops
    quota: int  # transactions a slot runs on one epoch of keys
    rng: random.Random
    write: str = "append"  # the write micro-op: "append" or "w"
    done: int = 0
    written: int = 0
    epochs_seen: set[int] = field(default_factory=set)

    def epoch(self) -> int:
        return self.done // self.quota

    def next_operation(self) -> Operation:
        epoch = self.epoch()
        self.epochs_seen.add(epoch)
        self.done += 1
        ops: list[list[Any]] = []
        for _ in range(self.rng.randint(*self.lengths)):
            key = epoch * self.keys + self.rng.randrange(self.keys)
            if self.rng.random() < self.write_share:
                self.written += 1
                ops.append([self.write, key, (self.written - 1) * self.slots + self.slot + 1])
            else:
                ops.append(["r", key, None])
        return Operation("txn", None, ops)

    def observe(self, op: Operation, outcome: str, value: Any) -> None:
        pass  # the stream does not depend on answers


class TxnWorkload:
    """Transactions of writes and reads over rolling hot keys (history: f "txn", DESIGN's
    transaction format); `write` names the write micro-op."""

    name = "list-append"
    write = "append"
    checker = "elle"  # the history checker that fits it (checkers/registry.py)
    default_keys = 3  # Elle's three hot keys (contention)
    options: ClassVar[dict[str, Option]] = {
        "txn-length": Option(
            (1, 4), int_range(1), "micro-ops per transaction: n, or [fewest, most]"
        ),
    }

    @property
    def operations(self) -> tuple[str, ...]:
        return (self.write, "r")

    @property
    def default_mix(self) -> dict[str, float]:
        return {self.write: 0.5, "r": 0.5}

    def slots(self, spec: WorkloadSpec, seed: int) -> list[TxnSlot]:
        # The schedule's mix as written (a spec made in code may carry the register's).
        mix = spec.mix if set(spec.mix) <= set(self.operations) else self.default_mix
        share = mix.get(self.write, 0) / (sum(mix.values()) or 1)
        low, high = spec.option("txn-length")
        per_key = spec.ops_per_key or DEFAULT_OPS_PER_KEY
        # Writes a slot makes per transaction, on average; the group of all slots shares
        # an epoch's keys, so a slot's quota of transactions per epoch is what brings each
        # key to about ops-per-key writes.
        writes = max(share * (low + high) / 2, 1e-9)
        quota = max(1, round(per_key * spec.keys / (spec.concurrency * writes)))
        return [
            TxnSlot(
                slot=i,
                slots=spec.concurrency,
                keys=spec.keys,
                lengths=(low, high),
                write_share=share,
                quota=quota,
                rng=random.Random(f"{seed}/{self.name}/{i}"),
                write=self.write,
            )
            for i in range(spec.concurrency)
        ]

    def initial_operations(self, spec: WorkloadSpec) -> list[Operation]:
        return []

    async def call(self, client: Client, op: Operation) -> Result:
        return await client.txn(op.value)

    def ok_value(self, op: Operation, result: Result) -> Any:
        return result.value

    def final_operations(self, spec: WorkloadSpec, slots: Sequence[TxnSlot]) -> list[Operation]:
        """A read of every key any slot used, one transaction per key."""
        epochs = sorted({e for s in slots for e in s.epochs_seen})
        keys = [e * spec.keys + i for e in epochs for i in range(spec.keys)]
        return [Operation("txn", None, [["r", k, None]], label=str(k)) for k in keys]


class ListAppendWorkload(TxnWorkload):
    """Transactions of appends and reads of whole lists."""
