"""`raftquake run --backend sim`: a schedule over the simulation, judged by the same checkers.

What a user relies on: the default schedule runs its full minute of virtual time in
seconds and is valid; a seed replays byte for byte (even in another process with
another hash seed); every fault family of DESIGN applies; a planted bug is caught.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.backends.sim.adapter import SimBackendCluster, rules_in_ms
from harness.backends.sim.cluster import SimCluster, SimConfig
from harness.backends.sim.loop import run_in_virtual_time
from harness.nemesis import NoLeader, make_fault
from harness.runner import execute, run_schedule
from harness.schedule import load_schedule, parse_schedule
from harness.store import RunDir, new_run_dir
from harness.systems.base import ClientOptions
from harness.verdict import check_run

ROOT = Path(__file__).resolve().parents[2]


def _quiet(_msg: str) -> None:
    pass


def _schedule(text: str):
    return parse_schedule(text, "<test>")


def _history(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """The shipped default schedule, its whole 90 s, once for the tests below."""
    s = load_schedule(ROOT / "schedules" / "default.yaml")
    t = time.monotonic()
    outcome = run_schedule(s, "sim", tmp_path_factory.mktemp("store"), seed=3, say=_quiet)
    wall = time.monotonic() - t
    print(f"\ndefault.yaml, 90 s on sim: {wall:.1f} s of wall time (run + checkers + report)")
    return outcome


def test_default_schedule_runs_its_whole_time_and_every_checker_says_valid(default_run):
    r = default_run.results
    assert r["status"] == "complete" and r["backend"] == "sim"
    assert {name: c["valid"] for name, c in r["checkers"].items()} == {
        "linearizable": True,
        "election-safety": True,
        "log-agreement": True,
        "stats": True,
        "crashes": True,
    }
    assert r["valid"] is True and default_run.exit_code == 0
    assert r["virtual-time-s"] >= 90
    # The workload really ran: at 200 ops/s for 90 s, thousands of acknowledged operations.
    assert r["checkers"]["stats"]["total"]["ok"] > 5_000
    assert set(r["final-reads"]) == {f"k{i}" for i in range(8)}
    assert all(v != "unavailable" for v in r["final-reads"].values())


def test_every_fault_family_of_the_default_schedule_applies(default_run):
    r = default_run.results
    assert r["fault-errors"] == [] and r["heal-errors"] == []
    applied = [(f["fault"], f["at"]) for f in r["faults"]]
    assert applied[:7] == [  # the tour, by hand
        ("partition", 2),
        ("kill", 6),
        ("pause", 9),
        ("clock", 12),
        ("packet", 15),
        ("partition", 18),
        ("membership", 20),
    ]
    # Then the package's draws: all applied, from 21 s to the end, of several families.
    drawn = applied[7:]
    assert len(drawn) >= 10 and all(21 <= at < 90 for _, at in drawn)
    assert len({family for family, _ in drawn}) >= 3
    ring = r["faults"][0]
    assert ring["mode"] == "majorities-ring" and len(ring["cuts"]) == 5
    hist = _history(default_run.run_dir.history)
    nemesis = [e["f"] for e in hist if e["process"] == "nemesis"]
    for family in ("partition", "kill", "pause", "clock", "packet", "membership"):
        assert f"start-{family}" in nemesis and f"stop-{family}" in nemesis
    assert nemesis[-1] == "heal"


def test_history_follows_the_process_rules_and_node_files_are_there(default_run):
    hist = _history(default_run.run_dir.history)
    assert [e["index"] for e in hist] == list(range(len(hist)))
    times = [e["time"] for e in hist]
    assert times == sorted(times) and times[-1] > 90 * 10**9  # virtual nanoseconds
    open_op: dict[int, dict] = {}
    retired: set[int] = set()
    for e in hist:
        p = e["process"]
        if p == "nemesis":
            continue
        assert p not in retired, f"process {p} invoked again after an info"
        if e["type"] == "invoke":
            assert p not in open_op
            open_op[p] = e
        else:
            assert open_op.pop(p)["f"] == e["f"]
            if e["type"] == "info":
                retired.add(p)
    assert not open_op
    nodes = default_run.run_dir.path / "nodes"
    # The five members, and any fresh member a membership fault added (n6, n7, ...).
    names = sorted(p.name for p in nodes.iterdir())
    assert names[:5] == ["n1", "n2", "n3", "n4", "n5"]
    assert all(int(n[1:]) > 5 for n in names[5:])
    for d in nodes.iterdir():
        if d.name not in names[:5]:
            continue
        events = _history(d / "events.jsonl")
        assert any("role" in ev for ev in events) and any("commit" in ev for ev in events)
        assert all(ev["node"] == d.name and isinstance(ev["time"], int) for ev in events)
        log = _history(d / "log.jsonl")
        # The node snapshots every 100 entries: its dump starts with the snapshot's line,
        # then every committed entry after it, in order.
        first = log.pop(0)["snapshot"]["index"] + 1 if log and "snapshot" in log[0] else 1
        assert [e["index"] for e in log] == list(range(first, first + len(log)))
        # A minute of writes and cas at 200 op/s, half of the operations, less the
        # seconds without a leader: the package cuts the leader off every few seconds,
        # and the tour's membership fault removes the leader for 3 s.
        assert first + len(log) - 1 > 2_500


SHORT = """
name: short
nodes: 5
time-limit: 6
workload: {keys: 3, concurrency: 6, rate: 150}
nemesis:
  - {at: 1, fault: partition, mode: halves, for: 1.5}
  - {at: 3, fault: kill, target: leader, for: 1}
  - {at: 4.5, fault: clock, mode: strobe, delta-ms: 800, period-ms: 100, target: one, for: 1}
final: {heal: true, recover: 1}
checkers: [stats]
"""


def _simulate(text: str, store: Path, seed: int) -> RunDir:
    """The backend alone (no checkers, no report): what a run leaves in its folder."""
    s = dataclasses.replace(_schedule(text), seed=seed)
    run_dir = new_run_dir(store, s.name)
    execute("sim", s, run_dir, _quiet)
    return run_dir


_CHILD = """
import dataclasses, sys
from harness.schedule import parse_schedule
from harness.runner import execute
from harness.store import new_run_dir
s = dataclasses.replace(parse_schedule(sys.stdin.read(), "<test>"), seed=int(sys.argv[2]))
run_dir = new_run_dir(sys.argv[1], s.name)
execute("sim", s, run_dir, lambda m: None)
sys.stdout.write(str(run_dir.history))
"""


def _history_in_child(store: Path, seed: int, hash_seed: str) -> bytes:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(store), str(seed)],
        input=SHORT,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=True,
    )
    return Path(out.stdout).read_bytes()


def test_same_seed_gives_the_same_history_byte_for_byte_across_processes(tmp_path):
    a = _history_in_child(tmp_path / "a", 11, "1")
    b = _history_in_child(tmp_path / "b", 11, "2")
    assert len(a) > 50_000 and a == b
    other = _simulate(SHORT, tmp_path / "c", 12)
    assert other.history.read_bytes() != a  # the seed matters


STALE = """
name: stale
nodes: 5
time-limit: 12
node: {read-mode: read-index, bugs: [stale-read]}
workload: {keys: 1, concurrency: 20, rate: 200, mix: {read: 0.85, write: 0.15}}
nemesis:
  - {start: 2, every: 5, fault: partition, mode: leader, for: 2.5}
final: {heal: true, recover: 1}
checkers: [linearizable, stats]
"""


def test_a_planted_stale_read_is_caught_by_the_linearizable_checker(tmp_path):
    bad = _simulate(STALE, tmp_path / "bad", 5)
    verdict = check_run(bad, _schedule(STALE))
    lin = verdict["checkers"]["linearizable"]
    assert lin["valid"] is False and verdict["valid"] is False
    assert "read" in lin.get("explanation", "")
    # The control: the same schedule and seed with a correct node is valid.
    correct = STALE.replace("bugs: [stale-read]", "bugs: []")
    good = _simulate(correct, tmp_path / "good", 5)
    assert check_run(good, _schedule(correct))["checkers"]["linearizable"]["valid"] is True


# ---- the Cluster adapter: the nemesis's own fault objects on the simulation ----------


def _elected(nodes: int = 5, seed: int = 1) -> tuple[SimCluster, SimBackendCluster]:
    sim = SimCluster(SimConfig(nodes=nodes, seed=seed, trace=False))
    assert sim.run_until(lambda: sim.leader() is not None, 5_000)
    return sim, SimBackendCluster(sim)


def _fault(cluster, spec: dict, seed: int = 0):
    return make_fault(spec, cluster, random.Random(seed))


def test_one_way_partition_blocks_only_the_first_side_sending():
    sim, c = _elected()
    f = _fault(c, {"fault": "partition", "mode": "one", "one-way": True})
    applied = f.start()
    [alone], rest = applied["groups"]
    # As on Docker, each node's rules take effect when its exec runs (rules_in_ms), not at once.
    assert sim.network.blocked == set()
    sim.run_for(rules_in_ms())
    assert sim.network.blocked == {(alone, o) for o in rest}
    f.heal()
    sim.run_for(rules_in_ms())
    assert sim.network.blocked == set()


def test_leader_partition_isolates_the_leader_both_ways():
    sim, c = _elected()
    lead = sim.leader()
    applied = _fault(c, {"fault": "partition", "mode": "leader"}).start()
    assert applied["groups"][0] == [lead]
    others = [n for n in sim.ids if n != lead]
    sim.run_for(rules_in_ms())
    assert sim.network.blocked == {(lead, o) for o in others} | {(o, lead) for o in others}
    # The majority elects a new leader in virtual time.
    assert sim.run_until(lambda: any(sim.nodes[n].core.role == "leader" for n in others), 5_000)


def test_kill_pause_and_packet_faults_reach_the_simulated_nodes():
    sim, c = _elected()
    kill = _fault(c, {"fault": "kill", "target": ["n2"]})
    kill.start()
    assert not sim.nodes["n2"].up and c.status("n2") is None
    kill.heal()
    assert sim.nodes["n2"].up
    pause = _fault(c, {"fault": "pause", "target": ["n3"]})
    pause.start()
    assert sim.nodes["n3"].paused
    pause.heal()
    assert not sim.nodes["n3"].paused
    packet = _fault(c, {"fault": "packet", "loss": 100, "target": ["n4"]})
    packet.start()
    before = sim.network.stats["dropped"]
    sim.run_for(500)
    assert sim.network.stats["dropped"] > before  # everything sent to n4 is lost
    packet.heal()
    assert sim.network.inbound == {}


def test_clock_strobe_flips_until_healed_and_heal_restores_the_offset():
    sim, c = _elected()
    f = _fault(
        c, {"fault": "clock", "mode": "strobe", "delta-ms": 500, "period-ms": 100, "target": ["n1"]}
    )
    f.start()
    seen = set()
    for _ in range(6):
        sim.run_for(50)
        seen.add(c.clock_offsets["n1"])
    assert seen == {0.0, 0.5}
    f.heal()
    sim.run_for(500)
    assert c.clock_offsets["n1"] == 0.0


def test_a_leader_target_without_a_leader_waits_in_virtual_time(tmp_path):
    s = _schedule(
        """
name: no-leader
nodes: 3
time-limit: 8
workload: {keys: 2, concurrency: 2, rate: 20}
nemesis:
  - {at: 1, fault: kill, target: all, for: 2}
  - {at: 2, fault: kill, target: leader, for: 1}
final: {heal: true, recover: 1}
checkers: [stats]
"""
    )
    t = time.monotonic()
    outcome = run_schedule(s, "sim", tmp_path, seed=2, say=_quiet)
    assert time.monotonic() - t < 30  # polled in virtual time, never slept
    r = outcome.results
    assert r["fault-errors"] == []
    assert [f["fault"] for f in r["faults"]] == ["kill", "kill"]
    starts = [e["time"] / 1e9 for e in _history(outcome.run_dir.history) if e["f"] == "start-kill"]
    # All three nodes are down from 1 s to 3 s: the leader kill waits for an election.
    assert starts[0] < 2 and starts[1] > 3
    sim, c = _elected(3)
    for n in sim.ids:
        sim.crash(n)
    with pytest.raises(NoLeader):
        _fault(c, {"fault": "kill", "target": "leader"}).start()


# ---- the clients: raftnode/client.py itself, in virtual time -------------------------


def test_a_client_follows_redirects_and_moves_past_a_dead_node():
    sim, cluster = _elected(seed=4)
    lead = sim.leader()
    client = cluster.open_client(2.0, ClientOptions(client_id="c0", rng=random.Random(0)))
    client._target = next(i for i, n in enumerate(sim.ids) if n != lead)  # a follower first

    async def ops():
        wrote = await client.put("k", 1)
        sim.crash(lead)  # the client's node dies: it tries the others until a new leader answers
        read = await client.get("k")
        # A precondition failure is definite and is not retried.
        cas = await client.cas("k", 5, 6)
        return wrote, read, cas

    wrote, read, cas = run_in_virtual_time(sim, ops())
    assert (wrote.outcome, wrote.node_id) == ("ok", lead)
    assert read.outcome == "ok" and read.value == 1 and read.node_id != lead
    assert (cas.outcome, cas.error) == ("fail", "precondition")
    # Backoff, not a spin: a failover costs a handful of attempts, not hundreds.
    assert read.attempts < 30


def test_a_client_gives_a_node_an_eighth_of_its_timeout_before_trying_another():
    sim = SimCluster(SimConfig(nodes=5, seed=6, trace=False, tick_ms=50.0))  # the node's timing
    assert sim.run_until(lambda: sim.leader() is not None, 5_000)
    cluster = SimBackendCluster(sim)
    lead = sim.leader()
    client = cluster.open_client(
        2.0, ClientOptions(client_id="c3", rng=random.Random(3), home=lead)
    )
    assert client.attempt_timeout == 0.25  # 2 s / 8: a node answers in milliseconds
    assert cluster.open_client(4.0).attempt_timeout == 0.5
    cluster.cut_many([(lead, n) for n in sim.ids if n != lead])  # its own node, cut off
    sim.run_for(rules_in_ms())  # once the rules are in (as on Docker, not at once)

    async def put():
        return await client.put("k", 1)

    r = run_in_virtual_time(sim, put())
    # It leaves its cut-off node and is done at the leader the others elect.
    assert r.outcome == "ok" and r.node_id not in (lead, None)


def test_a_client_bound_to_a_node_starts_every_operation_there():
    sim, cluster = _elected(seed=5)
    lead = sim.leader()
    home = next(n for n in sim.ids if n != lead)
    client = cluster.open_client(
        5.0, ClientOptions(client_id="c1", rng=random.Random(1), home=home)
    )
    leader_client = cluster.open_client(5.0, ClientOptions(client_id="c2", rng=random.Random(2)))

    async def ops():
        bound = [await client.put("k", i) for i in range(3)]
        following = [await leader_client.put("k", 10 + i) for i in range(3)]
        return bound, following

    bound, following = run_in_virtual_time(sim, ops())
    # Each bound operation asks its home first and is redirected to the leader ...
    assert all(r.outcome == "ok" and r.attempts >= 2 and r.node_id == lead for r in bound)
    # ... where a leader-following client, once it found the leader, stays.
    assert [r.attempts for r in following][1:] == [1, 1]


# ---- the workload's clients: Jepsen's process model (issue 24) ------------------------

LEADER_CUT = """
name: leader-cut
nodes: 5
time-limit: 4
system: {name: raftnode, bugs: []}
workload: {name: register, keys: 8, concurrency: 10, rate: 200}
nemesis:
  - {at: 1, fault: partition, mode: leader, for: 2.5}
final: {heal: true, recover: 1}
"""


def test_a_write_the_cut_off_leader_leaves_unanswered_ends_info_and_the_slot_goes_on(tmp_path):
    """A silent node holds a client slot for one attempt timeout (0.25 s), not until
    another leader exists: the operation ends `info` and a fresh process takes the slot at
    once, before the majority has elected (before, every slot sat on the cut-off leader)."""
    run = _simulate(LEADER_CUT, tmp_path, 3)
    h = [json.loads(line) for line in open(run.path / "history.jsonl")]
    cut = next(e for e in h if e["f"] == "start-partition")
    old = cut["value"]["groups"][0][0]
    elected = min(  # the first answer of another leader
        e["time"]
        for e in h
        if e["type"] == "ok" and e["time"] > cut["time"] and e.get("node") not in (old, None)
    )
    invoked = {}
    fresh = []  # processes that took a slot over after an info, before the new leader
    for e in h:
        if e["process"] == "nemesis" or e["time"] >= elected:
            continue
        if e["type"] == "invoke":
            invoked[e["process"]] = e
            if e["process"] >= 10:  # numbers after the 10 slots': a renumbered process
                fresh.append(e["process"])
        elif e["type"] == "info":
            took = e["time"] - invoked[e["process"]]["time"]
            assert took < 400_000_000, f"info after {took / 1e9:.2f} s: {e}"
    assert len(fresh) >= 3, fresh
