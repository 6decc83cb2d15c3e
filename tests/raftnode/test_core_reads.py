"""Reads in the core: ReadIndex (thesis 6.4), leases (6.4.1) and the planted read bugs."""

from __future__ import annotations

from raftnode.core import (
    FOLLOWER,
    HEARTBEAT,
    HEARTBEAT_RESP,
    LEADER,
    LEASE_DRIFT_TICKS,
    Message,
)
from raftnode.rafttest import Net


def _leader(n: int = 3, **cfg) -> Net:
    net = Net(n, **cfg)
    if cfg.get("read_mode") == "lease":
        # Lease-mode nodes vote only after one election timeout since they started; let
        # the others' clocks run that long first (their own campaigns go nowhere).
        others = [i for i in net.ids if i != "n1"]
        net.tick(others, n=net.cores["n2"].config.election_ticks, drop=lambda m: True)
    net.elect("n1")
    net.cores["n1"].propose({"op": "write", "key": "a", "value": 1})
    net.deliver()
    assert net.cores["n1"].commit_index == 2
    return net


def test_read_index_is_answered_only_after_a_quorum_echoes_a_later_heartbeat():
    net = _leader()
    c1 = net.cores["n1"]
    c1.read_index("r1")
    rd = c1.ready()
    assert rd.reads == []  # not before the round
    beats = [m for m in rd.messages if m.type == HEARTBEAT]
    assert {m.dst for m in beats} == {"n2", "n3"}
    ctx = beats[0].context
    assert ctx > 0 and all(m.context == ctx for m in beats)
    # An echo of an *earlier* round confirms nothing about this read.
    c1.step(_echo(beats[0], ctx - 1))
    assert c1.ready().reads == []
    # One follower's echo of this round makes a quorum of two with the leader itself.
    c1.step(_echo(beats[0], ctx))
    rd = c1.ready()
    assert [(r.request_id, r.index) for r in rd.reads] == [("r1", 2)]


def _echo(beat: Message, ctx: int) -> Message:
    return Message(HEARTBEAT_RESP, beat.dst, beat.src, beat.term, context=ctx)


def test_many_reads_between_two_ready_calls_share_one_round():
    net = _leader()
    c1 = net.cores["n1"]
    for k in range(50):
        c1.read_index(k)
    rd = c1.ready()
    assert len([m for m in rd.messages if m.type == HEARTBEAT]) == 2
    net.inflight.extend(rd.messages)
    net.deliver()
    assert [r.request_id for r in net.reads["n1"]] == list(range(50))


def test_read_index_waits_for_an_entry_of_the_leaders_term():
    net = Net(3)
    c1 = net.cores["n1"]
    # Win the election but hold back the no-op's replication.
    no_appends = lambda m: m.type == "append"  # noqa: E731
    while c1.role != LEADER:
        net.tick(["n1"], drop=no_appends)
    assert c1.commit_index == 0
    c1.read_index("early")
    net.tick(["n1"], drop=no_appends)  # heartbeats are echoed, yet no answer
    assert net.reads["n1"] == []
    net.tick(["n1"], n=2)
    assert c1.commit_index == 1
    assert [(r.request_id, r.index) for r in net.reads["n1"]] == [("early", 1)]


def test_deposed_leader_never_answers_and_fails_its_pending_reads():
    net = _leader()
    c1 = net.cores["n1"]
    net.isolate("n1")
    c1.read_index("r")
    net.tick(["n2", "n3"], n=60)
    c2, c3 = net.cores["n2"], net.cores["n3"]
    assert LEADER in (c2.role, c3.role)
    # Meanwhile the old leader keeps sending rounds nobody echoes: no answer...
    for _ in range(30):
        if c1.role != LEADER:
            break
        net.tick(["n1"])
        assert net.reads["n1"] == []
    # ...and once CheckQuorum deposes it, the read fails so the client can retry elsewhere.
    assert c1.role == FOLLOWER
    assert net.failed_reads["n1"] == ["r"]
    assert net.reads["n1"] == []


def test_read_fails_when_a_higher_term_deposes_the_leader():
    net = _leader()
    c1 = net.cores["n1"]
    c1.read_index("r")
    c1.step(Message("append_resp", "n2", "n1", c1.term + 1, reject=True))
    net.collect()
    assert c1.role == FOLLOWER and net.failed_reads["n1"] == ["r"]


def test_stale_read_bug_answers_at_once_even_when_cut_off():
    net = _leader(bugs=frozenset({"stale-read"}))
    c1 = net.cores["n1"]
    net.isolate("n1")
    c1.read_index("r")
    rd = c1.ready()
    assert [(r.request_id, r.index) for r in rd.reads] == [("r", 2)]
    assert not [m for m in rd.messages if m.type == HEARTBEAT]


def test_lease_read_is_immediate_while_the_lease_holds_then_needs_a_round():
    net = _leader(read_mode="lease")
    c1 = net.cores["n1"]
    net.tick(["n1"])  # a heartbeat round acknowledged by a quorum grants the lease
    c1.read_index("fast")
    assert [r.request_id for r in c1.ready().reads] == ["fast"]
    net.isolate("n1")
    lease = c1.config.election_ticks - LEASE_DRIFT_TICKS
    net.tick(["n1"], n=lease)  # no acknowledgements: the lease runs out
    c1.read_index("slow")
    rd = c1.ready()
    assert rd.reads == []
    net.inflight.extend(rd.messages)
    net.deliver()
    assert net.reads["n1"] == []


def test_lease_no_quorum_bug_keeps_serving_and_leading_when_cut_off():
    net = _leader(read_mode="lease", bugs=frozenset({"lease-no-quorum"}))
    c1 = net.cores["n1"]
    net.isolate("n1")
    net.tick(["n2", "n3"], n=60)
    net.tick(["n1"], n=60)
    assert c1.role == LEADER  # CheckQuorum never deposed it
    c1.read_index("stale")
    assert [r.request_id for r in c1.ready().reads] == ["stale"]


def test_lease_mode_without_the_bug_steps_down_when_cut_off():
    net = _leader(read_mode="lease")
    net.isolate("n1")
    net.tick(["n1"], n=60)
    assert net.cores["n1"].role != LEADER


def test_in_lease_mode_a_restarted_node_votes_for_no_new_term_for_one_timeout():
    net = Net(3, read_mode="lease")
    c2 = net.cores["n2"]
    c2.step(Message("vote", "n1", "n2", 1))
    assert c2.ready().messages == [] and c2.term == 0  # ignored, term not adopted
    net.tick(["n2"], n=c2.config.election_ticks)
    c2.step(Message("vote", "n1", "n2", 1))
    [resp] = c2.ready().messages
    assert resp.type == "vote_resp" and not resp.reject
    # Other read modes need no such wait.
    fresh = Net(3).cores["n2"]
    fresh.step(Message("vote", "n1", "n2", 1))
    assert not fresh.ready().messages[0].reject
