"""The membership fault's impatient operator (`overlap: true`, issue 24): changes sent one
after another without waiting for commits, so that under a partition that cuts the leader
off, two changes can be in flight at once, if the node takes them.

What a user checks is the leader's configuration (`raftquake kv member list`: voters,
learners, committed or not): against a cut-off leader, the same drawing leaves the
planted bug unsafe-membership's leader two voters away from the last committed
configuration, while a correct leader stays within one and refuses the second change.
"""

from __future__ import annotations

import random

import pytest

from harness.backends.sim.adapter import SimBackendCluster, rules_in_ms
from harness.backends.sim.cluster import SimCluster, SimConfig
from harness.nemesis import make_fault
from harness.nemesis.membership import OVERLAP_SHARE, MembershipFault
from raftnode.membership import ChangeRefused

NODES = ["n1", "n2", "n3", "n4", "n5"]


def _cut_off_leader_changing(bugs: frozenset[str], seed: int = 3):
    """A 5-node cluster at the node's own timing; the leader and one follower cut off from
    the other three (partition mode minority), then the impatient operator's rolling
    removal of two of those three. Returns the cluster, the fault, the two sides and the
    configurations the cut-off leader showed, polled every 50 ms while it still led."""
    sim = SimCluster(SimConfig(nodes=5, seed=seed, trace=False, tick_ms=50.0, bugs=bugs))
    assert sim.run_until(lambda: sim.leader() is not None, 5_000)
    sim.run_for(500)  # the leader has committed an entry of its term
    c = SimBackendCluster(sim)
    cut = make_fault({"fault": "partition", "mode": "minority"}, c, random.Random(seed))
    near, far = cut.start()["groups"]
    lead = sim.leader()
    assert lead in near and len(near) == 2 and len(far) == 3
    sim.run_for(rules_in_ms())  # the rules are in
    spec = {"fault": "membership", "mode": "remove", "overlap": True, "target": far[:2]}
    fault = make_fault(spec, c, random.Random(seed))
    applied = fault.start()
    assert applied == {"mode": "remove", "overlap": True, "nodes": far[:2]}
    seen = []
    for _ in range(8):  # 0.4 s: CheckQuorum deposes a cut-off leader after 0.5-1 s
        sim.run_for(50)
        if sim.nodes[lead].core.role != "leader":
            break
        seen.append(c.members())
    assert seen and all(m["leader"] == lead for m in seen)
    return sim, c, fault, lead, far, seen


def test_a_cut_off_buggy_leader_takes_the_second_change_while_the_first_is_uncommitted():
    sim, c, fault, lead, far, seen = _cut_off_leader_changing(frozenset({"unsafe-membership"}))
    # At some poll both removals of the far side are in force at the cut-off leader: a
    # configuration of three voters, two servers away from the committed five ...
    two_away = [m for m in seen if set(NODES) - set(m["voters"]) == set(far[:2])]
    assert two_away
    # ... two of them on its side, so it commits alone (the far side, still in the
    # five-voter configuration it never received, elects a leader of its own).
    m = two_away[0]
    assert len(set(m["voters"]) - set(far)) >= len(m["voters"]) // 2 + 1


def test_a_correct_cut_off_leader_refuses_the_second_change():
    sim, c, fault, lead, far, seen = _cut_off_leader_changing(frozenset())
    # The operator kept sending (the first removal, then the next change at every poll) ...
    assert fault._plan.sent >= 3
    # ... but the leader took one: never more than one voter from the committed five.
    assert all(len(set(NODES) - set(m["voters"])) <= 1 for m in seen)
    assert seen[-1]["committed"] is False
    assert set(NODES) - set(seen[-1]["voters"]) == {far[0]}
    # What the operator's second command gets: refused while the first is uncommitted.
    with pytest.raises(ChangeRefused, match="earlier change is not committed"):
        c.member_change("remove", far[1])


def test_overlap_heals_back_to_the_initial_membership():
    sim, c, fault, lead, far, seen = _cut_off_leader_changing(frozenset())
    sim.network.blocked.clear()  # the partition heals (as its fault's heal does)
    fault.heal()

    def initial_again() -> bool:
        m = c.members()
        return bool(m and m["committed"] and set(m["voters"]) == set(NODES))

    assert sim.run_until(initial_again, 20_000)


def test_overlap_is_drawn_for_remove_only_and_checked_like_any_option():
    rng = random.Random(1)
    draws = [MembershipFault.draw(rng, NODES, "one") for _ in range(600)]
    removes = [d for d in draws if d["mode"] == "remove"]
    assert not any(d.get("overlap") for d in draws if d["mode"] != "remove")
    share = sum(bool(d.get("overlap")) for d in removes) / len(removes)
    assert abs(share - OVERLAP_SHARE) < 0.1
    for d in draws:  # every drawn spec is one the fault accepts
        MembershipFault.validate(d, NODES)
