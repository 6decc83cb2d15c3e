"""raftnode/bugs.py is the one table of planted bugs: docs/DESIGN.md's table says the same,
the node, the schedule and the pytest plugin take their bugs and catchers from it."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from checkers.registry import CHECKER_NAMES
from harness import pytest_plugin
from harness.nemesis import FAULTS
from harness.systems import raftnode as raftnode_system
from raftnode import bugs, config, core
from raftnode.bugs import BY_NAME, OFFERED, PLANTED_BUGS

DESIGN = Path(__file__).resolve().parents[2] / "docs" / "DESIGN.md"
FAMILY_WORDS = {"partition": "partitions", "kill": "kills", "pause": "pauses",
                "clock": "clock faults", "packet": "packet",
                "membership": "membership changes"}  # fmt: skip


def _design_rows() -> dict[str, tuple[str, str]]:
    text = DESIGN.read_text().split("### Planted bugs", 1)[1]
    rows = re.findall(r"^\| `([a-z-]+)` \| (.+?) \| (.+?) \|$", text, re.M)
    return {name: (wrong, catch) for name, wrong, catch in rows}


def test_design_table_is_the_offered_bugs_of_the_table():
    rows = _design_rows()
    assert list(rows) == list(OFFERED)
    for name, (wrong, catch) in rows.items():
        bug = BY_NAME[name]
        assert wrong == bug.wrong
        checkers, under = catch.split(", under ")
        assert re.split(r",? and |, ", checkers) == list(bug.caught_by), name
        assert all(FAMILY_WORDS[f] in under for f in bug.under), (name, under)


def test_each_bug_names_real_checkers_and_faults():
    for bug in PLANTED_BUGS:
        assert bug.lives_in in ("core", "host")
        assert bug.caught_by and set(bug.caught_by) <= set(CHECKER_NAMES), bug.name
        assert bug.under and set(bug.under) <= set(FAULTS), bug.name


def test_everything_that_names_bugs_takes_them_from_the_table():
    assert raftnode_system.BUGS is OFFERED  # the system's `bugs` option takes these
    bug_option = next(a for a in config.build_parser()._actions if a.dest == "bug")
    assert tuple(bug_option.choices) == OFFERED
    assert core.KNOWN_BUGS == bugs.CORE_BUGS | bugs.HOST_BUGS == set(BY_NAME)
    assert bugs.HOST_BUGS == {"ack-before-commit", "txn-dirty-read", "snapshot-skip-commit"}
    cfg = config.parse_args(
        ["--id", "n1", "--listen", "127.0.0.1:1", "--peers", "n1=127.0.0.1:1", "--data-dir",
         "d", "--bug", "ack-before-commit", "--bug", "forget-vote", "--no-auth"]
    )  # fmt: skip
    assert cfg.core_bugs == {"forget-vote"}
    # Read modes: one tuple, the node's.
    assert raftnode_system.READ_MODES is core.READ_MODES
    assert config.READ_MODES is core.READ_MODES


def test_the_plugin_expects_the_catchers_each_bug_declares(monkeypatch):
    assert pytest_plugin.expected_catchers(()) == ()
    assert pytest_plugin.expected_catchers(["stale-read", "no-log-check"]) == (
        "linearizable",
        "log-agreement",
    )
    # Change the table, and the plugin follows: nothing else holds the mapping.
    changed = dataclasses.replace(BY_NAME["forget-vote"], caught_by=("stats",))
    monkeypatch.setitem(BY_NAME, "forget-vote", changed)
    assert pytest_plugin.expected_catchers(["forget-vote"]) == ("stats",)
