"""Throughput of the pure Raft core, without network or disk: three in-process cores,
a leader proposing writes in batches and reads through ReadIndex, messages handed
over directly. Prints proposals/s and reads/s of core work (the server's ceiling
from the core; real nodes add JSON, sockets and fsync).

    .venv/bin/python benchmarks/bench_core.py [--ops N] [--batch B]

Figures measured on a loaded 2-core machine are not final.
"""

from __future__ import annotations

import argparse
import random
import time

from raftnode.core import LEADER, Config, RaftCore


def pump(cores: dict[str, RaftCore]) -> tuple[int, int]:
    """Deliver until quiet; returns (committed entries applied at the leader, reads answered)."""
    applied = reads = 0
    busy = True
    while busy:
        busy = False
        for c in cores.values():
            if c.has_ready():
                busy = True
                rd = c.ready()
                if c.role == LEADER:
                    applied += len(rd.committed)
                    reads += len(rd.reads)
                for m in rd.messages:
                    cores[m.dst].step(m)
    return applied, reads


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ops", type=int, default=60_000)
    ap.add_argument("--batch", type=int, default=32, help="proposals per ready() round")
    args = ap.parse_args()
    ids = ["n1", "n2", "n3"]
    cores = {i: RaftCore(i, ids, Config(), random.Random(k)) for k, i in enumerate(ids)}
    leader = cores["n1"]
    while leader.role != LEADER:
        leader.tick()
        pump(cores)
    pump(cores)

    t0 = time.perf_counter()
    done = 0
    while done < args.ops:
        for _ in range(args.batch):
            leader.propose({"op": "write", "key": f"k{done % 64}", "value": done})
            done += 1
        pump(cores)
        if done % (args.batch * 20) == 0:
            leader.tick()  # heartbeats now and then, as in a real run
    writes_s = args.ops / (time.perf_counter() - t0)

    t0 = time.perf_counter()
    answered = 0
    rid = 0
    while answered < args.ops:
        for _ in range(args.batch):
            leader.read_index(rid)
            rid += 1
        answered += pump(cores)[1]
    reads_s = args.ops / (time.perf_counter() - t0)
    print(f"core proposals/s (batch {args.batch}): {writes_s:,.0f}")
    print(f"core ReadIndex reads/s (batch {args.batch}): {reads_s:,.0f}")
    print(f"log length: {leader.last_index}")


if __name__ == "__main__":
    main()
