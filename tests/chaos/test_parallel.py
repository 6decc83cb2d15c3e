"""Many runs at once on one Docker engine: `raftquake run A B --jobs 2`, and pytest-xdist
workers each running schedules (the recipe in docs/parallel-runs.md). The runs must not
collide (own networks, subnets, names) and must leave nothing behind."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.chaos
pytest_plugins = ["pytester"]

SHORT = """name: {name}
nodes: 3
time-limit: 5
workload: {{keys: 3, concurrency: 4, rate: 60}}
nemesis:
  - {{at: 1, fault: {fault}, target: one, for: 2}}
final: {{heal: true, recover: 2}}
"""


def _schedules(folder: Path) -> list[Path]:
    out = []
    for name, fault in (("par-kill", "kill"), ("par-pause", "pause")):
        path = folder / f"{name}.yaml"
        path.write_text(SHORT.format(name=name, fault=fault))
        out.append(path)
    return out


def _subnet(run_folder: Path) -> str:
    console = (run_folder / "nodes" / "n1" / "console.log").read_text()
    return re.search(r"--listen (\d+\.\d+\.\d+)\.\d+:", console).group(1)


def test_two_runs_at_once_on_one_engine(docker_engine, tmp_path):
    from harness.backends.docker.cleanup import leftovers

    store = tmp_path / "store"
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", *map(str, _schedules(tmp_path))]
        + ["--backend", "docker", "--jobs", "2", "--seed", "1", "--store", str(store)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [ln.split() for ln in proc.stdout.splitlines()[1:]]
    assert sorted(r[0] for r in rows) == ["par-kill", "par-pause"]
    assert all(r[2] == "valid" for r in rows)
    folders = [Path(r[-1]) for r in rows]
    assert _subnet(folders[0]) != _subnet(folders[1])  # each run its own network
    # Two at once: each run's span overlaps the other's, and each applied its fault.
    spans, run_ids = [], []
    for folder in folders:
        r = json.loads((folder / "results.json").read_text())
        start = datetime.strptime(r["started"], "%Y-%m-%dT%H:%M:%S%z").timestamp()
        spans.append((start, start + r["duration-s"]))
        run_ids.append(r["run-id"])
        assert len(r["faults"]) == 1, r["faults"]
    assert spans[0][0] < spans[1][1] and spans[1][0] < spans[0][1], spans
    import docker

    client = docker.from_env()
    assert len(set(run_ids)) == 2
    for run_id in run_ids:
        assert not any(leftovers(client, run_id).values())


def test_pytest_xdist_workers_share_one_engine(docker_engine, pytester: pytest.Pytester, tmp_path):
    for path in _schedules(tmp_path):
        (pytester.path / path.name).write_text(path.read_text())
    result = pytester.runpytest_subprocess(
        "-n", "2", "-m", "chaos", "--chaos-backend", "docker", "--chaos-seed", "1", "-q",
        "-p", "no:cacheprovider",
    )  # fmt: skip
    result.assert_outcomes(passed=2)
