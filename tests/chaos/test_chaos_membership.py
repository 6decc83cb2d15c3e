"""The membership fault on real containers: a fresh member's container joins and leaves,
the leader removes itself, a member is wiped and added back empty; each heal restores
the initial membership and the committed logs agree. Kept short (make test's budget):
one 3-node cluster through all three modes."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from checkers import check_election_safety, check_log_agreement, events_files, node_logs
from harness.nemesis import Nemesis, make_fault
from raftnode.client import OK
from tests.chaos.test_chaos_faults import get, put, wait_until

pytestmark = pytest.mark.chaos


def _voters(cluster) -> list[str] | None:
    m = cluster.members()
    return sorted(m["voters"]) if m and m["committed"] and not m["learners"] else None


def test_membership_fault_grows_shrinks_wipes_and_heals(make_cluster, tmp_path: Path):
    cluster = make_cluster(3)
    cluster.wait_for_leader(15)
    nem = Nemesis()
    rng = random.Random(1)
    assert put(cluster.addrs(), "k", 1).outcome == OK

    # grow: a fourth container on the run's network, added as a learner, then a voter.
    grow = make_fault({"fault": "membership", "mode": "grow"}, cluster, rng)
    (new,) = nem.start(grow)["nodes"]
    assert new == "n4" and new in cluster.nodes
    wait_until("n4 a voter", lambda: _voters(cluster) == ["n1", "n2", "n3", "n4"], 30)
    assert put(cluster.addrs(), "k", 2).outcome == OK
    assert cluster.status(new)["config"]["voters"] == ["n1", "n2", "n3", "n4"]
    grow.heal()
    wait_until("n4 gone", lambda: _voters(cluster) == ["n1", "n2", "n3"], 30)
    wait_until("n4 stopped", lambda: new in cluster.retired)
    # A fault drawn while n4 was a member reaches it once it is stopped for good (a
    # package run's partition failed so, exit 137): nothing left to do there, no error.
    cluster.cut_many([("n1", new)])
    cluster.kill(new)
    cluster.heal_network()

    # remove the leader: it steps down, another leads; heal adds it back.
    leader = cluster.leader()
    out = make_fault({"fault": "membership", "mode": "remove", "target": "leader"}, cluster, rng)
    assert nem.start(out)["nodes"] == [leader]
    wait_until(
        "the leader out", lambda: (v := _voters(cluster)) is not None and leader not in v, 30
    )
    assert cluster.leader() != leader
    assert put(cluster.addrs(), "k", 3).outcome == OK
    out.heal()
    wait_until("back to three", lambda: _voters(cluster) == ["n1", "n2", "n3"], 30)

    # wipe a follower: out, its data deleted, back in empty; it catches up.
    victim = next(n for n in cluster.nodes if n != cluster.leader())
    wipe = make_fault({"fault": "membership", "mode": "wipe", "target": victim}, cluster, rng)
    nem.start(wipe)
    wait_until("the victim out", lambda: (v := _voters(cluster)) is not None and victim not in v)

    def empty_starts() -> int:
        return cluster.exec(victim, ["cat", "/data/node/events.jsonl"])[1].count('"empty": true')

    wait_until("wiped", lambda: empty_starts() == 2, 30)  # its first start, and now
    wait_until("back to three", lambda: _voters(cluster) == ["n1", "n2", "n3"], 30)
    wipe.heal()
    assert put(cluster.addrs(), "k", 4).outcome == OK
    assert get(cluster.addrs(), "k").value == 4

    cluster.collect(tmp_path)
    assert check_log_agreement(node_logs(tmp_path)).valid
    r = check_election_safety(events_files(tmp_path))
    assert r.valid, r.to_text()
    events = (tmp_path / "nodes" / victim / "events.jsonl").read_text()
    assert events.count('"empty": true') == 2  # its first start, and after the wipe
