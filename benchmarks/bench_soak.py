"""Soak: a raftnode cluster under a steady write load for a long time, in bounded memory
and disk (issue 14). Every node snapshots every --snapshot-entries applied entries and
drops the log before it, so its RSS and its data directory should stay flat while the
log index grows without end.

    python benchmarks/bench_soak.py                       # 30 minutes, 3 nodes, 200 writes/s
    python benchmarks/bench_soak.py --minutes 2 --sample 10
    python benchmarks/bench_soak.py --minutes 5 --snapshot-entries 0   # the control: no snapshots

Real processes on 127.0.0.1 (harness/backends/local/cluster.py), fsync on. Writes go to a fixed
set of keys (--keys) from a fixed set of clients, so the state machine itself does not
grow: what grows without compaction is the log. Prints one line per sample (commit
index, each node's RSS and data directory size) and, at the end, the first and last
fifth's averages and their ratio: flat is a ratio near 1.0 while the commit index grew.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.backends.local.cluster import LocalCluster  # noqa: E402
from harness.systems.raftnode import RaftnodeSystem  # noqa: E402
from raftnode.client import OK  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


RAFT_STATE = ("wal.log", "snapshot.json")  # what compaction bounds


def dir_mb(path: Path) -> tuple[float, float]:
    """(Raft state: WAL and snapshot, everything else: events.jsonl and the node's log),
    in MB. events.jsonl is the checkers' record, a line per commit move: it grows with the
    run by design, and a nightly job keeps it with the results rather than on the node."""
    state = other = 0
    for f in path.rglob("*"):
        if f.is_file():
            if f.name in RAFT_STATE:
                state += f.stat().st_size
            else:
                other += f.stat().st_size
    return state / 2**20, other / 2**20


async def load(cluster: LocalCluster, rate: float, keys: int, clients: int, stop: asyncio.Event,
               counts: dict[str, int]) -> None:  # fmt: skip
    """`clients` writers sharing `rate` writes a second, each one write at a time."""
    period = clients / rate

    async def writer(w: int) -> None:
        async with cluster.client(timeout=2.0) as c:
            for i in itertools.count():
                if stop.is_set():
                    return
                t = time.monotonic()
                r = await c.put(f"k{(w * 7919 + i) % keys}", i)
                counts["ok" if r.outcome == OK else "other"] += 1
                await asyncio.sleep(max(0.0, period - (time.monotonic() - t)))

    await asyncio.gather(*(writer(w) for w in range(clients)))


async def soak(args: argparse.Namespace, cluster: LocalCluster) -> list[dict]:
    samples: list[dict] = []
    counts = {"ok": 0, "other": 0}
    await cluster.wait_leader()
    stop = asyncio.Event()
    task = asyncio.create_task(load(cluster, args.rate, args.keys, args.clients, stop, counts))
    t0 = time.monotonic()
    end = t0 + args.minutes * 60
    print(
        f"{'min':>6} {'commit':>9} {'snap':>9} {'writes ok':>10}  "
        "per node: RSS / WAL+snapshot / events+log, MB"
    )
    while time.monotonic() < end:
        await asyncio.sleep(min(args.sample, max(0.0, end - time.monotonic())))
        sts = {n: await cluster.astatus(n, 2.0) for n in cluster.nodes}
        row = {"t": time.monotonic() - t0, "ok": counts["ok"], "nodes": {}}
        for n, st in sts.items():
            if st is None:
                continue
            row["nodes"][n] = (rss_mb(st["pid"]), *dir_mb(cluster.data_dir(n)))
            row["commit"] = max(row.get("commit", 0), st["commit"])
            row["snap"] = max(row.get("snap", 0), st.get("snapshot_index", 0))
        samples.append(row)
        per = "  ".join(f"{n} {r:5.1f}/{d:5.2f}/{o:5.2f}" for n, (r, d, o) in row["nodes"].items())
        print(f"{row['t'] / 60:6.1f} {row.get('commit', 0):9} {row.get('snap', 0):9} "
              f"{row['ok']:10}  {per}", flush=True)  # fmt: skip
    stop.set()
    await task
    if counts["other"]:
        print(f"(writes not acknowledged: {counts['other']})")
    return samples


def summary(samples: list[dict]) -> None:
    fifth = max(1, len(samples) // 5)
    first, last = samples[:fifth], samples[-fifth:]

    def avg(rows: list[dict], k: int) -> float:
        return statistics.mean(v[k] for r in rows for v in r["nodes"].values())

    print()
    print(f"{'':22} {'first fifth':>12} {'last fifth':>12} {'ratio':>7}")
    rows = (("RSS per node, MB", 0), ("WAL+snapshot, MB", 1), ("events+log, MB", 2))
    for name, k in rows:
        a, b = avg(first, k), avg(last, k)
        print(f"{name:22} {a:12.2f} {b:12.2f} {b / a:7.2f}")
    grew = samples[-1].get("commit", 0) - samples[0].get("commit", 0)
    print(f"{'commit index':22} {samples[0].get('commit', 0):12} {samples[-1].get('commit', 0):12}"
          f"   (+{grew} entries)")  # fmt: skip


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--minutes", type=float, default=30.0)
    p.add_argument("--nodes", type=int, default=3)
    p.add_argument("--rate", type=float, default=200.0, help="writes per second, all clients")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--keys", type=int, default=1000)
    p.add_argument("--snapshot-entries", type=int, default=10_000)
    p.add_argument("--sample", type=float, default=30.0, help="seconds between samples")
    args = p.parse_args()
    print(f"soak: {args.nodes} nodes, {args.rate:g} writes/s over {args.keys} keys for "
          f"{args.minutes:g} min, --snapshot-entries {args.snapshot_entries}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="raftquake-soak-") as tmp:
        system = RaftnodeSystem(snapshot_entries=args.snapshot_entries)
        cluster = LocalCluster(args.nodes, Path(tmp), system)
        cluster.start()  # (it runs its own event loop to wait: outside ours)
        try:
            samples = asyncio.run(soak(args, cluster))
        finally:
            cluster.teardown()
    if len(samples) >= 2:
        summary(samples)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
