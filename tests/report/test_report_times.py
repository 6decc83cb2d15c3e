"""The report's and the explanations' times, and the small words, as a newcomer reads them:
the axis counts from the workload's start (as the schedule's `at:` does), the final reads
have a named row rather than a bare process number, explanations give seconds rather than
nanoseconds, counts agree with their nouns ("1 fault"), and a batch's lines do not say
"valid (-)"."""

from __future__ import annotations

import json
import re
from pathlib import Path

from checkers.timefmt import moment
from harness.backends.sim.adapter import rules_in_ms
from harness.batch import RunRow, _line
from harness.commands.hunt import _size_words
from harness.report.data import build_run_data, load_events
from harness.runner import run_schedule
from harness.schedule import load_schedule, parse_schedule
from harness.store import new_run_dir
from harness.verdict import check_run

ROOT = Path(__file__).resolve().parents[2]


def _default_run(tmp_path: Path):
    s = load_schedule(ROOT / "schedules" / "default.yaml")
    outcome = run_schedule(s, "sim", tmp_path, seed=1, time_limit=8, say=lambda _m: None)
    run = outcome.run_dir.path
    return s, outcome, build_run_data("t", load_events(run / "history.jsonl"), outcome.results, run)


def test_the_axis_counts_from_the_workload_start_as_the_schedule_does(tmp_path: Path):
    s, outcome, data = _default_run(tmp_path)
    assert outcome.results["workload-start-ns"] > 0  # the leader election came first
    first = s.nemesis[0]  # {at: 2, fault: partition, ...}
    drawn = next(f for f in data.faults if f.fault == first.fault)
    # A partition is recorded once every node's rules are in, as on Docker: up to the
    # simulated exec delay after its time.
    late = rules_in_ms() / 1000
    assert -0.05 < drawn.start - first.at < late + 0.05, (drawn.start, first.at)
    assert -0.05 < drawn.end - (first.at + first.duration) < late + 0.2
    assert data.axis.label == "seconds since the workload started"
    assert min(data.table.start) >= -0.01  # the workload's first operation at 0
    # The nodes' role changes on the same axis: the first election before the workload.
    first_leader = min(
        t
        for tr in data.nodes.tracks
        for t, r in zip(tr.times, tr.roles, strict=True)
        if r == "leader"
    )
    assert first_leader < 0


def test_the_final_reads_have_a_named_row_not_a_stray_process_number(tmp_path: Path):
    _, outcome, data = _default_run(tmp_path)
    (final,) = outcome.results["process-roles"]  # the one process the final reads used
    labels = data.table.lane_labels
    assert labels[-1] == "final reads"
    assert final not in labels  # no row of its own under a bare number
    row = labels.index("final reads")
    assert (data.table.lane == row).sum() == len(outcome.results["final-reads"])


def test_explanations_give_seconds_from_the_workload_start(tmp_path: Path):
    run = new_run_dir(tmp_path, "t")
    s = 1_000_000_000
    ops = [  # a stale read: 2 was written (and acknowledged) before the read saw 1
        (0, "invoke", "write", 1, 1 * s), (0, "ok", "write", 1, s + s // 5),
        (1, "invoke", "write", 2, s + s // 2), (1, "ok", "write", 2, s + 7 * s // 10),
        (2, "invoke", "write", 3, 19 * s // 10),  # concurrent with the read: shown with its times
        (0, "invoke", "read", None, 2 * s), (0, "ok", "read", 1, 2 * s + s // 2),
        (2, "ok", "write", 3, 26 * s // 10),
    ]  # fmt: skip
    with run.history.open("w") as f:
        for i, (p, kind, fn, value, t) in enumerate(ops):
            line = {"index": i, "time": t, "process": p, "type": kind, "f": fn, "key": "k"}
            f.write(json.dumps({**line, "value": value}) + "\n")
    schedule = parse_schedule("name: t\ncheckers: [linearizable]\n")
    results = check_run(run, schedule, origin_ns=s // 2)
    text = results["checkers"]["linearizable"]["explanation"]
    assert "write k 3  [1.400 .. 2.100 s]" in text, text  # 1.9 s into the history
    assert not re.search(r"\d{7,}", text), text  # no raw nanoseconds
    # A node's event time (election-safety's two leaders): its wall clock, as a time of day.
    assert moment(1_796_605_837_336_531_519) == "01:10:37.336 UTC"
    assert moment(2_500_000_000, origin_ns=s // 2) == "2.000 s"  # the simulation's clock


def test_counts_agree_with_their_nouns_and_a_valid_batch_row_says_valid():
    assert _size_words((1, 2.0, 1, 1)) == "1 fault, 2 s, 1 client, 1 key"
    assert _size_words((3, 12.5, 7, 2)) == "3 faults, 12.5 s, 7 clients, 2 keys"
    valid = RunRow("schedules/kill.yaml", 4, 0, True, [], "store/kill/x", 12.0)
    assert _line(valid) == "kill seed 4: valid"
    caught = RunRow("schedules/kill.yaml", 5, 1, False, ["linearizable"], "store/kill/y", 9.0)
    assert _line(caught) == "kill seed 5: INVALID (caught by linearizable)"
