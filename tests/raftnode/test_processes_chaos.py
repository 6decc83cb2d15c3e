"""A short local chaos run: real processes, kills and pauses under a concurrent cas-register
workload; the recorded history must be linearizable (checked by `raftquake check`).

This exercises the node end to end -- durability, group commit, the leader's early
appends and early answers, redirects, client retries -- against the project's own
checker, without Docker (`raftquake run` covers partitions and clock faults).
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys

import pytest

from harness.local_cluster import LocalCluster
from harness.recorder import HistoryRecorder
from raftnode.client import OK, UNKNOWN, Client

pytestmark = pytest.mark.processes

SECONDS = 12
KEYS = ["k0", "k1", "k2"]


async def workload(cluster: LocalCluster, rec: HistoryRecorder, slot: int, stop, rng, counter):
    process = slot
    client = Client(cluster.addrs(), timeout=1.5)
    try:
        while not stop.is_set():
            key = rng.choice(KEYS)
            r = rng.random()
            if r < 0.4:
                f, value = "read", None
                rec.invoke(process, f, None, key=key)
                res = await client.get(key)
            elif r < 0.7:
                counter[key] += 1
                f, value = "write", counter[key]
                rec.invoke(process, f, value, key=key)
                res = await client.put(key, value)
            else:
                counter[key] += 1
                f, value = "cas", [rng.randint(0, counter[key]), counter[key]]
                rec.invoke(process, f, value, key=key)
                res = await client.cas(key, value[0], value[1])
            if res.outcome == OK:
                rec.complete(process, "ok", res.value if f == "read" else value, node=res.node_id)
            elif res.outcome == UNKNOWN:
                rec.complete(process, "info", value, error=res.error)
                # DESIGN: after an info the process is over; go on as a new one.
                process += 100
                await client.close()
                client = Client(cluster.addrs(), timeout=1.5)
            else:
                rec.complete(process, "fail", value, error=res.error)
    finally:
        await client.close()


async def nemesis(cluster: LocalCluster, rec: HistoryRecorder, rng, seconds: float):
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        await asyncio.sleep(1.5)
        leader = None
        st = await cluster.astatuses()
        leaders = [n for n, s in st.items() if s["role"] == "leader"]
        if leaders:
            leader = leaders[0]
        victim = leader if leader and rng.random() < 0.6 else rng.choice(cluster.nodes)
        fault = rng.choice(["kill", "pause"])
        rec.nemesis(f"start-{fault}", {"node": victim})
        if fault == "kill":
            cluster.kill(victim)
        else:
            cluster.pause(victim)
        await asyncio.sleep(rng.uniform(0.5, 1.5))
        if fault == "kill":
            cluster.restart(victim)
        else:
            cluster.resume(victim)
        rec.nemesis(f"stop-{fault}", {"node": victim})


@pytest.mark.parametrize("seed", [1])
def test_history_under_kills_and_pauses_is_linearizable(tmp_path, seed):
    rng = random.Random(seed)
    history = tmp_path / "history.jsonl"
    with LocalCluster(3, tmp_path / "nodes", tick_ms=25) as cluster:  # started: all answer

        async def scenario():
            await cluster.wait_leader()
            stop = asyncio.Event()
            counter = dict.fromkeys(KEYS, 0)
            with HistoryRecorder(history) as rec:
                workers = [
                    asyncio.create_task(
                        workload(cluster, rec, i, stop, random.Random(seed * 100 + i), counter)
                    )
                    for i in range(6)
                ]
                await nemesis(cluster, rec, rng, SECONDS)
                await cluster.wait_leader(deadline=20)
                await asyncio.sleep(1.0)  # some operations after healing
                stop.set()
                await asyncio.gather(*workers)

        asyncio.run(asyncio.wait_for(scenario(), 90))

    events = [json.loads(line) for line in history.read_text().splitlines()]
    oks = [e for e in events if e["type"] == "ok"]
    assert len(oks) > 100, f"too few operations completed ({len(oks)}) to mean anything"
    assert any(e["process"] == "nemesis" for e in events)
    out = subprocess.run(
        [sys.executable, "-m", "harness.cli", "check", str(history), "--model", "cas-register",
         "--json", "--timeout", "60"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    verdict = json.loads(out.stdout.splitlines()[0])
    assert verdict["valid"] is True, (out.stdout, out.stderr)
    assert out.returncode == 0
