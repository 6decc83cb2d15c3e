"""Snapshots in the core: compaction, InstallSnapshot in chunks (paper Figure 13), and what
a follower keeps or discards of its log when a snapshot arrives."""

from __future__ import annotations

import pytest

import raftnode.core as core_mod
from raftnode.core import (
    APPEND_RESP,
    SNAPSHOT,
    SNAPSHOT_RESP,
    Config,
    Entry,
    HardState,
    Message,
    RaftCore,
    Snapshot,
)
from raftnode.membership import REMOVE
from raftnode.rafttest import Net


def cmd(i: int) -> dict:
    return {"op": "write", "key": "x", "value": i}


def write(net: Net, leader: str, n: int) -> None:
    for i in range(n):
        net.cores[leader].propose(cmd(i))
        net.deliver()


def compact(net: Net, node: str, data: str) -> Snapshot:
    core = net.cores[node]
    index = core.commit_index
    snap = Snapshot(index, core.term_at(index), data)
    core.compact(snap)
    net.deliver()
    assert core.snapshot.data == data and core.snapshot.config is not None
    return core.snapshot  # with the configuration as of its index


def test_a_lagging_follower_is_caught_up_by_a_chunked_install_snapshot(monkeypatch):
    monkeypatch.setattr(core_mod, "SNAPSHOT_CHUNK", 100)
    net = Net(3, seed=1)
    net.elect("n1")
    net.crash("n3")
    write(net, "n1", 30)
    data = "state:" + "x" * 1000  # eleven chunks
    snap = compact(net, "n1", data)
    assert net.cores["n1"].entry(snap.index) is None  # compacted away
    assert net.disks["n1"].snapshot == snap  # and durable
    write(net, "n1", 5)

    net.start("n3")
    net.tick(n=30)
    n1, n3 = net.cores["n1"], net.cores["n3"]
    assert n3.snapshot == snap
    assert net.disks["n3"].snapshot == snap
    assert n3.commit_index == n1.commit_index == n1.last_index
    assert n3.entries_from(1) == n1.entries_from(1)  # the 5 entries after the snapshot
    chunks = [m for m in net.delivered if m.type == SNAPSHOT and m.dst == "n3"]
    assert len({m.offset for m in chunks}) == 11
    assert [e for e in net.events["n3"] if "snapshot" in e][0]["from"] == "n1"


def test_a_lost_chunk_is_sent_again(monkeypatch):
    monkeypatch.setattr(core_mod, "SNAPSHOT_CHUNK", 100)
    net = Net(3, seed=2)
    net.elect("n1")
    net.crash("n3")
    write(net, "n1", 10)
    snap = compact(net, "n1", "y" * 450)
    net.start("n3")
    dropped: list[Message] = []

    def drop_once(m: Message) -> bool:
        if m.type == SNAPSHOT and m.offset == 200 and not dropped:
            dropped.append(m)
            return True
        return False

    net.tick(n=30, drop=drop_once)
    assert dropped
    assert net.cores["n3"].snapshot == snap


def test_a_snapshot_replaces_a_conflicting_log():
    # n3 holds entries of term 1 that the leader's log does not have (Figure 13, step 7).
    stale = [Entry(1, i, cmd(-i)) for i in range(1, 8)]
    net = Net(3, seed=3, logs={"n3": stale}, hard={i: HardState(1) for i in ("n1", "n2", "n3")})
    net.crash("n3")
    net.elect("n1")
    write(net, "n1", 12)
    snap = compact(net, "n1", "{}")
    write(net, "n1", 2)
    net.start("n3")
    net.tick(n=30)
    n3 = net.cores["n3"]
    assert n3.snapshot == snap
    assert all(e.term > 1 for e in n3.entries_from(1))
    assert n3.entries_from(1) == net.cores["n1"].entries_from(1)


def test_a_follower_keeps_the_entries_after_a_snapshot_its_log_matches():
    log = [Entry(1, i, cmd(i)) for i in range(1, 11)]
    core = RaftCore("n2", ["n1", "n2", "n3"], Config(), __import__("random").Random(0),
                    HardState(1), log)  # fmt: skip
    core.step(Message(SNAPSHOT, "n1", "n2", 1, log_term=1, index=6, data="s", done=True))
    rd = core.ready()
    assert rd.snapshot == Snapshot(6, 1, "s")
    assert [e.index for e in core.entries_from(1)] == [7, 8, 9, 10]
    # The Ready holds the whole log after the snapshot, to replace the stored one.
    assert [e.index for e in rd.entries] == [7, 8, 9, 10]
    assert core.commit_index == 6
    assert [m.type for m in rd.messages] == [SNAPSHOT_RESP] and rd.messages[0].done


def test_compact_refuses_a_snapshot_that_does_not_match_the_log():
    net = Net(3, seed=4)
    net.elect("n1")
    write(net, "n1", 3)
    core = net.cores["n1"]
    with pytest.raises(ValueError, match="does not match the log"):
        core.compact(Snapshot(core.last_index, core.term + 5, "{}"))
    with pytest.raises(ValueError, match="does not match the log"):
        core.compact(Snapshot(core.last_index + 1, core.term, "{}"))


def test_a_restarted_node_starts_from_its_snapshot_and_the_log_after_it():
    net = Net(3, seed=5)
    net.elect("n1")
    write(net, "n1", 8)
    snap = compact(net, "n1", "{}")
    write(net, "n1", 3)
    before = net.cores["n1"].entries_from(1)
    net.crash("n1")
    net.start("n1")
    core = net.cores["n1"]
    assert core.snapshot == snap and core.snapshot_index == snap.index
    assert core.entries_from(1) == before
    assert core.last_index == snap.index + 3


def test_a_snapshot_carries_the_configuration_of_the_entries_it_replaced():
    net = Net(5, seed=6)
    net.elect("n1")
    net.crash("n4")  # misses the change and everything after it
    write(net, "n1", 2)
    net.cores["n1"].propose_change(REMOVE, "n5")
    net.deliver()
    write(net, "n1", 3)
    snap = compact(net, "n1", "{}")
    assert snap.config["voters"] == ["n1", "n2", "n3", "n4"]
    assert net.cores["n1"].entries_from(1) == []  # the change itself was compacted away
    # A follower that installs it takes that configuration, and so does a restart.
    net.start("n4")
    net.tick(n=30)
    assert net.cores["n4"].snapshot == snap
    assert net.cores["n4"].membership.voters == {"n1", "n2", "n3", "n4"}
    net.crash("n1")
    net.start("n1")
    assert net.cores["n1"].membership.voters == {"n1", "n2", "n3", "n4"}


def test_a_reject_below_a_snapshot_taken_since_leads_the_follower_to_it():
    # n3's log conflicts (term 1 where the others hold term 2). The leader backs up to
    # n3's conflict, and before n3's reject arrives it compacts past it: the reject
    # names an entry the leader no longer holds. Found by a package.yaml sim run (seed
    # 11, 2026-11-29), where the leader crashed on it.
    mixed = [Entry(1, i, cmd(i)) for i in range(1, 6)] + [Entry(2, i, cmd(i)) for i in range(6, 13)]
    stale = [Entry(1, i, cmd(-i)) for i in range(1, 11)]
    hard = {"n1": HardState(2), "n2": HardState(2), "n3": HardState(1)}
    net = Net(3, seed=5, logs={"n1": mixed, "n2": mixed, "n3": stale}, hard=hard)
    net.crash("n3")
    net.elect("n1")
    held: list[Message] = []

    def hold(m: Message) -> bool:
        if m.type == APPEND_RESP and m.src == "n3" and m.reject and m.conflict_term:
            held.append(m)
            return True
        return False

    net.start("n3")
    for _ in range(50):
        if held:
            break
        net.tick(drop=hold)
    assert held and held[0].index < net.cores["n1"].commit_index
    snap = compact(net, "n1", "{}")
    assert held[0].index < snap.index
    net.cores["n1"].step(held[0])
    net.tick(n=30)
    n1, n3 = net.cores["n1"], net.cores["n3"]
    assert n3.snapshot == snap
    assert n3.commit_index == n1.commit_index and n3.entries_from(1) == n1.entries_from(1)
