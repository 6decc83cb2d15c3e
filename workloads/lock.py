"""The lock workload (Jepsen's etcd lock test): clients take named locks, do work while
they believe they hold one, and release it; the history is checked against Knossos's
mutex, one mutex per lock name (the `linearizable` checker picks the mutex model for
acquire/release histories and splits them by key, as it does registers).

Each client slot alternates: `acquire` a lock drawn from `locks` names (history: f
"acquire", key the lock's name; an ok one's value what the client says of its hold, etcd's
lease and the member keeping it alive), then, once it holds it, works for `hold` seconds
(outside the history: Workload.work) and invokes `release`. Work ends early when the
client learns the lock is gone (etcd answers a keepalive with the lease expired); a lock
that is merely not heard from (its member paused or cut off) is still believed held, as a
user of etcd's lock API believes it until told otherwise, and as Jepsen's client did
(etcd's Go client would give its session up after a TTL without a keepalive answer; a
holder that stops only then can still overlap the next, by however much the leader's
expiry ran ahead of the client's). A failed or unknown acquire is followed by another.
The schedule's `mix` does not apply: a slot's next operation follows from the last. A
holder when the run stops still works and releases (LockSlot.unfinished).

Two acquires of one lock without a release between them, both ok, are a violation: two
holders at once. Jepsen's etcd 3.4.3 analysis found exactly that, since a lease can
expire (its member paused, or cut off, longer than the TTL) while its holder still acts on
the lock.

A client that takes locks offers `acquire(name, ttl)`, `release(name)` and `hold(name,
seconds)` (LockClient); etcd's does (harness/systems/etcd_client.py).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, cast

from workloads.base import Operation, Option, integer

if TYPE_CHECKING:
    from harness.schedule import WorkloadSpec
    from harness.systems.base import Client
    from raftnode.client import Result


class LockClient(Protocol):
    """A client that takes named locks with leases (optional beside the Client protocol)."""

    async def acquire(self, name: str, ttl: int) -> Result:
        """ok: held (its lease kept alive until release); fail: certainly not held."""
        ...

    async def release(self, name: str) -> Result: ...

    async def hold(self, name: str, seconds: float) -> bool:
        """Waits `seconds`, or less once the lock is known lost; whether still held."""
        ...


def lock_client(client: Any) -> LockClient | None:
    """The client as a LockClient, when it offers locks."""
    wanted = ("acquire", "release", "hold")
    if all(callable(getattr(client, m, None)) for m in wanted):
        return cast("LockClient", client)
    return None


def seconds_range(minimum: float) -> Any:
    """Seconds: a number >= minimum (exactly that) or [fewest, most], as a pair."""

    def parse(value: object) -> tuple[float, float]:
        given = value if isinstance(value, list) else [value, value]
        ok = [
            float(x)
            for x in given
            if not isinstance(x, bool) and isinstance(x, int | float) and x >= minimum
        ]
        if len(given) != 2 or len(ok) != 2:
            raise ValueError(
                f"must be a number of seconds >= {minimum:g}, or [fewest, most] of them, "
                f"got {value!r}"
            )
        if ok[0] > ok[1]:
            raise ValueError(f"must be [fewest, most] with fewest <= most, got {value!r}")
        return ok[0], ok[1]

    return parse


def lock_names(count: int) -> list[str]:
    return [f"lock{i}" for i in range(count)]


@dataclass
class LockSlot:
    slot: int
    names: list[str]
    hold: tuple[float, float]
    ttl: int  # the lease of each acquire, seconds
    rng: random.Random
    holding: str | None = None  # the lock this slot's client holds

    def next_operation(self) -> Operation:
        if self.holding is not None:
            work = self.rng.uniform(*self.hold)
            return Operation("release", self.holding, None, params=work)
        return Operation("acquire", self.rng.choice(self.names), None, params=self.ttl)

    def unfinished(self) -> bool:
        """Whether the run must let it go on after the stop: a holder still releases (the
        driver asks), so the history never ends with a lock its holder walked away from
        while etcd let its lease run out and gave the lock to another."""
        return self.holding is not None

    def observe(self, op: Operation, outcome: str, value: Any) -> None:
        if op.f == "acquire":
            self.holding = op.key if outcome == "ok" else None
        else:
            self.holding = None  # a release always ends the holding (LockClient.release)


class LockWorkload:
    name = "lock"
    operations = ("acquire", "release")
    checker = "linearizable"  # with the mutex model, for acquire/release histories
    default_keys = 1  # not used: `locks` says how many
    default_mix = {"acquire": 0.5, "release": 0.5}  # not used: slots alternate
    options: ClassVar[dict[str, Option]] = {
        "locks": Option(1, integer(1), "how many lock names the clients contend for"),
        "ttl": Option(
            2,
            integer(1),
            "the lease of a held lock, seconds (Jepsen's 2; etcd raises a TTL below its "
            "minimum, 2 s with its default timing)",
        ),
        "hold": Option(
            (1.0, 5.0),
            seconds_range(0),
            "seconds a holder works before releasing: n, or [fewest, most]",
        ),
    }

    def slots(self, spec: WorkloadSpec, seed: int) -> list[LockSlot]:
        names = lock_names(spec.option("locks"))
        hold, ttl = spec.option("hold"), spec.option("ttl")
        return [
            LockSlot(i, names, hold, ttl, random.Random(f"{seed}/lock/{i}"))
            for i in range(spec.concurrency)
        ]

    def initial_operations(self, spec: WorkloadSpec) -> list[Operation]:
        return []

    async def call(self, client: Client, op: Operation) -> Result:
        from raftnode.client import FAIL, Result

        locks = lock_client(client)
        if locks is None:
            return Result(FAIL, error="unsupported: this system's client takes no locks")
        if op.f == "acquire":
            return await locks.acquire(op.key, op.params)
        return await locks.release(op.key)

    async def work(self, client: Client, op: Operation) -> None:
        """Before a release: the holder's work, `op.params` seconds or until it learns the
        lock is lost (outside the history)."""
        locks = lock_client(client)
        if op.f == "release" and locks is not None and op.params:
            await locks.hold(op.key, op.params)

    def ok_value(self, op: Operation, result: Result) -> Any:
        # An acquire's: what the client says of its hold (etcd: its lease, in hex as etcd's
        # log writes it, and the member keeping it alive); the mutex model ignores it.
        return result.value if op.f == "acquire" else None

    def final_operations(self, spec: WorkloadSpec, slots: Sequence[LockSlot]) -> list[Operation]:
        return []
