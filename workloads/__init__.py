"""Workloads: what the clients of a run do, one module each, registered in WORKLOADS.

A workload gives each client slot its own operation stream (seeded from the run's seed
and the slot, so the operations do not depend on timing), says how an operation is
carried out by a client (raftnode/client.py's `Client`), what an `ok` completion records
as its value, and which operations end the run (the final reads). The run driver
(harness/driver.py) knows nothing else about it: a new workload is one module here plus
its line in WORKLOADS. A workload may also act between operations, outside the history
(`work(client, op)`, awaited before `op` is invoked: a lock holder's work before its
release); the driver calls it when the workload has one. A workload owns its schedule
fields beyond the generic ones (name, keys, concurrency, rate, mix, binding, timeout,
attempt-timeout, ops-per-key): it declares them in `options` (workloads/base.py's Option)
and reads them as `spec.option(name)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from workloads.bank import BankWorkload
from workloads.base import Operation, Option, Slot
from workloads.list_append import ListAppendWorkload
from workloads.lock import LockWorkload
from workloads.register import RegisterWorkload
from workloads.rw_register import RwRegisterWorkload
from workloads.set import SetWorkload

if TYPE_CHECKING:
    from harness.schedule import WorkloadSpec
    from harness.systems.base import Client
    from raftnode.client import Result

# A workload's own slot type: what slots() makes is what final_operations() gets back.
S = TypeVar("S", bound=Slot)


class Workload(Protocol[S]):
    @property
    def name(self) -> str: ...

    @property
    def operations(self) -> tuple[str, ...]:
        """What its `mix` may weigh."""
        ...

    @property
    def default_mix(self) -> dict[str, float]: ...

    @property
    def default_keys(self) -> int:
        """`keys` when the schedule gives none."""
        ...

    @property
    def checker(self) -> str:
        """The history checker that fits its histories (checkers/registry.py)."""
        ...

    @property
    def options(self) -> dict[str, Option]:
        """Its own schedule fields beyond the generic ones, by name."""
        ...

    def slots(self, spec: WorkloadSpec, seed: int) -> Sequence[S]:
        """One operation stream per client slot."""
        ...

    def initial_operations(self, spec: WorkloadSpec) -> list[Operation]:
        """What the run does before the clients start (bank: open the accounts), each
        retried until it is ok and recorded in the history; usually nothing."""
        ...

    async def call(self, client: Client, op: Operation) -> Result:
        """Carry `op` out through `client` (harness/systems/base.py's Client)."""
        ...

    def ok_value(self, op: Operation, result: Result) -> Any:
        """The value an `ok` completion of `op` records in the history (JSON)."""
        ...

    def final_operations(self, spec: WorkloadSpec, slots: Sequence[S]) -> list[Operation]:
        """What the run does once healed (given the slots as the workload left them):
        each is retried until it is ok."""
        ...


# Any: each workload has its own slot type, and the driver hands a workload back the
# slots it made.
WORKLOADS: dict[str, Workload[Any]] = {
    w.name: w
    for w in (
        RegisterWorkload(),
        ListAppendWorkload(),
        SetWorkload(),
        RwRegisterWorkload(),
        BankWorkload(),
        LockWorkload(),
    )
}

__all__ = ["WORKLOADS", "Operation", "Option", "Slot", "Workload"]
