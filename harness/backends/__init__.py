"""The backends a run can use: each a started-on-demand `Cluster` and the event loop the
run driver (harness/driver.py) runs on against it. `make_backend` is the one place a
cluster is built: the runner and the pytest fixtures both come here.

- docker: one container per node (harness/backends/docker/cluster.py), real time;
- sim: the deterministic simulation (harness/backends/sim/), virtual time;
- local: one raftnode process per node on 127.0.0.1 (harness/backends/local/cluster.py), real
  time, no Docker: kills and pauses work, partitions, clock and packet faults are
  reported as fault problems (the processes share one network namespace and clock).
- ssh: raftnode on the hosts an inventory names (harness/backends/ssh/), over SSH: kills
  and pauses by pid, partitions (iptables) and packet faults (tc netem) on the hosts,
  clocks by libfaketime.

Which systems a backend can run, each System declares (`System.backends`): every
system runs on Docker; the simulation steps raftnode's core and `local` starts raftnode
processes. Everything else about a run (workload, clients, nemesis, heal, final reads,
collection, checking) is the same code for all of them (harness/runner.py).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from harness.backends.base import Backend, ClusterSpec, EnvironmentProblem, Runner

if TYPE_CHECKING:
    from harness.schedule import Schedule
    from harness.systems.base import System

BACKENDS = ("docker", "sim", "local", "ssh")
# Why a backend runs only some systems, for the message that refuses the others.
RUNS_ONLY = {
    "sim": "the simulation steps raftnode's core",
    "local": "local starts raftnode processes",
    "ssh": "ssh installs a system on hosts through its debian_packages and host_files",
}

T = TypeVar("T")


def backend_problem(name: str, schedule: Schedule) -> str | None:
    """Why `schedule` cannot run on backend `name` (a usage error, exit 2); None: it can.
    The system says where it runs (System.backends)."""
    from harness.systems import system_class

    return system_problem(name, system_class(schedule.system.name))


def system_problem(name: str, cls: type[System]) -> str | None:
    """Why backend `name` cannot run systems of class `cls`; None: it can."""
    if name in cls.backends:
        return None
    why = f": {RUNS_ONLY[name]}" if name in RUNS_ONLY else ""
    return f"system {cls.name} runs on --backend {' | '.join(cls.backends)} only{why}"


def make_backend(
    name: str, spec: ClusterSpec, say: Callable[[str], None] = lambda _m: None
) -> Backend:
    """The backend `name` with a cluster as `spec` says (not started). The runner has
    already refused a pairing backend_problem names, before making the run's folder;
    here it is an error all the same (ValueError), for callers that did not ask."""
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; expected one of: {', '.join(BACKENDS)}")
    why = system_problem(name, type(spec.system))
    if why:
        raise ValueError(why)
    if name == "docker":
        return _docker(spec, say)
    if name == "sim":
        from harness.backends.sim.backend import sim_backend

        return sim_backend(spec)
    if name == "ssh":
        return _ssh(spec)
    return _local(spec)


def _ssh(spec: ClusterSpec) -> Backend:
    from harness.backends.ssh.cluster import SshCluster
    from harness.backends.ssh.inventory import load_inventory

    if spec.inventory is None:
        raise ValueError("the ssh backend needs an inventory (--inventory FILE)")
    inventory = load_inventory(spec.inventory)
    cluster = SshCluster(inventory, spec.nodes, spec.system, clock_faults=spec.clock_faults)
    hosts = ", ".join(f"{h.id}={h.address}" for h in inventory.hosts[: spec.nodes])
    return Backend(
        cluster,
        _asyncio_run,
        f"run: {spec.system.describe()} up on {hosts}",
        details=lambda: {"system": spec.system.describe(), "hosts": hosts},
    )


def _docker(spec: ClusterSpec, say: Callable[[str], None]) -> Backend:
    from harness.backends.docker import engine_problem
    from harness.backends.docker.cluster import DockerCluster, DockerConfig

    why = engine_problem()
    if why:
        raise EnvironmentProblem(why)
    system = spec.system
    config = DockerConfig(
        nodes=spec.nodes,
        system=system,
        clock_faults=spec.clock_faults and not system.refuses("clock"),
        signals=False,  # the runner handles signals: it must heal and collect first
        log=say,  # what the image build is doing, on first use
    )
    try:
        cluster = DockerCluster(config)
    except Exception as exc:
        raise EnvironmentProblem(f"cannot use the Docker engine: {exc}") from exc
    return Backend(
        cluster,
        _asyncio_run,
        f"run: {system.describe()} up",
        # The run id names and labels its containers, network and volumes.
        details=lambda: {"system": system.describe(), "run-id": cluster.run_id},
    )


def _local(spec: ClusterSpec) -> Backend:
    import shutil
    import tempfile

    from harness.backends.local.cluster import LocalCluster
    from harness.systems.raftnode import RaftnodeSystem

    if not isinstance(spec.system, RaftnodeSystem):  # declared "local" without being raftnode
        raise ValueError(f"the local backend starts raftnode processes, not {spec.system.name}")
    base = spec.base_dir or Path(tempfile.mkdtemp(prefix=f"raftquake-{spec.name}-"))
    cluster = LocalCluster(spec.nodes, base, spec.system)
    return Backend(
        cluster,
        _asyncio_run,
        f"run: {spec.nodes} local processes up",
        # The nodes' data directories: the run folder has what was collected of them.
        cleanup=(lambda: None) if spec.base_dir else lambda: shutil.rmtree(base, True),
    )


def _asyncio_run(coro: Coroutine[Any, Any, T], /) -> T:
    import asyncio

    return asyncio.run(coro)


__all__ = [
    "BACKENDS",
    "Backend",
    "ClusterSpec",
    "EnvironmentProblem",
    "Runner",
    "backend_problem",
    "make_backend",
    "system_problem",
]
