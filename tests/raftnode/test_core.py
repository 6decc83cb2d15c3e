"""Unit tests of the Raft core: elections, log replication, the commit rule, PreVote,
CheckQuorum. Each scenario is driven by hand through raftnode.rafttest.Net."""

from __future__ import annotations

import json
import random

import pytest

import raftnode.core as core_mod
from checkers.raft.election import check_election_safety
from raftnode.core import (
    APPEND,
    APPEND_RESP,
    CANDIDATE,
    FOLLOWER,
    LEADER,
    PRE_CANDIDATE,
    Config,
    Entry,
    HardState,
    Message,
    NotLeader,
    RaftCore,
)
from raftnode.rafttest import Net


def log_of(*terms: int) -> list[Entry]:
    return [Entry(t, i, {"op": "write", "key": "k", "value": i}) for i, t in enumerate(terms, 1)]


# ---- elections ------------------------------------------------------------------


def test_three_nodes_elect_one_leader_and_commit_its_noop():
    net = Net(3, seed=1)
    for _ in range(100):
        net.tick()
        if net.leaders():
            break
    [leader] = net.leaders()
    net.tick(n=3)
    term = net.cores[leader].term
    for i in net.ids:
        c = net.cores[i]
        assert c.term == term and c.leader == leader
        # The leader's no-op of its term is committed and applied everywhere.
        assert [(e.term, e.command) for e in net.applied[i]] == [(term, None)]
    events = net.events[leader]
    assert {"term": term, "role": LEADER} in events
    assert {"commit": 1, "term_at": term} in events


def test_single_node_cluster_commits_alone():
    net = Net(1)
    net.elect("n1")
    idx = net.cores["n1"].propose({"op": "write", "key": "a", "value": 1})
    net.deliver()
    assert net.cores["n1"].commit_index == idx == 2
    net.cores["n1"].read_index("r")
    net.deliver()
    assert [(r.request_id, r.index) for r in net.reads["n1"]] == [("r", 2)]


def test_prevote_then_vote_and_term_moves_only_once():
    net = Net(3)
    core = net.cores["n1"]
    while core.role == FOLLOWER:
        core.tick()
    # The timeout starts a pre-vote, which does not touch the term.
    assert core.role == PRE_CANDIDATE and core.term == 0
    net.elect("n1")
    assert core.term == 1 and core.voted_for == "n1"
    assert net.cores["n2"].voted_for == "n1" and net.cores["n3"].voted_for == "n1"


def test_without_prevote_a_timeout_starts_a_real_election():
    net = Net(3, pre_vote=False)
    core = net.cores["n1"]
    while core.role == FOLLOWER:
        core.tick()
    assert core.role == CANDIDATE and core.term == 1


def test_candidate_with_stale_log_loses_the_vote():
    # Without CheckQuorum, so that only the log check (not a leader lease) can refuse n3.
    net = Net(3, check_quorum=False)
    net.elect("n1")
    net.isolate("n3")
    net.cores["n1"].propose({"op": "write", "key": "a", "value": 1})
    net.deliver()
    assert net.cores["n1"].commit_index == 2  # committed with n2 alone
    net.crash("n1")
    net.heal()
    # n3 lacks entry 2; n2 must refuse it (election restriction), so n3 never wins.
    net.tick(["n3"], n=100)
    assert net.cores["n3"].role != LEADER
    assert net.cores["n2"].voted_for != "n3"
    net.elect("n2")
    assert net.cores["n2"].role == LEADER


def test_no_log_check_bug_elects_a_stale_candidate_and_loses_a_committed_entry():
    net = Net(3, check_quorum=False, bugs=frozenset({"no-log-check"}))
    net.elect("n1")
    net.isolate("n3")
    net.cores["n1"].propose({"op": "write", "key": "a", "value": 1})
    net.deliver()
    assert net.cores["n1"].commit_index == 2
    net.crash("n1")
    net.heal()
    net.elect("n3")
    net.tick(["n3"], n=2)
    # The stale leader committed its own no-op at index 2, where a write was already
    # committed: two different commands applied at the same index.
    at2 = {i: [e for e in net.applied[i] if e.index == 2] for i in ("n2", "n3")}
    assert at2["n2"][0].command == {"op": "write", "key": "a", "value": 1}
    assert at2["n3"][0].command is None and at2["n3"][0].term == net.cores["n3"].term


def test_no_log_check_stale_leader_keeps_leading_past_a_followers_higher_commit():
    # The follower's commit index is beyond the stale leader's whole log: the leader must
    # not index past its log (an IndexError once ended its leadership before it committed
    # anything, hiding the bug from the checkers); it commits over the follower instead.
    net = Net(3, check_quorum=False, bugs=frozenset({"no-log-check"}))
    net.elect("n1")
    net.isolate("n3")
    for v in range(3):
        net.cores["n1"].propose({"op": "write", "key": "a", "value": v})
        net.deliver()
    assert net.cores["n2"].commit_index == 4 and net.cores["n3"].last_index == 1
    net.crash("n1")
    net.heal()
    net.elect("n3")
    net.cores["n3"].propose({"op": "write", "key": "a", "value": "stale"})
    net.tick(["n3"], n=5)
    n3 = net.cores["n3"]
    assert n3.role == LEADER and n3.last_index == 3 and n3.commit_index == 3
    assert [e.command for e in net.applied["n3"] if e.index == 3] == [
        {"op": "write", "key": "a", "value": "stale"}
    ]
    assert [e.command for e in net.applied["n2"] if e.index == 3] == [
        {"op": "write", "key": "a", "value": 1}
    ]


def vote_violations(events: list[dict], tmp_path) -> list[str]:
    """What the election-safety checker finds in these events, as one node's file."""
    path = tmp_path / "events.jsonl"
    lines = [{"time": t, "node": "n2", **e} for t, e in enumerate(events)]
    path.write_text("".join(json.dumps(e) + "\n" for e in lines))
    return [v.kind for v in check_election_safety([path]).vote_violations]


def test_one_vote_per_term_and_vote_survives_restart(tmp_path):
    net = Net(3)
    c2 = net.cores["n2"]
    c2.step(Message("vote", "n1", "n2", 5, log_term=0, index=0))
    net.collect()
    assert c2.voted_for == "n1" and net.disks["n2"].hard == HardState(5, "n1", 0)
    c2.step(Message("vote", "n3", "n2", 5, log_term=0, index=0))
    net.collect()
    assert c2.voted_for == "n1"
    resp = [m for m in net.inflight if m.dst == "n3"][-1]
    assert resp.type == "vote_resp" and resp.reject
    net.start("n2")  # restart from durable state
    assert net.cores["n2"].voted_for == "n1"
    net.collect()
    # events.jsonl: the vote, and the restart that recovered it; a checker finds no fault.
    assert {"term": 5, "role": "follower", "voted_for": "n1"} in net.events["n2"]
    assert net.events["n2"][-1] == {"term": 5, "role": "follower", "voted_for": "n1", "start": True}
    assert vote_violations(net.events["n2"], tmp_path) == []


def test_forget_vote_bug_does_not_persist_the_vote(tmp_path):
    net = Net(3, bugs=frozenset({"forget-vote"}))
    net.cores["n2"].step(Message("vote", "n1", "n2", 5))
    net.collect()
    assert net.cores["n2"].voted_for == "n1"  # in memory...
    assert net.disks["n2"].hard == HardState(5, None, 0)  # ...but not on disk
    net.start("n2")
    net.cores["n2"].step(Message("vote", "n3", "n2", 5))
    net.collect()
    assert net.cores["n2"].voted_for == "n3"  # a second vote in the same term
    # The node's own records show both the forgotten vote and the second one.
    assert vote_violations(net.events["n2"], tmp_path) == ["forgotten-vote", "double-vote"]


# ---- log replication ---------------------------------------------------------------

# Figure 7 of the paper: the leader of term 8 and six followers in various states.
FIGURE7 = {
    "n1": (1, 1, 1, 4, 4, 5, 5, 6, 6, 6),  # the leader
    "n2": (1, 1, 1, 4, 4, 5, 5, 6, 6),  # (a)
    "n3": (1, 1, 1, 4),  # (b)
    "n4": (1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6),  # (c)
    "n5": (1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7),  # (d)
    "n6": (1, 1, 1, 4, 4, 4, 4),  # (e)
    "n7": (1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3),  # (f)
}


def test_figure7_followers_converge_to_the_leaders_log_with_fast_backoff():
    net = Net(
        7,
        logs={i: log_of(*t) for i, t in FIGURE7.items()},
        hard={i: HardState(7) for i in FIGURE7},
    )
    net.elect("n1")
    leader = net.cores["n1"]
    assert leader.term == 8
    want = list(FIGURE7["n1"]) + [8]
    for i in net.ids:
        assert net.log_terms(i) == want, i
        assert net.cores[i].commit_index == 11
    # Fast back-off: one rejection per conflicting *term*, not one per entry.
    rejects = {i: 0 for i in net.ids}
    for m in net.delivered:
        if m.type == APPEND_RESP and m.reject:
            rejects[m.src] += 1
    assert rejects["n7"] <= 3  # (f) diverges over 7 entries in terms 2 and 3
    assert rejects["n3"] <= 2  # (b) is 6 entries behind
    assert max(rejects.values()) <= 3


def test_backoff_converges_over_a_long_divergent_log():
    # Follower holds 300 entries of terms 2..4 the leader never had; leader has 300 of term 5.
    follower = [Entry(1, 1)] + [Entry(2 + (i // 100), i + 2) for i in range(300)]
    leader = [Entry(1, 1)] + [Entry(5, i + 2) for i in range(300)]
    net = Net(3, logs={"n1": leader, "n2": follower, "n3": leader}, hard={"n2": HardState(4)})
    net.cores["n1"].term = 5  # as if it had just won term 5 elsewhere
    net.elect("n1")
    assert net.log_terms("n2") == net.log_terms("n1")
    rejects = sum(1 for m in net.delivered if m.type == APPEND_RESP and m.reject and m.src == "n2")
    assert rejects <= 4, rejects


def test_consistency_check_rejects_with_the_conflict_term_and_its_first_index():
    core = RaftCore(
        "n2", ["n1", "n2", "n3"], Config(), random.Random(0), HardState(5), log_of(1, 1, 2, 2, 2)
    )
    new = (Entry(5, 6, None),)
    # prevLogIndex 5 holds term 2 here, the leader says 4: refuse, name term 2 from index 3.
    core.step(Message(APPEND, "n1", "n2", 5, index=5, log_term=4, entries=new, commit=1))
    [resp] = core.ready().messages
    assert resp.reject and (resp.conflict_term, resp.conflict_index) == (2, 3)
    assert core.last_index == 5  # nothing appended past a mismatch
    # prevLogIndex beyond our log: no term to name, the hint is our next index.
    core.step(Message(APPEND, "n1", "n2", 5, index=9, log_term=5, entries=(), commit=1))
    [resp] = core.ready().messages
    assert resp.reject and (resp.conflict_term, resp.conflict_index) == (0, 6)
    # A matching prevLogIndex appends, and commit follows leaderCommit up to the new entry.
    core.step(Message(APPEND, "n1", "n2", 5, index=2, log_term=1, entries=new[:0], commit=9))
    [resp] = core.ready().messages
    assert not resp.reject and resp.index == 2 and core.commit_index == 2


def test_reordered_and_duplicated_appends_do_not_truncate():
    net = Net(3)
    net.elect("n1")
    c1 = net.cores["n1"]
    for v in range(5):
        c1.propose({"op": "write", "key": "a", "value": v})
    net.collect()
    old = [m for m in net.inflight if m.type == APPEND and m.dst == "n2"]
    net.deliver()
    assert net.cores["n2"].last_index == 6
    # A late duplicate of an older append must not cut entries off the follower.
    for m in old:
        net.cores["n2"].step(m)
    net.deliver()
    assert net.cores["n2"].last_index == 6 and net.cores["n2"].commit_index == 6


def test_follower_truncates_uncommitted_conflicting_suffix():
    logs = {"n1": log_of(1, 1), "n2": log_of(1, 1, 2, 2, 2), "n3": log_of(1, 1)}
    net = Net(3, logs=logs, hard={i: HardState(2) for i in logs})
    net.elect("n1")
    assert net.log_terms("n2") == [1, 1, 3]
    # The follower told the storage to truncate from index 3 before appending.
    assert [e.term for e in net.disks["n2"].log] == [1, 1, 3]


# ---- the commit rule (Figure 8) -----------------------------------------------------


def test_figure8_leader_does_not_commit_an_old_term_entry_by_counting(monkeypatch):
    # Figure 8 (c): S1 leads term 4 and holds the term-2 entry at index 2; S5 has a
    # term-3 entry there. S1 re-replicates index 2 to a majority (S1, S2, S3).
    monkeypatch.setattr(core_mod, "MAX_ENTRIES_PER_APPEND", 1)
    logs = {
        "n1": log_of(1, 2),
        "n2": log_of(1),
        "n3": log_of(1),
        "n4": log_of(1),
        "n5": log_of(1, 3),
    }
    net = Net(5, logs=logs, hard={i: HardState(3) for i in logs})
    net.cores["n1"].tick()  # nothing else ticks

    # Hold back the new leader's no-op (index 3) from anyone who could accept it; probes
    # that will be rejected (the receiver lacks index 2) go through, so the leader backs off.
    def no_noop(m: Message) -> bool:
        carries_noop = m.type == APPEND and any(e.index == 3 for e in m.entries)
        return carries_noop and net.log_terms(m.dst)[:2] == [1, 2]

    for _ in range(100):
        if net.cores["n1"].role == LEADER:
            break
        net.tick(["n1"], drop=no_noop)
    net.deliver(drop=no_noop)
    leader = net.cores["n1"]
    assert leader.role == LEADER and leader.term == 4
    holders = [i for i in net.ids if net.log_terms(i)[:2] == [1, 2]]
    assert len(holders) >= 3  # the term-2 entry is on a majority...
    assert leader.commit_index < 2  # ...and still not committed: its term is not 4
    assert all(e.index < 2 for e in net.applied["n1"])

    # Figure 8 (e): once an entry of term 4 is on a majority, both commit. (The dropped
    # appends are recovered by the next heartbeat round.)
    net.tick(["n1"], n=2)
    assert leader.commit_index == 3
    assert [e.term for e in net.applied["n1"]] == [1, 2, 4]


def test_figure8_d_the_uncommitted_entry_may_be_overwritten():
    # Figure 8 (d): S1 crashed; S5 (last term 3) wins and overwrites index 2 everywhere,
    # which is why (c) must not have counted it as committed.
    logs = {"n2": log_of(1, 2), "n3": log_of(1, 2), "n4": log_of(1), "n5": log_of(1, 3)}
    logs["n1"] = log_of(1, 2)
    net = Net(5, logs=logs, hard={i: HardState(4) for i in logs})
    net.crash("n1")
    net.elect("n5")
    net.tick(["n5"], n=2)
    for i in ("n2", "n3", "n4"):
        assert net.log_terms(i) == [1, 3, 5]


# ---- PreVote and CheckQuorum ---------------------------------------------------------


def _leader_with_isolated_follower(**cfg) -> Net:
    net = Net(3, seed=3, **cfg)
    net.elect("n1")
    net.isolate("n3")
    net.tick(n=200)  # n3 times out again and again while cut off
    return net


def test_prevote_keeps_a_returning_partitioned_server_from_disrupting_the_leader():
    net = _leader_with_isolated_follower()
    assert net.cores["n3"].term == 1  # pre-votes never raised its term
    assert net.cores["n1"].role == LEADER
    net.heal()
    net.tick(n=50)
    assert net.leaders() == ["n1"] and net.cores["n1"].term == 1
    assert net.cores["n3"].leader == "n1" and net.cores["n3"].role == FOLLOWER


def test_without_prevote_the_returning_server_does_disrupt():
    # The contrast that shows the test above can fail.
    net = _leader_with_isolated_follower(pre_vote=False)
    assert net.cores["n3"].term > 5
    net.heal()
    net.tick(n=50)
    assert net.cores["n1"].term > 1  # the old leader was deposed by the higher term


def test_check_quorum_ignores_vote_requests_while_a_leader_is_healthy():
    net = Net(3)
    net.elect("n1")
    # n3 asks for votes at a higher term (as if its term grew in a partition).
    net.cores["n2"].step(Message("vote", "n3", "n2", 9, log_term=1, index=1))
    net.collect()
    assert net.cores["n2"].term == 1 and net.cores["n2"].voted_for == "n1"
    assert not [m for m in net.inflight if m.dst == "n3"]


def test_check_quorum_leader_steps_down_when_it_loses_its_quorum():
    net = Net(3)
    net.elect("n1")
    net.isolate("n1")
    ticks = 0
    while net.cores["n1"].role == LEADER:
        net.tick(["n1"])
        ticks += 1
        assert ticks <= 2 * net.cores["n1"].config.election_ticks
    assert net.cores["n1"].role == FOLLOWER and net.cores["n1"].leader is None


def test_without_check_quorum_an_isolated_leader_stays_leader():
    net = Net(3, check_quorum=False)
    net.elect("n1")
    net.isolate("n1")
    net.tick(["n1"], n=100)
    assert net.cores["n1"].role == LEADER


def test_stale_leader_steps_down_on_hearing_a_higher_term():
    net = Net(3)
    net.elect("n1")
    net.isolate("n1")
    net.tick(["n2", "n3"], n=60)
    [new] = [i for i in net.leaders() if i != "n1"]
    assert net.cores["n1"].term < net.cores[new].term
    net.heal()
    net.tick(n=5)
    assert len(net.leaders()) == 1 and net.cores["n1"].role == FOLLOWER


# ---- API ----------------------------------------------------------------------------


def test_propose_on_a_follower_raises_not_leader_with_the_leader():
    net = Net(3)
    net.elect("n1")
    with pytest.raises(NotLeader) as exc:
        net.cores["n2"].propose({"op": "write", "key": "a", "value": 1})
    assert exc.value.leader == "n1"
    with pytest.raises(NotLeader):
        net.cores["n2"].read_index("r")


def test_votes_from_outside_the_configuration_do_not_count():
    net = Net(3, pre_vote=False)
    c1 = net.cores["n1"]
    while c1.role != CANDIDATE:
        c1.tick()
    for stranger in ("x1", "x2", "n1"):
        c1.step(Message("vote_resp", stranger, "n1", c1.term))
    assert c1.role == CANDIDATE


def test_message_round_trips_through_json():
    import json

    m = Message(
        "append",
        "n1",
        "n2",
        3,
        log_term=2,
        index=7,
        entries=(Entry(3, 8, {"op": "write", "key": "a", "value": [1, 2]}), Entry(3, 9)),
        commit=6,
        context=4,
    )
    assert Message.from_dict(json.loads(json.dumps(m.to_dict()))) == m
    r = Message("append_resp", "n2", "n1", 3, index=7, reject=True, conflict_term=2)
    assert Message.from_dict(json.loads(json.dumps(r.to_dict()))) == r
    with pytest.raises(ValueError, match="unknown message type"):
        Message.from_dict({"type": "bogus", "src": "a", "dst": "b", "term": 1})
    with pytest.raises(ValueError, match="malformed"):
        Message.from_dict({"type": "append", "src": "a"})


def test_bad_config_and_bad_recovered_log_are_rejected():
    with pytest.raises(ValueError, match="read_mode"):
        RaftCore("a", ["a"], Config(read_mode="fast"), random.Random(0))
    with pytest.raises(ValueError, match="unknown bug"):
        RaftCore("a", ["a"], Config(bugs=frozenset({"nope"})), random.Random(0))
    with pytest.raises(ValueError, match="not contiguous"):
        RaftCore("a", ["a"], Config(), random.Random(0), log=[Entry(1, 2)])


def test_restart_replays_committed_entries_from_index_one():
    net = Net(3)
    net.elect("n1")
    for v in range(3):
        net.cores["n1"].propose({"op": "write", "key": "a", "value": v})
    net.tick(n=2)
    assert net.cores["n2"].commit_index == 4
    net.start("n2")
    net.collect()
    assert [e.index for e in net.applied["n2"]] == [1, 2, 3, 4]


def _refusal(e: dict) -> dict:
    return {k: e[k] for k in ("vote_refused", "term", "pre", "why")}


def test_refused_prevotes_are_recorded_with_their_reason():
    # n3, cut off while n1 commits, comes back behind: while n2 hears n1 it refuses n3's
    # pre-votes for the lease; once n1 is gone, because n3's log is behind its own.
    net = _leader_with_isolated_follower()
    net.cores["n1"].propose({"op": "write", "key": "k", "value": 1})
    net.tick(n=3)
    assert net.cores["n2"].last_index > net.cores["n3"].last_index
    net.heal()
    net.isolate("n1")
    net.tick(["n3"], n=40)  # only n3's clock runs: n2 still counts itself in n1's lease
    refused = [_refusal(e) for e in net.events["n2"] if "vote_refused" in e]
    assert refused and refused[0] == {"vote_refused": "n3", "term": 2, "pre": True, "why": "lease"}
    # n2's pre-votes no longer reach n3: n2 times out and stays a pre-candidate, with no
    # leader and so no lease, and judges n3's next pre-vote by its log alone.
    net.blocked.add(("n2", "n3"))
    net.tick(["n2"], n=25)
    assert net.cores["n2"].role == PRE_CANDIDATE
    net.tick(["n3"], n=40)
    [log] = [e for e in net.events["n2"] if e.get("why") == "log"][-1:]
    assert _refusal(log) == {"vote_refused": "n3", "term": 2, "pre": True, "why": "log"}
    # The line says by how much: n3 lacks the entry n1 and n2 committed without it.
    assert log["candidate_log"] == [1, net.cores["n3"].last_index]
    assert log["own_log"] == [1, net.cores["n2"].last_index]
    assert log["own_log"] > log["candidate_log"]
    assert "n3" not in net.leaders()  # refused: the shorter log cannot lead
