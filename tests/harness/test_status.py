"""The live status line: what it says, and how it is shown with and without a terminal."""

from __future__ import annotations

import io

from harness.runner import run_schedule
from harness.schedule import parse_schedule
from harness.status import RunStatus, StatusView, describe_fault


def test_the_line_says_time_operations_rate_faults_and_leader():
    st = RunStatus(total=60)
    for kind in ["ok"] * 180 + ["fail"] * 15 + ["info"] * 5:
        st.completed(kind)
    st.tick(0.0)
    st.tick(1.0)  # 200 completions in the last second
    st.faults[1] = describe_fault("partition", {"groups": [["n3"], ["n1", "n2"]]})
    st.faults[2] = describe_fault("kill", {"nodes": ["n2"], "signal": "SIGKILL"})
    st.leader = "n1"
    line = st.line()
    assert line.startswith("run: 1/60 s | 180 ok 15 fail 5 info | 200 ops/s | ")
    assert "partition (n3 | n1 n2), kill n2 | leader n1" in line
    st.phase = "recover"
    assert "recover (1 s)" in st.line()


def test_without_a_terminal_plain_lines_come_every_few_seconds(monkeypatch):
    out = io.StringIO()
    clock = iter([100.0, 101.0, 104.9, 105.1])
    monkeypatch.setattr("harness.status.time.monotonic", lambda: next(clock))
    with StatusView(out) as view:
        for n in range(4):
            view.update(f"line {n}")
    assert out.getvalue().splitlines() == ["line 0", "line 3"]


def test_on_a_terminal_rich_redraws_one_line():
    out = io.StringIO()
    with StatusView(out, live=True) as view:
        view.update("run: 3/60 s | 1 ok")
        view.update("run: 4/60 s | 2 ok")
    assert view._live is None  # stopped; the line does not outlive the run


def test_simulated_runs_have_no_status_line(tmp_path, capsys):
    s = parse_schedule("name: quiet\nnodes: 3\ntime-limit: 3\n")
    run_schedule(s, "sim", tmp_path, seed=1, say=lambda _m: None)
    assert "ops/s" not in capsys.readouterr().err
