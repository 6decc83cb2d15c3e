"""The planted bugs: the one table of docs/DESIGN.md "Planted bugs".

Each bug makes the node wrong on purpose, so a test can prove the harness catches that
kind of error. Everything that names bugs derives from this table: the core's and the
host's sets of bugs they act on, `--bug`'s choices (raftnode/config.py), the schedule's
`node.bugs` (harness/schedule.py), and which checkers a run with a bug must be caught by
(harness/pytest_plugin.py). Standard library only: the node imports it.

The code of each bug is marked `# PLANTED BUG` where it lives.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class PlantedBug:
    name: str
    lives_in: Literal["core", "host"]  # raftnode/core.py, or the Ready loop (raftnode/host.py)
    wrong: str  # what the node does wrong
    caught_by: tuple[str, ...]  # checkers (checkers/registry.py) that catch it
    under: tuple[str, ...]  # fault families (harness/nemesis/) that expose it
    # False: the core and the simulation have it, but no shipped schedule catches it yet,
    # so neither `--bug` nor a schedule's `node.bugs` offers it (nor DESIGN's table).
    offered: bool = True


PLANTED_BUGS: tuple[PlantedBug, ...] = (
    PlantedBug(
        "stale-read",
        "core",
        "the leader answers reads from its own state without confirming it is still leader",
        caught_by=("linearizable",),
        under=("partition",),
    ),
    PlantedBug(
        "forget-vote",
        "core",
        "`votedFor` is kept in memory only",
        caught_by=("election-safety",),
        under=("kill",),
    ),
    PlantedBug(
        "no-log-check",
        "core",
        'grants votes without the "candidate\'s log is at least as up to date" check',
        caught_by=("linearizable", "log-agreement"),
        under=("kill", "partition"),
    ),
    PlantedBug(
        "ack-before-commit",
        "host",
        "acknowledges a write once it is in the leader's own log",
        caught_by=("linearizable",),
        under=("partition", "kill"),
    ),
    PlantedBug(
        "lease-no-quorum",
        "core",
        "in lease read mode, keeps serving reads after it lost its quorum, trusting its clock",
        caught_by=("linearizable",),
        under=("clock", "pause"),
    ),
    PlantedBug(
        "txn-dirty-read",
        "host",
        "answers a read-only transaction from the leader's whole log, uncommitted entries "
        "included, without a quorum round",
        caught_by=("elle",),
        under=("partition", "kill"),
    ),
    PlantedBug(
        "snapshot-skip-commit",
        "host",
        "counts its log's length, not what it applied, to decide a snapshot: once the log "
        "reaches the next snapshot index, the uncommitted entries up to it are applied, "
        "acknowledged and compacted as if committed",
        caught_by=("linearizable", "log-agreement"),
        under=("partition", "kill"),
    ),
    PlantedBug(
        "unsafe-membership",
        "core",
        "the leader appends a membership change while another is still uncommitted (and "
        "before it committed an entry of its term), so a configuration more than one server "
        "away from the last committed one is in force",
        caught_by=("linearizable", "log-agreement"),
        under=("membership", "partition"),
    ),
    PlantedBug(
        "commit-previous-term",
        "core",
        "a leader commits an entry of an earlier term by counting replicas (Figure 8's error)",
        caught_by=("log-agreement",),
        under=("partition", "kill"),
        # Not offered: a new leader appends a no-op of its term at once, and followers get
        # it in the same AppendEntries as the earlier term's entries, so a majority that
        # holds those also holds the no-op, which commits them by the correct rule. The
        # error shows only in message orders tests/raftnode/test_bug_commit_previous_term.py
        # steps by hand; no generic run (nor 200 hunt runs) has shown it. Nor did a
        # variant whose leader also appends no no-op on taking office (as some that commit
        # this way do): 0 of 10 package.yaml sim runs (2026-11-29), since clients write
        # all the time and a write of the new term soon travels with the old entries.
        offered=False,
    ),
)

BY_NAME: dict[str, PlantedBug] = {b.name: b for b in PLANTED_BUGS}
# What `--bug` and a schedule's `node.bugs` accept, in the table's order.
OFFERED: tuple[str, ...] = tuple(b.name for b in PLANTED_BUGS if b.offered)
# What the core acts on, and what the host around it acts on (the core ignores those).
CORE_BUGS: frozenset[str] = frozenset(b.name for b in PLANTED_BUGS if b.lives_in == "core")
HOST_BUGS: frozenset[str] = frozenset(b.name for b in PLANTED_BUGS if b.lives_in == "host")
KNOWN_BUGS: frozenset[str] = frozenset(BY_NAME)


def catchers(bugs: Iterable[str]) -> tuple[str, ...]:
    """The checkers that should catch a run with these bugs, each once, in the order the
    bugs and their checkers come (empty: no bug, so the run must be valid). KeyError for a
    bug not in the table."""
    out: list[str] = []
    for bug in bugs:
        out += [c for c in BY_NAME[bug].caught_by if c not in out]
    return tuple(out)
