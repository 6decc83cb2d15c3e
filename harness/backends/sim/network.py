"""The simulated network between the nodes of a SimCluster.

Each message gets an independent random delay (hence reordering), may be dropped or
duplicated, and is lost if a partition separates its ends when it is sent or when it
arrives. Partitions are sets of cut (src, dst) links, so any shape (halves, bridge,
ring, one way) is one; a packet fault adds delay and loss to what one node receives.
Randomness is the cluster's one stream, drawn in a fixed order, so a seed fixes it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from raftnode.core import Message


@dataclass
class NetworkConfig:
    min_delay_ms: float = 1.0
    max_delay_ms: float = 10.0
    drop: float = 0.0  # probability a message is lost
    duplicate: float = 0.0  # probability a message is delivered twice
    # A long tail: with probability `slow` a copy is delayed up to slow_delay_ms instead,
    # so old requests (and old votes) arrive long after their sender moved on.
    slow: float = 0.0
    slow_delay_ms: float = 300.0


class SimNetwork:
    def __init__(
        self,
        config: NetworkConfig,
        ids: list[str],
        rng: random.Random,
        deliver_at: Callable[[float, Message], None],
        log: Callable[[str], None],
    ):
        self.config = config
        self.ids = ids  # the cluster's own list: members added later are nodes too
        self.rng = rng
        self._deliver_at = deliver_at  # schedules a delivery at a virtual time
        self._log = log
        self.blocked: set[tuple[str, str]] = set()
        # Per-node faults on what a node receives (a packet fault): node -> (delay_ms, loss).
        self.inbound: dict[str, tuple[float, float]] = {}
        self.stats = {"delivered": 0, "dropped": 0, "duplicated": 0}

    def partition(self, *groups: list[str]) -> None:
        """Nodes talk only within their group; nodes in no group are cut off from all."""
        self._log(f"partition {[sorted(g) for g in groups]}")
        side = {i: k for k, g in enumerate(groups) for i in g}
        self.blocked = {
            (a, b)
            for a in self.ids
            for b in self.ids
            if a != b and (a not in side or b not in side or side[a] != side[b])
        }

    def isolate(self, i: str) -> None:
        self.partition([j for j in self.ids if j != i])

    def block(self, src: str, dst: str) -> None:
        """One-way loss: messages from src to dst are dropped."""
        self._log(f"block {src}->{dst}")
        self.blocked.add((src, dst))

    def cut(self, pairs: list[tuple[str, str]]) -> None:
        """Drop messages on each (src, dst) link given, on top of what is cut already:
        any partition shape (bridge, ring, one-way) is a set of such links."""
        for src, dst in pairs:
            if src not in self.ids or dst not in self.ids:
                raise ValueError(f"unknown node in link {src}->{dst}; nodes are {self.ids}")
            self.block(src, dst)

    def set_config(self, config: NetworkConfig) -> None:
        """Change delays, loss and duplication from now on (a packet fault)."""
        self._log(f"network {config}")
        self.config = config

    def heal(self) -> None:
        self._log("heal")
        self.blocked = set()

    def set_inbound(self, i: str, delay_ms: float = 0.0, loss: float = 0.0) -> None:
        """What node i receives is delayed by delay_ms more and lost with probability
        `loss` (0..1), as a packet fault on that node's interface does."""
        if i not in self.ids or delay_ms < 0 or not 0 <= loss <= 1:
            raise ValueError(f"set_inbound({i!r}, {delay_ms}, {loss}): bad node, delay or loss")
        self._log(f"inbound {i} delay={delay_ms} loss={loss}")
        self.inbound[i] = (delay_ms, loss)

    def clear_inbound(self, i: str) -> None:
        self._log(f"inbound {i} clear")
        self.inbound.pop(i, None)

    def send(self, m: Message, now: float) -> None:
        net = self.config
        if (m.src, m.dst) in self.blocked or self.rng.random() < net.drop:
            self.stats["dropped"] += 1
            return
        extra_delay = 0.0
        if m.dst in self.inbound:  # drawn only under a packet fault: other runs stay as they were
            extra_delay, loss = self.inbound[m.dst]
            if loss and self.rng.random() < loss:
                self.stats["dropped"] += 1
                return
        copies = 2 if self.rng.random() < net.duplicate else 1
        self.stats["duplicated"] += copies - 1
        for _ in range(copies):
            if net.slow and self.rng.random() < net.slow:
                delay = self.rng.uniform(net.max_delay_ms, net.slow_delay_ms)
            else:
                delay = self.rng.uniform(net.min_delay_ms, net.max_delay_ms)
            self._deliver_at(now + delay + extra_delay, m)

    def arrives(self, m: Message) -> bool:
        """Whether a message in flight gets through a partition made since it was sent
        (counted as dropped when not)."""
        if (m.src, m.dst) in self.blocked:
            self.stats["dropped"] += 1
            return False
        return True


def describe(m: Message) -> str:
    """A message as one trace line."""
    s = f"{m.src}>{m.dst} {m.type} t{m.term}"
    if m.type in ("append", "prevote", "vote"):
        s += f" i{m.index} lt{m.log_term}"
    if m.entries:
        s += f" e{m.entries[0].index}..{m.entries[-1].index}"
    if m.type in ("append", "heartbeat") and m.commit:
        s += f" c{m.commit}"
    if m.type == "append_resp":
        s += f" i{m.index}"
        if m.reject:
            s += f" reject ct{m.conflict_term} ci{m.conflict_index}"
    elif m.reject:
        s += " reject"
    if m.context:
        s += f" x{m.context}"
    return s
