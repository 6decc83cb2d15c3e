"""A run against real nodes, in real time: clients, nemesis, heal, recovery, final reads.

Works with any `Cluster` whose nodes speak raftnode's client protocol (the Docker
backend; local processes too). Everything happens on one asyncio loop: the
clients, and the nemesis, whose blocking fault primitives (docker exec, iptables)
run in worker threads. The history recorder is only ever touched from the loop,
so its lines are in the order the harness saw them.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from harness.cluster.base import Cluster
from harness.nemesis import Nemesis, make_fault
from harness.recorder import HistoryRecorder
from harness.schedule import PlannedFault, Schedule, fault_plan
from raftnode.client import OK, UNKNOWN, Client
from workloads.register import Operation, RegisterSlot, key_names, make_slots

OP_TIMEOUT = 2.0  # seconds before a client operation ends `info`
FINAL_READ_ATTEMPTS = 5


@dataclass
class LiveRun:
    """What a live run did, for the summary and results.json."""

    faults_applied: list[dict[str, Any]] = field(default_factory=list)
    fault_errors: list[str] = field(default_factory=list)
    heal_errors: list[str] = field(default_factory=list)
    final_reads: dict[str, Any] = field(default_factory=dict)


async def _call(client: Client, op: Operation):
    if op.f == "read":
        return await client.get(op.key)
    if op.f == "write":
        return await client.put(op.key, op.value)
    return await client.cas(op.key, op.value[0], op.value[1])


class _Clients:
    """Client processes: one per workload slot, renumbered after an `info`."""

    def __init__(self, cluster: Cluster, recorder: HistoryRecorder, concurrency: int):
        self.cluster = cluster
        self.recorder = recorder
        self.numbers = itertools.count(concurrency)  # process numbers for renumbered clients

    def new_client(self) -> Client:
        return Client(self.cluster.addrs(), timeout=OP_TIMEOUT)

    async def perform(self, process: int, client: Client, op: Operation) -> tuple[str, Any, int]:
        """Invoke, call, complete. Returns (history type, value, the process to use next)."""
        self.recorder.invoke(process, op.f, op.value, key=op.key)
        result = await _call(client, op)
        outcome = {OK: "ok", UNKNOWN: "info"}.get(result.outcome, "fail")
        return record_completion(
            self.recorder,
            process,
            op,
            outcome,
            result.value,
            result.error,
            result.node_id,
            self.numbers,
        )


def record_completion(
    recorder: HistoryRecorder,
    process: int,
    op: Operation,
    outcome: str,
    value: Any,
    error: str | None,
    node: str | None,
    numbers: Iterator[int],
) -> tuple[str, Any, int]:
    """The completion of `process`'s open `op` as the history wants it ("ok", "fail" or
    "info"). Returns (type, value seen, the process to use next). Shared with the
    simulated backend (harness/sim/backend.py), so both write the same history."""
    if outcome == "ok":
        seen = value if op.f == "read" else op.value
        recorder.complete(process, "ok", seen, node=node)
        return "ok", seen, process
    if outcome == "info":
        recorder.complete(process, "info", op.value, error=error)
        # DESIGN: a process whose operation ended `info` invokes nothing more.
        return "info", None, next(numbers)
    recorder.complete(process, "fail", op.value, error=error, node=node)
    return "fail", None, process


async def _worker(
    clients: _Clients, slot: RegisterSlot, rate: float, concurrency: int, stop: asyncio.Event
) -> None:
    process = slot.slot
    client = clients.new_client()
    interval = concurrency / rate if rate > 0 else 0.0
    # Stagger the slots so that the whole cluster sees an even rate, not bursts.
    next_at = time.monotonic() + interval * slot.slot / max(concurrency, 1)
    try:
        while not stop.is_set():
            if interval:
                delay = next_at - time.monotonic()
                if delay > 0:
                    try:
                        await asyncio.wait_for(stop.wait(), delay)
                        break
                    except TimeoutError:
                        pass
                next_at = max(next_at + interval, time.monotonic() - interval)
            op = slot.next_operation()
            outcome, value, new_process = await clients.perform(process, client, op)
            slot.observe(op, outcome, value)
            if new_process != process:
                await client.close()
                client = clients.new_client()
                process = new_process
    finally:
        await client.close()


def nemesis_timeline(plan: list[PlannedFault]) -> list[tuple[float, str, int]]:
    """(seconds from the workload's start, "start" | "heal", index into plan), in order.
    Shared with the simulated backend."""
    events: list[tuple[float, int, str, int]] = []
    for i, p in enumerate(plan):
        events.append((p.start, 1, "start", i))
        if p.end is not None:
            events.append((p.end, 0, "heal", i))  # heals sort before starts at equal times
    events.sort()
    return [(at, what, i) for at, _, what, i in events]


async def _nemesis(
    cluster: Cluster,
    plan: list[PlannedFault],
    nemesis: Nemesis,
    recorder: HistoryRecorder,
    rng_for: Callable[[int], Any],
    t0: float,
    report: LiveRun,
) -> None:
    """Start and heal each planned fault at its time; errors are recorded, not fatal."""
    faults: dict[int, Any] = {}
    for at, what, i in nemesis_timeline(plan):
        delay = t0 + at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        spec = plan[i].spec
        if what == "start":
            try:
                fault = make_fault(spec, cluster, rng_for(i))
                faults[i] = fault
                applied = await asyncio.to_thread(nemesis.start, fault)
                recorder.nemesis(f"start-{spec.fault}", applied)
                report.faults_applied.append({"fault": spec.fault, "at": at, **applied})
            except Exception as exc:  # one failed fault must not end the run
                msg = f"{spec.fault} at {at:g} s (line {spec.line}): {exc}"
                report.fault_errors.append(msg)
                recorder.nemesis(f"fail-{spec.fault}", {"error": str(exc)})
        elif i in faults:
            fault = faults.pop(i)
            try:
                healed = await asyncio.to_thread(fault.heal)
                recorder.nemesis(f"stop-{spec.fault}", healed)
            except Exception as exc:
                report.heal_errors.append(f"{spec.fault}: {exc}")


async def _final_reads(
    clients: _Clients, keys: list[str], first_process: int, report: LiveRun
) -> None:
    """One final read of every key, retried (each try its own operation) until it is ok."""
    process = first_process
    for key in keys:
        for _ in range(FINAL_READ_ATTEMPTS):
            client = clients.new_client()
            try:
                outcome, value, next_process = await clients.perform(
                    process, client, Operation("read", key, None)
                )
            finally:
                await client.close()
            process = next_process
            if outcome == "ok":
                report.final_reads[key] = value
                break
            await asyncio.sleep(0.2)
        else:
            report.final_reads[key] = "unavailable"


async def drive(cluster: Cluster, schedule: Schedule, recorder: HistoryRecorder) -> LiveRun:
    """The workload and the nemesis for `time_limit`, then heal, recover, read every key."""
    import random

    report = LiveRun()
    w = schedule.workload
    slots = make_slots(w, schedule.seed or 0)
    clients = _Clients(cluster, recorder, w.concurrency)
    nemesis = Nemesis()
    stop = asyncio.Event()
    t0 = time.monotonic()

    def rng_for(i: int) -> random.Random:
        # Per planned fault, so target choices do not depend on timing.
        return random.Random(f"{schedule.seed}/nemesis/{i}")

    workers = [asyncio.create_task(_worker(clients, s, w.rate, w.concurrency, stop)) for s in slots]
    nemesis_task = asyncio.create_task(
        _nemesis(cluster, fault_plan(schedule), nemesis, recorder, rng_for, t0, report)
    )
    try:
        await asyncio.sleep(schedule.time_limit)
    finally:
        stop.set()
        nemesis_task.cancel()
        # In-flight operations end on their own timeouts; their completions belong in the history.
        await asyncio.gather(*workers, return_exceptions=True)
        await asyncio.gather(nemesis_task, return_exceptions=True)
        if schedule.final.heal:
            await _heal(nemesis, recorder, report)
    # Without `final.heal` the final reads see the faults still active; the run still
    # ends healed (DESIGN), just after them.
    if schedule.final.heal:
        await asyncio.sleep(schedule.final.recover)
    try:
        await _final_reads(clients, key_names(w.keys), next(clients.numbers), report)
    finally:
        if not schedule.final.heal:
            await _heal(nemesis, recorder, report)
    return report


async def _heal(nemesis: Nemesis, recorder: HistoryRecorder, report: LiveRun) -> None:
    errors = await asyncio.to_thread(nemesis.heal_all)
    report.heal_errors += errors
    recorder.nemesis("heal", {"errors": errors} if errors else None)
