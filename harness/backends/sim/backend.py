"""`raftquake run --backend sim`: a schedule over the deterministic simulation.

The very run driver of a Docker run (harness/driver.py: workload, raftnode's clients,
nemesis, heal, recovery, final reads), on an event loop in the simulation's virtual
time (harness/backends/sim/loop.py), against SimBackendCluster. Then the run folder gets what
the checkers read from a Docker run: history.jsonl, and per node events.jsonl and the
committed log (log.jsonl).

Everything random comes from schedule.seed (the cluster's network and timeouts, the
workload, the clients' latencies and backoff, the nemesis's target choices) and every
event runs in a fixed order, so a seed gives the same history byte for byte.
"""

from __future__ import annotations

import time
from collections.abc import Coroutine
from typing import Any, TypeVar

from harness.backends.base import Backend, ClusterSpec
from harness.backends.sim.adapter import SimBackendCluster
from harness.backends.sim.cluster import NetworkConfig, SimCluster, SimConfig
from harness.backends.sim.loop import run_in_virtual_time
from harness.systems.raftnode import RaftnodeSystem
from raftnode.config import NodeConfig

T = TypeVar("T")


def sim_config(spec: ClusterSpec) -> SimConfig:
    """The node's real timing (raftnode/config.py defaults) and the system's options: the
    simulation steps raftnode's own core, so it runs a RaftnodeSystem's settings."""
    system = spec.system
    if not isinstance(system, RaftnodeSystem):  # declared "sim" without being raftnode
        raise ValueError(f"the simulation steps raftnode's core, not {system.name}'s")
    node = NodeConfig(id="n1", listen=("", 0), peers={}, data_dir="")  # defaults only
    return SimConfig(
        nodes=spec.nodes,
        seed=spec.seed,
        tick_ms=node.tick_ms,
        election_ticks=node.election_ticks,
        heartbeat_ticks=node.heartbeat_ticks,
        read_mode=system.read_mode,
        bugs=frozenset(system.bugs),
        snapshot_entries=system.snapshot_entries,
        network=NetworkConfig(min_delay_ms=0.2, max_delay_ms=2.0),
        stop_on_violation=False,  # the checkers judge, from what the run leaves behind
        crash_on_error=True,  # a node whose code fails dies; the run goes on, as on Docker
        trace=False,
    )


def sim_backend(spec: ClusterSpec) -> Backend:
    """The simulation as a backend (harness/backends/__init__.py's make_backend)."""
    sim = SimCluster(sim_config(spec))
    cluster = SimBackendCluster(sim, spec.seed)
    wall0 = time.monotonic()

    def details() -> dict[str, Any]:
        out: dict[str, Any] = {
            "virtual-time-s": round(sim.now / 1000, 3),
            "wall-time-s": round(time.monotonic() - wall0, 3),
            # The simulation's own safety checks, for information; the verdict is the
            # checkers', on the node files, exactly as for a Docker run.
            "sim-violations": sim.violations,
        }
        if sim.node_errors:
            out["node-errors"] = sim.node_errors
        if cluster.settle_problem:
            out["sim-settle"] = cluster.settle_problem
        return out

    def run(coro: Coroutine[Any, Any, T], /) -> T:
        return run_in_virtual_time(sim, coro)

    return Backend(
        cluster,
        run,
        f"run: simulating {spec.nodes} nodes",
        clock=lambda: round(sim.now * 1_000_000),
        details=details,
        live=False,  # virtual time: a run takes seconds, and a watcher would perturb it
    )
