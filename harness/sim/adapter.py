"""The `Cluster` interface over a SimCluster, so the nemesis's own fault objects
(harness/nemesis/) drive the simulation exactly as they drive Docker.

Every primitive acts at the current virtual time. Nothing here sleeps: a fault that
needs a leader when there is none raises `NoLeaderYet`, and the driver
(harness/sim/backend.py) tries the fault again a little later in virtual time, as
`Cluster.wait_for_leader` would poll in real time.
"""

from __future__ import annotations

from typing import Any

from harness.cluster.base import Cluster
from harness.sim.cluster import SimCluster


class NoLeaderYet(Exception):
    """No node leads right now; ask again after some virtual time.

    Deliberately not a ClusterError: the nemesis turns those into a failed fault at
    once, while this one must reach the driver, which retries."""

    def __init__(self, exclude: set[str] | None):
        super().__init__(f"no leader{' other than ' + str(sorted(exclude)) if exclude else ''}")
        self.exclude = exclude


class SimBackendCluster(Cluster):
    def __init__(self, sim: SimCluster):
        self.sim = sim
        self.nodes = list(sim.ids)
        self.clock_offsets: dict[str, float] = {n: 0.0 for n in self.nodes}  # seconds
        self._strobe: dict[str, int] = {}  # node -> generation of its strobe chain

    # ---- life cycle: the simulation exists as soon as it is built ------------------

    def start(self) -> None:
        pass

    def teardown(self) -> None:
        pass

    # ---- observation -----------------------------------------------------------------

    def addrs(self) -> dict[str, str]:
        return {n: f"sim:{n}" for n in self.nodes}

    def status(self, node: str, timeout: float = 1.0) -> dict[str, Any] | None:
        n = self.sim.nodes[node]
        if not n.up or n.paused:
            return None  # a killed or frozen node does not answer
        return n.core.status()

    def wait_for_leader(self, timeout: float = 10.0, exclude: set[str] | None = None) -> str:
        lead = self.leader()
        if lead and lead not in (exclude or set()):
            return lead
        raise NoLeaderYet(exclude)

    # ---- fault primitives ------------------------------------------------------------

    def block(self, src: str, dst: str) -> None:
        self.sim.cut([(src, dst)])

    def cut_many(self, pairs: list[tuple[str, str]]) -> None:
        self.sim.cut([p for a, b in pairs for p in ((a, b), (b, a))])

    def block_many(self, pairs: list[tuple[str, str]]) -> None:
        self.sim.cut(list(pairs))

    def heal_network(self) -> None:
        self.sim.heal()

    def kill(self, node: str) -> None:
        self.sim.crash(node)

    def restart(self, node: str) -> None:
        self.sim.restart(node)

    def pause(self, node: str) -> None:
        self.sim.pause(node)

    def resume(self, node: str) -> None:
        self.sim.resume(node)

    def set_clock(self, node: str, offset_s: float) -> None:
        """A jump to real time + offset_s: forward jumps fire the node's missed ticks at
        once (timeouts, lease expiry), backward ones just move the reading (see
        SimCluster.bump_clock)."""
        delta_ms = (offset_s - self.clock_offsets[node]) * 1000.0
        self.clock_offsets[node] = offset_s
        self.sim.bump_clock(node, delta_ms)

    def strobe_clock(self, node: str, delta_s: float, period_s: float) -> None:
        if period_s <= 0:
            raise ValueError(f"strobe period must be positive, got {period_s}")
        gen = self._strobe.get(node, 0) + 1
        self._strobe[node] = gen
        base = self.clock_offsets[node]

        def flip(high: bool) -> None:
            if self._strobe.get(node) != gen:
                return  # stopped, or a newer strobe took over
            self.set_clock(node, base + delta_s if high else base)
            self.sim.at(self.sim.now + period_s * 1000.0, lambda: flip(not high), "strobe")

        flip(True)

    def stop_strobe(self, node: str) -> None:
        self._strobe[node] = self._strobe.get(node, 0) + 1

    def set_packet(self, node: str, delay_ms: float = 0.0, loss_pct: float = 0.0) -> None:
        self.sim.set_inbound(node, delay_ms, loss_pct / 100.0)

    def clear_packet(self, node: str) -> None:
        self.sim.clear_inbound(node)
