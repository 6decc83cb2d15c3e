"""The run driver: clients, nemesis, heal, recovery and final reads, written once.

    wait for a leader -> workers + nemesis for time-limit -> workers finish their last
    operation -> heal -> recover -> read every key once more

It is asyncio code against two things only: a `Cluster` (harness/backends/base.py: its
clients, its blocking fault primitives, `leader()`) and the running event loop's clock.
On Docker (and local processes) it runs on an ordinary loop in real time; on the
simulated backend it runs on harness/backends/sim/loop.py's loop in virtual time, where the same
code is deterministic. The history recorder is only ever touched from the loop, so its
lines are in the order the driver saw them.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness import interrupt
from harness.backends.base import Cluster
from harness.nemesis import Fault, Nemesis, NoLeader, make_fault
from harness.recorder import HistoryRecorder
from harness.schedule import FaultSpec, PlannedFault, Schedule, fault_plan
from harness.status import RunStatus, describe_fault
from harness.systems.base import OK, UNKNOWN, Client, ClientOptions
from workloads import WORKLOADS, Operation, Slot, Workload

FINAL_READ_ATTEMPTS = 5
FINAL_READ_PAUSE = 0.2  # seconds between final read attempts
FIRST_LEADER_WAIT = 10.0  # seconds for the cluster's first leader, before the workload
LEADER_POLL = 0.1  # a fault that needs a leader asks again this often...
LEADER_WAIT = 10.0  # ...for this long, then it is a fault problem


class _NoLeaderYet:
    """start_fault's answer when a leader is needed and there is none."""


_NO_LEADER_YET = _NoLeaderYet()


@dataclass
class RunReport:
    """What the driver did, for the summary and results.json."""

    faults_applied: list[dict[str, Any]] = field(default_factory=list)
    fault_errors: list[str] = field(default_factory=list)
    heal_errors: list[str] = field(default_factory=list)
    final_reads: dict[str, Any] = field(default_factory=dict)
    # Stopped early by Ctrl-C or SIGTERM (harness/interrupt.py): healed, no final reads.
    interrupted: bool = False
    # The history's time (ns) when the workload began: the schedule's times count from
    # there, and so does the report's axis (a first run spends a minute building images).
    workload_start_ns: int | None = None
    # Processes that were not workload clients, and what they did ("setup", "final
    # reads"): the report names their rows rather than showing a bare process number.
    process_roles: dict[int, str] = field(default_factory=dict)

    def to_results(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.workload_start_ns is not None:
            out["workload-start-ns"] = self.workload_start_ns
        if self.process_roles:
            out["process-roles"] = {str(p): r for p, r in self.process_roles.items()}
        return out | {
            "faults": self.faults_applied,
            "fault-errors": self.fault_errors,
            "heal-errors": self.heal_errors,
            "final-reads": self.final_reads,
        }


def nemesis_timeline(plan: list[PlannedFault]) -> list[tuple[float, str, int]]:
    """(seconds from the workload's start, "start" | "heal", index into plan), in order."""
    events: list[tuple[float, int, str, int]] = []
    for i, p in enumerate(plan):
        events.append((p.start, 1, "start", i))
        if p.end is not None:
            events.append((p.end, 0, "heal", i))  # heals sort before starts at equal times
    events.sort()
    return [(at, what, i) for at, _, what, i in events]


class Driver:
    """One run of a schedule against a started cluster."""

    def __init__(
        self,
        cluster: Cluster,
        schedule: Schedule,
        recorder: HistoryRecorder,
        view: Callable[[str], None] | None = None,
        report: RunReport | None = None,
    ):
        self.cluster = cluster
        # The live status line (harness/status.py), on backends in real time; None: none.
        self.view = view
        self.status = RunStatus(schedule.time_limit)
        self._watching: asyncio.Future | None = None
        self.schedule = schedule
        self.recorder = recorder
        self.report = report if report is not None else RunReport()
        self.workload: Workload[Any] = WORKLOADS[schedule.workload.name]
        self.nemesis = Nemesis()
        self.seed = schedule.seed or 0
        # Process numbers for clients renumbered after an `info`, after the slots'.
        self.numbers = itertools.count(schedule.workload.concurrency)
        self.client_ids = itertools.count()
        self.loop = asyncio.get_running_loop()
        # A stop (Ctrl-C, SIGTERM) cancels the run's task only where that loses nothing:
        # waiting for a leader, the workload, the recovery, the final reads; never while
        # the workers finish and the faults heal.
        self._task: asyncio.Task | None = None
        self._cancellable = True

    # ---- clients ---------------------------------------------------------------------

    def new_client(self, slot: int | None = None) -> Client:
        """A client for a workload slot, bound as the workload says; without a slot (the
        final reads), one that follows the leader."""
        n = next(self.client_ids)
        w = self.schedule.workload
        home = None
        if slot is not None and w.binding == "node":
            home = self.cluster.nodes[slot % len(self.cluster.nodes)]
        options = ClientOptions(
            client_id=f"c{n}-{self.seed}",
            # Seeded per client, so a simulated run's backoff jitter is reproducible.
            rng=random.Random(f"{self.seed}/client/{n}"),
            home=home,
            spread=slot is not None and w.binding == "any",
            attempt_timeout=w.attempt_timeout,  # None: the client's own share
            # Jepsen's process model for the workload's clients: a request that a node
            # leaves unanswered ends the operation `info` (perform then retires the
            # process, and the slot goes on at once with a fresh one), so a slot is held
            # by a silent node for one attempt timeout, not until another leader exists
            # (issue 24: on Docker every slot sat on the cut-off leader with a write,
            # and no read reached it while its answers were stale). The final reads and
            # the setup want a value: their clients move on to another node instead.
            give_up_on_timeout=slot is not None,
        )
        return self.cluster.open_client(w.timeout, options)

    async def perform(self, process: int, client: Client, op: Operation) -> tuple[str, Any, int]:
        """Invoke, call, complete. Returns (history type, value seen, the process to use
        next: a process whose operation ended `info` invokes nothing more, per DESIGN)."""
        self.recorder.invoke(process, op.f, op.value, key=op.key)
        result = await self.workload.call(client, op)
        if result.outcome == OK:
            seen = self.workload.ok_value(op, result)
            self.recorder.complete(process, "ok", seen, node=result.node_id)
            self.status.completed("ok")
            return "ok", seen, process
        if result.outcome == UNKNOWN:
            self.recorder.complete(process, "info", op.value, error=result.error)
            self.status.completed("info")
            return "info", None, next(self.numbers)
        self.recorder.complete(process, "fail", op.value, error=result.error, node=result.node_id)
        self.status.completed("fail")
        return "fail", None, process

    async def worker(self, slot: Slot, stop: asyncio.Event) -> None:
        w = self.schedule.workload
        process = slot.slot
        client = self.new_client(slot.slot)
        work = getattr(self.workload, "work", None)
        # A slot in the middle of something when the run stops (a lock holder, whose
        # release belongs in the history) finishes it first.
        unfinished = getattr(slot, "unfinished", None)

        def going() -> bool:
            return not stop.is_set() or (unfinished is not None and unfinished())

        interval = w.concurrency / w.rate if w.rate > 0 else 0.0
        # Stagger the slots so that the whole cluster sees an even rate, not bursts.
        next_at = self.loop.time() + interval * slot.slot / max(w.concurrency, 1)
        try:
            while going():
                if interval:
                    delay = next_at - self.loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                        if not going():
                            break
                    next_at = max(next_at + interval, self.loop.time() - interval)
                op = slot.next_operation()
                if work is not None:  # outside the history: a lock holder's work
                    await work(client, op)
                outcome, value, new_process = await self.perform(process, client, op)
                slot.observe(op, outcome, value)
                if new_process != process:  # renumbered after an info: a new client
                    await client.close()
                    client = self.new_client(slot.slot)
                    process = new_process
        finally:
            await client.close()

    # ---- nemesis -----------------------------------------------------------------------

    async def run_nemesis(self, plan: list[PlannedFault], t0: float) -> None:
        """Start and heal each planned fault at its time; errors are recorded, not fatal.

        A fault aimed at the leader while there is none (an election under way) must not
        hold up the faults after it: it waits for a leader on its own and, once started,
        lasts its planned duration from then on."""
        faults: dict[int, Fault] = {}
        late: list[asyncio.Future] = []
        try:
            for at, what, i in nemesis_timeline(plan):
                delay = t0 + at - self.loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                p = plan[i]
                if what == "heal":
                    if i in faults:
                        await self.heal_fault(p.spec, faults.pop(i))
                    continue
                rng = random.Random(f"{self.seed}/nemesis/{i}")
                fault = await self.start_fault(p.spec, at, rng, wait=False)
                if isinstance(fault, _NoLeaderYet):
                    late.append(asyncio.ensure_future(self.late_fault(p, rng)))
                elif fault is not None:
                    faults[i] = fault
            await asyncio.gather(*late)
        finally:
            for t in late:
                t.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    async def late_fault(self, p: PlannedFault, rng: random.Random) -> None:
        fault = await self.start_fault(p.spec, p.start, rng, wait=True)
        if isinstance(fault, Fault) and p.end is not None:
            await asyncio.sleep(p.end - p.start)
            await self.heal_fault(p.spec, fault)

    async def heal_fault(self, spec: FaultSpec, fault: Fault) -> None:
        try:
            healed = await self.cluster.run_blocking(fault.heal)
            self.status.faults.pop(id(fault), None)
            self.recorder.nemesis(f"stop-{spec.fault}", healed)
        except Exception as exc:
            self.report.heal_errors.append(f"{spec.fault}: {exc}")

    async def start_fault(
        self, spec: FaultSpec, at: float, rng: random.Random, wait: bool
    ) -> Fault | _NoLeaderYet | None:
        """The started fault, or None when it could not be applied (recorded as a fault
        problem). One aimed at the leader while there is none gives _NO_LEADER_YET, or
        with `wait` polls for a leader for up to LEADER_WAIT."""
        waited = 0.0
        while True:
            # The same random stream on every try, so the choice of targets does not
            # depend on how long the fault waited.
            state = rng.getstate()
            try:
                fault = make_fault(spec, self.cluster, rng)
                applied = await self.cluster.run_blocking(self.nemesis.start, fault)
            except NoLeader as exc:
                if not wait:
                    rng.setstate(state)
                    return _NO_LEADER_YET
                if waited + LEADER_POLL > LEADER_WAIT:
                    self._fault_failed(spec, at, f"{exc}; none within {LEADER_WAIT:g} s")
                    return None
                rng.setstate(state)
                await asyncio.sleep(LEADER_POLL)
                waited += LEADER_POLL
                continue
            except Exception as exc:  # one failed fault must not end the run
                self._fault_failed(spec, at, str(exc))
                return None
            self.recorder.nemesis(f"start-{spec.fault}", applied)
            self.status.faults[id(fault)] = describe_fault(spec.fault, applied)
            self.report.faults_applied.append({"fault": spec.fault, "at": at, **applied})
            return fault

    def _fault_failed(self, spec: FaultSpec, at: float, error: str) -> None:
        self.report.fault_errors.append(f"{spec.fault} at {at:g} s (line {spec.line}): {error}")
        self.recorder.nemesis(f"fail-{spec.fault}", {"error": error})

    async def heal_all(self) -> None:
        errors = await self.cluster.run_blocking(self.nemesis.heal_all)
        self.status.faults.clear()
        self.report.heal_errors += errors
        self.recorder.nemesis("heal", {"errors": errors} if errors else None)

    # ---- the run -----------------------------------------------------------------------

    async def wait_for_leader(self, timeout: float) -> bool:
        deadline = self.loop.time() + timeout
        while self.loop.time() < deadline:
            if await self.cluster.run_blocking(self.cluster.leader) is not None:
                return True
            await asyncio.sleep(LEADER_POLL)
        return False

    async def until_ok(self, ops: list[Operation], role: str) -> dict[str, Any]:
        """Each operation retried (each try its own operation in the history) until it is
        ok, at most FINAL_READ_ATTEMPTS times: what each ended with, by its label or key
        ("unavailable" when no try was ok). `role` names what the processes doing it are
        for (results.json "process-roles")."""
        seen: dict[str, Any] = {}
        if not ops:
            return seen
        process = next(self.numbers)
        for op in ops:
            for attempt in range(FINAL_READ_ATTEMPTS):
                if attempt:
                    await asyncio.sleep(FINAL_READ_PAUSE)
                self.report.process_roles[process] = role  # a renumbered one too
                client = self.new_client()
                try:
                    outcome, value, process = await self.perform(process, client, op)
                finally:
                    await client.close()
                if outcome == "ok":
                    seen[op.label or op.key] = value
                    break
            else:
                seen[op.label or op.key] = "unavailable"
        return seen

    async def final_reads(self, ops: list[Operation]) -> None:
        """The workload's final operations (a read of every key), once healed."""
        self.report.final_reads = await self.until_ok(ops, "final reads")

    async def watch(self, t0: float) -> None:
        """Keeps the status line current: twice a second, the leader once a second."""
        next_leader = 0.0
        while True:
            now = self.loop.time()
            self.status.tick(now - t0)
            if now >= next_leader:
                next_leader = now + 1.0
                try:
                    self.status.leader = await self.cluster.run_blocking(self.cluster.leader)
                except Exception:  # a probe that fails says nothing about the run
                    self.status.leader = None
            if self.view is not None:
                self.view(self.status.line())
            await asyncio.sleep(0.5)

    async def run(self) -> RunReport:
        self._task = asyncio.current_task()

        def stop() -> None:  # in a signal handler: only schedule the stop on the loop
            self.loop.call_soon_threadsafe(self._stop)

        try:
            with interrupt.on_stop(stop):
                return await self._run()
        finally:
            if self._watching is not None:
                self._watching.cancel()
                await asyncio.gather(self._watching, return_exceptions=True)

    def _stop(self) -> None:
        """On the loop, after a Ctrl-C or SIGTERM: end the run where it stands."""
        self.report.interrupted = True
        if self._cancellable and self._task is not None:
            self._task.cancel()

    def _stopped(self) -> bool:
        """After a CancelledError: whether it was our stop (then the task's cancellation
        is taken back, so that later awaits are not cancelled again)."""
        if not self.report.interrupted:
            return False
        if self._task is not None:
            self._task.uncancel()
        return True

    async def _run(self) -> RunReport:
        s = self.schedule
        # The cluster is up; let it elect before the clock of the workload starts.
        try:
            await self.wait_for_leader(FIRST_LEADER_WAIT)
            # The workload's setup (bank: open the accounts) before its clock starts.
            # A setup that never succeeds shows in the history, and its checker says so.
            await self.until_ok(self.workload.initial_operations(s.workload), "setup")
        except asyncio.CancelledError:
            if not self._stopped():
                raise
            return self.report  # stopped before the workload: nothing to heal
        t0 = self.loop.time()
        self.report.workload_start_ns = self.recorder.now()
        if self.view is not None:
            self._watching = asyncio.ensure_future(self.watch(t0))
        stop = asyncio.Event()
        slots = self.workload.slots(s.workload, self.seed)
        workers = [asyncio.ensure_future(self.worker(slot, stop)) for slot in slots]
        nemesis = asyncio.ensure_future(self.run_nemesis(fault_plan(s), t0))
        try:
            await asyncio.sleep(s.time_limit)
        except asyncio.CancelledError:
            if not self._stopped():
                raise
        finally:
            self._cancellable = False
            stop.set()
            nemesis.cancel()
            # In-flight operations end on their own timeouts; their completions belong in
            # the history.
            await asyncio.gather(*workers, return_exceptions=True)
            await asyncio.gather(nemesis, return_exceptions=True)
            if s.final.heal or self.report.interrupted:
                self.status.phase = "heal"
                await self.heal_all()
            self._cancellable = True
        if self.report.interrupted:  # healed; no recovery and final reads
            return self.report
        try:
            if s.final.heal:
                self.status.phase = "recover"
                await asyncio.sleep(s.final.recover)
            self.status.phase = "final reads"
            # Without `final.heal` the final reads see the faults still active; the run
            # still ends healed (DESIGN), just after them.
            await self.final_reads(self.workload.final_operations(s.workload, slots))
        except asyncio.CancelledError:
            if not self._stopped():
                raise
        finally:
            if not s.final.heal:
                self._cancellable = False
                await self.heal_all()
        return self.report


async def drive(
    cluster: Cluster,
    schedule: Schedule,
    recorder: HistoryRecorder,
    view: Callable[[str], None] | None = None,
    report: RunReport | None = None,
) -> RunReport:
    """Run `schedule`'s workload and nemesis against the started `cluster`; `view` gets
    the live status line (harness/status.py) while it runs, when given. `report` is
    filled in as the run goes (the caller keeps what was applied, whatever happens);
    after a Ctrl-C or SIGTERM it comes back `interrupted`, healed."""
    return await Driver(cluster, schedule, recorder, view, report).run()
