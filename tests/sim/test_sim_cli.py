"""`python -m harness.sim`: seed searches from the shell."""

from __future__ import annotations

import re

from harness.sim import main


def test_cli_reports_safe_runs_and_exits_zero(capsys, tmp_path):
    trace = tmp_path / "t.txt"
    assert main(["--seeds", "0-1", "--trace", str(trace)]) == 0
    out = capsys.readouterr().out
    assert "seed 0: safe" in out and "seed 1: safe" in out
    assert trace.read_text().count("\n") > 100


def test_cli_stops_at_the_first_violation_and_exits_one(capsys):
    assert main(["--seeds", "0-60", "--bug", "no-log-check", "--nodes", "5"]) == 1
    out = capsys.readouterr().out
    assert "VIOLATION" in out and "faults:\n" in out
    # The plan that broke it, one fault a line, as a schedule reads.
    assert re.search(r"\d\.\d\d-\d\.\d\d s (partition|kill|pause|clock|packet) ", out)


def test_cli_rejects_an_unknown_fault_family(capsys):
    import pytest

    with pytest.raises(SystemExit) as exc:
        main(["--families", "kill,flood"])
    assert exc.value.code == 2
    assert "unknown fault family ['flood']" in capsys.readouterr().err
