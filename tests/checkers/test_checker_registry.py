"""The run checkers as `Checker` objects: the registry's verdicts make exactly the
results.json entries the checkers' own results made before the protocol existed (the
shape is a contract), and a new checker is one object plus its registration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from checkers import (
    check_election_safety,
    check_history,
    check_log_agreement,
    check_stats,
    events_files,
    get_model,
    node_logs,
    read_jsonl,
)
from checkers.protocol import RunFiles, Verdict
from checkers.registry import CHECKER_NAMES, CHECKERS, summary_of
from harness.schedule import parse_schedule
from harness.store import new_run_dir
from harness.verdict import check_run


def _op(i: int, p: int, kind: str, f: str, value: Any) -> dict:
    return {"index": i, "time": i * 1000, "process": p, "type": kind, "f": f, "key": "k",
            "value": value}  # fmt: skip


def _history(stale: bool) -> list[dict]:
    ops = [(0, "invoke", "write", 1), (0, "ok", "write", 1), (0, "invoke", "write", 2),
           (0, "ok", "write", 2), (1, "invoke", "read", None),
           (1, "ok", "read", 1 if stale else 2)]  # fmt: skip
    return [_op(i, *o) for i, o in enumerate(ops)]


def _write_run(root: Path, bad: bool) -> Path:
    """A run folder: a history, three nodes' events and committed logs; `bad`: a stale
    read, two leaders in term 2, and n3's entry 2 different from the others'."""
    root.mkdir(parents=True)
    (root / "history.jsonl").write_text("".join(json.dumps(e) + "\n" for e in _history(bad)))
    for i, node in enumerate(("n1", "n2", "n3")):
        d = root / "nodes" / node
        d.mkdir(parents=True)
        lead = node == "n1" or (bad and node == "n2")
        events = [
            {"time": 10 + i, "node": node, "term": 2, "role": "leader" if lead else "follower"}
        ]
        (d / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
        second = {"key": "k", "value": 3 if bad and node == "n3" else 2}
        log = [{"index": 1, "term": 2, "command": None}, {"index": 2, "term": 2, "command": second}]
        (d / "log.jsonl").write_text("".join(json.dumps(e) + "\n" for e in log))
    return root


def _entries_as_before(root: Path) -> dict[str, dict]:
    """The entries as harness/verdict.py built them from the checkers' results, before."""
    events = read_jsonl(str(root / "history.jsonl")).events
    lin = check_history(events, get_model("cas-register"), 300.0, str(root / "history.jsonl"))
    lin_d = lin.to_dict()
    if lin.counterexample is not None:
        lin_d["explanation"] = lin.counterexample.to_text()
    el = check_election_safety(events_files(root))
    return {
        "linearizable": lin_d,
        "election-safety": {**el.to_dict(), "explanation": el.to_text()},
        "log-agreement": check_log_agreement(node_logs(root)).to_dict(),
        "stats": check_stats(events, file=str(root / "history.jsonl")).to_dict(),
    }


def _no_time(entry: dict) -> dict:
    return {k: v for k, v in entry.items() if k != "elapsed"}  # the search's own duration


@pytest.mark.parametrize("bad", [False, True])
def test_registry_verdicts_are_the_results_json_entries_of_before(tmp_path: Path, bad: bool):
    root = _write_run(tmp_path / "run", bad)
    before = _entries_as_before(root)
    run = RunFiles.in_folder(root)
    assert set(before) <= set(CHECKER_NAMES)
    for name in before:  # the four checkers that existed before the registry
        verdict = CHECKERS[name].check(run)
        entry = verdict.to_dict()
        assert _no_time(entry) == _no_time(before[name]), name
        assert list(entry) == list(before[name]), f"{name}: key order changed"
        assert verdict.valid is (name == "stats" or not bad)
        assert verdict.summary == summary_of(name, entry) and verdict.summary
    # The invalid ones explain themselves in text, where they did before.
    if bad:
        assert "not linearizable" in CHECKERS["linearizable"].check(run).explanation
        assert "two" in summary_of("election-safety", before["election-safety"])


def test_check_run_loops_over_the_schedules_checkers(tmp_path: Path):
    run_dir = new_run_dir(tmp_path / "store", "t")
    src = _write_run(tmp_path / "src", bad=True)
    for f in ("history.jsonl", "nodes"):
        (src / f).rename(run_dir.path / f)
    schedule = parse_schedule("name: t\ncheckers: [log-agreement, stats]\n")
    results = check_run(run_dir, schedule)
    assert list(results["checkers"]) == ["log-agreement", "stats"]
    assert results["valid"] is False
    assert results["checkers"]["log-agreement"]["total_divergences"] == 1


def test_nothing_to_read_is_unknown_with_the_reason(tmp_path: Path):
    run_dir = new_run_dir(tmp_path / "store", "t")
    run_dir.history.write_text("")
    results = check_run(run_dir, parse_schedule("name: t\n"))
    assert results["valid"] == "unknown"
    assert results["checkers"] == {
        "linearizable": {"valid": "unknown", "checker": "linearizable",
                         "reason": "the history has no operations"},
        "election-safety": {"valid": "unknown", "checker": "election-safety",
                            "reason": "no node events.jsonl was collected"},
        "log-agreement": {"valid": "unknown", "checker": "log-agreement",
                          "reason": "committed logs of 0 node(s) collected; need 2"},
        "stats": {"valid": True, "checker": "stats", "total": {"ok": 0, "fail": 0, "info": 0},
                  "by_f": {}, "by_node": {}, "by_key": {}},
        "crashes": {"valid": "unknown", "checker": "crashes",
                    "reason": "no node.log or console.log was collected"},
    }  # fmt: skip


def test_a_checker_that_breaks_is_unknown_not_lost(tmp_path: Path, monkeypatch):
    class Broken:
        name = "stats"

        def check(self, run: RunFiles) -> Verdict:
            raise ZeroDivisionError("oops")

        def summarize(self, entry: dict) -> str:
            return ""

    monkeypatch.setitem(CHECKERS, "stats", Broken())
    run_dir = new_run_dir(tmp_path / "store", "t")
    run_dir.history.write_text("")
    entry = check_run(run_dir, parse_schedule("name: t\ncheckers: [stats]\n"))["checkers"]["stats"]
    assert entry == {
        "valid": "unknown",
        "checker": "stats",
        "reason": "checker failed: ZeroDivisionError: oops",
    }


def test_verdict_to_dict_puts_valid_first_and_explanation_last():
    v = Verdict(False, "one line", "the story", {"checker": "x", "valid": True, "n": 3})
    assert list(v.to_dict().items()) == [
        ("valid", False), ("checker", "x"), ("n", 3), ("explanation", "the story")
    ]  # fmt: skip
    assert "explanation" not in Verdict(True, "fine", None, {"checker": "x"}).to_dict()


def test_run_summary_explains_each_violation_in_the_checkers_words(tmp_path: Path):
    from harness.summary import summary_text

    run_dir = new_run_dir(tmp_path / "store", "t")
    src = _write_run(tmp_path / "src", bad=True)
    for f in ("history.jsonl", "nodes"):
        (src / f).rename(run_dir.path / f)
    results = {"name": "t", "status": "complete", **check_run(run_dir, parse_schedule("name: t"))}
    text = summary_text(run_dir, results)
    assert "  linearizable: INVALID\n    not linearizable on key 'k'" in text
    assert "  election-safety: INVALID\n    election safety VIOLATED in 1 term(s)" in text
    # No explanation in its entry: its summary line says what it found.
    assert "  log-agreement: INVALID\n    3 nodes, 2 indexes compared; 1 index(es) disagree" in text
    assert "  stats: valid\n" in text
