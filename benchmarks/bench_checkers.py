"""Speed of `raftquake check`, each suite timed as one CLI call (start-up included).

Suites and targets (issue 3), on the 2-core reference machine:
  etcd     Porcupine's 102 etcd logs        <= 1.2 s   (Porcupine, Go: ~0.6 s)
  kv-c50   Porcupine's kv c50-ok + c50-bad  <= 0.7 s   (Porcupine, Go: ~0.35 s)
  reg-100k a generated 100,000-op register history, 16 keys, 20 clients, 1% info
           <= 20 s and <= 2 GB peak RSS

Prints first the start-up: `raftquake --help`, and `raftquake check` on a one-operation
Porcupine kv history (issue 22: about 0.1 s; Porcupine, Go: 0.005 s), min and median
wall and CPU over BENCH_RUNS*4 runs; then per suite: min and median wall time over
BENCH_RUNS runs (default 5), ops/s, peak RSS, the ratios to the target (and to
Porcupine), and the min split into start-up (the one-op check's min) and the rest
(reading and searching). Every run's verdicts are
checked against VERDICTS.tsv, so a fast wrong answer fails the benchmark. The load
average is printed too: on a shared machine, figures taken under load are not final.

    .venv/bin/python benchmarks/bench_checkers.py [etcd|kv-c50|reg-100k ...]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = Path(os.environ.get("RAFTQUAKE_PORCUPINE", REPO.parent / "shared" / "data" / "porcupine"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
# As installed for a user: byte-compiled modules are cached (this sandbox sets
# PYTHONDONTWRITEBYTECODE, which would add ~0.1 s of compiling to every call).
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def check_command() -> list[str]:
    script = Path(sys.executable).parent / "raftquake"
    return [str(script)] if script.exists() else [sys.executable, "-m", "harness.cli"]


def timed_run(args: list[str]) -> tuple[float, float, int, str, int]:
    """(wall seconds, CPU seconds, peak RSS bytes, stdout, exit status) of one child."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=CHILD_ENV
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, usage.ru_maxrss * 1024, out, proc.returncode


def expected_verdicts() -> dict[str, bool]:
    rows = (DATA / "VERDICTS.tsv").read_text().splitlines()[1:]
    return {
        str(DATA / f): exp == "linearizable"
        for f, _, exp in (r.split("\t") for r in rows if r.strip())
        if exp != "skip"
    }


def startup() -> float:
    """Prints the start-up rows; returns the one-op check's min wall time (s)."""
    one_op = [*check_command(), "check", "--json"]
    with tempfile.TemporaryDirectory() as tmp:
        one = os.path.join(tmp, "one-op.txt")
        with open(one, "w") as f:  # Porcupine kv: an append's invoke and its ok
            f.write(
                '{:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}\n'
                '{:process 0, :type :ok, :f :append, :key "0", :value "x 0 0 y"}\n'
            )
        best = 0.0
        for label, args in (
            ("--help", [*check_command(), "--help"]),
            ("check 1 op", [*one_op, one]),
        ):
            timed_run(args)  # warm-up: byte-compile, fill caches
            walls, cpus = [], []
            for _ in range(RUNS * 4):
                wall, cpu, _, out, code = timed_run(args)
                walls.append(wall)
                cpus.append(cpu)
                if label != "--help" and (code != 0 or json.loads(out)["valid"] is not True):
                    print(f"  start-up: the one-op history was not found linearizable ({code})")
            print(
                f"start-up {label:10}  min {min(walls):6.3f} s  median "
                f"{statistics.median(walls):6.3f} s  CPU min {min(cpus):6.3f} s  "
                f"median {statistics.median(cpus):6.3f} s",
                flush=True,
            )
            best = min(walls)
        return best


def suite(
    name: str,
    files: list[str],
    target_s: float,
    peer_s: float | None,
    expected: dict[str, bool] | None,
    mem_target: int | None = None,
    startup_s: float = 0.0,
) -> bool:
    cmd = [*check_command(), "check", "--json", *files]
    timed_run([*check_command(), "check", "--help"])  # warm-up: byte-compile, fill caches
    walls, cpus, rss_all, ops = [], [], [], 0
    ok = True
    for _ in range(RUNS):
        wall, cpu, rss, out, code = timed_run(cmd)
        walls.append(wall)
        cpus.append(cpu)
        rss_all.append(rss)
        results = [json.loads(line) for line in out.splitlines()]
        ops = sum(r.get("ops", 0) for r in results)
        if expected is not None:
            wrong = [r["file"] for r in results if r["valid"] != expected[r["file"]]]
            if wrong or len(results) != len(files):
                print(f"  {name}: WRONG verdicts for {wrong[:5]} (exit {code})")
                ok = False
        elif any(r["valid"] is not True for r in results):
            print(f"  {name}: expected linearizable, got {[r['valid'] for r in results]}")
            ok = False
    best, med = min(walls), statistics.median(walls)
    line = (
        f"{name:9} files {len(files):3}  ops {ops:7}  min {best:7.3f} s  median {med:7.3f} s  "
        f"{ops / best:9.0f} ops/s  CPU min {min(cpus):6.3f} s  "
        f"peak RSS {max(rss_all) / 2**20:6.0f} MB  "
        f"target {target_s:g} s: x{best / target_s:.2f}"
    )
    if peer_s:
        line += f"  vs Porcupine (Go) {peer_s:g} s: x{best / peer_s:.2f}"
    if mem_target:
        line += f"  memory x{max(rss_all) / mem_target:.3f} of {mem_target / 2**30:g} GB"
    line += f"  (start-up {startup_s:.3f} s + search {best - startup_s:.3f} s)"
    print(line, flush=True)
    return ok and best <= target_s and (mem_target is None or max(rss_all) <= mem_target)


def main(argv: list[str]) -> int:
    wanted = set(argv) or {"etcd", "kv-c50", "reg-100k"}
    print(
        f"runs per suite: {RUNS}; load average before: {os.getloadavg()[0]:.2f} "
        f"on {os.cpu_count()} cores"
    )
    good = True
    up = startup()
    if {"etcd", "kv-c50"} & wanted:
        if not (DATA / "VERDICTS.tsv").exists():
            print(f"Porcupine data missing: expected {DATA}/VERDICTS.tsv")
            return 2
        exp = expected_verdicts()
    if "etcd" in wanted:
        files = sorted(str(p) for p in (DATA / "etcd").glob("*.log") if p.stat().st_size)
        good &= suite("etcd", files, 1.2, 0.6, exp, startup_s=up)
    if "kv-c50" in wanted:
        files = [str(DATA / "kv" / "c50-ok.txt"), str(DATA / "kv" / "c50-bad.txt")]
        good &= suite("kv-c50", files, 0.7, 0.35, exp, startup_s=up)
    if "reg-100k" in wanted:
        from checkers.history import write_jsonl
        from checkers.history.synth import register_history

        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "register-100k.jsonl")
            write_jsonl(
                register_history(100_000, keys=16, clients=20, info_rate=0.01, seed=1), path
            )
            good &= suite("reg-100k", [path], 20.0, None, None, mem_target=2 * 2**30, startup_s=up)
    print(
        f"load average after: {os.getloadavg()[0]:.2f}"
        + ("  (under load: not final figures)" if os.getloadavg()[0] > 1.5 else "")
    )
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
