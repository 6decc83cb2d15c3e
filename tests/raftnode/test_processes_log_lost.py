"""A member restarted with its data lost under the same id, on real processes (the
issue's case: three nodes snapshotting every 50 entries, 400 writes, n3's data directory
removed, n3 started again with the same --peers). It says once, in node.log and
events.jsonl, that the leader's commit is beyond its empty log and how to bring it back;
it votes for no one meanwhile; and the documented way back (member remove, start empty
with --join, member add) brings it back with the data."""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import pytest

from harness.backends.local.cluster import LocalCluster
from raftnode.client import OK
from tests.raftnode.test_processes import kv, make_cluster, run  # noqa: F401

pytestmark = pytest.mark.processes

LOST = "its data was lost"


def _wait(pred, what: str, timeout: float = 20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _events(cluster: LocalCluster, node: str) -> list[dict]:
    path = cluster.data_dir(node) / "events.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _lost_lines(cluster: LocalCluster, node: str) -> list[str]:
    path = cluster.data_dir(node) / "node.log"
    text = path.read_text() if path.exists() else ""
    return [ln for ln in text.splitlines() if LOST in ln]


def _writes(cluster: LocalCluster, first: int, n: int) -> None:
    async def go():
        async with cluster.client() as c:
            for i in range(first, first + n):
                assert (await c.put(f"k{i % 40}", i)).outcome == OK

    run(go())


def test_a_wiped_member_says_so_refuses_to_vote_and_comes_back_the_documented_way(
    make_cluster,  # noqa: F811
):
    cluster = make_cluster(3, snapshot_entries=50)
    leader = run(cluster.wait_leader())
    _writes(cluster, 0, 400)
    victim = next(n for n in reversed(cluster.nodes) if n != leader)
    other = next(n for n in cluster.nodes if n not in (leader, victim))

    cluster.kill(victim)
    shutil.rmtree(cluster.data_dir(victim))
    cluster.restart(victim)  # the same --peers, the same id, nothing on disk

    (line,) = _wait(lambda: _lost_lines(cluster, victim), "the wiped member to say so")
    assert " ERROR " in line
    assert f"the leader {leader} has entries up to" in line and "log ends at 0" in line
    assert f"member remove {victim}" in line and "--join" in line
    assert f"member add {victim}=" in line
    (event,) = [e for e in _events(cluster, victim) if "log_lost" in e]
    assert event["log_lost"]["leader"] == leader and event["log_lost"]["last_index"] == 0
    assert event["log_lost"]["leader_commit"] >= 400
    st = json.loads(kv(cluster, "status", node=victim).stdout)
    assert st["log_lost"] == event["log_lost"] and st["commit"] == 0

    _writes(cluster, 400, 100)  # hundreds more heartbeats and appends reach it...
    assert len(_lost_lines(cluster, victim)) == 1  # ...and it said it once

    # It forgot its votes: with the leader gone, it votes for no one, so the one member
    # left cannot win. That member campaigns (a pre-candidate line), and for the next two
    # seconds (four election timeouts and more, at 25 ms ticks) no leader comes of it.
    cluster.kill(leader)
    _wait(
        lambda: any(e.get("role") == "pre-candidate" for e in _events(cluster, other)),
        "the other member to campaign",
    )
    end = time.monotonic() + 2.0
    while time.monotonic() < end:
        statuses = run(cluster.astatuses([other, victim]))
        assert all(s["role"] in ("follower", "pre-candidate") for s in statuses.values())
        time.sleep(0.1)
    votes = [e for e in _events(cluster, victim) if "voted_for" in e and not e.get("start")]
    assert votes == []

    # The way back: the leader back, the member removed, started empty with --join, added.
    cluster.restart(leader)
    new = run(cluster.wait_leader(exclude=[victim]))
    r = kv(cluster, "member", "remove", victim, node=new)
    assert r.returncode == 0, r.stderr
    cluster.kill(victim)
    shutil.rmtree(cluster.data_dir(victim))
    cluster.data_dir(victim).mkdir()
    addr = cluster.addrs()[victim]
    with open(cluster.stderr_path(victim), "ab") as err:
        joined = subprocess.Popen(
            [*cluster.command(victim), "--join"], stdout=subprocess.DEVNULL, stderr=err,
            env=cluster.env(),
        )  # fmt: skip
    try:
        r = kv(cluster, "member", "add", f"{victim}={addr}", node=new)
        assert r.returncode == 0, r.stderr
        target = json.loads(kv(cluster, "status", node=new).stdout)["commit"]

        def caught_up():
            s = run(cluster.astatus(victim))
            return s is not None and s["commit"] >= target and "log_lost" not in s

        _wait(caught_up, "the member added back to catch up")
        m = json.loads(kv(cluster, "member", "list", node=new).stdout)
        _wait(
            lambda: victim in json.loads(kv(cluster, "member", "list", node=new).stdout)["voters"],
            "its promotion to voter",
        )
        assert m["leader"] == new
        assert _lost_lines(cluster, victim) == []
    finally:
        joined.kill()
        joined.wait()
