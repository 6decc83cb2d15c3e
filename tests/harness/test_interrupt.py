"""Ctrl-C (SIGINT) and SIGTERM sent to a real `raftquake` process in the middle of its
work, as a user or a CI runner sends them: a simulated run, a hunt and a `--jobs 2` batch
each exit 3, leave results.json saying "interrupted" (a run's with its report.html
beside it; a batch still prints its table) and print no traceback.

Each test waits, with a deadline, until the work is under way (a history with lines in
a run folder), then sends the signal.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Long enough that no run ends before the signal; a package of the faults the
# simulation has, so that faults are in force when it comes.
LONG = """\
name: {name}
nodes: 3
time-limit: 600
workload: {{keys: 3, concurrency: 4, rate: 100}}
nemesis:
  - {{package: [partition, kill, pause], interval: 2, for: [1, 2]}}
final: {{heal: true, recover: 1}}
checkers: [linearizable, election-safety, log-agreement, stats]
"""

# What Python prints when a signal lands in the wrong place (an event loop closed under
# its tasks, a KeyboardInterrupt nobody caught).
NOISE = ("Traceback", "Event loop is closed", "Task was destroyed", "KeyboardInterrupt")

SIGNALS = [signal.SIGINT, signal.SIGTERM]


def _schedule(folder: Path, name: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(LONG.format(name=name))
    return path


def _wait(cond: Callable[[], Any], seconds: float, what: str, proc: subprocess.Popen) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"exited {proc.returncode} before {what}:\n{out}\n{err}")
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)  # nothing of it may outlive the test
    proc.wait()
    pytest.fail(f"no {what} within {seconds:g} s")


def _runs_under_way(folder: Path, pattern: str, count: int = 1) -> list[Path] | None:
    """Run folders under `folder` (glob `pattern`) whose history has lines: `count` of them."""
    runs = [
        h.parent
        for h in folder.glob(f"{pattern}/history.jsonl")
        if h.stat().st_size > 0 and b"\n" in h.read_bytes()
    ]
    return runs if len(runs) >= count else None


def _start(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    # Its own process group, as a command started from a shell has: a terminal's Ctrl-C
    # goes to the whole group (a batch's workers too), and the test can clean up after it.
    return subprocess.Popen(
        [sys.executable, "-m", "harness.cli", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )


def _stop(proc: subprocess.Popen, sig: signal.Signals) -> tuple[str, str]:
    """SIGINT as a terminal's Ctrl-C sends it (to the process group); SIGTERM as `kill`
    or a CI runner sends it (to the process)."""
    if sig == signal.SIGINT:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    try:
        return proc.communicate(timeout=120)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of the group
        except ProcessLookupError:
            pass
        proc.wait()


def _no_noise(err: str) -> None:
    for word in NOISE:
        assert word not in err, f"{word!r} on stderr:\n{err}"


def _interrupted(run: Path) -> dict[str, Any]:
    results = json.loads((run / "results.json").read_text())
    assert results["status"] == "interrupted", results
    assert results["valid"] == "unknown"  # a correct node: nothing invalid, but not whole
    assert (run / "report.html").is_file()
    return results


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_a_simulated_run_stops_cleanly(sig: signal.Signals, tmp_path: Path):
    store = tmp_path / "store"
    proc = _start(["run", str(_schedule(tmp_path, "long")), "--backend", "sim"]
                  + ["--seed", "3", "--store", str(store)])  # fmt: skip
    (run,) = _wait(lambda: _runs_under_way(store, "long/*"), 60, "history", proc)
    out, err = _stop(proc, sig)
    assert proc.returncode == 3, out + err
    _no_noise(err)
    results = _interrupted(run)
    assert f"stopped by {sig.name}" in results["error"]
    assert "faults" in results  # what was applied before the stop
    assert "run interrupted" in out  # the summary says so
    history = (run / "history.jsonl").read_text().splitlines()
    assert history and json.loads(history[-1])  # whole lines only


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_a_hunt_stops_cleanly(sig: signal.Signals, tmp_path: Path):
    store, scratch = tmp_path / "store", tmp_path / "tmp"
    scratch.mkdir()
    proc = _start(
        ["hunt", str(_schedule(tmp_path, "hunted")), "--seed", "1", "--store", str(store)],
        env={"TMPDIR": str(scratch)},  # where the hunt's searched runs go
    )
    _wait(lambda: _runs_under_way(scratch, "raftquake-hunt-*/hunted/*"), 60, "a run", proc)
    out, err = _stop(proc, sig)
    assert proc.returncode == 3, out + err
    _no_noise(err)
    assert "interrupted; no failing run" in err
    (results_file,) = (store / "hunt" / "hunted").glob("*/results.json")
    results = json.loads(results_file.read_text())
    assert results["status"] == "interrupted" and results["found"] is False
    assert results["runs"] >= 1
    assert list(scratch.iterdir()) == []  # the searched runs' scratch is gone


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_a_batch_stops_cleanly_and_prints_its_table(sig: signal.Signals, tmp_path: Path):
    store = tmp_path / "store"
    schedules = [str(_schedule(tmp_path, name)) for name in ("first", "second")]
    proc = _start(["run", *schedules, "--backend", "sim", "--jobs", "2", "--seeds", "2"]
                  + ["--seed", "5", "--store", str(store)])  # fmt: skip
    runs = _wait(lambda: _runs_under_way(store, "*/2*", count=2), 90, "two histories", proc)
    out, err = _stop(proc, sig)
    assert proc.returncode == 3, out + err
    _no_noise(err)
    for run in runs:
        _interrupted(run)
    rows = [line.split() for line in out.splitlines()[1:]]
    assert out.splitlines()[0].split()[:3] == ["schedule", "seed", "verdict"]
    assert sorted(Path(r[-1]) for r in rows) == sorted(runs)  # every run that ran
    assert all(r[2] == "unknown" and r[3] == "interrupted" for r in rows), out
    assert "2 runs not started" in err
