"""Every fault family against a real cluster in Docker: no mocks, short runs.

Each test brings up its own cluster (see conftest.py), applies a fault through the
nemesis exactly as a schedule would, checks what a user would check through the
nodes' own answers, heals, and leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from typing import Any

import pytest

from harness.nemesis import Nemesis, make_fault
from raftnode.client import OK, Client

pytestmark = pytest.mark.chaos


def wait_until(what: str, cond: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.1)


def put(addrs: list[str] | dict[str, str], key: str, value: Any, timeout: float = 5.0):
    async def go():
        async with Client(addrs, timeout=timeout, connect_timeout=0.5) as c:
            return await c.put(key, value)

    return asyncio.run(go())


def get(addrs: list[str] | dict[str, str], key: str, timeout: float = 5.0):
    async def go():
        async with Client(addrs, timeout=timeout, connect_timeout=0.5) as c:
            return await c.get(key)

    return asyncio.run(go())


def others(cluster, node: str) -> dict[str, str]:
    return {n: a for n, a in cluster.addrs().items() if n != node}


def test_partitioned_minority_cannot_commit_while_majority_can(make_cluster):
    c = make_cluster(5)
    old = c.wait_for_leader(10)
    assert put(c.addrs(), "k", "before").outcome == OK
    nemesis = Nemesis()
    fault = make_fault({"fault": "partition", "mode": "leader"}, c, random.Random(1))
    applied = nemesis.start(fault)
    assert applied["groups"][0] == [old]

    # The isolated old leader (a minority of one) cannot commit a write...
    commit_before = c.status(old)["commit"]
    res = put([c.addrs()[old]], "k", "minority", timeout=2.0)
    assert res.outcome != OK, res
    # ...while the four others elect a leader among themselves and commit.
    new = c.wait_for_leader(15, exclude={old})
    assert put(others(c, old), "k", "majority").outcome == OK
    assert c.status(old)["commit"] == commit_before

    assert nemesis.heal_all() == []
    # Healed: the old leader follows the new term and holds the majority's write.
    wait_until(
        f"{old} follows {new} after the heal",
        lambda: (s := c.status(old)) and s["role"] == "follower" and s["leader"] == new,
    )
    res = get([c.addrs()[old]], "k")
    assert res.outcome == OK and res.value == "majority", res
    assert c.rules(old).strip().splitlines() == ["-N RAFTQUAKE"]


def test_killed_leader_is_replaced_and_rejoins(make_cluster):
    c = make_cluster(3)
    old = c.wait_for_leader(10)
    old_pid = c.status(old)["pid"]
    fault = make_fault({"fault": "kill", "target": "leader"}, c, random.Random(2))
    assert fault.start() == {"nodes": [old], "signal": "SIGKILL"}
    assert not c.running(old)
    assert c.status(old, timeout=0.5) is None

    new = c.wait_for_leader(15, exclude={old})
    assert put(others(c, old), "after-kill", 1).outcome == OK
    term = c.status(new)["term"]

    fault.heal()
    st = wait_until(
        f"{old} back as a follower of {new} with the write applied",
        lambda: (
            (s := c.status(old))
            and s["role"] == "follower"
            and s["term"] >= term
            and s["commit"] >= c.status(new)["commit"]
            and s
        ),
    )
    assert st["pid"] != old_pid  # a new process, on the data the old one left
    res = get([c.addrs()[old]], "after-kill")
    assert res.outcome == OK and res.value == 1, res

    # Every node killed at once: what they knew can only come back from their volumes.
    everyone = make_fault({"fault": "kill", "target": "all"}, c)
    everyone.start()
    assert not any(c.running(n) for n in c.nodes)
    everyone.heal()
    c.wait_ready(20)
    c.wait_for_leader(15)
    res = get(c.addrs(), "after-kill")
    assert res.outcome == OK and res.value == 1, res


def test_paused_leader_is_replaced(make_cluster):
    c = make_cluster(3)
    old = c.wait_for_leader(10)
    nemesis = Nemesis()
    nemesis.start(make_fault({"fault": "pause", "target": "leader"}, c, random.Random(3)))
    assert c.exec(old, ["node-ctl", "stopped"], check=False)[0] == 0  # SIGSTOPped
    assert c.status(old, timeout=0.5) is None
    # The container itself is not frozen: other faults still apply to a paused node, and
    # heal (a nemesis package overlaps a pause with network and clock faults).
    loss = make_fault({"fault": "packet", "loss": 20, "target": old}, c, random.Random(4))
    nemesis.start(loss)  # raised "container is paused" under `docker pause`
    if c.netem:
        assert "loss 20%" in c.exec(old, ["tc", "qdisc", "show", "dev", "eth0"])[1]
    else:
        assert "statistic" in c.exec(old, [c.iptables, "-S", "RAFTQUAKE_PKT"])[1]
    loss.heal()

    new = c.wait_for_leader(15, exclude={old})
    assert put(others(c, old), "after-pause", 2).outcome == OK
    term = c.status(new)["term"]

    assert nemesis.heal_all() == []
    wait_until(
        f"resumed {old} steps down and follows {new}",
        lambda: (s := c.status(old)) and s["role"] == "follower" and s["term"] >= term,
    )


def test_clock_bump_is_visible_inside_and_not_on_the_host(make_cluster):
    c = make_cluster(3)
    node = "n2"
    st0, host0 = c.status(node), time.time()
    fault = make_fault({"fault": "clock", "mode": "bump", "delta-ms": 5000, "target": node}, c)
    fault.start()
    r = c.clock_reading(node)
    assert 4.5 < r["faked_skew"] < 5.8, r  # what a preloaded process in the container sees
    assert abs(r["real_skew"]) < 0.8, r  # the kernel's (host's) clock did not move
    # The node's own status: its wall clock is 5 s ahead of the host's, and its
    # monotonic clock jumped 5 s further than the host's time went on meanwhile.
    st, host1 = c.status(node), time.time()
    assert st is not None, "the node stopped answering after its clock moved"
    assert 4.5 < st["wall_ns"] / 1e9 - host1 < 5.8, st
    mono_jump = (st["mono_ns"] - st0["mono_ns"]) / 1e9 - (host1 - host0)
    assert 4.3 < mono_jump < 6.0, (st0, st)

    # Backwards, on top: +5 s - 8 s = -3 s, in the same running process.
    back = make_fault({"fault": "clock", "mode": "bump", "delta-ms": -8000, "target": node}, c)
    back.start()
    r = c.clock_reading(node)
    assert -3.5 < r["faked_skew"] < -2.2, r
    assert st["pid"] == c.status(node)["pid"]  # not restarted
    assert -3.5 < c.status(node)["wall_ns"] / 1e9 - time.time() < -2.2
    back.heal()
    fault.heal()
    r = c.clock_reading(node)
    assert abs(r["faked_skew"]) < 0.8, r
    assert abs(c.status(node)["wall_ns"] / 1e9 - time.time()) < 0.8
    # The cluster still works with the clock healed.
    assert put(c.addrs(), "after-clock", 3).outcome == OK
    # The control file, read on every clock call, is on a tmpfs, not the overlay.
    _, fs = c.exec(node, ["stat", "-f", "-c", "%T", "/run/raftquake"])
    assert fs.strip() == "tmpfs", fs


def test_clock_strobe_flips_and_heals(make_cluster):
    c = make_cluster(3)
    node = "n1"
    fault = make_fault(
        {"fault": "clock", "mode": "strobe", "delta-ms": 3000, "period-ms": 300, "target": node},
        c,
    )
    fault.start()
    seen = set()
    deadline = time.monotonic() + 10
    while len(seen) < 2 and time.monotonic() < deadline:
        skew = c.clock_reading(node)["faked_skew"]
        seen.add(round(skew / 3))  # 0 or 1 (times 3 s)
    assert seen == {0, 1}, f"strobe readings {seen}"
    fault.heal()
    for _ in range(3):
        assert abs(c.clock_reading(node)["faked_skew"]) < 0.8


def test_a_healed_strobe_leaves_the_clock_at_its_offset_however_fast_it_flipped(make_cluster):
    # A strobe flipping every 2 ms is inside `node-ctl clock` most of the time, so its
    # heal meets a flip under way: the heal must still win, and neither write fail.
    c = make_cluster(3)
    node = "n2"
    # Twenty clock writes at once each succeed (they used to share one temporary file,
    # and a package run's heal failed with "mv: cannot stat").
    many = "for i in $(seq 20); do node-ctl clock +1s || echo failed & done; wait"
    assert "failed" not in c.exec(node, ["sh", "-c", many])[1]
    for _ in range(5):
        spec = {"fault": "clock", "mode": "strobe", "delta-ms": 3000, "period-ms": 2}
        fault = make_fault({**spec, "target": node}, c)
        fault.start()
        deadline = time.monotonic() + 5
        while c.exec(node, ["cat", "/run/raftquake/faketime"])[1].strip() != "+3.000s":
            assert time.monotonic() < deadline, "the strobe never flipped"
        fault.heal()
        for _ in range(3):
            assert c.exec(node, ["cat", "/run/raftquake/faketime"])[1].strip() == "+0.000s"
    assert abs(c.clock_reading(node)["faked_skew"]) < 0.8


def udp_reaches(c, src: str, dst: str) -> bool:
    """Sends a datagram from src's container to dst's and says whether it arrived.
    Three execs: start the listener and wait until it is bound, send, collect."""
    listen = (
        "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
        f"s.bind(('{c.ips[dst]}', 7999)); s.settimeout(4); "
        "open('/tmp/udp.ready', 'w').close()\n"
        "try: print(s.recvfrom(100)[0].decode())\nexcept OSError: print('nothing')"
    )
    start = (
        "rm -f /tmp/udp.ready /tmp/udp.out; "
        f'python3 -c "{listen}" > /tmp/udp.out 2>&1 & '
        "for i in $(seq 500); do [ -f /tmp/udp.ready ] && exit 0; sleep 0.02; done; exit 1"
    )
    c.exec(dst, ["sh", "-c", start])
    send = (
        "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
        f"s.sendto(b'hello', ('{c.ips[dst]}', 7999))"
    )
    c.exec(src, ["python3", "-c", send])
    collect = (
        "for i in $(seq 500); do [ -s /tmp/udp.out ] && exec cat /tmp/udp.out; sleep 0.02; done"
    )
    return c.exec(dst, ["sh", "-c", collect])[1].strip() == "hello"


def test_one_way_partition_behaves_one_way(make_cluster):
    c = make_cluster(5)
    old = c.wait_for_leader(10)
    peer = next(n for n in c.nodes if n != old)

    nemesis = Nemesis()
    applied = nemesis.start(
        make_fault({"fault": "partition", "mode": "leader", "one-way": True}, c, random.Random(4))
    )
    assert applied == {"mode": "leader", "groups": [[old], sorted(others(c, old))], "one-way": True}
    # At the packet level: what the muted leader sends is lost, what it is sent arrives.
    assert not udp_reaches(c, old, peer)
    assert udp_reaches(c, peer, old)
    # At the node level: the others stop hearing the leader and elect another...
    new = c.wait_for_leader(15, exclude={old})
    assert put(others(c, old), "one-way", 4).outcome == OK
    # ...and the muted node, which still hears them, learns of it and follows. (Its
    # commit index may lag: this leader only tells a follower of commits up to what
    # that follower acknowledged, and none of its acknowledgements gets through.)
    term = c.status(new)["term"]
    wait_until(
        f"muted {old} follows {new} in term {term}",
        lambda: (s := c.status(old)) and s["leader"] == new and s["term"] == term,
    )
    # One-sided rules: only the receivers drop what the muted node originates.
    assert "ORIGINAL" in c.rules(new) and "ORIGINAL" not in c.rules(old)
    assert nemesis.heal_all() == []
    assert udp_reaches(c, old, peer)


def events_commit(c, node: str) -> int:
    """The last commit index the node recorded in its events file (read from inside
    its container, so it works while its network is cut)."""
    _, out = c.exec(node, ["cat", "/data/node/events.jsonl"])
    commits = [json.loads(line).get("commit") for line in out.splitlines() if line.strip()]
    return max([x for x in commits if x is not None], default=0)


def test_packet_loss_and_delay(make_cluster):
    c = make_cluster(3)
    lead = c.wait_for_leader(10)
    victim = next(n for n in c.nodes if n != lead)
    assert put(c.addrs(), "warm", 0).outcome == OK
    wait_until(f"{victim} applied the first write", lambda: events_commit(c, victim) >= 2)
    before = events_commit(c, victim)
    loss = make_fault({"fault": "packet", "loss": 100, "target": victim}, c)
    loss.start()
    # Everything the victim receives is dropped: our own status request too...
    assert c.status(victim, timeout=0.5) is None
    # ...and the others' appends, so it falls behind while they commit.
    assert put(others(c, victim), "lossy", 5).outcome == OK
    assert c.status(lead)["commit"] > before
    assert events_commit(c, victim) == before
    loss.heal()
    wait_until(
        f"{victim} catches up after the loss heals",
        lambda: (s := c.status(victim)) and s["commit"] >= c.status(lead)["commit"],
    )

    # Delay: tc netem where the kernel has it; here, NFQUEUE and docker/netdelay.py.
    delay = make_fault({"fault": "packet", "delay-ms": 200, "target": victim}, c)
    delay.start()
    try:
        # Delayed, not lost: a request to the victim takes over 200 ms, and the victim
        # still keeps up with what the leader commits.
        t0 = time.monotonic()
        assert c.status(victim, timeout=3) is not None
        assert time.monotonic() - t0 > 0.2
        assert put(others(c, victim), "slow", 6).outcome == OK
        target = c.status(lead)["commit"]
        wait_until(
            f"{victim} commits index {target} through the delay",
            lambda: events_commit(c, victim) >= target,
        )
    finally:
        delay.heal()
    t0 = time.monotonic()
    assert c.status(victim, timeout=3) is not None
    assert time.monotonic() - t0 < 0.2
    assert c.exec(victim, ["pgrep", "-f", "netdelay"], check=False)[0] == 1  # stopped by the heal


def test_heal_all_undoes_every_fault_at_once(make_cluster):
    """The end of a run: whatever is active, heal_all() leaves a whole, working cluster."""
    c = make_cluster(5)
    c.wait_for_leader(10)
    rng = random.Random(5)
    nemesis = Nemesis()
    specs = [
        {"fault": "partition", "mode": "bridge"},
        {"fault": "kill", "target": "n1"},
        {"fault": "clock", "mode": "bump", "delta-ms": -4000, "target": "n2"},
        {"fault": "clock", "mode": "strobe", "delta-ms": 2000, "period-ms": 100, "target": "n3"},
        {"fault": "packet", "loss": 50, "target": "n4"},
        {"fault": "pause", "target": "n5"},
    ]
    for spec in specs:
        nemesis.start(make_fault(spec, c, rng))

    assert nemesis.heal_all() == []
    assert all(not f.active for f in nemesis.faults)
    assert not c.paused
    for n in c.nodes:
        c.containers[n].reload()
        assert c.containers[n].status == "running"
        assert c.rules(n).strip().splitlines() == ["-N RAFTQUAKE"]
        assert c.exec(n, [c.iptables, "-S", "RAFTQUAKE_PKT"])[1].strip() == "-N RAFTQUAKE_PKT"
    c.wait_ready(20)
    for n in ("n2", "n3"):
        assert abs(c.clock_reading(n)["faked_skew"]) < 0.8
    c.wait_for_leader(15)
    assert put(c.addrs(), "healed", 6).outcome == OK
