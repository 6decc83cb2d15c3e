"""A member restarted with its data lost under the same id (its data directory deleted or
restored from an old copy): a leader's heartbeat carries min(its match, commit), so a
commit beyond the member's log shows that the log it acknowledged is gone. etcd-io/raft
panics there ("tocommit(N) is out of range [lastIndex(M)]. Was the raft log corrupted,
truncated, or lost?"). Our core does not crash: it says so once (an event) and takes no
part (it forgot its term and its votes): no votes, no campaigns, no answers to the leader,
until it is removed and added back as a new member."""

from __future__ import annotations

from raftnode.core import FOLLOWER, HEARTBEAT_RESP, LEADER, PREVOTE_RESP, VOTE_RESP
from raftnode.membership import ADD_LEARNER, REMOVE
from raftnode.rafttest import Net
from raftnode.storage import MemoryStorage


def _loaded(n: int = 3, writes: int = 30) -> Net:
    net = Net(n)
    net.elect("n1")
    for v in range(writes):
        net.cores["n1"].propose({"op": "write", "key": "k", "value": v})
    net.tick(n=3)
    assert all(net.cores[i].commit_index == net.cores["n1"].commit_index for i in net.ids)
    return net


def _wipe(net: Net, i: str) -> None:
    """Crash `i`, delete everything it persisted, start it again under the same id."""
    net.crash(i)
    net.disks[i] = MemoryStorage()
    net.start(i)


def _lost(net: Net, i: str) -> list[dict]:
    return [e for e in net.events[i] if "log_lost" in e]


def test_a_wiped_member_says_once_that_its_log_is_gone_and_answers_no_leader():
    net = _loaded()
    commit = net.cores["n1"].commit_index
    _wipe(net, "n3")
    sent_before = len(net.delivered)
    net.tick(["n1"], n=5)  # heartbeats
    (event,) = _lost(net, "n3")  # once, however many heartbeats follow
    assert event["log_lost"] == {"leader": "n1", "leader_commit": commit, "last_index": 0}
    lost = net.cores["n3"]
    assert lost.log_lost == event["log_lost"] and lost.status()["log_lost"] == event["log_lost"]
    assert lost.commit_index == 0 and lost.role == FOLLOWER
    # It answers nothing the leader could count (a heartbeat's echo confirms reads).
    assert not [m for m in net.delivered[sent_before:] if m.src == "n3"]


def test_a_wiped_member_votes_for_no_one_and_never_campaigns():
    net = _loaded()
    _wipe(net, "n3")
    net.tick(["n1"], n=2)
    assert _lost(net, "n3")
    net.crash("n1")
    # n2 campaigns: n3 forgot whether it voted in this term, so it refuses; with n1 down
    # no majority can form, which is what keeps two leaders out of one term. n3's own
    # timeouts pass too: it never campaigns.
    before = len(net.delivered)
    net.tick(["n2", "n3"], n=80)
    from_n3 = [m for m in net.delivered[before:] if m.src == "n3"]
    assert from_n3 and all(m.type in (PREVOTE_RESP, VOTE_RESP) and m.reject for m in from_n3)
    assert not net.leaders() and net.cores["n3"].role == FOLLOWER


def test_a_member_restarted_with_its_data_is_not_taken_for_a_wiped_one():
    net = _loaded()
    net.crash("n3")
    net.start("n3")  # its durable state as it was
    net.tick(n=5)
    assert not _lost(net, "n3") and net.cores["n3"].log_lost is None
    assert net.cores["n3"].commit_index == net.cores["n1"].commit_index
    assert [m for m in net.delivered[-20:] if m.src == "n3" and m.type == HEARTBEAT_RESP]


def test_removed_and_added_back_as_a_new_member_it_catches_up_and_takes_part_again():
    # The documented way back: `kv member remove n3`, then n3 started empty with --join,
    # `kv member add n3=...`: the leader's record of n3 starts afresh, nothing is lost.
    net = _loaded()
    _wipe(net, "n3")
    net.tick(["n1"], n=2)
    assert _lost(net, "n3")
    lead = net.cores["n1"]
    lead.propose_change(REMOVE, "n3")
    net.tick(["n1"], n=3)
    net.crash("n3")
    net.add_node("n3")  # empty again, a new process
    lead.propose_change(ADD_LEARNER, "n3", "h3:1")
    net.tick(n=20)
    n3 = net.cores["n3"]
    assert n3.log_lost is None and not _lost(net, "n3")
    assert n3.membership.voters == {"n1", "n2", "n3"}
    assert n3.commit_index == lead.commit_index
    assert [e.command for e in n3.entries_from(1)] == [e.command for e in lead.entries_from(1)]
    net.crash("n1")  # n3 votes again: n2 and n3 elect a leader
    net.tick(["n2", "n3"], n=80)
    assert net.leaders() and net.cores[net.leaders()[0]].role == LEADER


def test_a_wiped_member_started_with_join_takes_a_stale_heartbeat_for_its_predecessor():
    # A heartbeat the leader sent n3 before removing it, delayed in the network, reaches
    # the empty server started (with --join) under n3's name: its commit is beyond that
    # empty log, but this server has acknowledged nothing yet. It must neither flag a lost
    # log (it would then stay out for good once added back) nor answer (its echo would
    # confirm reads for a leader it knows nothing of).
    net = _loaded()
    stale: list = []
    net.tick(["n1"], drop=lambda m: m.dst == "n3" and m.commit > 0 and not stale.append(m))
    assert stale, "no heartbeat to n3 carried a commit"
    lead = net.cores["n1"]
    lead.propose_change(REMOVE, "n3")
    net.tick(["n1"], n=3)
    assert "n3" not in lead.membership.members
    net.crash("n3")
    net.add_node("n3", join=True)
    n3 = net.cores["n3"]
    assert "n3" not in n3.membership.members  # waiting to be added
    before = len(net.delivered)
    n3.step(stale[-1])
    net.deliver()
    assert n3.log_lost is None and not _lost(net, "n3")
    assert not [m for m in net.delivered[before:] if m.src == "n3"]
    lead.propose_change(ADD_LEARNER, "n3", "h3:1")
    net.tick(n=20)
    assert n3.membership.voters == {"n1", "n2", "n3"} and n3.commit_index == lead.commit_index
    # A member again: the same stale heartbeat is below its log now, and it takes part.
    net.crash("n1")
    net.tick(["n2", "n3"], n=80)
    assert net.leaders()


def test_a_server_waiting_to_be_added_votes_for_no_one():
    # Found by the membership property test (two leaders of term 2): n3 was removed while
    # cut off, so it still holds the first configuration [n1, n2, n3]; n1 then removed
    # itself and n2 leads [n2] alone. n1's data is wiped and it starts again with --join,
    # empty. The old n1 held the removals and would have refused n3 (a shorter log); the
    # new one knows nothing, and its vote under that name gave n3 a majority of a
    # configuration that no longer exists. A server outside its own configuration votes
    # for no one, so n3 cannot lead beside n2.
    net = _loaded()
    net.isolate("n3")
    lead = net.cores["n1"]
    lead.propose_change(REMOVE, "n3")
    net.tick(["n1"], n=3)
    lead.propose_change(REMOVE, "n1")
    net.tick(["n1"], n=3)
    assert lead.membership.voters == {"n2"} and lead.commit_index == lead.last_index
    net.crash("n1")
    net.elect("n2")
    net.add_node("n1", join=True)  # wiped, waiting to be added back
    assert "n1" not in net.cores["n1"].membership.members
    assert net.cores["n3"].membership.voters == {"n1", "n2", "n3"}  # stale, cut off
    net.heal()
    before = len(net.delivered)
    net.tick(["n3"], n=80)  # n3's timeouts: it campaigns under its stale configuration
    from_n1 = [m for m in net.delivered[before:] if m.src == "n1"]
    assert from_n1 and all(m.type in (PREVOTE_RESP, VOTE_RESP) and m.reject for m in from_n1)
    assert net.leaders() == ["n2"]


def test_an_answer_from_a_wiped_members_earlier_life_does_not_count_for_the_new_one():
    # n3 acknowledges entries, is removed, wiped and added back empty (--join) in the same
    # term; its earlier acknowledgement, delayed in the network, reaches the leader after
    # the new record was made. Taken, it set match beyond the empty log, the leader never
    # sent what lies below, and the new n3 stayed a learner with nothing (membership soak,
    # derandomize off, seed 14). Answers echo the record they answer (Progress.epoch).
    net = _loaded()
    lead = net.cores["n1"]
    stale: list = []
    lead.propose({"op": "write", "key": "k", "value": "late"})
    net.deliver(drop=lambda m: m.src == "n3" and m.type == "append_resp" and not stale.append(m))
    assert stale and not stale[-1].reject and stale[-1].index == lead.last_index
    lead.propose_change(REMOVE, "n3")
    net.tick(["n1"], n=3)
    net.crash("n3")
    net.add_node("n3", join=True)
    lead.propose_change(ADD_LEARNER, "n3", "h3:1")
    lead.step(stale[-1])  # arrives now, same term
    net.tick(n=30)
    n3 = net.cores["n3"]
    assert n3.membership.voters == {"n1", "n2", "n3"}
    assert n3.commit_index == lead.commit_index and n3.last_index == lead.last_index
