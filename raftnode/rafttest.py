"""A hand-driven network of RaftCores for unit tests: the test decides which node
ticks and which messages get through, so each scenario is exact and repeatable.

Each node's disk is a MemoryStorage (raftnode/storage.py), the one the simulation's
nodes persist to. Standard library only, so anything that imports raftnode can drive
cores this way. (The randomized, seeded scheduler used for property tests is
harness/backends/sim.)
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable

from raftnode.core import LEADER, Config, Entry, HardState, Message, RaftCore, ReadState
from raftnode.storage import MemoryStorage


class Net:
    """n cores (n1..nn) on a network the test drives: tick, deliver, crash, isolate, heal."""

    def __init__(
        self,
        n: int = 3,
        seed: int = 0,
        logs: dict[str, list[Entry]] | None = None,
        hard: dict[str, HardState] | None = None,
        **config,
    ):
        self.ids = [f"n{i}" for i in range(1, n + 1)]
        self.initial = list(self.ids)  # the initial configuration (every node's base)
        self.joining: set[str] = set()  # started as --join does: their base leaves them out
        self.config = config
        self.seed = seed
        # What each node persisted: all a restart keeps.
        self.disks: dict[str, MemoryStorage] = {
            i: MemoryStorage((hard or {}).get(i, HardState()), None, list((logs or {}).get(i, [])))
            for i in self.ids
        }
        self.cores: dict[str, RaftCore] = {}
        self.down: set[str] = set()
        self.blocked: set[tuple[str, str]] = set()
        self.inflight: list[Message] = []
        self.applied: dict[str, list[Entry]] = {i: [] for i in self.ids}
        self.reads: dict[str, list[ReadState]] = {i: [] for i in self.ids}
        self.failed_reads: dict[str, list[object]] = {i: [] for i in self.ids}
        self.events: dict[str, list[dict]] = {i: [] for i in self.ids}
        self.delivered: list[Message] = []
        for i in self.ids:
            self.start(i)

    def start(self, i: str) -> None:
        disk = self.disks[i]
        rng = random.Random(f"{self.seed}-{i}-{len(self.events[i])}")
        self.cores[i] = RaftCore(
            i,
            self.initial,
            Config(**self.config),
            rng,
            disk.hard,
            list(disk.log),
            snapshot=disk.snapshot,
            join=i in self.joining,
        )
        self.applied[i] = []
        self.down.discard(i)

    def add_node(self, i: str, join: bool = False) -> None:
        """A new server, outside the initial configuration, with an empty log (or an old
        one wiped): it listens until the leader adds it. `join`: started as `--join` does,
        its base configuration without itself even when the initial one named it."""
        if i not in self.ids:
            self.ids.append(i)
        if join:
            self.joining.add(i)
        self.disks[i] = MemoryStorage()
        for d in (self.applied, self.reads, self.failed_reads, self.events):
            d[i] = []
        self.start(i)

    def crash(self, i: str) -> None:
        self.down.add(i)
        self.inflight = [m for m in self.inflight if m.src != i]

    def isolate(self, i: str) -> None:
        for j in self.ids:
            if j != i:
                self.blocked |= {(i, j), (j, i)}

    def heal(self) -> None:
        self.blocked.clear()

    def collect(self) -> None:
        """Persist and send what every live core has ready (what a server does)."""
        for i in self.ids:
            if i in self.down:
                continue
            core = self.cores[i]
            while core.has_ready():
                rd = core.ready()
                self.disks[i].save(rd.hard_state, rd.entries, rd.snapshot)
                self.inflight.extend(rd.messages)
                self.applied[i].extend(rd.committed)
                self.reads[i].extend(rd.reads)
                self.failed_reads[i].extend(rd.failed_reads)
                self.events[i].extend(rd.events)

    def deliver(
        self,
        drop: Callable[[Message], bool] = lambda m: False,
        max_messages: int = 100_000,
    ) -> int:
        """Deliver until no message is in flight; returns how many were delivered."""
        count = 0
        self.collect()
        while self.inflight:
            batch, self.inflight = self.inflight, []
            for m in batch:
                if (m.src, m.dst) in self.blocked or m.dst in self.down or drop(m):
                    continue
                self.cores[m.dst].step(m)
                self.delivered.append(m)
                count += 1
                assert count < max_messages, "message storm: no quiescence"
            self.collect()
        return count

    def tick(self, ids: Iterable[str] | None = None, n: int = 1, **deliver_kw) -> None:
        for _ in range(n):
            for i in ids if ids is not None else self.ids:
                if i not in self.down:
                    self.cores[i].tick()
            self.deliver(**deliver_kw)

    def elect(self, i: str, max_ticks: int = 200) -> None:
        """Tick only node i until it wins (the others hear no timeouts of their own)."""
        for _ in range(max_ticks):
            if self.cores[i].role == LEADER:
                self.deliver()
                return
            self.tick([i])
        raise AssertionError(f"{i} did not become leader: {self.cores[i].status()}")

    def leaders(self) -> list[str]:
        return [i for i in self.ids if i not in self.down and self.cores[i].role == LEADER]

    def log_terms(self, i: str) -> list[int]:
        return [e.term for e in self.cores[i].entries_from(1)]
