"""Client operations in hand-built scenarios, made as a run makes them.

An operation is the run driver's `perform` (harness/driver.py: invoke, the workload's
call, complete, written to a history) with raftnode's own client over the simulated
network, on the virtual-time loop; waiting runs that loop, and with it the simulation,
event by event, so a scenario can act exactly where a condition first holds. Between
waits a scenario calls the SimCluster directly (crash, isolate, set_clock_rate), as the
nemesis does.
"""

from __future__ import annotations

import io
import json
import random
from dataclasses import dataclass
from typing import Any

from harness.backends.sim.adapter import SimBackendCluster
from harness.backends.sim.cluster import SimCluster
from harness.backends.sim.loop import VirtualTimeLoop
from harness.backends.sim.transport import SimTransport
from harness.driver import Driver
from harness.recorder import HistoryRecorder
from harness.schedule import Schedule, WorkloadSpec
from raftnode.client import Client
from workloads import Operation


@dataclass
class Op:
    """One operation and, once `done`, its outcome as the history has it."""

    f: str
    key: str
    value: Any  # write: the value; cas: [expected, new]; read: what an ok read saw
    node: str | None  # the only node its client knows (None: the client follows the leader)
    type: str | None = None  # "ok" | "fail" | "info" once done
    error: str | None = None

    @property
    def done(self) -> bool:
        return self.type is not None


class _Recorder(HistoryRecorder):
    """The history, and each process's last completion at hand."""

    def __init__(self, sim: SimCluster):
        self.out = io.StringIO()
        super().__init__(self.out, clock=lambda: round(sim.now * 1_000_000))
        self.completed: dict[int, dict[str, Any]] = {}

    def complete(self, process: int, type_: str, value: Any = None, **extra: Any) -> dict:
        event = super().complete(process, type_, value, **extra)
        self.completed[process] = event
        return event


class SimClients:
    def __init__(self, sim: SimCluster, timeout_s: float = 1.0):
        self.sim = sim
        self.timeout_s = timeout_s
        self.loop = VirtualTimeLoop(sim)
        self.cluster = SimBackendCluster(sim, sim.config.seed)
        self.recorder = _Recorder(sim)
        self.history: list[Op] = []
        schedule = Schedule(
            "scenario",
            nodes=len(sim.ids),
            seed=sim.config.seed,
            workload=WorkloadSpec(timeout=timeout_s),
        )

        async def driver() -> Driver:  # it belongs to the loop it runs on
            return Driver(self.cluster, schedule, self.recorder)

        self.driver = self.loop.run_until_complete(driver())

    def invoke(
        self,
        f: str,
        key: str,
        value: Any = None,
        node: str | None = None,
        timeout_s: float | None = None,
        **client: Any,
    ) -> Op:
        """Start an operation now (it runs as the loop runs: see run_until). With `node`,
        its client knows that node only (it still follows a leader the node names);
        without, it is the driver's own client, which finds the leader. `client`: more of
        raftnode.client.Client's options (attempt_timeout)."""
        op = Op(f, key, value, node)
        self.history.append(op)
        process = len(self.history)
        if node is None:
            c = self.driver.new_client()
        else:
            c = Client(
                {node: node},
                timeout=timeout_s or self.timeout_s,
                transport=SimTransport(self.sim, self.cluster.latency),
                rng=random.Random(f"{self.sim.config.seed}/scenario/{process}"),
                client_id=f"scenario-{process}",
                **client,
            )

        async def perform() -> None:
            try:
                outcome, seen, _ = await self.driver.perform(process, c, Operation(f, key, value))
            finally:
                await c.close()
            op.error = self.recorder.completed[process].get("error")
            if outcome == "ok" and f == "read":
                op.value = seen
            op.type = outcome

        self.loop.create_task(perform())
        return op

    def run_until(self, done: Any, timeout_ms: float) -> bool:
        return self.loop.run_until(done, timeout_ms / 1000.0)

    def run_for(self, ms: float) -> None:
        self.run_until(lambda: False, ms)

    def history_events(self) -> list[dict[str, Any]]:
        """The history the operations wrote (DESIGN's JSONL events)."""
        return [json.loads(line) for line in self.recorder.out.getvalue().splitlines()]
