"""Real raftnode processes on 127.0.0.1: elections, kill -9, restarts, SIGSTOP/SIGCONT.

Each test starts its own cluster (fresh ports and data directories) and kills every
process in teardown. Ticks are 25 ms, so elections take 250-500 ms of silence.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest

from harness.backends.local.cluster import LocalCluster
from harness.systems.raftnode import RaftnodeSystem
from raftnode.client import OK, UNKNOWN, Client

pytestmark = pytest.mark.processes

TICK_MS = 25


@pytest.fixture
def make_cluster(tmp_path):
    clusters: list[LocalCluster] = []

    def make(
        size: int, election_ticks: int = 10, extra_args: tuple[str, ...] = (), **options
    ) -> LocalCluster:
        """`options`: the RaftnodeSystem's (read_mode=, bugs=, snapshot_entries=);
        `extra_args`: more node flags."""
        args = ("--tick-ms", str(TICK_MS), "--election-ticks", str(election_ticks), *extra_args)
        system = RaftnodeSystem.with_node_defaults(args, **options)
        c = LocalCluster(size, tmp_path / f"c{len(clusters)}", system)
        clusters.append(c)
        c.start()
        return c

    yield make
    for c in clusters:
        c.teardown()


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


async def put_all(cluster: LocalCluster, items: dict[str, object]) -> None:
    async with cluster.client() as c:
        for k, v in items.items():
            r = await c.put(k, v)
            assert r.outcome == OK, (k, r)


async def read_all(cluster: LocalCluster, keys) -> dict[str, object]:
    out = {}
    async with cluster.client() as c:
        for k in keys:
            r = await c.get(k)
            assert r.outcome == OK, (k, r)
            out[k] = r.value
    return out


async def wait_logs_agree(cluster: LocalCluster, nodes, min_len: int, deadline=10.0) -> list:
    """Every node's committed log reaches min_len and they agree on the common prefix."""
    end = asyncio.get_running_loop().time() + deadline
    while True:
        logs = {n: await cluster.committed_log(n) for n in nodes}
        short = min(len(v) for v in logs.values())
        for n, lg in logs.items():
            assert lg[:short] == logs[nodes[0]][:short], f"{n}'s committed log disagrees"
        if short >= min_len:
            return logs[nodes[0]]
        if asyncio.get_running_loop().time() > end:
            raise TimeoutError(
                f"committed logs stayed short: { {n: len(v) for n, v in logs.items()} }"
            )
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("size", [3, 5])
def test_leader_is_elected_and_writes_commit_everywhere(make_cluster, size):
    cluster = make_cluster(size)

    async def scenario():
        leader = await cluster.wait_leader()
        items = {f"k{i}": {"n": i} for i in range(20)}
        await put_all(cluster, items)
        assert await read_all(cluster, items) == items
        log = await wait_logs_agree(cluster, cluster.nodes, 21)
        written = {e["command"]["key"]: e["command"]["value"] for e in log if e["command"]}
        assert written == items
        async with cluster.client() as c:
            assert (await c.put("who", 1)).node_id == leader  # answers name the leader
        st = await cluster.astatuses()
        assert [n for n, s in st.items() if s["role"] == "leader"] == [leader]
        assert all(s["leader"] == leader for s in st.values())

    run(scenario())
    # events.jsonl has the contract's shape: one leader event, commit events moving up.
    events = [
        json.loads(line)
        for n in cluster.nodes
        for line in (cluster.data_dir(n) / "events.jsonl").read_text().splitlines()
    ]
    assert any(e.get("role") == "leader" for e in events)
    assert all(isinstance(e["time"], int) and e["node"] in cluster.nodes for e in events)
    assert any("commit" in e and "term_at" in e for e in events)


@pytest.mark.parametrize("size", [3, 5])
def test_killed_leader_is_replaced_and_rejoins(make_cluster, size):
    cluster = make_cluster(size)

    async def scenario():
        old = await cluster.wait_leader()
        old_term = (await cluster.astatus(old))["term"]
        await put_all(cluster, {"a": 1, "b": 2})
        cluster.kill(old)
        new = await cluster.wait_leader(exclude=[old])
        assert (await cluster.astatus(new))["term"] > old_term
        await put_all(cluster, {"c": 3})
        assert await read_all(cluster, ["a", "b", "c"]) == {"a": 1, "b": 2, "c": 3}
        cluster.restart(old)
        # The old leader comes back as a follower of the new one and catches up.
        await cluster.wait_for(
            f"{old} following {new}",
            lambda st: old in st and st[old]["role"] == "follower" and st[old]["leader"] == new,
        )
        await wait_logs_agree(cluster, cluster.nodes, 5)

    run(scenario())


# (3, 7): snapshots every 7 applied entries, so the kill falls after many compactions and
# the restart recovers from a snapshot plus the WAL after it.
@pytest.mark.parametrize("size,snapshot_entries", [(3, None), (5, None), (3, 7)])
def test_every_node_killed_at_once_loses_no_acknowledged_write(
    make_cluster, size, snapshot_entries
):
    every = {} if snapshot_entries is None else {"snapshot_entries": snapshot_entries}
    cluster = make_cluster(size, **every)
    acked: dict[str, int] = {}
    unknown: dict[str, int] = {}

    async def writer(w: int, stop: asyncio.Event):
        async with cluster.client(timeout=1.0) as c:
            i = 0
            while not stop.is_set():
                key = f"w{w}-{i}"
                r = await c.put(key, i)
                if r.outcome == OK:
                    acked[key] = i
                elif r.outcome == UNKNOWN:
                    unknown[key] = i
                    return  # the process is over after an unknown outcome
                i += 1

    async def load_then_kill():
        await cluster.wait_leader()
        stop = asyncio.Event()
        tasks = [asyncio.create_task(writer(w, stop)) for w in range(6)]
        # Kill everything mid-load, once a good number of writes were acknowledged.
        while len(acked) < 150:
            await asyncio.sleep(0.01)
        cluster.kill_all()
        stop.set()
        await asyncio.gather(*tasks)

    run(load_then_kill())
    assert len(acked) >= 150
    cluster.start()

    async def check():
        await cluster.wait_leader()
        got = await read_all(cluster, acked)
        lost = {k: v for k, v in acked.items() if got[k] != v}
        assert not lost, f"{len(lost)} acknowledged writes lost after kill -9 of all nodes"
        for k, v in unknown.items():  # unknown: either outcome, nothing else
            (r,) = (await read_all(cluster, [k])).values()
            assert r in (None, v)

    run(check())
    if snapshot_entries:
        recovered = [st["snapshot_index"] for st in cluster.statuses().values() if st]
        assert max(recovered) > 100, f"no node restarted from a snapshot: {recovered}"


@pytest.mark.parametrize("size", [3, 5])
def test_paused_leader_is_replaced_and_rejoins_as_follower(make_cluster, size):
    cluster = make_cluster(size)

    async def scenario():
        old = await cluster.wait_leader()
        await put_all(cluster, {"x": 1})
        cluster.pause(old)
        # A client that tries the paused leader first gives up on it and finds the new one.
        first = [cluster.addrs()[old]] + [a for n, a in cluster.addrs().items() if n != old]
        async with Client(first, timeout=6.0) as c:
            r = await c.put("z", 9)
            assert r.outcome == OK, r
        new = await cluster.wait_leader(exclude=[old])
        await put_all(cluster, {"x": 2, "y": 3})
        cluster.resume(old)
        new_term = (await cluster.astatus(new))["term"]
        st = await cluster.wait_for(
            f"{old} resumed as a follower",
            lambda st: (
                old in st
                and st[old]["role"] == "follower"
                and st[old]["term"] >= new_term
                and st[old]["leader"] == new
                and st
            ),
        )
        assert st[new]["role"] == "leader"
        assert await read_all(cluster, ["x", "y"]) == {"x": 2, "y": 3}
        await wait_logs_agree(cluster, cluster.nodes, 4)  # no-op, x, no-op, x, y: >= 4

    run(scenario())


def kv(
    cluster: LocalCluster,
    *args: str,
    node: str | None = None,
    timeout: float = 5.0,
    secret: bool = True,
):
    """`raftquake kv` at a node, in a shell that has the cluster's secret (or not)."""
    addr = cluster.addrs()[node or cluster.nodes[0]]
    env = cluster.env() if secret else None
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", "kv", "--node", addr, "--timeout", str(timeout)]
        + list(args),
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )


def test_kv_command_prints_json_and_exits_by_outcome(make_cluster):
    cluster = make_cluster(3)
    leader = run(cluster.wait_leader())
    follower = next(n for n in cluster.nodes if n != leader)

    # Through a follower: the client follows the redirect to the leader.
    r = kv(cluster, "put", "k", '{"a": [1, 2]}', node=follower)
    assert r.returncode == 0, r.stderr
    r = kv(cluster, "get", "k", node=follower)
    assert (r.returncode, json.loads(r.stdout)) == (0, {"a": [1, 2]})
    assert json.loads(kv(cluster, "get", "never-written").stdout) is None
    assert kv(cluster, "put", "s", "hello").returncode == 0
    assert json.loads(kv(cluster, "get", "s").stdout) == "hello"  # not JSON: a string

    assert kv(cluster, "cas", "s", "hello", "7").returncode == 0
    r = kv(cluster, "cas", "s", "hello", "8")  # precondition fails: definitely not done
    assert r.returncode == 1 and "precondition" in r.stderr
    assert json.loads(kv(cluster, "get", "s").stdout) == 7

    r = kv(cluster, "status", node=follower)
    st = json.loads(r.stdout)
    assert r.returncode == 0
    assert {"id", "role", "term", "leader", "commit", "wall_ns", "mono_ns"} <= set(st)
    assert (st["id"], st["role"], st["leader"]) == (follower, "follower", leader)

    assert kv(cluster, "get").returncode == 2  # usage

    # Every node stopped: a sent write gets no answer, so its outcome is unknown.
    for n in cluster.nodes:
        cluster.pause(n)
    r = kv(cluster, "put", "k", "1", timeout=1.0)
    assert r.returncode == 3, (r.returncode, r.stderr)
    for n in cluster.nodes:
        cluster.resume(n)
    # Nothing listening at all: nothing was sent, so definitely not done.
    for n in cluster.nodes:
        cluster.kill(n)
    r = kv(cluster, "put", "k", "1", timeout=1.0)
    assert r.returncode == 1, (r.returncode, r.stderr)


@pytest.mark.parametrize("mode", ["log", "lease"])
def test_other_read_modes_read_what_was_written(make_cluster, mode):
    cluster = make_cluster(3, read_mode=mode)

    async def scenario():
        await cluster.wait_leader()
        await put_all(cluster, {"r": 1})
        assert await read_all(cluster, ["r", "absent"]) == {"r": 1, "absent": None}
        await put_all(cluster, {"r": 2})
        assert await read_all(cluster, ["r"]) == {"r": 2}
        st = await cluster.astatus(cluster.nodes[0])
        assert st["read_mode"] == mode

    run(scenario())


@pytest.mark.parametrize("bug", [False, True])
def test_ack_before_commit_bug_acknowledges_without_a_quorum(make_cluster, bug):
    # Long election timeouts (1-2 s): the leader must still be leader when the write arrives.
    cluster = make_cluster(3, bugs=("ack-before-commit",) if bug else (), election_ticks=40)

    async def scenario():
        leader = await cluster.wait_leader()
        for n in cluster.nodes:
            if n != leader:
                cluster.pause(n)
        c = Client([cluster.addrs()[leader]], timeout=1.0)
        try:
            return await c.put("lonely", 1)
        finally:
            await c.close()

    r = run(scenario())
    # Correct node: nothing can commit without a quorum, so the outcome is unknown.
    # With the planted bug the leader acknowledges from its own log alone.
    assert r.outcome == (OK if bug else UNKNOWN), r


def test_sigterm_stops_a_node_cleanly(make_cluster):
    cluster = make_cluster(3)
    run(cluster.wait_leader())
    assert cluster.terminate("n1") == 0
    assert "stopped" in (cluster.data_dir("n1") / "node.log").read_text()


def test_node_with_a_torn_wal_tail_recovers_and_catches_up(make_cluster):
    cluster = make_cluster(3)

    async def before():
        leader = await cluster.wait_leader()
        await put_all(cluster, {f"t{i}": i for i in range(10)})
        return leader

    leader = run(before())
    victim = next(n for n in cluster.nodes if n != leader)
    cluster.kill(victim)
    wal = cluster.data_dir(victim) / "wal.log"
    size = wal.stat().st_size
    with open(wal, "ab") as f:  # a record cut short mid-write: header says more than follows
        f.write(b"\x00\x00\x01\x00\xde\xad\xbe\xef" + b'{"hs":[9,"n9",0],"e":[[9,')

    async def after():
        await put_all(cluster, {"t10": 10})
        cluster.restart(victim)
        await cluster.wait_for(
            f"{victim} back as a follower",
            lambda st: st.get(victim, {}).get("role") == "follower",
        )
        await wait_logs_agree(cluster, cluster.nodes, 12)
        st = await cluster.astatus(victim)
        assert st["term"] < 9  # the torn record's term was not taken

    run(after())
    assert "torn" in (cluster.data_dir(victim) / "node.log").read_text()
    assert wal.stat().st_size > size  # cut back, then appended to
