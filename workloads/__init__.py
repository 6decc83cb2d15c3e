"""Workloads: what the clients of a run do, one module each, registered in WORKLOADS.

A workload gives each client slot its own operation stream (seeded from the run's seed
and the slot, so the operations do not depend on timing), says how an operation is
carried out by a client (raftnode/client.py's `Client`), what an `ok` completion records
as its value, and which operations end the run (the final reads). The run driver
(harness/driver.py) knows nothing else about it: a new workload is one module here plus
its line in WORKLOADS. A workload owns its schedule fields beyond the generic ones (name,
keys, concurrency, rate, mix, binding, timeout, attempt-timeout, ops-per-key): it declares
them in `options` (workloads/base.py's Option) and reads them as `spec.option(name)`.
"""

from __future__ import annotations

from typing import Any, Protocol

from workloads.bank import BankWorkload
from workloads.base import Operation, Option, Slot
from workloads.list_append import ListAppendWorkload
from workloads.register import RegisterWorkload
from workloads.rw_register import RwRegisterWorkload
from workloads.set import SetWorkload


class Workload(Protocol):
    name: str
    operations: tuple[str, ...]  # what its `mix` may weigh
    default_mix: dict[str, float]
    default_keys: int  # `keys` when the schedule gives none
    checker: str  # the history checker that fits its histories

    def slots(self, spec: Any, seed: int) -> list[Slot]:
        """One operation stream per client slot (spec: the schedule's WorkloadSpec)."""
        ...

    def initial_operations(self, spec: Any) -> list[Operation]:
        """What the run does before the clients start (bank: open the accounts), each
        retried until it is ok and recorded in the history; usually nothing."""
        ...

    async def call(self, client: Any, op: Operation) -> Any:
        """Carry `op` out through `client`; returns the client's Result."""
        ...

    def ok_value(self, op: Operation, result: Any) -> Any:
        """The value an `ok` completion of `op` records in the history."""
        ...

    def final_operations(self, spec: Any, slots: list[Slot]) -> list[Operation]:
        """What the run does once healed (given the slots as the workload left them):
        each is retried until it is ok."""
        ...


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        RegisterWorkload(),
        ListAppendWorkload(),
        SetWorkload(),
        RwRegisterWorkload(),
        BankWorkload(),
    )
}

__all__ = ["WORKLOADS", "Operation", "Option", "Slot", "Workload"]
