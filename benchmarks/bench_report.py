"""How long report.html takes for big runs: target, 100,000 operations in under 10 s.

    .venv/bin/python benchmarks/bench_report.py [--ops 10000,100000] [--browser]

Makes a run folder per size in a temporary store (a register history from 20 clients
over 120 s with partitions, kills and info ops, its results.json, five nodes' events),
then times `write_run_report` end to end (read + plots + HTML), then each stage alone:
reading the history, pairing it into columns, each plot, and `page` (all plots and the
HTML together, from columns).
With --browser, also the time headless Chromium takes to load and lay out the page.
Measure on an idle machine; the figures are wall-clock seconds, except `cpu s` (this
process's CPU time for the whole report, which a busy machine inflates less).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from checkers import check_stats, read_jsonl  # noqa: E402
from harness.report import plots  # noqa: E402
from harness.report.data import build_run_data, load_events  # noqa: E402
from harness.report.page import render, write_run_report  # noqa: E402
from harness.store import new_run_dir  # noqa: E402

TARGET_S = 10.0


def write_history(path: Path, n_ops: int, seconds: float = 120.0, clients: int = 20) -> None:
    rng = random.Random(1)
    gap = seconds * 1e9 * clients / n_ops  # mean time between one client's invokes
    free = [(rng.random() * gap, c, c) for c in range(clients)]  # (time, slot, process)
    next_process = clients
    events = []
    for i in range(n_ops):
        j = min(range(clients), key=lambda k: free[k][0])
        t, slot, proc = free[j]
        key = f"k{rng.randrange(8)}"
        f = rng.choice(("read", "read", "write", "cas"))
        lat = rng.lognormvariate(1.0, 0.8) * 1e6  # ~3 ms, long tail
        r = rng.random()
        outcome = "ok" if r < 0.9 else ("fail" if r < 0.97 else "info")
        value = None if f == "read" else (i if f == "write" else [i - 1, i])
        events.append((t, {"process": proc, "type": "invoke", "f": f, "key": key, "value": value}))
        done = {"process": proc, "type": outcome, "f": f, "key": key, "value": value}
        if outcome == "info":
            lat = 1e9  # the client's timeout
            proc, next_process = next_process, next_process + 1
        events.append((t + lat, done))
        free[j] = (t + lat + rng.expovariate(1 / gap), slot, proc)
    for start in range(10, int(seconds), 20):
        fault = rng.choice(("partition", "kill", "pause", "clock", "packet"))
        events.append(
            (
                start * 1e9,
                {
                    "process": "nemesis",
                    "type": "info",
                    "f": f"start-{fault}",
                    "value": {"target": "leader"},
                },
            )
        )
        events.append(
            (
                (start + 6) * 1e9,
                {"process": "nemesis", "type": "info", "f": f"stop-{fault}", "value": None},
            )
        )
    events.sort(key=lambda e: e[0])
    with open(path, "w") as fh:
        for i, (t, e) in enumerate(events):
            fh.write(json.dumps({"index": i, "time": int(t), **e}) + "\n")


def write_nodes(run: Path, seconds: float = 120.0) -> None:
    base = 1_795_694_400 * 10**9
    rng = random.Random(2)
    term, t = 1, 0.0
    changes = {f"n{i}": [(0.0, 1, "follower")] for i in range(1, 6)}
    while t < seconds:
        leader = f"n{rng.randrange(1, 6)}"
        for n in changes:
            changes[n].append((t, term, "leader" if n == leader else "follower"))
        t += rng.uniform(5, 25)
        term += 1
    for n, ch in changes.items():
        d = run / "nodes" / n
        d.mkdir(parents=True)
        with open(d / "events.jsonl", "w") as fh:
            for s, tm, role in ch:
                fh.write(
                    json.dumps({"time": base + int(s * 1e9), "node": n, "term": tm, "role": role})
                    + "\n"
                )


def make_run(store: Path, n_ops: int) -> Path:
    rd = new_run_dir(store, f"bench-{n_ops}")
    write_history(rd.history, n_ops)
    write_nodes(rd.path)
    events = read_jsonl(str(rd.history)).events
    rd.write_results(
        {
            "name": f"bench-{n_ops}",
            "started": "2026-11-26T12:00:00+0000",
            "valid": True,
            "checkers": {"stats": check_stats(events).to_dict()},
        }
    )
    return rd.path


def timed(fn, *args):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t, out


def browser_load(page_path: Path) -> float | None:
    exe = shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if exe is None:
        return None
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        page = b.new_page(viewport={"width": 1400, "height": 1000})
        page.goto("about:blank")
        t = time.perf_counter()
        page.goto(page_path.as_uri(), wait_until="load")
        page.evaluate("Promise.all(Array.from(document.images).map(i => i.decode()))")
        page.evaluate("document.body.getBoundingClientRect().height")
        took = time.perf_counter() - t
        b.close()
    return took


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ops", default="10000,100000", help="comma-separated sizes")
    ap.add_argument("--browser", action="store_true", help="also time loading the page in Chromium")
    args = ap.parse_args()
    sizes = [int(s) for s in args.ops.split(",")]
    worst_ratio = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp)
        print(
            f"{'ops':>8} {'total s':>8} {'cpu s':>6} {'read':>6} {'data':>6} "
            f"{'timeline':>8} {'latency':>8} "
            f"{'thrput':>6} {'elect':>6} {'page':>6} {'page MB':>8} {'vs 10 s':>7}"
            + ("  browser s" if args.browser else "")
        )
        for n in sizes:
            run = make_run(store, n)
            cpu0 = time.process_time()
            total, out = timed(write_run_report, run)
            cpu = time.process_time() - cpu0  # less sensitive to a busy machine than wall
            # Stages alone, on the same run (a second pass: files are in the page cache).
            t_read, events = timed(load_events, run / "history.jsonl")
            results = json.loads((run / "results.json").read_text())
            t_data, data = timed(build_run_data, "bench", events, results, run, None)
            t_tl, _ = timed(plots.timeline, data.table, data.faults, data.axis)
            t_lat, _ = timed(plots.latency, data.table, data.faults, data.axis)
            t_thr, _ = timed(plots.throughput, data.table, data.faults, data.axis)
            t_el, _ = timed(plots.elections, data.nodes, data.faults, data.axis)
            t_all, _ = timed(render, data)
            size = out.stat().st_size / 1e6
            ratio = total / TARGET_S
            worst_ratio = max(worst_ratio, ratio if n >= 100_000 else 0)
            line = (
                f"{n:>8} {total:>8.2f} {cpu:>6.2f} {t_read:>6.2f} {t_data:>6.2f} "
                f"{t_tl:>8.2f} {t_lat:>8.2f} "
                f"{t_thr:>6.2f} {t_el:>6.2f} {t_all:>6.2f} {size:>8.2f} {ratio:>7.2f}"
            )
            if args.browser:
                b = browser_load(out)
                line += f"  {b:.2f}" if b is not None else "  (no chromium/playwright)"
            print(line, flush=True)
    if worst_ratio:
        print(
            f"100,000-op report: {worst_ratio * TARGET_S:.2f} s, "
            f"{worst_ratio:.2f} of the 10 s budget"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
