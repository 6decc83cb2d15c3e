"""The bank workload (Jepsen's jepsen.tests.bank): money moves between accounts, and
every read of all the balances must find the same total.

Before the clients start, the accounts are opened with the total split evenly (the
remainder to the first accounts) by one transaction of register writes; the history
records it as `{"f": "init", "value": {"0": 13, "1": 13, ...}}` so that a history carries
its own total. Then each client either transfers (`{"f": "transfer", "value": {"from": 1,
"to": 3, "amount": 4}}`: one transaction that reads both balances and writes both; it
fails, changing nothing, when the payer's balance is below the amount) or reads every
balance in one read-only transaction (ok value `{"0": 12, "1": 13, ...}`: account ids as
JSON object keys). A store that loses an update, or lets a read see half a transfer,
shows a read whose total is off: the `bank` checker (checkers/bank.py).

Accounts are the integer keys 0 .. accounts-1 of the system's register keyspace.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from workloads.base import Operation, Option, integer

if TYPE_CHECKING:
    from harness.schedule import WorkloadSpec
    from harness.systems.base import Client
    from raftnode.client import Result


@dataclass
class BankSlot:
    slot: int
    accounts: int
    max_transfer: int
    read_share: float
    rng: random.Random

    def next_operation(self) -> Operation:
        if self.rng.random() < self.read_share:
            return read_all(self.accounts)
        frm, to = self.rng.sample(range(self.accounts), 2)
        amount = self.rng.randint(1, self.max_transfer)
        return Operation("transfer", None, {"from": frm, "to": to, "amount": amount})

    def observe(self, op: Operation, outcome: str, value: Any) -> None:
        pass  # transfers are drawn blind, as Jepsen's are


def read_all(accounts: int, label: str | None = None) -> Operation:
    """A read of every balance, in one transaction (its invoke records no value)."""
    return Operation("read", None, None, label=label, params=accounts)


def initial_balances(accounts: int, total: int) -> dict[str, int]:
    """The opening balances: the total split evenly, the remainder to the first accounts."""
    share, extra = divmod(total, accounts)
    return {str(a): share + (1 if a < extra else 0) for a in range(accounts)}


class BankWorkload:
    """Transfers between accounts and reads of every balance (Jepsen's bank test)."""

    name = "bank"
    operations = ("transfer", "read")
    checker = "bank"  # the history checker that fits it (checkers/registry.py)
    default_keys = 8  # not used: `accounts` says how many
    default_mix = {"transfer": 0.5, "read": 0.5}
    options: ClassVar[dict[str, Option]] = {
        "accounts": Option(8, integer(2), "how many accounts (Jepsen's 8)"),
        "total": Option(100, integer(0), "the money in the bank, split over the accounts"),
        "max-transfer": Option(5, integer(1), "the largest amount one transfer moves"),
    }

    def slots(self, spec: WorkloadSpec, seed: int) -> list[BankSlot]:
        mix = spec.mix if set(spec.mix) <= set(self.operations) else self.default_mix
        share = mix.get("read", 0) / (sum(mix.values()) or 1)
        return [
            BankSlot(
                i,
                spec.option("accounts"),
                spec.option("max-transfer"),
                share,
                random.Random(f"{seed}/bank/{i}"),
            )
            for i in range(spec.concurrency)
        ]

    def initial_operations(self, spec: WorkloadSpec) -> list[Operation]:
        balances = initial_balances(spec.option("accounts"), spec.option("total"))
        return [Operation("init", None, balances, label="init")]

    async def call(self, client: Client, op: Operation) -> Result:
        if op.f == "transfer":
            v = op.value
            return await client.transfer(v["from"], v["to"], v["amount"])
        if op.f == "init":
            return await client.txn([["w", int(a), b] for a, b in op.value.items()])
        return await client.txn([["r", a, None] for a in range(op.params)])

    def ok_value(self, op: Operation, result: Result) -> Any:
        if op.f != "read":
            return op.value
        return {str(k): v for _f, k, v in result.value}

    def final_operations(self, spec: WorkloadSpec, slots: Sequence[BankSlot]) -> list[Operation]:
        return [read_all(spec.option("accounts"), label="balances")]
