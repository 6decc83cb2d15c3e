"""Jepsen's bank checker: every read of the balances holds the opening total, no balance is
negative, and a history that cannot say its total is unknown, not valid."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from checkers.bank import check_bank_history
from checkers.history import HistoryError, read_jsonl


def _history(tmp_path: Path, ops: list[tuple], init: dict | None) -> Path:
    """ops: (process, f, invoke value, type, completion value) in order."""
    lines = []
    if init is not None:
        lines += [(9, "init", init, "ok", init)]
    lines += ops
    events, t = [], 0
    for process, f, value, kind, out in lines:
        for typ, v in (("invoke", value), (kind, out)):
            t += 1000
            events.append(
                {
                    "index": len(events),
                    "time": t,
                    "process": process,
                    "type": typ,
                    "f": f,
                    "value": v,
                }
            )
    path = tmp_path / "history.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def _check(path: Path, total: int | None = None):
    return check_bank_history(read_jsonl(str(path)).events, str(path), total)


OPEN = {"0": 5, "1": 5}


def test_reads_that_keep_the_total_are_valid(tmp_path):
    path = _history(
        tmp_path,
        [
            (0, "transfer", {"from": 0, "to": 1, "amount": 3}, "ok", None),
            (1, "read", None, "ok", {"0": 2, "1": 8}),
            (0, "transfer", {"from": 0, "to": 1, "amount": 3}, "fail", None),
            (1, "read", None, "ok", {"0": 2, "1": 8}),
        ],
        OPEN,
    )
    r = _check(path)
    assert r.valid is True and r.total == 10 and r.reads == 2 and r.anomalies == []
    assert r.transfers == {"ok": 1, "fail": 1}


def test_a_read_with_the_wrong_total_or_a_negative_balance_is_named(tmp_path):
    path = _history(
        tmp_path,
        [
            (1, "read", None, "ok", {"0": 2, "1": 5}),  # a lost update: 3 vanished
            (2, "read", None, "ok", {"0": -1, "1": 11}),  # an overdraft
            (3, "read", None, "info", None),
        ],
        OPEN,
    )
    r = _check(path)
    assert r.valid is False
    assert r.anomalies == ["wrong-total", "negative-balance"]
    (wrong,) = r.found["wrong-total"]
    assert wrong["total"] == 7 and wrong["process"] == 1
    d = r.to_dict()
    assert d["anomalies"] == ["wrong-total", "negative-balance"]
    assert "read total 7" in r.to_text()


def test_without_its_opening_the_total_must_be_given(tmp_path):
    path = _history(tmp_path, [(1, "read", None, "ok", {"0": 4, "1": 6})], None)
    r = _check(path)
    assert r.valid == "unknown" and "total" in r.reason
    assert _check(path, total=10).valid is True
    assert _check(path, total=11).valid is False


def test_a_malformed_read_names_its_line(tmp_path):
    path = _history(tmp_path, [(1, "read", None, "ok", [4, 6])], OPEN)
    with pytest.raises(HistoryError, match="account -> balance") as err:
        _check(path)
    assert err.value.line == 3  # the operation's line (its invoke), as the set checker names it


def test_raftquake_check_judges_a_bank_history(tmp_path):
    path = _history(tmp_path, [(1, "read", None, "ok", {"0": 4, "1": 5})], OPEN)
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "check", "--json", str(path)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1, proc.stderr
    out = json.loads(proc.stdout)
    assert out["valid"] is False and out["anomalies"] == ["wrong-total"]
