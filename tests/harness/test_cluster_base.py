"""The `Cluster` interface's own defaults (batches in terms of `block`, `each` in order),
the nemesis calling them without probing the backend, and each backend declaring
everything the interface asks for."""

from __future__ import annotations

import random
import threading

import pytest

from harness.backends.base import Cluster
from harness.nemesis import make_fault


class Recording(Cluster):
    """Only the abstract primitives, each recorded: what the defaults reduce to."""

    def __init__(self, n: int = 4):
        self.nodes = [f"n{i}" for i in range(1, n + 1)]
        self.clock_offsets = dict.fromkeys(self.nodes, 0.0)
        self.calls: list[tuple] = []

    def start(self) -> None: ...
    def teardown(self) -> None: ...
    def addrs(self) -> dict[str, str]:
        return {n: f"mem:{n}" for n in self.nodes}

    def status(self, node, timeout=1.0):
        return {"role": "leader" if node == "n1" else "follower", "term": 1}

    def collect(self, dest) -> None: ...
    def open_client(self, timeout, options=None):
        raise AssertionError("the nemesis opens no client")

    def block(self, src, dst):
        self.calls.append(("block", src, dst))

    def heal_network(self):
        self.calls.append(("heal",))

    def kill(self, node): ...
    def restart(self, node): ...
    def pause(self, node): ...
    def resume(self, node): ...
    def set_clock(self, node, offset_s):
        self.clock_offsets[node] = offset_s

    def strobe_clock(self, node, delta_s, period_s): ...
    def stop_strobe(self, node): ...
    def set_packet(self, node, delay_ms=0.0, loss_pct=0.0): ...
    def clear_packet(self, node): ...


def test_block_many_and_cut_many_default_to_block():
    c = Recording()
    c.block_many([("n1", "n2"), ("n3", "n4")])
    assert c.calls == [("block", "n1", "n2"), ("block", "n3", "n4")]
    c.calls.clear()
    c.cut_many([("n1", "n2")])
    assert c.calls == [("block", "n1", "n2"), ("block", "n2", "n1")]


def test_each_defaults_to_in_order_and_raises_the_first_error():
    c = Recording()
    seen: list[str] = []
    c.each(seen.append, ["n3", "n1", "n2"])
    assert seen == ["n3", "n1", "n2"]

    def fail_on_n2(node: str) -> None:
        seen.append(node)
        if node == "n2":
            raise RuntimeError("n2 refused")

    seen.clear()
    with pytest.raises(RuntimeError, match="n2 refused"):
        c.each(fail_on_n2, ["n1", "n2", "n3"])
    assert seen == ["n1", "n2"]


@pytest.mark.parametrize(
    "options, kind, pairs",
    [
        ({"mode": "leader", "one-way": True}, "one-way", 3),  # n1 -> each other node
        ({"mode": "leader"}, "both", 3),
        ({"mode": "bridge"}, "both", 1),  # 4 nodes: 1 | bridge | 2, so 1 x 2 pairs
    ],
)
def test_partition_goes_through_the_batch_primitives(options, kind, pairs):
    c = Recording()
    fault = make_fault({"fault": "partition", **options}, c, random.Random(1))
    fault.start()
    blocks = {(a, b) for _, a, b in c.calls}
    if kind == "one-way":
        assert blocks == {("n1", n) for n in ("n2", "n3", "n4")}
    else:  # every cut link blocked both ways
        assert blocks == {(b, a) for a, b in blocks}
        assert len(blocks) >= 2 * pairs
    fault.heal()
    assert c.calls[-1] == ("heal",)


def test_clock_fault_bumps_from_and_restores_clock_offsets():
    c = Recording()
    c.clock_offsets["n2"] = 1.5
    fault = make_fault(
        {"fault": "clock", "mode": "bump", "delta-ms": 500, "target": ["n2"]}, c, random.Random()
    )
    assert fault.start()["offsets-ms"] == {"n2": 2000.0}
    fault.heal()
    assert c.clock_offsets["n2"] == 1.5


def test_docker_cluster_each_runs_the_nodes_in_parallel():
    pytest.importorskip("docker")
    from harness.backends.docker.cluster import DockerCluster, DockerConfig

    c = DockerCluster(DockerConfig(nodes=3), client=object())  # no engine is asked
    # Three calls that can only finish together: one by one, the barrier times out.
    barrier = threading.Barrier(3, timeout=10)
    c.each(lambda _node: barrier.wait(), c.nodes)

    def fail_on_n2(node: str) -> None:
        if node == "n2":
            raise ValueError("n2 refused")

    with pytest.raises(ValueError, match="n2 refused"):
        c.each(fail_on_n2, c.nodes)


def _backends(tmp_path) -> dict[str, Cluster]:
    """One unstarted instance of each backend: nothing is run, only declared."""
    from harness.backends.docker.cluster import DockerCluster, DockerConfig
    from harness.backends.local.cluster import LocalCluster
    from harness.backends.sim import SimCluster, SimConfig
    from harness.backends.sim.adapter import SimBackendCluster

    return {
        "docker": DockerCluster(DockerConfig(nodes=3), client=object()),
        "sim": SimBackendCluster(SimCluster(SimConfig(nodes=3))),
        "local": LocalCluster(3, tmp_path),
    }


@pytest.mark.parametrize("name", ["docker", "sim", "local"])
def test_every_backend_implements_the_whole_interface(name, tmp_path):
    pytest.importorskip("docker")
    cluster = _backends(tmp_path)[name]
    assert isinstance(cluster, Cluster)
    assert not type(cluster).__abstractmethods__
    assert cluster.clock_offsets == dict.fromkeys(cluster.nodes, 0.0)
    assert cluster.nodes == ["n1", "n2", "n3"]


@pytest.mark.parametrize("n, side", [(5, 2), (7, 3), (4, 1), (3, 1)])
def test_minority_partition_leaves_the_leader_with_a_minority(n, side):
    for seed in range(5):
        c = Recording(n)
        fault = make_fault({"fault": "partition", "mode": "minority"}, c, random.Random(seed))
        first, rest = fault.sides()
        assert "n1" in first  # Recording's leader
        assert len(first) == side and len(first) < len(rest)
        assert sorted(first + rest) == sorted(c.nodes)


def test_drawn_partitions_cut_the_leader_off_more_often_than_uniform_modes_would():
    from harness.nemesis.partition import MODES, PartitionFault

    rng = random.Random(7)
    nodes = [f"n{i}" for i in range(1, 6)]
    draws = [PartitionFault.draw(rng, nodes, "one") for _ in range(2000)]
    modes = [d["mode"] for d in draws]
    assert set(modes) == set(MODES)  # every mode still drawn
    leader_cut = sum(m in ("leader", "minority") for m in modes) / len(modes)
    assert 0.6 < leader_cut < 0.73  # weighted 12 in 18; uniform modes would give 2 in 8
    # One-way cuts are drawn, but seldom: a cut-off leader that still hears the others
    # learns of its successor at once, so a one-way cut never makes two leaders.
    one_way = [d["one-way"] for d in draws if "one-way" in d]
    assert 0.1 < sum(one_way) / len(one_way) < 0.2
