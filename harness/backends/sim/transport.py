"""raftnode.client's `Transport` over the simulation: the same client, retry policy and
all, talks to simulated nodes.

A request travels to its node with a random one-way latency, is handled by the node's
host (`SimCluster.request`), and the answer travels back with another. A node that is
down refuses the connection (nothing was sent); one that crashes with the request open
loses the connection (it may have been executed); one that does not answer in time is a
timeout. All of it happens in the simulation's virtual time, on harness/backends/sim/loop.py's
event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from harness.backends.sim.cluster import SimCluster


class SimTransport:
    def __init__(self, sim: SimCluster, latency: Callable[[], float]):
        self.sim = sim
        self.latency = latency  # one way, harness to node, in ms

    async def request(self, addr: str, req: dict, timeout: float) -> tuple[bool, dict | None]:
        sim = self.sim
        loop = asyncio.get_running_loop()
        done: asyncio.Future = loop.create_future()

        def settle(sent: bool, answer: dict | None) -> None:
            if not done.done():
                done.set_result((sent, answer))

        def answered(answer: dict | None) -> None:
            # From inside the simulation, when the node answers (None: the connection
            # was lost with the node's crash); the answer still has to travel back.
            sim.at(sim.now + self.latency(), lambda: settle(True, answer), "client answer")

        def arrive() -> None:
            try:
                sim.request(addr, req, answered)
            except ConnectionRefusedError:
                sim.at(sim.now + self.latency(), lambda: settle(False, None), "client refused")

        sim.at(sim.now + self.latency(), arrive, "client request")
        timer = loop.call_later(timeout, settle, True, None)
        try:
            return await done
        finally:
            timer.cancel()

    async def close(self) -> None:
        pass
