"""Proof of power on the simulated backend: the correct node passes every shipped
schedule (planted bugs removed), each bug schedule is caught by the checker docs/DESIGN.md
names, a seed replays byte for byte, and the pytest plugin reports runs in JUnit XML."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.backends import backend_problem
from harness.pytest_plugin import assert_caught, assert_valid, caught_by
from harness.runner import run_schedule
from harness.schedule import load_schedule
from raftnode.bugs import BY_NAME
from raftnode.bugs import OFFERED as BUGS

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
SCHEDULES = ROOT / "schedules"
# The schedules of systems the simulation runs (raftnode's; etcd's run on Docker only).
SHIPPED = [
    p for p in sorted(SCHEDULES.glob("*.yaml")) if not backend_problem("sim", load_schedule(p))
]
SEED = 1
# The correct-node runs take the first half of each schedule, to keep `make test` short
# (about 10 s each instead of 20 on a loaded 2-core machine); the bug runs take it whole.
CORRECT_LIMIT = 30.0
BUG_SEEDS = (1, 2, 3)


def _quiet(_msg: str) -> None:
    pass


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_correct_node_passes_every_shipped_schedule(path: Path, tmp_path: Path):
    s = load_schedule(path)
    s = dataclasses.replace(s, system=s.system.with_options({"bugs": ()}))
    outcome = run_schedule(s, "sim", tmp_path, seed=SEED, time_limit=CORRECT_LIMIT, say=_quiet)
    assert outcome.results["status"] == "complete"
    assert_valid(outcome)
    assert outcome.exit_code == 0


@pytest.mark.parametrize("bug", BUGS)
def test_each_bug_schedule_is_caught_by_its_checker(bug: str, tmp_path: Path):
    # A few seeds, first catch wins: a run is deterministic, but which seeds catch a bug
    # that shows in ~70% of runs (no-log-check) moves whenever the simulation's timing
    # model is refined; the detection rates themselves are benchmarks/bench_detection.py's.
    s = load_schedule(SCHEDULES / f"bug-{bug}.yaml")
    catchers = BY_NAME[bug].caught_by
    for seed in BUG_SEEDS:
        outcome = run_schedule(s, "sim", tmp_path, seed=seed, say=_quiet)
        if caught_by(outcome, catchers):
            break
    assert_caught(outcome, catchers)
    assert outcome.exit_code == 1


def test_same_schedule_and_seed_give_a_byte_identical_history(tmp_path: Path):
    s = load_schedule(SCHEDULES / "default.yaml")
    a = run_schedule(s, "sim", tmp_path / "a", seed=7, time_limit=20, say=_quiet)
    b = run_schedule(s, "sim", tmp_path / "b", seed=7, time_limit=20, say=_quiet)
    first = a.run_dir.history.read_bytes()
    assert first and first == b.run_dir.history.read_bytes()
    c = run_schedule(s, "sim", tmp_path / "c", seed=8, time_limit=20, say=_quiet)
    assert c.run_dir.history.read_bytes() != first  # the seed matters


def test_cli_run_on_sim_exits_with_the_verdict(tmp_path: Path):
    def run(name: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "harness.cli", "run", str(SCHEDULES / f"{name}.yaml")]
            + ["--backend", "sim", "--seed", str(SEED), "--time-limit", "20"]
            + ["--store", str(tmp_path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )

    ok = run("kill")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "kill: valid" in ok.stdout and "results:" in ok.stdout
    bad = run("bug-ack-before-commit")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "linearizable: INVALID" in bad.stdout


def test_pytest_chaos_on_schedule_files_with_junit_xml(pytester: pytest.Pytester):
    for name in ("pause", "bug-lease-no-quorum"):
        (pytester.path / f"{name}.yaml").write_text((SCHEDULES / f"{name}.yaml").read_text())
    xml = pytester.path / "junit.xml"
    result = pytester.runpytest(
        "-m", "chaos", "--chaos-backend", "sim", "--chaos-seed", str(SEED),
        "--chaos-time-limit", "20",
        f"--junitxml={xml}", str(pytester.path),
    )  # fmt: skip
    result.assert_outcomes(passed=2)
    cases = {c.get("name"): c for c in ET.parse(xml).getroot().iter("testcase")}
    assert set(cases) == {"pause", "bug-lease-no-quorum"}
    props = {
        name: {p.get("name"): p.get("value") for p in case.iter("property")}
        for name, case in cases.items()
    }
    assert props["pause"]["raftquake.valid"] == "valid"
    assert props["bug-lease-no-quorum"]["raftquake.checker.linearizable"] == "invalid"
    assert Path(props["pause"]["raftquake.run-dir"], "results.json").exists()


def test_chaos_run_fixture_and_a_failing_run_explains_itself(pytester: pytest.Pytester):
    pytester.makepyfile(
        f"""
        import pytest
        from harness.pytest_plugin import assert_valid

        @pytest.mark.chaos
        def test_buggy_is_valid(chaos_run):
            assert_valid(chaos_run({str(SCHEDULES / "bug-ack-before-commit.yaml")!r}))

        @pytest.mark.chaos(nodes=3)
        def test_cluster(chaos_cluster):
            from harness.backends.base import Cluster
            from harness.backends.sim import SimCluster

            assert isinstance(chaos_cluster, Cluster) and isinstance(chaos_cluster.sim, SimCluster)
            old = chaos_cluster.leader()
            assert old is not None and chaos_cluster.nodes == ["n1", "n2", "n3"]
            chaos_cluster.kill(old)  # the interface's primitives drive the simulation
            sim = chaos_cluster.sim
            assert sim.run_until(lambda: sim.leader() not in (None, old), 10_000)
            assert chaos_cluster.status(old) is None
        """
    )
    result = pytester.runpytest(
        "--chaos-backend", "sim", "--chaos-seed", str(SEED), "--chaos-time-limit", "20"
    )  # fmt: skip
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*linearizable: invalid*", "*not linearizable on key*"])


def test_a_run_says_what_it_does_between_the_workload_and_the_verdict(tmp_path: Path):
    # Collecting, tearing down and each checker can take seconds (a linearizability
    # search, a Docker teardown): each step is named as it starts, none is a silence.
    lines: list[str] = []
    s = load_schedule(SCHEDULES / "kill.yaml")
    run_schedule(s, "sim", tmp_path, seed=1, time_limit=3, say=lines.append)
    after = lines[next(i for i, ln in enumerate(lines) if "workload for" in ln) + 1 :]
    assert after == [
        "run: collecting the nodes' records and removing the cluster",
        *(f"run: checking {name}" for name in s.checkers),
    ]
