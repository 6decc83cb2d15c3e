"""Membership changes on real raftnode processes: `raftquake kv member list | add | remove`,
a new member joining with --join, the leader removing itself, restart recovering the
configuration from the log."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from harness.backends.local.cluster import LocalCluster, free_ports
from tests.raftnode.test_processes import TICK_MS, kv, make_cluster, run  # noqa: F401

pytestmark = pytest.mark.processes


def _member_list(cluster: LocalCluster, node: str | None = None) -> dict:
    r = kv(cluster, "member", "list", node=node)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _wait(pred, what: str, timeout: float = 15.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_member_add_remove_and_the_leader_removing_itself(make_cluster, tmp_path):  # noqa: F811
    cluster = make_cluster(3)
    leader = run(cluster.wait_leader())
    assert kv(cluster, "put", "a", "1").returncode == 0
    m = _member_list(cluster)
    assert m["voters"] == ["n1", "n2", "n3"] and m["learners"] == [] and m["committed"]
    assert m["leader"] == leader

    # A fresh n4 with --join: --peers is the initial configuration, without it.
    port = free_ports(1)[0]
    addr = f"127.0.0.1:{port}"
    peers = ",".join(f"{n}={a}" for n, a in cluster.addrs().items())
    cmd = [sys.executable, "-m", "raftnode", "--id", "n4", "--listen", addr, "--peers", peers,
           "--data-dir", str(tmp_path / "n4"), "--tick-ms", str(TICK_MS), "--join"]  # fmt: skip
    with open(tmp_path / "n4.stderr", "wb") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=cluster.env())
    try:
        r = kv(cluster, "member", "add", f"n4={addr}")
        assert r.returncode == 0, r.stderr
        r = kv(cluster, "member", "add", f"n4={addr}")  # twice: definitely not done
        assert r.returncode == 1 and "already-member" in r.stderr
        _wait(lambda: _member_list(cluster)["voters"] == ["n1", "n2", "n3", "n4"], "promotion")
        assert kv(cluster, "put", "b", "2").returncode == 0
        # n4 has the data and answers status with the configuration.
        r = subprocess.run(
            [sys.executable, "-m", "harness.cli", "kv", "--node", addr, "status"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        st = json.loads(r.stdout)
        assert st["config"]["voters"] == ["n1", "n2", "n3", "n4"]

        # The leader removes itself: it steps down once that commits; another leads.
        assert kv(cluster, "member", "remove", leader).returncode == 0
        others = [n for n in cluster.nodes if n != leader]

        # (the removed one never hears of the new leader: nobody sends to it any more)
        def new_leader():
            r = kv(cluster, "member", "list", node=others[0], timeout=2.0)
            return r.returncode == 0 and json.loads(r.stdout)["leader"]

        new = _wait(new_leader, "a new leader")
        assert new != leader
        m = _member_list(cluster, node=others[0])
        assert leader not in m["voters"] and "n4" in m["voters"]
        assert kv(cluster, "put", "c", "3", node=others[0]).returncode == 0
        assert kv(cluster, "member", "remove", "n9", node=others[0]).returncode == 1
        assert kv(cluster, "member", "bogus", node=others[0]).returncode == 2

        # A restarted member recovers the configuration from its log (not from --peers).
        victim = others[0] if others[0] != new else others[1]
        cluster.kill(victim)
        cluster.restart(victim)
        cluster.wait_ready(15)
        st = _wait(lambda: cluster.status(victim), "restart")
        assert leader not in st["config"]["voters"] and "n4" in st["config"]["voters"]
    finally:
        proc.kill()
        proc.wait()
