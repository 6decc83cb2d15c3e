"""What the plots are drawn from: fault intervals, timeline rows, merged bars."""

from __future__ import annotations

import numpy as np

from checkers.history import Event, pair_events
from harness.report.data import fault_intervals, op_table
from harness.report.plots import merge_bars

S = 10**9


def ev(i: int, t: float, process, type_: str, f: str, value=None) -> Event:
    return Event(
        index=i, time=int(t * S), process=process, type=type_, f=f, value=value, line=i + 1
    )


def test_faults_pair_start_with_stop_and_heal_ends_the_rest():
    events = [
        ev(0, 1, "nemesis", "info", "start-partition", {"mode": "halves"}),
        ev(1, 2, "nemesis", "info", "start-kill", ["n1"]),
        ev(2, 3, "nemesis", "info", "stop-partition"),
        ev(3, 4, "nemesis", "info", "start-clock"),
        ev(4, 5, "nemesis", "info", "heal"),
        ev(5, 6, "nemesis", "info", "start-pause"),
    ]
    got = [(f.fault, f.start, f.end, f.healed) for f in fault_intervals(events, 9.0)]
    assert got == [
        ("partition", 1, 3, True),
        ("kill", 2, 5, True),
        ("clock", 4, 5, True),
        ("pause", 6, 9.0, False),  # never stopped: shaded to the end, and said so
    ]
    assert fault_intervals(events, 9.0)[0].detail == "mode=halves"


def test_a_client_renumbered_after_info_keeps_its_row():
    events = [
        ev(0, 0, 0, "invoke", "write", 1),
        ev(1, 1, 1, "invoke", "read"),
        ev(2, 2, 0, "info", "write", 1),  # process 0 retires
        ev(3, 3, 1, "ok", "read", 1),
        ev(4, 4, 2, "invoke", "read"),  # the same client, as process 2
        ev(5, 5, 2, "ok", "read", 1),
        ev(6, 6, 3, "invoke", "read"),  # another client: row 0 is taken, so a new row
        ev(7, 7, 1, "invoke", "read"),
        ev(8, 8, 3, "ok", "read", 1),
    ]
    t = op_table(pair_events(events), end_of_history=8.0)
    assert t.lane.tolist() == [0, 1, 0, 2, 1]
    assert t.lane_labels == ["0, 2", "1", "3"]
    # The info op runs to when the client gave up; the open read to the end.
    assert t.end.tolist() == [2.0, 3.0, 5.0, 8.0, 8.0]
    assert np.isnan(t.latency_ms[4]) and t.latency_ms[0] == 2000.0
    assert t.status.tolist() == [2, 0, 0, 0, 2]


def test_merged_bars_cover_exactly_what_the_bars_covered():
    rng = np.random.default_rng(5)
    n = 5000
    lane = rng.integers(0, 7, n)
    start = rng.uniform(0, 100, n)
    end = start + rng.exponential(0.05, n)
    gap = 0.01
    ml, ms, me = merge_bars(lane, start, end, gap)
    assert len(ms) < n
    for ln in range(7):
        orig = sorted(zip(start[lane == ln], end[lane == ln], strict=True))
        merged = sorted(zip(ms[ml == ln], me[ml == ln], strict=True))
        # Every bar lies inside one merged bar...
        for s, e in orig:
            assert any(a <= s and e <= b for a, b in merged)
        # ...merged bars are apart by more than the gap, and each starts at a bar's start.
        for (_, b0), (a1, _) in zip(merged, merged[1:], strict=False):
            assert a1 - b0 > gap
        starts = {s for s, _ in orig}
        assert all(a in starts for a, _ in merged)
