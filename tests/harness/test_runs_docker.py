"""`raftquake run` on Docker, kept short for CI: the correct node passes the first seconds
of every shipped schedule, each planted bug is caught by a checker docs/DESIGN.md names,
and a Ctrl-C mid-run leaves the history, an "interrupted" results.json, healed faults and
nothing of ours in the engine.

Without an engine these skip, and fail under CI=true (as tests/chaos/ does).
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.pytest_plugin import assert_caught, assert_valid, caught_by, schedule_catchers
from harness.schedule import load_schedule

ROOT = Path(__file__).resolve().parents[2]
SCHEDULES = ROOT / "schedules"

pytestmark = pytest.mark.chaos


@pytest.fixture(scope="module")
def engine():
    from harness.runner import docker_available

    why = docker_available()
    if why:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and these tests need Docker: {why}", pytrace=False)
        pytest.skip(why)
    import docker

    client = docker.from_env()
    yield client
    client.close()


# The correct node (planted bugs removed) on the first CORRECT_LIMIT seconds of every
# shipped schedule: each gets its first one or two fault windows on real containers.
CORRECT_LIMIT = 12.0


def _correct(path: Path):
    s = load_schedule(path)
    if not s.system.option("bugs"):
        return s
    return dataclasses.replace(s, system=s.system.with_options({"bugs": ()}))


# Every shipped schedule that should pass, but the bug schedules (with their bug removed,
# each is the shape of a family schedule run here; test_runs_sim.py runs them all) and
# etcd's (tests/chaos/test_etcd.py runs etcd under every family it takes) and the SQL
# systems' (tests/chaos/test_sql.py: a short run of each under its faults) and
# membership.yaml (tests/chaos/test_chaos_membership.py grows and shrinks a cluster): each Docker
# run costs half a minute, and `make test` must stay well under 20 minutes.
CORRECT = [
    p
    for p in sorted(SCHEDULES.glob("*.yaml"))
    if not p.stem.startswith(("bug-", "etcd", "membership", "postgres", "mariadb", "galera"))
    if not schedule_catchers(_correct(p))
]


@pytest.mark.parametrize("path", CORRECT, ids=lambda p: p.stem)
def test_correct_node_passes_every_shipped_schedule_on_docker(engine, chaos_run, path):
    s = _correct(path)
    outcome = chaos_run(s, seed=1, time_limit=CORRECT_LIMIT, backend="docker")
    assert outcome.results["status"] == "complete"
    assert outcome.results["faults"], f"no fault was applied in {CORRECT_LIMIT:g} s"
    assert_valid(outcome)


@pytest.mark.parametrize(
    "bug,checker,limit",
    # How long each bug takes to show: forget-vote at the first kill of a voter (2-4 s);
    # lease-no-quorum within its first windows. The others are chances per fault window:
    # a 15 s run of ack-before-commit was seen to miss (its one leader partition
    # acknowledged writes no later read contradicted), and 20-30 s runs of stale-read
    # and no-log-check missed about one run in three, so they run whole (60 s).
    # make test keeps one bug of each kind on Docker (a vote, a read); the three others
    # cost about 4 minutes and run nightly (test_runs_sim.py runs every bug schedule).
    [
        ("forget-vote", "election-safety", 15),
        pytest.param("lease-no-quorum", "linearizable", 40, marks=pytest.mark.nightly),
        ("stale-read", "linearizable", None),
        pytest.param("no-log-check", "log-agreement", None, marks=pytest.mark.nightly),
        pytest.param("ack-before-commit", "linearizable", None, marks=pytest.mark.nightly),
    ],
)
def test_bug_schedule_is_caught_on_docker(engine, chaos_run, bug, checker, limit):
    # A bug is caught in at least 90% of 60 s runs (benchmarks/bench_detection.py), not in
    # all: a second seed when the first misses keeps one unlucky run from failing CI, and
    # a bug the harness stops catching still fails here.
    for seed in (1, 2):
        outcome = chaos_run(
            SCHEDULES / f"bug-{bug}.yaml", seed=seed, time_limit=limit, backend="docker"
        )
        if caught_by(outcome, checker):
            break
    assert_caught(outcome, checker)


def _run_ids(client) -> set[str]:
    from harness.backends.docker.cleanup import RUN_LABEL

    flt = {"label": RUN_LABEL}
    return {c.labels[RUN_LABEL] for c in client.containers.list(all=True, filters=flt)}


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:g} s waiting for {what}")


def _history(run_dir: Path) -> list[dict]:
    path = run_dir / "history.jsonl"
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    # The last line may be half written while the run goes on.
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except ValueError:
            break
    return out


def test_ctrl_c_mid_run_heals_tears_down_and_keeps_the_history(engine, tmp_path: Path):
    from harness.backends.docker.cleanup import leftovers

    before = _run_ids(engine)
    store = tmp_path / "store"
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "run", str(SCHEDULES / "default.yaml")]
        + ["--backend", "docker", "--seed", "1", "--store", str(store)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        run_dir = _wait(
            lambda: next((store / "default").glob("2*"), None) if store.exists() else None,
            60,
            "the run folder",
        )
        # Interrupt while a fault is in force (the partition at 2 s lasts 3 s).
        _wait(
            lambda: any(e.get("f") == "start-partition" for e in _history(run_dir)),
            180,
            "the first fault to start",
        )
        ours = _run_ids(engine) - before
        assert ours, "the run's containers were not found by their label"
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode in (1, 3), out  # interrupted: never "valid"
    results = json.loads((run_dir / "results.json").read_text())
    assert results["status"] == "interrupted", results
    assert results["valid"] is not True
    # What ran is in the results and the summary, as for a whole run: the faults applied
    # (the partition was in force), the run id that names its containers.
    assert any(f["fault"] == "partition" for f in results["faults"]), results.get("faults")
    assert results["run-id"] in ours
    assert "faults applied: " in out and "partition" in out.split("faults applied: ")[1]
    assert (run_dir / "report.html").is_file()
    assert proc.returncode == 3 or results["valid"] is False
    history = _history(run_dir)
    assert sum(1 for e in history if e["type"] == "invoke") > 10
    started = next(i for i, e in enumerate(history) if e.get("f") == "start-partition")
    assert any(e.get("f") == "heal" for e in history[started:]), "no heal after the fault"
    for run_id in ours:
        left = leftovers(engine, run_id)
        assert not any(left.values()), f"run {run_id} left {left}"
    assert "interrupted" in out
    # No terminal here: the live status is a plain line every few seconds.
    assert "ops/s | " in out and "| leader n" in out
