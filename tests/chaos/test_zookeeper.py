"""ZooKeeper 3.8 (Debian's zookeeperd) as a system under test, on real containers: the status
names the ensemble's leader, the kazoo client keeps the history's ok / fail / unknown rules
against the real servers, a follower cut off from its leader answers plain reads with
stale values while `reads: sync` refuses them, a clock fault reaches the JVM's clock, and
a short run with plain reads under a partition is caught by the linearizable checker,
election safety read from ZooKeeper's own log. Multi-run figures:
benchmarks/bench_detection.py --system zookeeper."""

from __future__ import annotations

import asyncio
import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from harness.backends.docker.cluster import DockerCluster
from harness.nemesis import Nemesis, make_fault
from harness.pytest_plugin import assert_caught
from harness.runner import run_schedule
from harness.schedule import parse_schedule
from harness.systems.zookeeper import ZooKeeperSystem
from harness.systems.zookeeper_client import ZooKeeperClient, srvr
from raftnode.client import FAIL, OK, UNKNOWN
from tests.chaos.clusters import system_cluster

pytestmark = pytest.mark.chaos


@pytest.fixture(scope="module")
def zk(request):
    """An ensemble of three for the module, torn down after it."""
    request.getfixturevalue("docker_engine")
    with system_cluster(ZooKeeperSystem()) as c:
        for node in c.nodes:  # the ensemble formed: a leader and every follower synced
            _serving(c, node)
        yield c


def _run(coro):
    return asyncio.run(coro)


def _serving(cluster: DockerCluster, node: str, timeout: float = 60.0) -> None:
    """Waits until `node` serves in the ensemble (leader or follower)."""
    deadline = time.monotonic() + timeout
    while (cluster.status(node) or {}).get("role") not in ("leader", "follower"):
        assert time.monotonic() < deadline, f"{node} not serving within {timeout:g} s"
        time.sleep(0.2)


def _client(cluster: DockerCluster, timeout: float = 3.0, **kw) -> ZooKeeperClient:
    return ZooKeeperClient(cluster.addrs(), timeout=timeout, **kw)


def test_status_names_the_leader(zk):
    lead = zk.wait_for_leader(30)
    statuses = zk.statuses()
    assert [n for n, st in statuses.items() if st["role"] == "leader"] == [lead]
    assert all(st["leader"] == lead for st in statuses.values())
    assert statuses[lead]["term"] >= 1  # the epoch, from the zxid


def test_register_operations_keep_the_history_rules(zk):
    async def go():
        c = _client(zk, home="n2")
        try:
            assert (await c.get("absent")).value is None
            assert (await c.put("k", 1)).outcome == OK  # a new znode
            assert (await c.put("k", 2)).outcome == OK  # setData
            got = await c.get("k")
            assert (got.outcome, got.value) == (OK, 2)
            assert (await c.cas("k", 2, 3)).outcome == OK
            lost = await c.cas("k", 2, 4)  # it holds 3: certainly not applied
            assert (lost.outcome, lost.error, lost.value) == (FAIL, "precondition", 3)
            assert (await c.cas("fresh", None, 5)).outcome == OK  # absent: expected None
            assert (await c.cas("fresh", None, 6)).error == "precondition"
            assert (await c.get("fresh")).value == 5
        finally:
            await c.close()

    _run(go())


def test_a_paused_leader_makes_writes_unknown_and_reads_failed_stalling_no_one_else(zk):
    lead = zk.wait_for_leader(30)
    follower = next(n for n in zk.nodes if n != lead)
    _serving(zk, follower)

    async def go():
        loop = asyncio.get_running_loop()
        stuck = _client(zk, timeout=1.5, home=lead)
        free = _client(zk, timeout=1.5, home=follower)
        try:
            assert (await stuck.put("p", 1)).node_id == lead  # connected to the leader
            assert (await free.get("p")).node_id == follower
            zk.pause(lead)
            try:
                t0 = loop.time()

                async def reads():
                    # Meanwhile, on the same loop, another client's plain reads.
                    got = [await free.get("p") for _ in range(5)]
                    return got, loop.time() - t0

                write, (got, took) = await asyncio.gather(stuck.put("p", 2), reads())
                read = await stuck.get("p")
            finally:
                zk.resume(lead)
            return write, read, got, took
        finally:
            await stuck.close()
            await free.close()

    write, read, got, took = _run(go())
    # Handed to a session whose server froze: it may yet be applied. A read: failed.
    assert (write.outcome, write.error) == (UNKNOWN, "timeout")
    assert read.outcome == FAIL
    # The stuck client held up nobody: the follower's reads were done long before.
    assert [g.outcome for g in got] == [OK] * 5 and took < 1.0, took


def test_no_session_before_the_deadline_fails_without_sending(zk):
    victim = next(n for n in zk.nodes if n != zk.wait_for_leader(30))
    zk.kill(victim)
    try:

        async def go():
            c = ZooKeeperClient({victim: zk.addrs()[victim]}, timeout=1.0)
            try:
                return await c.put("never", 1)
            finally:
                await c.close()

        res = _run(go())
    finally:
        zk.restart(victim)
        _serving(zk, victim)
    assert (res.outcome, res.error) == (FAIL, "timeout: no connected session")


def test_a_cut_off_follower_answers_plain_reads_stale_and_refuses_sync_reads(zk):
    lead = zk.wait_for_leader(30)
    follower = next(n for n in zk.nodes if n != lead)
    others = [n for n in zk.nodes if n != follower]
    _serving(zk, follower)

    async def go():
        plain = _client(zk, timeout=2.0, home=follower)
        synced = _client(zk, timeout=2.0, home=follower, sync=True)
        writer = _client(zk, timeout=3.0, home=lead)
        try:
            assert (await writer.put("s", 1)).outcome == OK
            for c in (plain, synced):  # sessions open on the follower
                assert (await c.get("s")).node_id == follower
            zk.cut_many([(follower, o) for o in others])
            try:
                assert (await writer.put("s", 2)).outcome == OK  # the quorum goes on
                stale = await plain.get("s")
                refused = await synced.get("s")
            finally:
                zk.heal_network()
            return stale, refused
        finally:
            for c in (plain, synced, writer):
                await c.close()

    stale, refused = _run(go())
    # Within syncLimit ticks (10 s) the follower still serves what it has: ZooKeeper's
    # documented plain read. sync() must reach the leader, which it cannot.
    assert (stale.outcome, stale.value, stale.node_id) == (OK, 1, follower)
    assert refused.outcome == FAIL


def test_a_clock_fault_moves_the_jvms_clock(zk):
    node = zk.nodes[0]
    fault = make_fault({"fault": "clock", "mode": "bump", "delta-ms": 60000, "target": [node]}, zk)
    nemesis = Nemesis()
    nemesis.start(fault)
    try:
        asked = time.time()
        assert _run(srvr(zk.addrs()[node], 5.0))  # the server logs each srvr it answers
        line = _last_line(zk, node, "Processing srvr command")
    finally:
        assert nemesis.heal_all() == []
    logged = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").replace(tzinfo=UTC)
    # log4j stamps with System.currentTimeMillis(): 60 s ahead of the host's clock.
    assert 50 < logged.timestamp() - asked < 70, line


def _last_line(cluster: DockerCluster, node: str, text: str) -> str:
    deadline = time.monotonic() + 10
    while True:
        _, out = cluster.exec(node, ["grep", text, "/data/node.log"], check=False)
        lines = [ln for ln in out.splitlines() if ln.strip()]
        if lines:
            return lines[-1]
        assert time.monotonic() < deadline, f"no {text!r} line in {node}'s log"
        time.sleep(0.2)


SHORT = """
name: zookeeper-short
system: {system}
nodes: 3
time-limit: 16
workload:
  {{name: register, keys: 1, concurrency: 6, rate: 120, mix: {{read: 0.9, write: 0.1}}}}
nemesis:
  - {{start: 2, every: 5, fault: partition, mode: majority, for: 3}}
final: {{heal: true, recover: 4}}
checkers: [linearizable, election-safety, stats, crashes]
"""


def test_plain_reads_under_a_partition_are_caught_stale_and_epochs_come_from_the_log(
    docker_engine, tmp_path
):
    # `majority` keeps the leader with a majority: the rest, a follower, is cut off with
    # the clients bound to it, and answers their plain reads from what it had. Until each
    # of those clients writes: ZooKeeper keeps a session's requests in order, so its reads
    # wait behind the write the follower cannot commit, and the client that replaces it
    # (after the write's `info`) cannot open a session there (that is a quorum write too).
    # Readers, then, and three partitions: each one's first second of reads is the window.
    s = parse_schedule(SHORT.format(system="zookeeper"), "zookeeper-short.yaml")
    outcome = run_schedule(s, "docker", tmp_path, seed=1, say=print)
    assert_caught(outcome, "linearizable")
    r = outcome.results
    assert r["system"] == "zookeeper"
    assert r["checkers"]["election-safety"]["valid"] is True
    assert r["checkers"]["election-safety"]["terms_with_leader"] >= 1
    events = Path(outcome.run_dir.path) / "nodes" / "n1" / "events.jsonl"
    lines = [json.loads(x) for x in events.read_text().splitlines()]
    assert lines and lines[0].get("start") is True and all(e["node"] == "n1" for e in lines)
    assert re.search(r"read", json.dumps(r["checkers"]["linearizable"]))
