"""raftnode against PySyncObj: three local nodes each, N concurrent clients over TCP.

Measures, for raftnode (fsync on, read-index reads):
  - committed writes/s and linearizable reads/s at full load (closed loop, N clients),
    with p50/p99 latency;
  - p50/p99 write latency at half the peak write rate (paced clients);
  - failover: kill -9 of the leader to the first acknowledged write afterwards, median of 5.
and the same load figures for PySyncObj (three local nodes, in-memory log: no fsync;
reads through its log, so also linearizable), then prints the ratios and the targets:
writes/s >= PySyncObj's, p99 write latency <= 50 ms at half peak, failover median <= 1 s.

Peer authentication (an HMAC on every peer frame, on by default): two more clusters, one
with the cluster secret and one with --no-auth, measured in alternating rounds at the
peak's client count (so that the machine's load drifts over both alike); the medians'
ratio, on/off, against the target of within 10% (with --auth-together both clusters
are loaded at once in each round instead). Beside throughput, the nodes' own CPU
time per operation (user + system, from /proc, all three nodes): on a machine shared
with other work throughput swings with the load, while CPU per operation is what the
MAC itself costs.

The load generator shares the machine's cores with the nodes: figures are for this
machine and its load at the time; the script prints the load average.

    .venv/bin/python benchmarks/bench_raftnode.py [--clients 16,32,64] [--duration 3]
        [--failovers 5] [--skip-peer] [--auth-rounds 3] [--auth-together]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.backends.local.cluster import LocalCluster, free_ports  # noqa: E402
from harness.systems.raftnode import RaftnodeSystem  # noqa: E402
from raftnode.client import Client  # noqa: E402


@dataclass
class Load:
    ops: int
    seconds: float
    latencies: list[float]
    errors: int

    @property
    def rate(self) -> float:
        return self.ops / self.seconds

    def pct(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] * 1000

    def line(self, what: str) -> str:
        return (
            f"{what:<28} {self.rate:9.0f} ops/s   p50 {self.pct(50):7.2f} ms   "
            f"p99 {self.pct(99):7.2f} ms   ({self.ops} ok, {self.errors} not ok)"
        )


async def run_load(addrs, clients: int, seconds: float, op: str, rate: float = 0.0) -> Load:
    """N clients, each one operation at a time; rate > 0 paces them to rate ops/s overall."""
    lat: list[float] = []
    errors = 0
    end = time.monotonic() + seconds

    async def one(i: int) -> None:
        nonlocal errors
        async with Client(addrs, timeout=5.0) as c:
            n = 0
            interval = clients / rate if rate else 0.0
            next_at = time.monotonic() + (i * interval / clients if rate else 0.0)
            while True:
                if rate:
                    delay = next_at - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    next_at += interval
                t = time.perf_counter()
                if time.monotonic() >= end:
                    return
                if op == "put":
                    r = await c.put(f"k{i}-{n % 64}", n)
                else:
                    r = await c.get(f"k{i}-{n % 64}")
                if r.ok:
                    lat.append(time.perf_counter() - t)
                else:
                    errors += 1
                n += 1

    t0 = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(clients)))
    return Load(len(lat), time.monotonic() - t0, lat, errors)


async def measure(addrs, client_counts: list[int], seconds: float, say) -> dict:
    """Peak writes/s over the client counts; reads and half-load latency at the peak's count."""
    await run_load(addrs, client_counts[0], 1.0, "put")  # warm up: connections, leader found
    writes = {}
    for n in client_counts:
        writes[n] = await run_load(addrs, n, seconds, "put")
        say(writes[n].line(f"writes, {n} clients"))
    n = max(writes, key=lambda k: writes[k].rate)
    w = writes[n]
    r = await run_load(addrs, n, seconds, "get")
    say(r.line(f"reads, {n} clients"))
    h = await run_load(addrs, n, seconds, "put", rate=w.rate / 2)
    say(h.line(f"writes at half peak ({w.rate / 2:.0f}/s)"))
    return {"writes": w, "reads": r, "half": h, "clients": n}


async def failovers(cluster: LocalCluster, rounds: int, say) -> list[float]:
    times = []
    for i in range(rounds):
        await cluster.wait_leader(deadline=30)
        leader = await cluster.wait_leader(deadline=30)
        async with cluster.client(timeout=10.0) as c:
            r = await c.put("fo", i)  # a connection and a leader to start from
            assert r.ok, r
            cluster.kill(leader)
            t = time.monotonic()
            r = await c.put("fo", -i)
            took = time.monotonic() - t
        if not r.ok:
            raise RuntimeError(f"no write acknowledged within 10 s of killing {leader}: {r}")
        times.append(took)
        say(
            f"failover {i + 1}: killed {leader}, next write acknowledged after {took * 1000:.0f} ms"
        )
        cluster.restart(leader)
        target = (await cluster.astatus(next(n for n in cluster.live() if n != leader)))["commit"]
        await cluster.wait_for(
            f"{leader} to catch up",
            lambda st, ld=leader, tg=target: ld in st and st[ld]["commit"] >= tg,
            deadline=30,
        )
    return times


def cpu_seconds(cluster: LocalCluster) -> float:
    """User + system CPU seconds of the cluster's node processes so far (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in cluster.procs.values():
        fields = Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total / tick


async def auth_rounds(on: LocalCluster, off: LocalCluster, clients: int, rounds: int,
                      seconds: float, say,
                      together: bool = False) -> dict[str, dict[str, list[float]]]:  # fmt: skip
    """Writes/s and reads/s of the cluster with peer authentication and the one without,
    in alternating rounds (on, off, off, on, ...: neither always goes first), and the
    nodes' CPU microseconds per operation ("put-cpu", "get-cpu").

    `together`: both clusters loaded at once in each round, `clients` each, over the same
    seconds: whatever else the machine does then falls on both alike, and a cluster whose
    operations cost more CPU gets fewer done in the share it is given. On a machine shared
    with other work, the steadier A/B."""
    rates: dict[str, dict[str, list[float]]] = {
        k: {"put": [], "get": [], "put-cpu": [], "get-cpu": []} for k in ("on", "off")
    }
    for cluster in (on, off):
        await cluster.wait_leader(deadline=30)
        await run_load(cluster.addrs(), clients, 1.0, "put")  # warm up
    for i in range(rounds):
        if together:
            for op in ("put", "get"):
                cpu0 = {"on": cpu_seconds(on), "off": cpu_seconds(off)}
                loads = await asyncio.gather(
                    run_load(on.addrs(), clients, seconds, op),
                    run_load(off.addrs(), clients, seconds, op),
                )
                for (name, cluster), load in zip((("on", on), ("off", off)), loads, strict=True):
                    us = (cpu_seconds(cluster) - cpu0[name]) / max(1, load.ops) * 1e6
                    rates[name][op].append(load.rate)
                    rates[name][f"{op}-cpu"].append(us)
                    what = "writes" if op == "put" else "reads"
                    say(load.line(f"auth {name}, {what}, round {i + 1}") + f"  {us:.0f} us CPU/op")
            continue
        order = [("on", on), ("off", off)] if i % 2 == 0 else [("off", off), ("on", on)]
        for name, cluster in order:
            for op in ("put", "get"):
                cpu0 = cpu_seconds(cluster)
                load = await run_load(cluster.addrs(), clients, seconds, op)
                us = (cpu_seconds(cluster) - cpu0) / max(1, load.ops) * 1e6
                rates[name][op].append(load.rate)
                rates[name][f"{op}-cpu"].append(us)
                what = "writes" if op == "put" else "reads"
                say(load.line(f"auth {name}, {what}, round {i + 1}") + f"  {us:.0f} us CPU/op")
    return rates


def disk_fsync_ms(directory: Path, n: int = 300) -> tuple[float, float, float]:
    """p50, p99, max of fdatasync after a small append, on the disk the nodes use."""
    path = directory / "fsync-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    xs = []
    try:
        for _ in range(n):
            os.write(fd, b"x" * 200)
            t = time.perf_counter()
            os.fdatasync(fd)
            xs.append(time.perf_counter() - t)
    finally:
        os.close(fd)
        path.unlink()
    xs.sort()
    return xs[n // 2] * 1000, xs[int(n * 0.99)] * 1000, xs[-1] * 1000


def start_pysyncobj(
    base: Path, period: float, tick: float
) -> tuple[list[subprocess.Popen], list[str]]:
    ports = free_ports(6)
    raft = [f"127.0.0.1:{p}" for p in ports[:3]]
    front = [f"127.0.0.1:{p}" for p in ports[3:]]
    script = Path(__file__).resolve().parent / "pysyncobj_node.py"
    procs = []
    for i in range(3):
        partners = ",".join(a for j, a in enumerate(raft) if j != i)
        err = open(base / f"pysyncobj{i}.stderr", "wb")  # noqa: SIM115
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    str(script),
                    "--raft",
                    raft[i],
                    "--partners",
                    partners,
                    "--listen",
                    front[i],
                    "--append-period",
                    str(period),
                    "--tick",
                    str(tick),
                ],
                stdout=subprocess.DEVNULL,
                stderr=err,
            )  # fmt: skip
        )
        err.close()
    return procs, front


async def pysyncobj_leader(front: list[str], deadline: float = 30.0) -> str:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        for a in front:
            async with Client([a], timeout=0.5) as c:
                r = await c.status()
            if r.ok and r.value["leader"] and r.value["leader"] == r.value["self"]:
                return a
        await asyncio.sleep(0.1)
    raise TimeoutError("PySyncObj elected no leader")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--clients", default="16,32,64", help="client counts to try; the peak counts (16,32,64)"
    )
    ap.add_argument("--duration", type=float, default=3.0, help="seconds per measurement")
    ap.add_argument("--failovers", type=int, default=5)
    ap.add_argument("--skip-peer", action="store_true", help="do not run PySyncObj")
    ap.add_argument(
        "--auth-rounds",
        type=int,
        default=3,
        help="alternating rounds of peer authentication on and off (0: skip)",
    )
    ap.add_argument(
        "--auth-together",
        action="store_true",
        help="load the clusters with and without authentication at once in each round "
        "(the same moments of the machine's other load), instead of one after the other",
    )
    a = ap.parse_args()
    counts = [int(x) for x in a.clients.split(",") if x.strip()]

    def say(msg: str) -> None:
        print(msg, flush=True)

    say(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs "
        f"(other processes on this machine affect every figure)")  # fmt: skip
    base = Path(tempfile.mkdtemp(prefix="raftquake-bench-"))
    p50, p99, mx = disk_fsync_ms(base)
    say(f"this disk's fdatasync: p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {mx:.2f} ms")
    say(f"\n== raftnode: 3 local nodes, fsync on, read-index reads, {counts} clients")
    with LocalCluster(3, base / "raftnode") as cluster:  # started: every node answers status

        async def ours():
            await cluster.wait_leader(deadline=30)
            res = await measure(cluster.addrs(), counts, a.duration, say)
            res["failover"] = await failovers(cluster, a.failovers, say) if a.failovers else []
            return res

        mine = asyncio.run(ours())
    auth = None
    if a.auth_rounds:
        say(
            f"\n== peer authentication: 3 local nodes with the cluster secret (HMAC-SHA256 "
            f"on every peer frame) and 3 with --no-auth, {a.auth_rounds} "
            f"{'rounds loading both at once' if a.auth_together else 'alternating rounds'} "
            f"of {a.duration} s, {mine['clients']} clients{' each' if a.auth_together else ''}"
        )
        on_sys = RaftnodeSystem.with_node_defaults()
        off_sys = RaftnodeSystem.with_node_defaults(["--no-auth"])
        with (
            LocalCluster(3, base / "auth-on", on_sys) as on,
            LocalCluster(3, base / "auth-off", off_sys) as off,
        ):
            auth = asyncio.run(
                auth_rounds(
                    on, off, mine["clients"], a.auth_rounds, a.duration, say, a.auth_together
                )
            )
    peers = {}
    # PySyncObj's defaults (replicate every 0.1 s, tick 0.05 s), and a tuned configuration
    # (0.01 s, 0.005 s) that lowers its latency about fivefold: the ratio uses the faster.
    for period, tick in [] if a.skip_peer else [(0.1, 0.05), (0.01, 0.005)]:
        say(
            f"\n== PySyncObj: 3 local nodes, in-memory log (no fsync), reads through the log, "
            f"appendEntriesPeriod {period} s, autoTickPeriod {tick} s"
            f"{' (its defaults)' if period == 0.1 else ''}, "
            f"{counts} clients"
        )
        procs, front = start_pysyncobj(base, period, tick)
        try:

            async def theirs(front=front):
                leader = await pysyncobj_leader(front)
                return await measure([leader], counts, a.duration, say)

            peers[period] = asyncio.run(theirs())
        finally:
            for p in procs:
                p.send_signal(signal.SIGKILL)
                p.wait()

    say("\n== summary")
    w, r, h = mine["writes"], mine["reads"], mine["half"]
    fo = mine["failover"]
    say(
        f"raftnode peak writes/s {w.rate:.0f} ({mine['clients']} clients), "
        f"reads/s {r.rate:.0f}, "
        f"p99 write at half load {h.pct(99):.1f} ms"
        + (f", failover median {statistics.median(fo) * 1000:.0f} ms" if fo else "")
    )
    if peers:
        best = max(peers, key=lambda k: peers[k]["writes"].rate)
        pw, pr = peers[best]["writes"], peers[best]["reads"]
        for period, res in peers.items():
            say(
                f"PySyncObj (period {period} s) peak writes/s {res['writes'].rate:.0f} "
                f"({res['clients']} clients), "
                f"reads/s {res['reads'].rate:.0f}"
            )
        say(
            f"ratio raftnode/PySyncObj (its faster configuration, period {best} s): "
            f"writes {w.rate / pw.rate:.2f}, reads {r.rate / pr.rate:.2f}"
        )
        met = "met" if w.rate >= pw.rate else "NOT met"
        say(f"target writes/s >= PySyncObj's (we fsync, it does not): {met}")
    say(f"target p99 write latency <= 50 ms at half peak: "
        f"{'met' if h.pct(99) <= 50 else 'NOT met'} ({h.pct(99):.1f} ms)")  # fmt: skip
    if fo:
        med = statistics.median(fo)
        say(f"target failover median <= 1 s: {'met' if med <= 1.0 else 'NOT met'} "
            f"({med * 1000:.0f} ms over {len(fo)})")  # fmt: skip
    if auth:
        med = {k: {op: statistics.median(v) for op, v in ops.items()} for k, ops in auth.items()}
        wr = med["on"]["put"] / med["off"]["put"]
        rr = med["on"]["get"] / med["off"]["get"]
        say(
            f"peer authentication on/off (medians of {a.auth_rounds} rounds): writes/s "
            f"{med['on']['put']:.0f} / {med['off']['put']:.0f} = {wr:.2f}, reads/s "
            f"{med['on']['get']:.0f} / {med['off']['get']:.0f} = {rr:.2f}"
        )
        # Each round measures on and off back to back: the ratio within a round sees the
        # same load on the machine, so the median of the rounds' ratios drifts least.
        paired = {
            op: sorted(a / b for a, b in zip(auth["on"][op], auth["off"][op], strict=True))
            for op in ("put", "get")
        }
        pw, pr = statistics.median(paired["put"]), statistics.median(paired["get"])
        say(
            f"peer authentication on/off, median of the {a.auth_rounds} rounds' own ratios: "
            f"writes/s {pw:.2f} (rounds {paired['put'][0]:.2f}-{paired['put'][-1]:.2f}), "
            f"reads/s {pr:.2f} (rounds {paired['get'][0]:.2f}-{paired['get'][-1]:.2f})"
        )
        met = "met" if min(wr, rr, pw, pr) >= 0.9 else "NOT met"
        say(f"target authentication costs at most 10% of throughput: {met}")
        wc = med["on"]["put-cpu"] / med["off"]["put-cpu"]
        rc = med["on"]["get-cpu"] / med["off"]["get-cpu"]
        say(
            f"nodes' CPU per operation, on/off (medians): writes {med['on']['put-cpu']:.0f} / "
            f"{med['off']['put-cpu']:.0f} us = {wc:.2f}, reads {med['on']['get-cpu']:.0f} / "
            f"{med['off']['get-cpu']:.0f} us = {rc:.2f}"
        )
    say(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
