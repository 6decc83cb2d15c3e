"""A short local chaos run: real processes, kills and pauses under a concurrent cas-register
workload, through `raftquake run --backend local`; the history must be linearizable.

This exercises the node end to end -- durability, group commit, the leader's early
appends and early answers, redirects, client retries -- with the harness's one driver and
its checkers, without Docker (the Docker runs cover partitions, clocks and packets).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from harness.pytest_plugin import assert_valid
from harness.runner import run_schedule
from harness.schedule import parse_schedule

pytestmark = pytest.mark.processes

SCHEDULE = """
name: local-kills-pauses
nodes: 3
time-limit: 12
workload: {keys: 3, concurrency: 6, rate: 150, mix: {read: 0.4, write: 0.3, cas: 0.3}}
nemesis:
  - {package: [kill, pause], interval: 2, for: [0.5, 1.5]}
final: {heal: true, recover: 1}
checkers: [linearizable, election-safety, log-agreement, stats]
"""


def test_history_under_kills_and_pauses_is_linearizable(tmp_path):
    schedule = parse_schedule(SCHEDULE, "<test>")
    outcome = run_schedule(schedule, "local", tmp_path, seed=1, say=lambda _m: None)
    r = outcome.results
    assert_valid(outcome)
    assert r["backend"] == "local" and r["fault-errors"] == []
    assert {f["fault"] for f in r["faults"]} == {"kill", "pause"}
    events = [json.loads(line) for line in outcome.run_dir.history.read_text().splitlines()]
    oks = [e for e in events if e["type"] == "ok"]
    assert len(oks) > 100, f"too few operations completed ({len(oks)}) to mean anything"
    # The command-line checker agrees on the same file.
    out = subprocess.run(
        [sys.executable, "-m", "harness.cli", "check", str(outcome.run_dir.history),
         "--model", "cas-register", "--json", "--timeout", "60"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    verdict = json.loads(out.stdout.splitlines()[0])
    assert verdict["valid"] is True, (out.stdout, out.stderr)
    assert out.returncode == 0
