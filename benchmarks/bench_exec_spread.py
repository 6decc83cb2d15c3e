"""When each container's partition rule takes effect on Docker, against the simulation's
model of it (issue 24: the two backends must see the same windows).

A leader cut on a Docker cluster: one `sh -c 'iptables ...'` exec per container, all in
parallel (DockerCluster._add_rules); a node's rules are in once its exec returns. For each
cut this prints every node's delay from the nemesis's request, then the first and last
node's delay and their spread (last minus first), and the same for the simulation's draw
(harness/backends/sim/adapter.py's EXEC_MS: each node on its own, uniform), with the
ratio of the median spreads.

    .venv/bin/python benchmarks/bench_exec_spread.py [--nodes 5] [--cuts 12]

The figures depend on the machine's load: say so when quoting them.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from harness.backends.docker.cluster import DockerCluster, DockerConfig, docker_available  # noqa: E402
from harness.backends.sim.adapter import EXEC_MS  # noqa: E402


def summary(name: str, ms: list[float]) -> str:
    return (
        f"{name:<11} median {statistics.median(ms):4.0f} ms  min {min(ms):4.0f}  max {max(ms):4.0f}"
    )


def docker_cuts(nodes: int, cuts: int) -> list[list[float]]:
    """Each cut's per-node delays (ms, sorted) on a fresh Docker cluster."""
    cluster = DockerCluster(DockerConfig(nodes=nodes))
    cluster.start()
    try:
        cluster.wait_ready(60)
        done: dict[str, float] = {}
        run_exec = cluster._exec

        def timed_exec(node, cmd, *args, **kwargs):
            out = run_exec(node, cmd, *args, **kwargs)
            done[node] = time.monotonic()
            return out

        cluster._exec = timed_exec
        out = []
        for _ in range(cuts):
            lead, others = cluster.nodes[0], cluster.nodes[1:]
            done.clear()
            asked = time.monotonic()
            cluster.cut_many([(lead, o) for o in others])
            out.append(sorted((done[n] - asked) * 1000 for n in cluster.nodes))
            cluster.heal_network()
            time.sleep(0.5)
        cluster._exec = run_exec
        return out
    finally:
        cluster.teardown()


def sim_cuts(nodes: int, cuts: int) -> list[list[float]]:
    rng = random.Random(1)
    return [sorted(rng.uniform(*EXEC_MS) for _ in range(nodes)) for _ in range(cuts)]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nodes", type=int, default=5)
    p.add_argument("--cuts", type=int, default=12)
    a = p.parse_args()
    ok, why = docker_available()
    if not ok:
        print(f"{why}; nothing measured", file=sys.stderr)
        return 2
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    spreads = {}
    for name, cuts in (
        ("docker", docker_cuts(a.nodes, a.cuts)),
        ("sim", sim_cuts(a.nodes, a.cuts)),
    ):
        print(f"== {name}, {a.nodes} nodes, {a.cuts} leader cuts")
        if name == "docker":
            for k, d in enumerate(cuts):
                print(f"cut {k:2}: " + " ".join(f"{x:4.0f}" for x in d) + " ms")
        print(summary("first node", [d[0] for d in cuts]))
        print(summary("last node", [d[-1] for d in cuts]))
        spreads[name] = [d[-1] - d[0] for d in cuts]
        print(summary("spread", spreads[name]))
    ratio = statistics.median(spreads["sim"]) / statistics.median(spreads["docker"])
    print(f"sim spread / docker spread (medians): x{ratio:.1f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
