"""The planted bug commit-previous-term, stepped through Figure 8 of the Raft paper.

With the bug, a leader counts replicas of an entry of an earlier term and commits it;
a candidate whose log ends in a later term can still win and overwrite it, so two nodes
apply different entries at one index. log-agreement sees it in their committed logs.
The same steps without the bug are tests/raftnode/test_core.py's Figure 8 tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import raftnode.core as core_mod
from checkers import check_log_agreement
from raftnode.core import APPEND, LEADER, Entry, HardState, Message
from raftnode.rafttest import Net


def log_of(*terms: int) -> list[Entry]:
    return [Entry(t, i, {"op": "write", "key": "x", "value": f"{t}.{i}"}) for i, t in
            enumerate(terms, start=1)]  # fmt: skip


def _figure8(bugs: frozenset[str], monkeypatch) -> Net:
    # (c): S1 leads term 4 holding the term-2 entry at index 2, S5 has a term-3 entry
    # there. Appends carry one entry each (as a long catch-up is split into chunks), and
    # S1's own no-op (index 3) is held back from the followers.
    monkeypatch.setattr(core_mod, "MAX_ENTRIES_PER_APPEND", 1)
    logs = {"n1": log_of(1, 2), "n2": log_of(1), "n3": log_of(1), "n4": log_of(1)}
    logs["n5"] = log_of(1, 3)
    net = Net(5, logs=logs, hard={i: HardState(3) for i in logs}, bugs=bugs)
    net.blocked |= {("n1", "n5"), ("n5", "n1")}  # in (c), S5 hears nothing of S1

    def no_noop(m: Message) -> bool:
        carries_noop = m.type == APPEND and any(e.index == 3 for e in m.entries)
        return carries_noop and net.log_terms(m.dst)[:2] == [1, 2]

    for _ in range(100):
        if net.cores["n1"].role == LEADER:
            break
        net.tick(["n1"], drop=no_noop)
    net.deliver(drop=no_noop)
    assert net.cores["n1"].role == LEADER and net.cores["n1"].term == 4
    return net


def _s5_takes_over(net: Net) -> None:
    """(d): S1 crashes; S5, whose log ends in term 3, wins the votes of S2-S4 (their last
    term is 2). They restart first, so that none still counts S1's recent heartbeats
    against a new election (PreVote's leader stickiness)."""
    net.crash("n1")
    net.heal()
    for i in ("n2", "n3", "n4"):
        net.crash(i)
        net.start(i)
    net.elect("n5")
    net.tick(["n5"], n=3)


def _agreement(net: Net, tmp_path: Path):
    """log-agreement over each node's applied (committed) entries, as a run collects them."""
    paths = {}
    for i in net.ids:
        lines = [{"index": e.index, "term": e.term, "command": e.command} for e in net.applied[i]]
        paths[i] = tmp_path / f"{i}.jsonl"
        paths[i].write_text("".join(json.dumps(line) + "\n" for line in lines))
    return check_log_agreement(paths)


def test_with_the_bug_a_leader_commits_an_old_term_entry_that_is_then_overwritten(
    monkeypatch, tmp_path
):
    net = _figure8(frozenset({"commit-previous-term"}), monkeypatch)
    # The term-2 entry is on a majority, so the buggy leader commits and applies it ...
    assert net.cores["n1"].commit_index == 2
    assert [e.term for e in net.applied["n1"]] == [1, 2]
    # (d): S5 takes over and overwrites index 2 with its term-3 entry, which commits.
    _s5_takes_over(net)
    assert [e.term for e in net.applied["n5"]][:2] == [1, 3]
    verdict = _agreement(net, tmp_path)
    assert verdict.valid is False
    assert verdict.to_dict()["divergences"][0]["index"] == 2  # n1 against the others


def test_without_the_bug_the_same_steps_commit_nothing_of_the_old_term(monkeypatch, tmp_path):
    net = _figure8(frozenset(), monkeypatch)
    assert net.cores["n1"].commit_index < 2
    _s5_takes_over(net)
    assert [e.term for e in net.applied["n5"]][:2] == [1, 3]
    assert _agreement(net, tmp_path).valid is True
