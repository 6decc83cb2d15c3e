"""LocalCluster is a `Cluster`: started, driven and observed through the interface alone
(the leader is killed, another takes over, the old one rejoins), and the faults it cannot
apply are refused with the reason."""

from __future__ import annotations

import json
import random
import time

import pytest

from harness.backends.base import Cluster, Unsupported
from harness.backends.local.cluster import LocalCluster
from harness.nemesis import make_fault
from harness.systems.raftnode import RaftnodeSystem

pytestmark = pytest.mark.processes


def test_local_cluster_replaces_a_killed_leader_through_the_cluster_interface(tmp_path):
    fast = RaftnodeSystem.with_node_defaults(["--tick-ms", "25"])
    with LocalCluster(3, tmp_path / "nodes", fast) as cluster:  # __enter__ starts it
        c: Cluster = cluster
        assert all(st is not None for st in c.statuses().values())  # start() waited for them
        old = c.wait_for_leader(timeout=10)
        c.kill(old)
        assert c.status(old) is None
        new = c.wait_for_leader(timeout=10, exclude={old})
        assert new != old
        assert c.status(new)["term"] > 0
        c.restart(old)
        deadline = time.monotonic() + 10
        while (st := c.status(old)) is None or st["leader"] != new:
            assert time.monotonic() < deadline, f"{old} did not rejoin under {new}: {st}"
            time.sleep(0.05)
        c.collect(tmp_path / "run")
    for node in cluster.nodes:
        out = tmp_path / "run" / "nodes" / node
        assert (out / "events.jsonl").is_file()
        log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
        assert log and log[0]["index"] == 1
    assert cluster.running() == []  # teardown killed every process


def test_faults_a_local_cluster_cannot_apply_say_why(tmp_path):
    cluster = LocalCluster(3, tmp_path)  # never started: refusing needs no process
    cases = [
        ({"fault": "partition", "mode": "halves"}, "network namespace"),
        ({"fault": "clock", "mode": "bump", "delta-ms": 100}, "clock"),
        ({"fault": "packet", "loss": 10}, "network interface"),
    ]
    for spec, why in cases:
        fault = make_fault(spec, cluster, random.Random(1))
        with pytest.raises(Unsupported, match=why):
            fault.start()
        assert not fault.active
    cluster.heal_network()  # nothing to undo, and undoing does not fail
    assert cluster.clock_offsets == {"n1": 0.0, "n2": 0.0, "n3": 0.0}
