"""Membership changes in the core (raftnode/membership.py): single-server changes, learners
promoted once caught up, one change at a time, a removed leader stepping down."""

from __future__ import annotations

import random

import pytest

from raftnode.core import FOLLOWER, LEADER, Config, Entry, RaftCore, Snapshot
from raftnode.membership import (
    ADD_LEARNER,
    PROMOTE_LAG,
    REMOVE,
    ChangeRefused,
    Membership,
    change_command,
    configuration,
)
from raftnode.rafttest import Net


def _write(net: Net, leader: str, v: int) -> int:
    return net.cores[leader].propose({"op": "write", "key": "k", "value": v})


def _settle(net: Net, ticks: int = 5) -> None:
    net.tick(n=ticks)


def test_configuration_is_the_latest_change_in_the_log_committed_or_not():
    base = Membership.initial(["n1", "n2", "n3"])
    log = [
        Entry(1, 1, None),
        Entry(1, 2, change_command(ADD_LEARNER, "n4", "h4:1")),
        Entry(1, 3, {"op": "write", "key": "a", "value": 1}),
        Entry(1, 4, change_command("promote", "n4")),
        Entry(1, 5, change_command(REMOVE, "n1")),
    ]
    assert configuration(base, log[:2]).learners == {"n4"}
    m = configuration(base, log)
    assert m.voters == {"n2", "n3", "n4"} and not m.learners
    assert m.addrs["n4"] == "h4:1"
    assert configuration(base, []) == base


def test_a_new_member_joins_as_a_learner_and_is_promoted_once_caught_up():
    net = Net(3)
    net.elect("n1")
    for v in range(20):
        _write(net, "n1", v)
    net.deliver()
    net.add_node("n4")
    lead = net.cores["n1"]
    lead.propose_change(ADD_LEARNER, "n4", "h4:1")
    net.deliver()
    # Before it caught up it is a learner everywhere it is known, and does not count.
    assert "n4" in lead.membership.learners or "n4" in lead.membership.voters
    _settle(net, 10)
    for i in ("n1", "n2", "n3", "n4"):
        m = net.cores[i].membership
        assert m.voters == {"n1", "n2", "n3", "n4"}, (i, m)
        assert not m.learners
    assert net.cores["n4"].last_index == lead.last_index
    assert net.cores["n4"].commit_index == lead.commit_index


def test_a_learner_never_campaigns_nor_counts_as_a_vote():
    net = Net(3)
    net.elect("n1")
    net.add_node("n4")
    net.cores["n1"].propose_change(ADD_LEARNER, "n4")
    # Keep it a learner: the leader never hears it caught up.
    net.deliver(drop=lambda m: m.src == "n4")
    assert "n4" in net.cores["n1"].membership.learners
    net.crash("n1")
    for _ in range(100):
        net.cores["n4"].tick()
    net.deliver()
    assert net.cores["n4"].role == FOLLOWER


def test_a_node_outside_the_configuration_does_not_campaign():
    core = RaftCore("n9", ["n1", "n2", "n3"], Config(), random.Random(0))
    for _ in range(100):
        core.tick()
    assert core.role == FOLLOWER and not core.ready().messages


def test_one_change_at_a_time():
    net = Net(3)
    net.elect("n1")
    lead = net.cores["n1"]
    net.add_node("n4")
    lead.propose_change(ADD_LEARNER, "n4")
    with pytest.raises(ChangeRefused) as exc:
        lead.propose_change(REMOVE, "n3")
    assert exc.value.reason == "change-in-progress"
    net.deliver()  # it commits
    lead.propose_change(REMOVE, "n3")


def test_a_new_leader_changes_nothing_before_it_commits_an_entry_of_its_term():
    net = Net(3)
    lead = net.cores["n1"]
    no_acks = lambda m: m.type == "append_resp"  # noqa: E731
    for _ in range(100):
        if lead.role == LEADER:
            break
        lead.tick()
        net.deliver(drop=no_acks)
    assert lead.role == LEADER
    with pytest.raises(ChangeRefused, match="this term"):
        lead.propose_change(REMOVE, "n3")
    net.tick(n=2)
    lead.propose_change(REMOVE, "n3")


def test_nonsense_changes_are_refused():
    net = Net(3)
    net.elect("n1")
    lead = net.cores["n1"]
    with pytest.raises(ChangeRefused, match="already"):
        lead.propose_change(ADD_LEARNER, "n2")
    with pytest.raises(ChangeRefused, match="not a member"):
        lead.propose_change(REMOVE, "n7")
    one = Net(1)
    one.elect("n1")
    with pytest.raises(ChangeRefused, match="last voter"):
        one.cores["n1"].propose_change(REMOVE, "n1")


def test_a_removed_leader_steps_down_once_its_removal_commits():
    net = Net(3)
    net.elect("n1")
    lead = net.cores["n1"]
    lead.propose_change(REMOVE, "n1")
    # In force at once: n1 no longer counts itself, yet still leads until it commits.
    assert "n1" not in lead.membership.voters and lead.role == LEADER
    net.deliver()
    assert lead.role == FOLLOWER
    for i in ("n2", "n3"):
        assert net.cores[i].membership.voters == {"n2", "n3"}
    # The others elect one of them; n1 never campaigns again.
    net.tick(n=60)
    leaders = net.leaders()
    assert len(leaders) == 1 and leaders[0] in ("n2", "n3")
    new = net.cores[leaders[0]]
    idx = new.propose({"op": "write", "key": "a", "value": 1})
    net.deliver()
    assert new.commit_index >= idx


def test_a_leader_deposed_before_its_own_removal_commits_is_still_elected_to_finish_it():
    # n3 leads [n1, n3] and appends its own removal; nobody else has it when n3 crashes.
    # n1 is still under [n1, n3] and needs n3's vote, which n3 refuses (its log, holding
    # the change, is longer). If n3, no longer in its own latest configuration, never
    # campaigned, nobody could ever be elected (the simulation found this).
    net = Net(3)
    net.elect("n3")
    n3 = net.cores["n3"]
    n3.propose_change(REMOVE, "n2")
    net.tick(["n3"], n=3)
    assert n3.membership.voters == {"n1", "n3"} and n3.membership_committed
    net.crash("n2")
    n3.propose_change(REMOVE, "n3")
    net.collect()
    net.inflight.clear()  # the change reached no one
    net.crash("n3")
    net.start("n3")
    assert net.cores["n3"].membership.voters == {"n1"}
    assert net.cores["n1"].membership.voters == {"n1", "n3"}
    net.tick(["n1", "n3"], n=200)
    # The change commits, n3 leaves, and n1 leads the configuration it names.
    n1 = net.cores["n1"]
    assert n1.membership.voters == {"n1"} and n1.membership_committed
    assert net.leaders() == ["n1"]
    idx = n1.propose({"op": "write", "key": "a", "value": 1})
    net.deliver()
    assert n1.commit_index >= idx


def test_a_removed_follower_cannot_disrupt_the_cluster():
    net = Net(3)
    net.elect("n1")
    net.cores["n1"].propose_change(REMOVE, "n3")
    net.deliver(drop=lambda m: m.dst == "n3")  # n3 never learns of it
    net.deliver()
    term = net.cores["n1"].term
    for _ in range(60):
        net.cores["n3"].tick()  # it campaigns: PreVote and CheckQuorum hold it off
        net.deliver()
    assert net.cores["n1"].role == LEADER and net.cores["n1"].term == term


def test_a_cut_change_is_undone():
    net = Net(5)
    net.elect("n1")
    lead = net.cores["n1"]
    # The removal reaches n2 only; n1 and n2 are then cut off and the others elect n3,
    # whose log does not hold it.
    lead.propose_change(REMOVE, "n5")
    net.deliver(drop=lambda m: m.dst != "n2")
    assert net.cores["n2"].membership.voters == {"n1", "n2", "n3", "n4"}
    for i in ("n1", "n2"):
        net.isolate(i)
    net.tick(["n3", "n4", "n5"], n=60)
    (new,) = net.leaders()[1:] or [None]
    assert new in ("n3", "n4", "n5")
    net.heal()
    net.crash("n1")
    net.tick([new], n=5)
    # n2's uncommitted removal was cut, and the configuration with it.
    assert net.cores["n2"].membership.voters == {"n1", "n2", "n3", "n4", "n5"}
    assert net.cores["n2"].entries_from(1) == net.cores[new].entries_from(1)


def test_a_learner_is_promoted_only_once_it_holds_the_change_that_added_it():
    # A learner sent a snapshot from before its addition is within PROMOTE_LAG of the
    # leader, but its own log does not name it yet, so it would vote for no one: promoted
    # then, it counted in quorums it could not help elect (found by the membership
    # property test: a leader of [n1, n2] lost its leadership and n1 refused every vote).
    net = Net(3)
    net.elect("n1")
    for v in range(20):
        _write(net, "n1", v)
    net.tick(n=3)
    lead = net.cores["n1"]
    lead.compact(Snapshot(lead.commit_index, lead.term_at(lead.commit_index), "{}"))
    net.add_node("n4")
    added = lead.propose_change(ADD_LEARNER, "n4", "h4:1")
    # n4 gets the snapshot, never the entries from its addition on.
    net.tick(n=10, drop=lambda m: m.dst == "n4" and any(e.index >= added for e in m.entries))
    n4 = net.cores["n4"]
    assert n4.snapshot_index == lead.snapshot_index and "n4" not in n4.membership.members
    assert lead.last_index - n4.last_index <= PROMOTE_LAG
    assert lead.membership.learners == {"n4"}  # caught up, yet not promoted
    net.tick(n=10)
    assert lead.membership.voters == {"n1", "n2", "n3", "n4"}
    assert n4.membership.voters == {"n1", "n2", "n3", "n4"}
