"""The simulation itself: determinism, and that its faults do what they say."""

from __future__ import annotations

import hashlib

import pytest
from sim_clients import SimClients

from harness.backends.sim import NetworkConfig, SimCluster, SimConfig, planned, simulate
from raftnode.core import LEADER

FAULTS = [
    planned(0.3, 0.4, "partition", mode="one"),
    planned(0.9, 0.2, "kill", target=["n2"]),
    planned(1.2, 0.15, "pause", target=["n3"]),
    planned(1.4, 0.2, "clock", mode="strobe", **{"delta-ms": 300, "period-ms": 50}, target=["n1"]),
    planned(1.5, 0.2, "partition", mode="random", **{"one-way": True}),
    planned(1.6, 0.2, "packet", **{"delay-ms": 20, "loss": 10}, target="all"),
]


def _trace(seed: int) -> bytes:
    config = SimConfig(
        nodes=5,
        seed=seed,
        network=NetworkConfig(1.0, 15.0, drop=0.05, duplicate=0.1, slow=0.02),
    )
    return simulate(config, FAULTS, 2000.0).sim.trace_text().encode()


def test_same_seed_gives_a_byte_identical_trace_and_another_seed_does_not():
    a, b = _trace(7), _trace(7)
    assert len(a) > 10_000  # a real run: elections, traffic, faults, clients
    assert hashlib.sha256(a).digest() == hashlib.sha256(b).digest()
    assert a == b
    assert _trace(8) != a


def _elected(seed: int = 0, **kw) -> SimCluster:
    c = SimCluster(SimConfig(seed=seed, **kw))
    assert c.run_until(lambda: c.leader() is not None, 5000)
    return c


def _with_clients(seed: int = 0, timeout_s: float = 1.0, **kw) -> tuple[SimCluster, SimClients]:
    """An elected cluster, and raftnode's clients over its network (sim_clients.py)."""
    c = SimCluster(SimConfig(seed=seed, **kw))
    s = SimClients(c, timeout_s)
    assert s.run_until(lambda: c.leader() is not None, 5000)
    return c, s


def test_acknowledged_writes_survive_crashing_every_node():
    c, s = _with_clients()
    ops = [s.invoke("write", f"k{i}", i) for i in range(5)]
    assert s.run_until(lambda: all(op.done for op in ops), 1000)
    assert all(op.type == "ok" for op in ops)
    for i in c.ids:
        c.crash(i)
    for i in c.ids:
        c.restart(i)
    c.finish()
    for i in c.ids:
        assert [c.nodes[i].kv.read(f"k{k}") for k in range(5)] == list(range(5))


def test_a_restarted_node_recovers_only_what_was_persisted():
    c, s = _with_clients()
    leader = c.leader()
    follower = next(i for i in c.ids if i != leader)
    w = s.invoke("write", "a", 1)
    assert s.run_until(lambda: w.done, 1000)
    n = c.nodes[follower]
    durable_log, durable_hard = list(n.disk.log), n.disk.hard
    c.crash(follower)
    c.restart(follower)
    core = n.core
    assert core.entries_from(1) == durable_log
    assert core.term == durable_hard.term and core.voted_for == durable_hard.voted_for


def test_a_paused_leader_catches_up_its_ticks_and_yields_to_the_new_leader():
    c = _elected()
    old = c.leader()
    c.pause(old)
    term = c.nodes[old].core.term
    assert c.run_until(lambda: c.leaders_above(term), 5000)
    c.resume(old)
    assert c.run_until(lambda: c.nodes[old].core.role != LEADER, 1000)
    c.finish()
    assert c.nodes[old].core.role != LEADER or c.nodes[old].core.term > term


def test_partitioned_minority_cannot_commit_and_clients_learn_the_outcome():
    c, s = _with_clients(nodes=5, timeout_s=0.5)
    old = c.leader()
    c.network.isolate(old)
    w = s.invoke("write", "x", 1, node=old)
    assert s.run_until(lambda: w.done, 2000)
    # Never acknowledged: it failed or its outcome is unknown, and it is not committed.
    assert w.type in ("fail", "info")
    assert all(e.command is None or e.command.get("key") != "x" for e in c.oracle.applied.values())
    c.finish()


def test_trace_is_identical_across_processes_with_different_hash_seeds():
    # Set and dict iteration must not leak into the schedule: another process, with
    # another string-hash seed, replays the same run byte for byte.
    import os
    import subprocess
    import sys

    code = (
        "import hashlib, sys; sys.path.insert(0, 'tests/sim');"
        "from test_sim_cluster import _trace;"
        "print(hashlib.sha256(_trace(7)).hexdigest())"
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    digests = set()
    for hash_seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        out = subprocess.run(
            [sys.executable, "-c", code],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        digests.add(out.stdout.strip())
    assert digests == {hashlib.sha256(_trace(7)).hexdigest()}


def test_history_events_follow_the_design_format():
    c, s = _with_clients()
    w = s.invoke("write", "a", 1)
    r = s.invoke("read", "a")
    x = s.invoke("cas", "a", [5, 6])
    assert s.run_until(lambda: w.done and r.done and x.done, 1000)
    events = s.history_events()
    assert [e["index"] for e in events] == list(range(6))
    assert all(a["time"] <= b["time"] for a, b in zip(events, events[1:], strict=False))
    invokes = [e for e in events if e["type"] == "invoke"]
    want = [("write", 1), ("read", None), ("cas", [5, 6])]
    assert [(e["f"], e["value"]) for e in invokes] == want
    done = {e["f"]: e for e in events if e["type"] != "invoke"}
    assert done["write"]["type"] == "ok" and done["read"]["type"] == "ok"
    assert done["cas"]["type"] == "fail" and done["cas"]["error"] == "precondition"
    assert done["read"]["value"] in (None, 1)


def test_a_crash_during_an_fsync_loses_that_ready_and_nothing_else():
    c, s = _with_clients(disk_ms=50.0)
    leader = c.leader()
    follower = next(i for i in c.ids if i != leader)
    n = c.nodes[follower]
    before = len(n.disk.log)
    s.invoke("write", "a", 1)
    # The follower holds the new entry in memory while its write is under way.
    assert s.run_until(lambda: n.persisting is not None and n.persisting.entries, 1000)
    in_memory = n.core.last_index
    assert in_memory > before and len(n.disk.log) == before
    c.crash(follower)
    c.restart(follower)
    assert n.core.last_index == before  # the unwritten entries are gone, the rest is there
    c.finish()  # and the cluster still agrees, with the write acknowledged everywhere
    assert all(c.nodes[i].kv.read("a") == 1 for i in c.ids)


def test_a_forward_clock_jump_ends_a_followers_patience_at_once():
    c = _elected()
    leader = c.leader()
    follower = next(i for i in c.ids if i != leader)
    c.network.isolate(follower)
    c.bump_clock(follower, 10 * c.config.tick_ms * c.config.election_ticks)
    # The burst of ticks fired its election timeout: it is (pre-)campaigning now.
    assert c.nodes[follower].core.role in ("pre-candidate", "candidate")
    c.finish()


def test_bridge_partition_via_cut_links_and_packet_loss():
    c, s = _with_clients(nodes=5)
    # Bridge: n3 talks to everyone; {n1, n2} and {n4, n5} cannot reach each other.
    c.network.cut([(a, b) for a in ("n1", "n2") for b in ("n4", "n5")])
    c.network.cut([(b, a) for a in ("n1", "n2") for b in ("n4", "n5")])
    c.network.set_config(NetworkConfig(1.0, 30.0, drop=0.2))
    ops = [s.invoke("write", "k", v) for v in range(5)]
    s.run_for(2000)
    c.finish()
    assert all(op.done for op in ops)
    with pytest.raises(ValueError, match="unknown node"):
        c.network.cut([("n1", "n9")])


# ---- SimCluster.request: the wire protocol, as a client transport uses it -------------


def _ask(c: SimCluster, node: str, req: dict) -> list:
    """Send req to node; the list gets [(virtual time, answer)] once it is answered."""
    got: list = []
    c.request(node, req, lambda answer: got.append((c.now, answer)))
    return got


def test_request_put_then_get_answer_like_the_server_with_index_and_read_at():
    c = _elected()
    leader = c.leader()
    sent_at = c.now
    put = _ask(c, leader, {"op": "put", "key": "k1", "value": 3, "client": "c1", "seq": 1})
    assert put == []  # a write waits for a quorum: answered later, in virtual time
    assert c.run_until(lambda: put, 1000)
    ((at, answer),) = put
    assert at > sent_at
    assert answer["ok"] is True and answer["node"] == leader and answer["index"] >= 2
    get = _ask(c, leader, {"op": "get", "key": "k1", "client": "c1", "seq": 2})
    assert c.run_until(lambda: get, 1000)
    answer = get[0][1]
    assert answer["ok"] is True and answer["value"] == 3
    assert answer["read_at"] >= put[0][1]["index"]
    cas = _ask(c, leader, {"op": "cas", "key": "k1", "expected": 9, "new": 4, "client": "c1",
                           "seq": 3})  # fmt: skip
    assert c.run_until(lambda: cas, 1000)
    assert cas[0][1]["error"] == "precondition" and cas[0][1]["definite"] is True
    status = _ask(c, leader, {"op": "status"})
    assert status[0][1]["value"]["role"] == LEADER  # answered at once


def test_request_to_a_follower_names_the_leader_and_a_down_node_refuses():
    c = _elected()
    leader = c.leader()
    follower = next(i for i in c.ids if i != leader)
    assert c.run_until(lambda: c.nodes[follower].core.leader == leader, 1000)
    got = _ask(c, follower, {"op": "put", "key": "k", "value": 1, "client": "c", "seq": 1})
    answer = got[0][1]
    assert answer["error"] == "not-leader" and answer["definite"] is True
    assert answer["leader"] == leader and answer["leader_addr"] == leader
    c.crash(follower)
    with pytest.raises(ConnectionRefusedError):
        c.request(follower, {"op": "get", "key": "k"}, lambda answer: None)


def test_request_open_when_its_node_crashes_gets_none():
    c = _elected()
    leader = c.leader()
    c.network.isolate(leader)  # it cannot commit: the write stays open
    got = _ask(c, leader, {"op": "put", "key": "k", "value": 1, "client": "c", "seq": 1})
    c.run_for(50)
    assert got == []
    c.crash(leader)
    assert got == [(c.now, None)]


def test_a_paused_node_holds_a_request_and_answers_after_catching_up_its_ticks():
    c = _elected()
    old = c.leader()
    term = c.nodes[old].core.term
    c.pause(old)
    got = _ask(c, old, {"op": "get", "key": "k", "client": "c", "seq": 1})
    assert c.run_until(lambda: c.leaders_above(term), 5000)
    assert got == []  # frozen: held, not refused
    c.resume(old)
    # Its missed ticks ran first: it knows it no longer leads, and says so.
    assert c.run_until(lambda: got, 1000)
    answer = got[0][1]
    assert answer["ok"] is False and answer["error"] == "not-leader"


def test_a_client_over_the_simulated_network_reports_the_servers_errors():
    c, s = _with_clients()
    follower = next(i for i in c.ids if i != c.leader())
    # Cut off, the follower soon knows no leader: its client, which knows no other node,
    # hears "not-leader" until its time is up, and the write certainly did not happen.
    c.network.isolate(follower)
    assert s.run_until(lambda: c.nodes[follower].core.leader is None, 5000)
    op = s.invoke("write", "a", 1, node=follower)
    assert s.run_until(lambda: op.done, 2000)
    assert op.type == "fail" and op.error == "not-leader"
    c.crash(follower)
    op = s.invoke("read", "a", node=follower)
    assert s.run_until(lambda: op.done, 2000)
    assert op.type == "fail" and op.error == "unreachable"  # refused: nothing was sent


def test_a_node_down_while_the_log_was_compacted_catches_up_by_snapshot():
    c, s = _with_clients(snapshot_entries=5)
    down = next(i for i in c.ids if i != c.leader())
    c.crash(down)
    ops = []
    for i in range(30):  # one after the other: the last write of each key is known
        ops.append(s.invoke("write", f"k{i % 3}", i))
        s.run_until(lambda: ops[-1].done, 5000)
    assert all(op.done for op in ops)
    assert all(op.type == "ok" for op in ops)
    leader = c.nodes[c.leader()]
    assert leader.core.snapshot_index >= 25  # compacted past everything `down` missed
    c.restart(down)
    c.finish()
    n = c.nodes[down]
    installed = [e for e in c.node_events[down] if e.get("from") == c.leader()]
    assert installed and n.disk.snapshot is not None  # InstallSnapshot, made durable
    assert [n.kv.read(f"k{k}") for k in range(3)] == [27, 28, 29]
    # And after a crash it starts from that snapshot, not from an empty log.
    c.crash(down)
    c.restart(down)
    assert n.core.snapshot_index == n.disk.snapshot.index and n.kv.read("k2") == 29
