"""Speed of the Elle checker: `raftquake check --model list-append` (and `--model
rw-register`) on a generated 100,000-transaction history, timed as one CLI call (start-up
and reading the JSONL included).

Suites and targets (issue 13; the rw-register rows issue 23), on the 2-core reference
machine:
  la-100k      a strict-serializable history (checkers/elle/synth.py: 10 clients, 10 hot
               keys of 32 appends, 1-4 micro-ops, 1% info, 1% fail)    <= 10 s, <= 2 GB
  la-100k-bad  the same with 1% of the ok txns' reads missing their last element (stale
               reads: hundreds of cycles to find and explain)          <= 10 s, <= 2 GB
  rw-100k      the same generator with register writes (`w`), checked with the default
               version orders (initial state, writes follow reads)     <= 10 s, <= 2 GB
  rw-100k-bad  the same with 1% of the ok txns' reads of a written key answered nil (the
               initial state: stale reads)                             <= 10 s, <= 2 GB

Prints, per suite: min and median wall time over BENCH_RUNS runs (default 3), CPU time,
txns/s, peak RSS (resource.getrusage of the children), and the ratios to the targets; the
verdict of every run is checked (valid, and invalid with a G-single kind found), so a fast
wrong answer fails the benchmark. `--phases` also prints where the time goes, in process.
The load average is printed too: on a shared machine, figures taken under load are not
final. (Elle itself, in Clojure, is not run here: the machine has Java but no Clojure or
Leiningen to build it.)

    .venv/bin/python benchmarks/bench_elle.py [la-100k|la-100k-bad|rw-100k|rw-100k-bad ...]
        [--phases]
"""

from __future__ import annotations

import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
TXNS = 100_000
TARGET_S = 10.0
TARGET_RSS = 2 * 2**30
# As installed for a user: byte-compiled modules are cached.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def check_command() -> list[str]:
    script = Path(sys.executable).parent / "raftquake"
    return [str(script)] if script.exists() else [sys.executable, "-m", "harness.cli"]


# name -> (--model, bad)
SUITES = {
    "la-100k": ("list-append", False),
    "la-100k-bad": ("list-append", True),
    "rw-100k": ("rw-register", False),
    "rw-100k-bad": ("rw-register", True),
}


def history(model: str, bad: bool):  # type: ignore[no-untyped-def]
    from checkers.elle.synth import list_append_history, rw_register_history

    gen = list_append_history if model == "list-append" else rw_register_history
    events = gen(TXNS, seed=1)
    if not bad:
        return events
    rng = random.Random(7)
    out = []
    for e in events:
        if e.type == "ok" and rng.random() < 0.01:
            if model == "list-append":  # a stale read: its last element unseen
                seen = [[f, k, (v[:-1] or None) if f == "r" and v else v] for f, k, v in e.value]
            else:  # a stale read: the initial state of a key written already
                seen = [[f, k, None if f == "r" else v] for f, k, v in e.value]
            e = replace(e, value=seen)
        out.append(e)
    return out


def timed(cmd: list[str]) -> tuple[float, float, str, int]:
    """(wall seconds, CPU seconds, stdout, exit status) of one child."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=CHILD_ENV)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout, proc.returncode


def suite(name: str, path: str, model: str, bad: bool) -> bool:
    cmd = [*check_command(), "check", "--model", model, "--json", path]
    timed([*check_command(), "check", "--help"])  # warm-up: byte-compile, fill caches
    walls, cpus, ok = [], [], True
    for _ in range(RUNS):
        wall, cpu, out, code = timed(cmd)
        walls.append(wall)
        cpus.append(cpu)
        d = json.loads(out)
        g_single = any(a.startswith("G-single") for a in d["anomalies"])
        right = (d["valid"] is False and g_single) if bad else d["valid"]
        if right is not True or code != (1 if bad else 0):
            print(f"  {name}: WRONG verdict {d['valid']} {d.get('anomalies')} (exit {code})")
            ok = False
    # ru_maxrss of the children: the largest child so far, in KiB (the checks, not --help)
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    best, med = min(walls), statistics.median(walls)
    print(
        f"{name:11} txns {TXNS}  min {best:6.2f} s  median {med:6.2f} s  "
        f"CPU min {min(cpus):6.2f} s  {TXNS / best:7.0f} txns/s  peak RSS {rss / 2**20:5.0f} MB  "
        f"target {TARGET_S:g} s: x{best / TARGET_S:.2f}  memory x{rss / TARGET_RSS:.3f} of 2 GB",
        flush=True,
    )
    return ok and best <= TARGET_S and rss <= TARGET_RSS


def phases(path: str) -> None:
    """Where the time goes, in this process (gc off, as the checker runs)."""
    import gc

    from checkers.elle.cycles import components
    from checkers.elle.deps import build_graph
    from checkers.elle.infer import build_index, check_txns_alone
    from checkers.elle.txns import txns_from_events
    from checkers.history import read_jsonl

    gc.disable()
    t = time.perf_counter()

    def lap(what: str) -> None:
        nonlocal t
        now = time.perf_counter()
        print(f"  {what:26} {now - t:6.2f} s")
        t = now

    events = read_jsonl(path).events
    lap("read JSONL")
    txns = txns_from_events(events, path, validated=True)
    lap("pair, txns")
    ix = build_index(txns, path)
    lap("indexes, version orders")
    check_txns_alone(ix)
    lap("internal, lost update")
    g = build_graph(ix, realtime=True)
    lap(f"graph ({sum(map(len, g))} edges)")
    sccs = components(g)
    lap(f"components ({len(sccs)})")
    gc.enable()


def main(argv: list[str]) -> int:
    show_phases = "--phases" in argv
    wanted = {a for a in argv if not a.startswith("--")} or set(SUITES)
    unknown = wanted - set(SUITES)
    if unknown:
        print(f"unknown suite(s) {', '.join(sorted(unknown))}; expected {', '.join(SUITES)}")
        return 2
    print(
        f"runs per suite: {RUNS}; load average before: {os.getloadavg()[0]:.2f} "
        f"on {os.cpu_count()} cores"
    )
    from checkers.history import write_jsonl

    good = True
    with tempfile.TemporaryDirectory() as tmp:
        for name, (model, bad) in SUITES.items():
            if name not in wanted:
                continue
            path = os.path.join(tmp, f"{name}.jsonl")
            t0 = time.perf_counter()
            write_jsonl(history(model, bad), path)
            print(
                f"{name}: generated and wrote {os.path.getsize(path) / 2**20:.0f} MB in "
                f"{time.perf_counter() - t0:.1f} s"
            )
            if show_phases:
                phases(path)
            good &= suite(name, path, model, bad)
    print(
        f"load average after: {os.getloadavg()[0]:.2f}"
        + ("  (under load: not final figures)" if os.getloadavg()[0] > 1.5 else "")
    )
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
