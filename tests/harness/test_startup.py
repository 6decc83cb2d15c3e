"""Start-up: a command imports what it needs when it needs it (issue 22). `raftquake
--help` loads no checker, and `raftquake check` on a register history none of the heavy
modules the other commands use (Docker's client, YAML, numpy and matplotlib for the
report, networkx for --explain, asyncio for clusters). Asserted on what a fresh
interpreter has imported, not on a time: benchmarks/bench_checkers.py times start-up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("docker", "yaml", "numpy", "matplotlib", "plotly", "networkx", "jinja2", "asyncio")

PROBE = """
import json, sys
import harness.cli
try:
    status = harness.cli.main(sys.argv[1:])
except SystemExit as e:
    status = e.code
print(json.dumps({"status": status, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def imported(*argv: str) -> tuple[int, set[str]]:
    """(exit status, the modules imported) of `raftquake ARGV...` in a fresh interpreter."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=60
    )
    last = proc.stderr.strip().splitlines()[-1]
    out = json.loads(last)
    return out["status"], set(out["modules"])


def loaded(modules: set[str], name: str) -> bool:
    return name in modules or any(m.startswith(name + ".") for m in modules)


def test_help_imports_no_checker_and_nothing_heavy():
    status, modules = imported("--help")
    assert status == 0
    assert [m for m in HEAVY if loaded(modules, m)] == []
    assert not loaded(modules, "checkers")


def test_check_of_a_register_history_imports_nothing_heavy(tmp_path: Path):
    one = tmp_path / "one.jsonl"
    one.write_text(
        '{"index": 0, "time": 1, "process": 0, "type": "invoke", "f": "write", "value": 1}\n'
        '{"index": 1, "time": 2, "process": 0, "type": "ok", "f": "write", "value": 1}\n'
    )
    status, modules = imported("check", str(one))
    assert status == 0
    assert [m for m in HEAVY if loaded(modules, m)] == []
    assert "checkers.linear.search" in modules  # it did check


def test_check_explain_loads_networkx_when_it_needs_it(tmp_path: Path):
    # the other side of the coin: the graph method still finds its library
    # two writes, then reads of 2 and 1: version 1 both precedes and follows version 2
    bad = tmp_path / "bad.jsonl"
    events = [
        (0, "invoke", "write", 1),
        (1, "invoke", "write", 2),
        (0, "ok", "write", 1),
        (1, "ok", "write", 2),
        (2, "invoke", "read", None),
        (2, "ok", "read", 2),
        (2, "invoke", "read", None),
        (2, "ok", "read", 1),
    ]
    bad.write_text(
        "".join(
            json.dumps({"index": i, "time": i + 1, "process": p, "type": t, "f": f, "value": v})
            + "\n"
            for i, (p, t, f, v) in enumerate(events)
        )
    )
    status, modules = imported("check", "--explain", str(bad))
    assert status == 1
    assert "networkx" in modules
