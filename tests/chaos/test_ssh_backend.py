"""--backend ssh on real sshd hosts made of containers (`raftquake hosts up`): Debian's
openssh-server, host keys checked against the known_hosts `hosts up` wrote, raftnode's
package copied over SFTP and run by the hosts' python3, faults by iptables and signals on
the hosts. The correct node comes out valid, the planted stale-read is caught, nothing
is left on the hosts after a run, and `raftquake clean --backend ssh` heals hosts a dead
harness left faulted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.backends.ssh.cluster import SshCluster
from harness.backends.ssh.hosts import hosts_down, hosts_up
from harness.backends.ssh.inventory import load_inventory
from harness.backends.ssh.remote import Remotes
from harness.runner import run_schedule
from harness.schedule import load_schedule
from harness.systems.raftnode import RaftnodeSystem

ROOT = Path(__file__).resolve().parents[2]
# What a run may leave on a host: its folder, its iptables chain, its node.
LEFT = (
    "ls -d /var/lib/raftquake 2>/dev/null; iptables -w -S RAFTQUAKE 2>/dev/null; "
    "ps -eo args | grep '^python3 -m raftnode' || true"
)


@pytest.fixture(scope="module")
def inventory(docker_engine, tmp_path_factory):
    path = tmp_path_factory.mktemp("hosts") / "hosts.yaml"
    hosts_up(5, path)
    try:
        yield path
    finally:
        hosts_down(path)


def left_on_hosts(path: Path) -> dict[str, str]:
    inv = load_inventory(path)
    remotes = Remotes(inv)
    try:
        return {h.id: remotes.run(h.id, LEFT).strip() for h in inv.hosts}
    finally:
        remotes.close()


def test_the_correct_node_is_valid_over_ssh_and_nothing_is_left(inventory, tmp_path):
    s = load_schedule(ROOT / "schedules" / "partitions.yaml")
    outcome = run_schedule(
        s, "ssh", tmp_path, seed=1, time_limit=15, say=print, inventory=inventory
    )
    r = outcome.results
    assert r["status"] == "complete", r
    assert r["valid"] is True, r["checkers"]
    assert {f["fault"] for f in r["faults"]} == {"partition"}
    # The nodes' records came back over SFTP, as on Docker.
    n1 = Path(outcome.run_dir.path) / "nodes" / "n1"
    assert (n1 / "events.jsonl").is_file() and (n1 / "log.jsonl").is_file()
    assert left_on_hosts(inventory) == dict.fromkeys(["n1", "n2", "n3", "n4", "n5"], "")


def test_stale_read_is_caught_over_ssh(inventory, tmp_path):
    s = load_schedule(ROOT / "schedules" / "bug-stale-read.yaml")
    outcome = run_schedule(
        s, "ssh", tmp_path, seed=1, time_limit=20, say=print, inventory=inventory
    )
    r = outcome.results
    assert r["status"] == "complete", r
    assert r["valid"] is False
    assert r["checkers"]["linearizable"]["valid"] is False
    assert r["checkers"]["election-safety"]["valid"] is True


def test_clean_heals_hosts_a_dead_harness_left_faulted(inventory):
    # A cluster up, a partition and a pause applied, and then the harness gone without
    # its teardown (as after kill -9): the hosts keep their DROP rules and a stopped node.
    cluster = SshCluster(load_inventory(inventory), 3, RaftnodeSystem())
    cluster.start()
    cluster.block_many([("n1", "n2"), ("n2", "n1")])
    cluster.pause("n3")
    cluster.remotes.close()
    left = left_on_hosts(inventory)
    assert "-A RAFTQUAKE" in left["n1"] and "raftnode" in left["n3"]

    cli = [sys.executable, "-m", "harness.cli", "clean", "--backend", "ssh"]
    r = subprocess.run([*cli, "--inventory", str(inventory)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "n1: healed (rules=1 node=" in r.stdout, r.stdout
    assert left_on_hosts(inventory) == dict.fromkeys(["n1", "n2", "n3", "n4", "n5"], "")
