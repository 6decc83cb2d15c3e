"""`raftquake run --backend sim`: a schedule over the deterministic simulation.

The same run as harness/live.py, in virtual time: the register workload's client
slots (same operation streams, same rate limiting, same process renumbering after an
`info`), the nemesis's own fault objects on the schedule's fault plan (through
SimBackendCluster), the final heal, the recovery wait and the final reads. Then the
run folder gets what the checkers read from a Docker run: history.jsonl, and per
node events.jsonl and the committed log (log.jsonl).

Everything random comes from schedule.seed (the cluster's network and timeouts, the
workload, the nemesis's target choices) and every event runs from one queue in a
fixed order, so a seed gives the same history byte for byte.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.live import FINAL_READ_ATTEMPTS, LiveRun, nemesis_timeline, record_completion
from harness.nemesis import Nemesis, make_fault
from harness.recorder import HistoryRecorder
from harness.schedule import PlannedFault, Schedule, fault_plan
from harness.sim.adapter import NoLeaderYet, SimBackendCluster
from harness.sim.clients import Outcome, SimClient
from harness.sim.cluster import NetworkConfig, Op, SimCluster, SimConfig
from raftnode.config import NodeConfig
from workloads.register import Operation, RegisterSlot, key_names, make_slots

ELECTION_WAIT_MS = 10_000.0  # the first leader, before the workload starts
LEADER_RETRY_MS = 100.0  # a fault that needs a leader asks again this often...
LEADER_WAIT_MS = 10_000.0  # ...for this long, as find_leader's wait_for_leader(10 s)
DRAIN_MS = 10_000.0  # in-flight operations after the time limit (they end by OP_TIMEOUT)
FINAL_READ_PAUSE_MS = 200.0  # between final read attempts, as live.py
CLIENT_LATENCY_MS = (0.1, 1.0)  # one way, harness to node: a local bridge and a busy server
MIN_GAP_MS = 1.0  # rate 0 ("as fast as possible") still spends a round trip per operation


def sim_config(schedule: Schedule) -> SimConfig:
    """The node's real timing (raftnode/config.py defaults) and the schedule's options."""
    node = NodeConfig(id="n1", listen=("", 0), peers={}, data_dir="")  # defaults only
    return SimConfig(
        nodes=schedule.nodes,
        seed=schedule.seed or 0,
        tick_ms=node.tick_ms,
        election_ticks=node.election_ticks,
        heartbeat_ticks=node.heartbeat_ticks,
        read_mode=schedule.node.read_mode,
        bugs=frozenset(schedule.node.bugs),
        network=NetworkConfig(min_delay_ms=0.2, max_delay_ms=2.0),
        stop_on_violation=False,  # the checkers judge, from what the run leaves behind
        crash_on_error=True,  # a node whose code fails dies; the run goes on, as on Docker
        trace=False,
    )


@dataclass
class _Worker:
    """One client slot's loop, as live._worker: its process number changes after an info."""

    slot: RegisterSlot
    process: int
    client: SimClient
    interval: float  # ms between this slot's operations; 0 = as fast as possible
    next_at: float


@dataclass
class _Driver:
    schedule: Schedule
    sim: SimCluster
    cluster: SimBackendCluster
    recorder: HistoryRecorder
    report: LiveRun = field(default_factory=LiveRun)
    nemesis: Nemesis = field(default_factory=Nemesis)

    def __post_init__(self) -> None:
        w = self.schedule.workload
        self.numbers = itertools.count(w.concurrency)  # as live._Clients: after the slots
        self.pending: dict[int, SimClient] = {}
        self.sim.on_complete = self._on_complete
        self.clients = itertools.count()
        # Client <-> node network, on its own stream so the cluster's stays as it is.
        rng = random.Random(f"{self.schedule.seed}/sim-clients")
        self.latency = lambda: rng.uniform(*CLIENT_LATENCY_MS)
        self.busy = 0  # workers with an operation open
        self.stopped = False  # the workload's time is up
        self.nemesis_over = False

    def _on_complete(self, attempt: Op) -> None:
        client = self.pending.pop(attempt.id, None)
        if client is not None:
            client.answered(attempt)

    def new_client(self) -> SimClient:
        return SimClient(self.sim, f"c{next(self.clients)}", self.pending, self.latency)

    # ---- one operation, recorded as live._Clients.perform does ------------------------

    def perform(
        self, process: int, client: SimClient, op: Operation, then: Callable[[str, Any, int], None]
    ) -> None:
        self.recorder.invoke(process, op.f, op.value, key=op.key)
        self.busy += 1

        def done(out: Outcome) -> None:
            self.busy -= 1
            then(
                *record_completion(
                    self.recorder,
                    process,
                    op,
                    out.type,
                    out.value,
                    out.error,
                    out.node,
                    self.numbers,
                )
            )

        client.perform(op, done)

    # ---- the workload ------------------------------------------------------------------

    def start_worker(self, slot: RegisterSlot, t0: float) -> None:
        w = self.schedule.workload
        interval = w.concurrency / w.rate * 1000.0 if w.rate > 0 else 0.0
        # Stagger the slots so that the whole cluster sees an even rate, not bursts.
        worker = _Worker(
            slot,
            slot.slot,
            self.new_client(),
            interval,
            t0 + interval * slot.slot / max(w.concurrency, 1),
        )

        def step() -> None:
            if self.stopped:
                return
            if worker.interval:
                gap = worker.interval
                worker.next_at = max(worker.next_at + gap, self.sim.now - gap)
            op = slot.next_operation()
            self.perform(worker.process, worker.client, op, lambda *r: finished(op, *r))

        def finished(op: Operation, outcome: str, value: Any, new_process: int) -> None:
            slot.observe(op, outcome, value)
            if new_process != worker.process:  # renumbered after an info: a new client
                worker.client = self.new_client()
                worker.process = new_process
            at = worker.next_at if worker.interval else self.sim.now + MIN_GAP_MS
            self.sim.at(max(at, self.sim.now), step, "worker")

        self.sim.at(worker.next_at, step, "worker")

    # ---- the nemesis -------------------------------------------------------------------

    def schedule_nemesis(self, plan: list[PlannedFault], t0: float) -> None:
        self.faults: dict[int, Any] = {}
        for at, what, i in nemesis_timeline(plan):
            if what == "start":
                action = lambda at=at, i=i: self._start_fault(plan, i, at, at)  # noqa: E731
            else:
                action = lambda i=i: self._heal_fault(plan, i)  # noqa: E731
            self.sim.at(t0 + at * 1000.0, action, f"nemesis {what} {i}")

    def _rng_for(self, i: int) -> random.Random:
        # Per planned fault, so target choices do not depend on timing (as live.py).
        return random.Random(f"{self.schedule.seed}/nemesis/{i}")

    def _start_fault(self, plan: list[PlannedFault], i: int, at: float, first_try: float) -> None:
        if self.nemesis_over:
            return
        spec = plan[i].spec
        try:
            fault = make_fault(spec, self.cluster, self._rng_for(i))
            applied = fault.start()
        except NoLeaderYet as exc:
            waited = (self.sim.now - self.t0) - first_try * 1000.0
            if waited + LEADER_RETRY_MS <= LEADER_WAIT_MS:
                self.sim.at(
                    self.sim.now + LEADER_RETRY_MS,
                    lambda: self._start_fault(plan, i, at, first_try),
                    "nemesis retry",
                )
                return
            self._fault_failed(spec, at, f"target leader: {exc} within 10 s")
            return
        except Exception as exc:  # one failed fault must not end the run
            self._fault_failed(spec, at, str(exc))
            return
        self.nemesis.faults.append(fault)
        self.faults[i] = fault
        self.recorder.nemesis(f"start-{spec.fault}", applied)
        self.report.faults_applied.append({"fault": spec.fault, "at": at, **applied})

    def _fault_failed(self, spec: Any, at: float, error: str) -> None:
        self.report.fault_errors.append(f"{spec.fault} at {at:g} s (line {spec.line}): {error}")
        self.recorder.nemesis(f"fail-{spec.fault}", {"error": error})

    def _heal_fault(self, plan: list[PlannedFault], i: int) -> None:
        if self.nemesis_over or i not in self.faults:
            return  # a fault that never started (or is left to the final heal)
        spec = plan[i].spec
        fault = self.faults.pop(i)
        try:
            healed = fault.heal()
            self.recorder.nemesis(f"stop-{spec.fault}", healed)
        except Exception as exc:
            self.report.heal_errors.append(f"{spec.fault}: {exc}")

    def heal_all(self) -> None:
        errors = self.nemesis.heal_all()
        self.report.heal_errors += errors
        self.recorder.nemesis("heal", {"errors": errors} if errors else None)

    # ---- the final reads ----------------------------------------------------------------

    def final_reads(self, keys: list[str]) -> None:
        """One final read of every key, retried (each try its own operation) until ok."""
        state = {"process": next(self.numbers), "key": 0, "tries": 0, "done": False}

        def next_read() -> None:
            if state["key"] >= len(keys):
                state["done"] = True
                return
            key = keys[state["key"]]
            self.perform(state["process"], self.new_client(), Operation("read", key, None), then)

        def then(outcome: str, value: Any, next_process: int) -> None:
            key = keys[state["key"]]
            state["process"] = next_process
            state["tries"] += 1
            if outcome == "ok" or state["tries"] >= FINAL_READ_ATTEMPTS:
                self.report.final_reads[key] = value if outcome == "ok" else "unavailable"
                state["key"] += 1
                state["tries"] = 0
                self.sim.at(self.sim.now, next_read, "final read")
            else:
                self.sim.at(self.sim.now + FINAL_READ_PAUSE_MS, next_read, "final read")

        self.sim.at(self.sim.now, next_read, "final read")
        # Each try ends by OP_TIMEOUT: this bound is never the one that stops it.
        bound = len(keys) * FINAL_READ_ATTEMPTS * 5_000.0 + 1_000.0
        self.sim.run_until(lambda: state["done"], bound)

    # ---- the whole run --------------------------------------------------------------------

    def run(self) -> None:
        s = self.schedule
        sim = self.sim
        # The nodes boot and elect, as the Docker cluster is up before the workload starts.
        sim.run_until(lambda: sim.leader() is not None, ELECTION_WAIT_MS)
        self.t0 = t0 = sim.now
        for slot in make_slots(s.workload, s.seed or 0):
            self.start_worker(slot, t0)
        self.schedule_nemesis(fault_plan(s), t0)
        sim.run_until(lambda: False, s.time_limit * 1000.0)
        self.stopped = True
        self.nemesis_over = True
        # In-flight operations end on their own timeouts; their completions belong in
        # the history.
        sim.run_until(lambda: self.busy == 0, DRAIN_MS)
        if s.final.heal:
            self.heal_all()
            sim.run_for(s.final.recover * 1000.0)
        try:
            self.final_reads(key_names(s.workload.keys))
        finally:
            if not s.final.heal:
                self.heal_all()


def execute(schedule: Schedule, run_dir: Any, say: Callable[[str], None]) -> dict[str, Any]:
    """Run `schedule` on the simulation into `run_dir` (a harness.store.RunDir)."""
    import time

    sim = SimCluster(sim_config(schedule))
    cluster = SimBackendCluster(sim)
    wall0 = time.monotonic()
    say(
        f"run: simulating {schedule.nodes} nodes; workload for {schedule.time_limit:g} s "
        "of virtual time"
    )
    with HistoryRecorder(run_dir.history, clock=lambda: round(sim.now * 1_000_000)) as recorder:
        driver = _Driver(schedule, sim, cluster, recorder)
        try:
            driver.run()
        finally:
            settled = _settle(sim)
            _write_nodes(sim, Path(run_dir.path))
    report = driver.report
    say(
        f"run: simulated {sim.now / 1000:.1f} s of virtual time in {time.monotonic() - wall0:.1f} s"
    )
    details: dict[str, Any] = {
        "faults": report.faults_applied,
        "fault-errors": report.fault_errors,
        "heal-errors": report.heal_errors,
        "final-reads": report.final_reads,
        "virtual-time-s": round(sim.now / 1000, 3),
        # The simulation's own safety checks, for information; the verdict is the
        # checkers', on the files below, exactly as for a Docker run.
        "sim-violations": sim.violations,
    }
    if sim.node_errors:
        details["node-errors"] = sim.node_errors
    if settled:
        details["sim-settle"] = settled
    return details


def _settle(sim: SimCluster) -> str | None:
    """Heal everything and let the cluster converge, so every node's committed log is
    complete when it is dumped (Docker collects logs from a healed cluster too)."""
    sim.on_complete = None
    try:
        sim.finish(timeout_ms=30_000.0)
    except AssertionError as exc:  # did not converge: dump what there is
        return str(exc)
    return None


def _write_nodes(sim: SimCluster, root: Path) -> None:
    """nodes/<id>/events.jsonl (virtual ns) and log.jsonl (committed entries, in order)."""
    for i in sim.ids:
        d = root / "nodes" / i
        d.mkdir(parents=True, exist_ok=True)
        with open(d / "events.jsonl", "w", encoding="utf-8") as f:
            for ev in sim.node_events[i]:
                f.write(json.dumps({**ev, "time": round(ev["time"] * 1_000_000)}) + "\n")
        n = sim.nodes[i]
        if n.core is None:
            continue
        with open(d / "log.jsonl", "w", encoding="utf-8") as f:
            for e in n.core.entries_from(1)[: n.core.commit_index]:
                f.write(json.dumps({"index": e.index, "term": e.term, "command": e.command}) + "\n")
