"""The backends a schedule runs on: each a started-on-demand `Cluster` and the event loop
the run driver (harness/driver.py) runs on against it.

- docker: one container per node (harness/backends/docker/cluster.py), real time;
- sim: the deterministic simulation (harness/backends/sim/), virtual time;
- local: one raftnode process per node on 127.0.0.1 (harness/backends/local/cluster.py), real
  time, no Docker: kills and pauses work, partitions, clock and packet faults are
  reported as fault problems (the processes share one network namespace and clock).

Everything else about a run (workload, clients, nemesis, heal, final reads, collection,
checking) is the same code for all of them (harness/runner.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.backends.base import Cluster
from harness.schedule import Schedule, fault_families

BACKENDS = ("docker", "sim", "local")


class EnvironmentProblem(RuntimeError):
    """The run could not happen here (no Docker engine, image build failed, ...)."""


@dataclass
class Backend:
    cluster: Cluster
    run: Callable[[Coroutine[Any, Any, Any]], Any]  # runs the driver to completion
    announce: str  # said once the cluster is up
    clock: Callable[[], int] | None = None  # the history's ns clock; None: monotonic
    details: Callable[[], dict[str, Any]] = field(default=lambda: {})  # for results.json
    cleanup: Callable[[], None] = field(default=lambda: None)  # after teardown
    live: bool = True  # in real time, so a live status line means something (not the sim)


def backend_problem(name: str, schedule: Schedule) -> str | None:
    """Why `schedule` cannot run on backend `name` (a usage error, exit 2); None: it can.
    The simulation steps raftnode's own core and `local` starts raftnode processes, so
    another system under test runs on Docker only."""
    from harness.systems import system_class

    cls = system_class(schedule.system.name)
    if name in ("sim", "local") and not cls.simulated:
        return (
            f"system {cls.name} runs on --backend docker only: the {name} backend runs "
            "raftnode itself (the simulation steps raftnode's core; local starts raftnode "
            "processes)"
        )
    return None


def make_backend(
    name: str, schedule: Schedule, say: Callable[[str], None] = lambda _m: None
) -> Backend:
    """The backend `name` for `schedule`; run_schedule (harness/runner.py) has already
    refused a pairing backend_problem names, before making the run's folder."""
    if name == "docker":
        return docker_backend(schedule, say)
    if name == "sim":
        from harness.backends.sim.backend import sim_backend

        return sim_backend(schedule)
    if name == "local":
        return local_backend(schedule)
    raise ValueError(f"unknown backend {name!r}; expected one of: {', '.join(BACKENDS)}")


def docker_backend(schedule: Schedule, say: Callable[[str], None] = lambda _m: None) -> Backend:
    from harness.backends.docker.cluster import DockerCluster, DockerConfig
    from harness.runner import docker_available
    from harness.systems import make_system

    why = docker_available()
    if why:
        raise EnvironmentProblem(why)
    system = make_system(schedule)
    config = DockerConfig(
        nodes=schedule.nodes,
        system=system,
        # libfaketime re-reading its control file on every clock call costs node CPU:
        # only pay for it when the schedule moves clocks.
        clock_faults="clock" in fault_families(schedule) and not system.refuses("clock"),
        signals=False,  # the runner handles signals: it must heal and collect first
        log=say,  # what the image build is doing, on first use
    )
    try:
        cluster = DockerCluster(config)
    except Exception as exc:
        raise EnvironmentProblem(f"cannot use the Docker engine: {exc}") from exc
    return Backend(
        cluster,
        asyncio.run,
        f"run: {system.describe()} up; workload for {schedule.time_limit:g} s",
        # The run id names and labels its containers, network and volumes.
        details=lambda: {"system": system.describe(), "run-id": cluster.run_id},
    )


def local_backend(schedule: Schedule) -> Backend:
    import shutil
    import tempfile

    from harness.backends.local.cluster import LocalCluster

    base = Path(tempfile.mkdtemp(prefix=f"raftquake-{schedule.name}-"))
    cluster = LocalCluster(
        schedule.nodes,
        base,
        read_mode=schedule.node.read_mode,
        bugs=tuple(schedule.node.bugs),
        extra_args=("--snapshot-entries", str(schedule.node.snapshot_entries)),
    )
    return Backend(
        cluster,
        asyncio.run,
        f"run: {schedule.nodes} local processes up; workload for {schedule.time_limit:g} s",
        # The nodes' data directories: the run folder has what was collected of them.
        cleanup=lambda: shutil.rmtree(base, ignore_errors=True),
    )
