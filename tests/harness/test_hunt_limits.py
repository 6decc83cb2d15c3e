"""`raftquake hunt` keeps to its limits: `--runs` counts every simulated run (searched
and shrinking), the time budget holds within a second (a run in flight is stopped, the
replay of the minimal schedule fits in it), the shrinker cuts clients and keys too, and
a minimal schedule never holds a fault past the end of its run."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from harness.cli import main
from harness.hunt import fitted, minimize, run_once, with_time_limit
from harness.schedule import FaultSpec, Schedule, load_schedule, parse_schedule

ROOT = Path(__file__).resolve().parents[2]

# A planted bug the hunt finds within its first 6 runs at search seed 1.
BUGGY = """\
name: {name}
nodes: 5
time-limit: 10
node: {{bugs: [ack-before-commit]}}
workload: {{keys: 4, concurrency: 8, rate: 200}}
nemesis: [{{at: 1, fault: partition}}, {{at: 1, fault: kill}}]
final: {{heal: true, recover: 2}}
checkers: [linearizable, election-safety, log-agreement, stats]
"""

# A correct node and a workload long enough that no run ends before a short budget.
LONG = """\
name: {name}
nodes: 3
time-limit: 600
workload: {{keys: 3, concurrency: 4, rate: 100}}
nemesis: [{{at: 1, fault: kill}}]
final: {{heal: true, recover: 1}}
checkers: [linearizable, stats]
"""


def _write(tmp_path: Path, text: str, name: str) -> Path:
    p = tmp_path / f"{name}.yaml"
    p.write_text(text.format(name=name))
    return p


def _record(store: Path, name: str) -> dict:
    (results,) = (store / "hunt" / name).glob("*/results.json")
    return json.loads(results.read_text())


def _no_fault_past_the_end(s: Schedule) -> None:
    for f in s.nemesis:
        assert f.at is not None and f.at < s.time_limit, f
        assert f.duration is None or f.at + f.duration <= s.time_limit, f


def _hunt_in_a_process(args: list[str], scratch: Path) -> tuple[float, subprocess.CompletedProcess]:
    """`raftquake hunt ARGS` as a user runs it, timed from before the process starts."""
    env = {**os.environ, "TMPDIR": str(scratch)}  # where the hunt's runs go
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "hunt", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return time.monotonic() - started, done


def test_runs_counts_every_simulated_run_searching_and_shrinking(
    tmp_path: Path, capsys, monkeypatch
):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    store = tmp_path / "store"
    schedule = _write(tmp_path, BUGGY, "buggy")
    args = ["hunt", str(schedule), "--store", str(store), "--runs", "16", "--seed", "1"]
    assert main(args) == 1
    err = capsys.readouterr().err
    record = _record(store, "buggy")
    # The failure was found within the 16 runs, and shrinking stopped at the 16th. (After
    # test_hunt.py's hunts in the same process the search at seed 1 needed more than 8
    # runs to find it: an in-process run is not yet independent of the runs before it.)
    assert record["found"] is True and record["runs"] == 16 and record["searched"] < 16
    assert record["ended-by"] == "runs"
    assert "minimal failing schedule after 16 runs" in err
    assert "--runs 16 ended the shrinking" in err
    minimal = load_schedule(next((store / "hunt" / "buggy").glob("*/minimal.yaml")))
    _no_fault_past_the_end(minimal)
    assert "replay" in record  # the replay is one more run, beyond --runs
    assert list(scratch.iterdir()) == []


def test_the_time_budget_stops_a_run_in_flight_and_says_it_ended_the_search(tmp_path: Path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    store = tmp_path / "store"
    schedule = _write(tmp_path, LONG, "long")
    args = [str(schedule), "--store", str(store), "--time-budget", "6", "--seed", "1"]
    took, done = _hunt_in_a_process(args, scratch)
    assert done.returncode == 0, done.stderr
    # Workloads of up to 600 simulated seconds: the run going at 6 s was stopped.
    assert took <= 6 + 1, f"{took:.1f} s for a 6 s budget\n{done.stderr}"
    assert "no failing run in" in done.stderr
    assert "the time budget (6 s) ended the search" in done.stderr
    record = _record(store, "long")
    assert record["ended-by"] == "time-budget" and record["status"] == "complete"
    assert record["runs"] >= 1 and record["found"] is False
    assert list(scratch.iterdir()) == []


def test_the_time_budget_holds_the_replay_of_the_minimal_schedule_too(tmp_path: Path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    store = tmp_path / "store"
    schedule = _write(tmp_path, BUGGY, "buggy")
    args = [str(schedule), "--store", str(store), "--time-budget", "25", "--runs", "1000"]
    took, done = _hunt_in_a_process([*args, "--seed", "1"], scratch)
    assert took <= 25 + 1, f"{took:.1f} s for a 25 s budget\n{done.stderr}"
    assert done.returncode == 1, done.stderr  # found within its first 6 runs
    record = _record(store, "buggy")
    assert record["ended-by"] in ("time-budget", "shrunk")
    minimal = Path(done.stdout.strip().splitlines()[-1])
    _no_fault_past_the_end(load_schedule(minimal))
    if "replay" in record:
        assert (minimal.parent / record["replay"] / "report.html").is_file()
        assert "replayed on sim: INVALID" in done.stderr
    else:  # a loaded machine left no time for it, and the hunt says so
        assert "not replayed: the time budget left no time for it" in done.stderr


def _schedule(**fields) -> Schedule:
    s = parse_schedule(
        "name: t\nnodes: 5\ntime-limit: 10\nworkload: {keys: 4, concurrency: 8, rate: 200}\n"
        "checkers: [linearizable, stats]\n"
    )
    return dataclasses.replace(s, seed=7, **fields)


def test_a_cut_schedule_holds_no_fault_past_its_end_and_is_the_same_run(tmp_path: Path):
    kill = FaultSpec("kill", {"target": "leader"}, at=1.0, duration=6.0)
    pause = FaultSpec("pause", {"target": "minority"}, at=0.5, duration=1.0)
    s = _schedule(nemesis=(pause, kill))
    cut = with_time_limit(s, 3)
    _no_fault_past_the_end(cut)
    assert cut.nemesis == (pause, dataclasses.replace(kill, duration=None))  # until the end
    # A fault that outlasts the workload already lasted until the run healed at its end:
    # leaving its `for` out changes nothing of the run.
    long = dataclasses.replace(s, time_limit=3.0)
    assert fitted(long) == cut
    assert _history(long, tmp_path / "as-drawn") == _history(cut, tmp_path / "fitted")


def _history(s: Schedule, store: Path) -> bytes:
    run_once(s, store)
    (history,) = store.glob("*/*/history.jsonl")
    return history.read_bytes()


def test_shrinking_finds_the_fewest_clients_and_keys_that_still_fail():
    """A failure that needs a client at each of the 5 nodes (with `binding: node`, a node
    without one shows nothing) and two keys shrinks to exactly that."""
    s = _schedule(nemesis=(FaultSpec("kill", {"target": "leader"}, at=1.0, duration=2.0),))
    tried: list[tuple[int, int]] = []

    def fails(c: Schedule) -> bool:
        tried.append((c.workload.concurrency, c.workload.keys))
        return c.workload.concurrency >= 5 and c.workload.keys >= 2

    shrunk = minimize(s, fails, lambda: len(tried) < 500)
    assert (shrunk.workload.concurrency, shrunk.workload.keys) == (5, 2)
    assert fails(shrunk) and shrunk.time_limit == 2


def test_the_help_says_what_runs_and_the_budget_count(capsys):
    with pytest.raises(SystemExit):
        main(["hunt", "--help"])
    words = " ".join(capsys.readouterr().out.split())
    assert "simulated runs at most, searching and shrinking together" in words
    assert "the replay of the minimal schedule included" in words


def test_a_move_that_rounds_back_to_where_it_was_is_not_tried_again_and_again():
    """'best 1 faults, 2 s' for 80 s with no progress: a fault 1.1 s in, moved halfway to
    1 s and rounded to a tenth, stays at 1.1; that 'change' failed as the run itself did,
    so the shrinker took it and tried it again, a run each time, until its runs ran out."""
    s = _schedule(
        time_limit=2.0, nemesis=(FaultSpec("kill", {"target": "leader"}, at=1.1, duration=0.5),)
    )
    calls = []

    def fails(c: Schedule) -> bool:
        calls.append(c)
        return c.workload.concurrency == 8 and c.workload.keys == 4 and len(c.nemesis) == 1

    shrunk = minimize(s, fails, lambda: len(calls) < 1000)
    assert shrunk == s
    assert len({repr(c) for c in calls}) == len(calls)  # no schedule tried twice
