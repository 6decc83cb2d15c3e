"""`raftquake hunt`: finds a planted bug from fault families alone and shrinks the run."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from harness.cli import main
from harness.report.index import hunt_rows, render_index
from harness.runner import run_schedule
from harness.schedule import load_schedule
from harness.systems import make_system

GENERIC = """\
name: {name}
nodes: 5
time-limit: 15
node: {{read-mode: read-index, bugs: {bugs}}}
workload: {{keys: 4, concurrency: 8, rate: 200}}
nemesis:                      # families only: the hunt ignores these times
  - {{at: 1, fault: partition}}
  - {{at: 1, fault: kill}}
  - {{at: 1, fault: pause}}
final: {{heal: true, recover: 2}}
checkers: [linearizable, election-safety, log-agreement, stats]
"""


def _write(tmp_path: Path, name: str, bugs: str) -> Path:
    p = tmp_path / f"{name}.yaml"
    p.write_text(GENERIC.format(name=name, bugs=bugs))
    return p


def test_hunt_finds_a_planted_bug_and_writes_a_minimal_schedule_that_replays(
    tmp_path: Path, capsys, monkeypatch
):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    schedule = _write(tmp_path, "abc", "[ack-before-commit]")
    store = tmp_path / "store"
    args = ["hunt", str(schedule), "--store", str(store), "--runs", "150", "--seed", "1"]
    assert main(args) == 1
    out = capsys.readouterr().out.strip().splitlines()
    minimal = Path(out[-1])  # the contract: the last line printed is minimal.yaml's path
    assert minimal.name == "minimal.yaml"
    assert minimal.parent.parent == store / "hunt" / "abc"
    shrunk = load_schedule(minimal)
    assert 1 <= len(shrunk.nemesis) <= 3 and shrunk.time_limit <= 15
    assert make_system(shrunk).bugs == ("ack-before-commit",)
    # Replayed from the file, on sim: the same verdict.
    replay = run_schedule(shrunk, "sim", tmp_path / "replay", say=lambda _m: None)
    assert replay.results["valid"] is False
    assert (minimal.parent / "abc").is_dir()  # the hunt's own replay, with its report
    assert list((minimal.parent / "abc").glob("*/report.html"))
    assert list(scratch.iterdir()) == []  # the searched and shrunk runs' scratch is gone
    # The hunt's own record, and `raftquake serve`'s index lists it with its links.
    record = json.loads((minimal.parent / "results.json").read_text())
    assert record["status"] == "complete" and record["found"] is True
    assert record["best"]["faults"] == len(shrunk.nemesis) and record["minimal"] == "minimal.yaml"
    (row,) = hunt_rows(store)
    assert row.name == "abc" and row.found and row.status == "complete"
    assert row.minimal == minimal.relative_to(store).as_posix()
    assert row.replay_exists and (store / row.replay).is_file()
    html = render_index(store)
    assert 'id="hunts"' in html and f'href="{row.minimal}"' in html and row.best in html


def test_hunt_of_a_correct_node_finds_nothing_and_exits_zero(tmp_path: Path, capsys):
    schedule = _write(tmp_path, "correct", "[]")
    args = ["hunt", str(schedule), "--store", str(tmp_path / "s"), "--runs", "8", "--seed", "2"]
    assert main(args) == 0
    assert "no failing run in 8 runs" in capsys.readouterr().err
    assert not list((tmp_path / "s" / "hunt" / "correct").glob("*/minimal.yaml"))
    (row,) = hunt_rows(tmp_path / "s")
    assert not row.found and row.runs == 8 and row.status == "complete"
    assert "nothing" in render_index(tmp_path / "s")


def test_the_hunt_draws_nemesis_packages_as_a_schedule_would():
    # The hunt's plans come from the one generator (harness/nemesis/package.py) with a
    # true Random: a package's weights hold (a hypothesis-controlled Random drew one-way
    # partitions 7 times in 10 and the leader cut off 1 in 9), groups do not overlap,
    # faults last 0.1-6 s, in tenths of a second.
    from hypothesis import given, settings

    from harness.hunt import bounds_of, schedules
    from harness.nemesis import make_fault
    from harness.nemesis.package import GROUPS
    from harness.schedule import parse_schedule

    base = parse_schedule(GENERIC.format(name="draw", bugs="[]"))
    partitions = []

    @settings(max_examples=60, database=None, deadline=None, derandomize=True)
    @given(schedules(base, bounds_of(base)))
    def drawn(s):
        for f in s.nemesis:
            assert f.fault in ("partition", "kill", "pause")
            assert round(f.at, 1) == f.at and 0.1 <= f.duration <= 6
            make_fault(f, cluster=None)
            for g in s.nemesis:
                if g is not f and GROUPS[g.fault] == GROUPS[f.fault]:
                    assert f.at + f.duration <= g.at or g.at + g.duration <= f.at
        partitions.extend(f.options for f in s.nemesis if f.fault == "partition")

    drawn()
    assert len(partitions) > 50
    leader_cuts = sum(p["mode"] in ("leader", "minority") for p in partitions)
    one_way = sum(bool(p.get("one-way")) for p in partitions)
    assert leader_cuts > 0.4 * len(partitions) and one_way < 0.3 * len(partitions)
