"""--backend ssh on real sshd hosts made of containers (`raftquake hosts up`): Debian's
openssh-server, host keys checked against the known_hosts `hosts up` wrote, raftnode's
package copied over SFTP and run by the hosts' python3, faults by iptables and signals on
the hosts. The correct node comes out valid, the planted stale-read is caught, etcd from
Debian's package is valid, nothing is left on the hosts after a run or Ctrl-C, and
`raftquake clean --backend ssh` heals hosts a harness killed -9 left faulted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.backends.ssh.hosts import hosts_down, hosts_up
from harness.backends.ssh.inventory import load_inventory
from harness.backends.ssh.remote import Remotes
from harness.runner import run_schedule
from harness.schedule import load_schedule

ROOT = Path(__file__).resolve().parents[2]
# What a run may leave on a host: its folder, its iptables chains, its node, netdelay, a
# netem qdisc.
LEFT = (
    "ls -d /var/lib/raftquake 2>/dev/null; iptables -w -S 2>/dev/null | grep RAFTQUAKE; "
    "ps -eo args | grep -E '^python3 (-m raftnode|.*netdelay)'; tc qdisc show | grep netem; "
    "true"
)
EMPTY = dict.fromkeys(["n1", "n2", "n3", "n4", "n5"], "")


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
        s, "ssh", tmp_path, seed=1, time_limit=10, say=print, inventory=inventory
    )
    r = outcome.results
    assert r["status"] == "complete", r
    assert r["valid"] is True, r["checkers"]
    assert {f["fault"] for f in r["faults"]} == {"partition"}
    # The nodes' records came back over SFTP, as on Docker.
    n1 = Path(outcome.run_dir.path) / "nodes" / "n1"
    assert (n1 / "events.jsonl").is_file() and (n1 / "log.jsonl").is_file()
    assert left_on_hosts(inventory) == EMPTY


def test_stale_read_is_caught_over_ssh(inventory, tmp_path):
    s = load_schedule(ROOT / "schedules" / "bug-stale-read.yaml")
    outcome = run_schedule(
        s, "ssh", tmp_path, seed=1, time_limit=30, say=print, inventory=inventory
    )
    r = outcome.results
    assert r["status"] == "complete", r
    assert r["valid"] is False
    assert r["checkers"]["linearizable"]["valid"] is False
    assert r["checkers"]["election-safety"]["valid"] is True


def test_etcd_from_debians_package_is_valid_over_ssh(inventory, tmp_path):
    """etcd-server installed on the hosts through apt (already there on the offline base:
    nothing is fetched), under kills, pauses, partitions and packet faults."""
    s = load_schedule(ROOT / "schedules" / "etcd.yaml")
    outcome = run_schedule(
        s, "ssh", tmp_path, seed=1, time_limit=10, say=print, inventory=inventory
    )
    r = outcome.results
    assert r["status"] == "complete", r
    assert r["valid"] is True, r["checkers"]
    assert r["system"].startswith("etcd") and r["faults"]
    # Election safety read etcd's own log, collected over SFTP.
    assert r["checkers"]["election-safety"]["terms_with_leader"] >= 1
    assert left_on_hosts(inventory) == EMPTY


# Faults that stay in force until the run heals them: a partition, a paused node, a
# moved clock, delayed packets.
HELD = """\
name: held
nodes: 3
time-limit: 120
workload: {keys: 3, concurrency: 4, rate: 50}
nemesis:
  - {at: 0.5, fault: partition, mode: one, for: 100}
  - {at: 0.5, fault: clock, mode: bump, delta-ms: 5000, target: one, for: 100}
  - {at: 0.5, fault: packet, delay-ms: 20, target: one, for: 100}
final: {heal: true, recover: 1}
checkers: [stats]
"""


def start_held_run(inventory: Path, tmp_path: Path) -> subprocess.Popen:
    """`raftquake run` of HELD over ssh, in its own process group (as from a shell), once
    its partition is in force on some host."""
    schedule = tmp_path / "held.yaml"
    schedule.write_text(HELD)
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "run", str(schedule), "--backend", "ssh",
         "--inventory", str(inventory), "--store", str(tmp_path / "store")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while "-A RAFTQUAKE " not in "".join(left_on_hosts(inventory).values()):
        if proc.poll() is not None or time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            pytest.fail(f"no partition in force on the hosts within 60 s:\n{out}\n{err}")
        time.sleep(0.2)
    return proc


def test_ctrl_c_heals_the_hosts_and_leaves_nothing(inventory, tmp_path):
    proc = start_held_run(inventory, tmp_path)
    os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C goes to the whole group
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, err
    assert "Traceback" not in err
    assert left_on_hosts(inventory) == EMPTY


def test_clean_heals_hosts_a_harness_killed_9_left_faulted(inventory, tmp_path):
    proc = start_held_run(inventory, tmp_path)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    left = left_on_hosts(inventory)
    assert "-A RAFTQUAKE " in "".join(left.values())
    assert all("raftnode" in left[n] for n in ("n1", "n2", "n3"))

    cli = [sys.executable, "-m", "harness.cli", "clean", "--backend", "ssh"]
    r = subprocess.run([*cli, "--inventory", str(inventory)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "n1: healed (rules=" in r.stdout, r.stdout
    assert left_on_hosts(inventory) == EMPTY
