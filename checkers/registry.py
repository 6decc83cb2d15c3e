"""The run checkers by name: what a schedule's `checkers:` list may name, in the order a
run without one uses. Adding a checker: its module (checkers/protocol.py says what it
provides) and one line here. `elle` (txns), `set` and `bank` judge their own workloads'
histories (harness/schedule.py's default_checkers picks the one that fits)."""

from __future__ import annotations

from typing import Any

from checkers import bank, crashes, elle, sets, stats
from checkers.linear import checker as linearizable
from checkers.protocol import Checker
from checkers.raft import election, log_agreement

CHECKERS: dict[str, Checker] = {
    c.name: c
    for c in (
        linearizable.CHECKER,
        election.CHECKER,
        log_agreement.CHECKER,
        stats.CHECKER,
        crashes.CHECKER,
        elle.CHECKER,
        sets.CHECKER,
        bank.CHECKER,
    )
}
CHECKER_NAMES: tuple[str, ...] = tuple(CHECKERS)


def summary_of(name: str, entry: dict[str, Any]) -> str:
    """The one line for a checker's results.json entry: its reason when it could not tell,
    else the checker's own summary ("" for a checker this version does not know)."""
    if entry.get("reason"):
        return str(entry["reason"])
    checker = CHECKERS.get(name)
    return checker.summarize(entry) if checker is not None else ""
