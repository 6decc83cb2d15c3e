"""When each container's partition rules take effect on Docker during a run, against the
simulation's model of it (issue 24: the two backends must see the same windows).

A leader cut on a Docker cluster: one `sh -c 'iptables ...'` exec per container, all in
parallel (DockerCluster._add_rules). Here each rule is followed by `date +%s.%N` in the
same exec, so every rule's landing time is known, and the cuts are those of real runs
(schedules/leader-cuts.yaml by default: the nodes and the workload load the machine, as
in every run; an idle cluster's execs are faster and closer together). For each cut it
prints the leader's rules and the followers' from the nemesis's request, then the first
and last node's delay, their spread (last minus first) and the gap between rules of one
exec, and the same for the simulation's draw (harness/backends/sim/adapter.py: EXEC_MS,
EXEC_SPREAD_MS, RULE_MS), with the ratio of the medians.

    .venv/bin/python benchmarks/bench_exec_spread.py [--runs 9] [--schedule S]

The figures depend on the machine's load (printed per cut): say so when quoting them.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from harness.backends.docker import cluster as docker_cluster  # noqa: E402
from harness.backends.sim.adapter import EXEC_MS, EXEC_SPREAD_MS, RULE_MS  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

# One cut: the leader's rules' landing times and each follower's (ms from the request).
Cut = tuple[list[float], list[float]]


def stamped_rules(cuts: list[Cut]):
    """DockerCluster._add_rules, each rule stamped as it lands; leader cuts recorded."""

    def add_rules(self, rules) -> None:
        per_node: dict[str, list[str]] = {}
        self.blocked = True
        for node, rule in rules:
            cmd = f"{self.iptables} -A {docker_cluster.CHAIN} {rule} && date +%s.%N"
            per_node.setdefault(node, []).append(cmd)
        stamps: dict[str, list[float]] = {}

        def run(n: str) -> None:
            _, out = self._exec(n, ["sh", "-c", " && ".join(per_node[n])])
            stamps[n] = [float(x) for x in out.split()]

        asked = time.time()
        self.each(run, per_node)
        lead = max(stamps, key=lambda n: len(stamps[n]))
        if len(stamps[lead]) > 1:  # a leader cut: one node with a rule per other node
            ms = {n: [(t - asked) * 1000 for t in ts] for n, ts in stamps.items()}
            cuts.append((ms[lead], sorted(ts[0] for n, ts in ms.items() if n != lead)))

    return add_rules


def docker_cuts(schedule: str, runs: int) -> list[Cut]:
    from harness.cli import main as raftquake

    cuts: list[Cut] = []
    real = docker_cluster.DockerCluster._add_rules
    docker_cluster.DockerCluster._add_rules = stamped_rules(cuts)
    try:
        with tempfile.TemporaryDirectory(prefix="raftquake-exec-") as store:
            for seed in range(1, runs + 1):
                before = len(cuts)
                args = ["run", schedule, "--backend", "docker", "--seed", str(seed)]
                said = io.StringIO()
                with contextlib.redirect_stdout(said), contextlib.redirect_stderr(said):
                    code = raftquake([*args, "--store", store])
                if code not in (0, 1, 3):  # invalid or unknown: the run itself went through
                    print(said.getvalue(), file=sys.stderr)
                    raise SystemExit(f"seed {seed}: raftquake run exited {code}")
                for leader, followers in cuts[before:]:
                    print(
                        f"seed {seed} load {os.getloadavg()[0]:.1f}: leader's rules "
                        + " ".join(f"{x:4.0f}" for x in leader)
                        + " | followers' "
                        + " ".join(f"{x:4.0f}" for x in followers)
                        + " ms",
                        flush=True,
                    )
    finally:
        docker_cluster.DockerCluster._add_rules = real
    return cuts


def sim_cuts(nodes: int, count: int) -> list[Cut]:
    """The simulation's draw (adapter.py's _draw_delay and _exec) for `count` cuts."""
    rng = random.Random(1)
    out = []
    for _ in range(count):
        shared = rng.uniform(EXEC_MS[0], EXEC_MS[1] - EXEC_SPREAD_MS)
        starts = [shared + rng.uniform(0.0, EXEC_SPREAD_MS) for _ in range(nodes)]
        leader = [starts[0] + k * RULE_MS for k in range(nodes - 1)]
        out.append((leader, sorted(starts[1:])))
    return out


def figures(cuts: list[Cut]) -> dict[str, list[float]]:
    firsts = [sorted([leader[0], *followers]) for leader, followers in cuts]
    return {
        "first node": [f[0] for f in firsts],
        "last node": [f[-1] for f in firsts],
        "spread": [f[-1] - f[0] for f in firsts],
        "rule gap": [(leader[-1] - leader[0]) / (len(leader) - 1) for leader, _ in cuts],
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=9, help="Docker runs (9)")
    p.add_argument("--schedule", default=str(ROOT / "schedules" / "leader-cuts.yaml"))
    a = p.parse_args()
    ok, why = docker_cluster.docker_available()
    if not ok:
        print(f"{why}; nothing measured", file=sys.stderr)
        return 2
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    docker = docker_cuts(a.schedule, a.runs)
    if not docker:
        print("no leader cut in these runs; nothing measured", file=sys.stderr)
        return 1
    nodes = len(docker[0][1]) + 1
    both = {"docker": figures(docker), "sim": figures(sim_cuts(nodes, 1000))}
    print(f"== {len(docker)} leader cuts on Docker ({a.runs} runs), 1000 drawn by the simulation")
    print(f"{'':<11} {'docker median (min-max)':>24} {'sim median (min-max)':>22}  ratio")
    for name in both["docker"]:
        d, s = both["docker"][name], both["sim"][name]
        print(
            f"{name:<11} {statistics.median(d):7.0f} ({min(d):4.0f}-{max(d):4.0f}) ms"
            f" {statistics.median(s):10.0f} ({min(s):4.0f}-{max(s):4.0f}) ms"
            f"  x{statistics.median(s) / statistics.median(d):.2f}"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
