"""Run folders for the report tests, made the way the runner makes them: a history, the
real checkers' results.json, and node events files."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from checkers import (
    check_election_safety,
    check_history,
    check_stats,
    events_files,
    get_model,
    read_jsonl,
)
from harness.store import RunDir, new_run_dir

MS = 1_000_000


def register_history(n_ops: int, stale_read: bool, seed: int = 1) -> list[dict[str, Any]]:
    """Sequential-looking register traffic from 4 clients over 2 keys with a partition;
    with `stale_read`, one read after a write returns the value before it."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    value = {"k1": None, "k2": None}
    t = 50 * MS
    next_process = 4

    def emit(**e: Any) -> None:
        events.append({"index": len(events), "time": e.pop("time"), **e})

    processes = [0, 1, 2, 3]
    for i in range(n_ops):
        if i == n_ops // 4:
            emit(
                time=t,
                process="nemesis",
                type="info",
                f="start-partition",
                value={"mode": "halves"},
            )
        if i == n_ops // 2:
            emit(time=t, process="nemesis", type="info", f="stop-partition", value=None)
            emit(time=t + MS, process="nemesis", type="info", f="start-kill", value=["n2"])
        if i == 3 * n_ops // 4:
            emit(time=t, process="nemesis", type="info", f="heal", value=None)
        slot = i % 4
        p = processes[slot]
        key = rng.choice(["k1", "k2"])
        f = rng.choice(["read", "write", "write", "cas"])
        t += rng.randint(1, 4) * MS
        if f == "write":
            v = i
            emit(time=t, process=p, type="invoke", f="write", key=key, value=v)
            value[key] = v
            t += rng.randint(2, 30) * MS
            emit(time=t, process=p, type="ok", f="write", key=key, value=v, node="n1")
        elif f == "cas":
            expected = value[key] if value[key] is not None and rng.random() < 0.5 else -1
            emit(time=t, process=p, type="invoke", f="cas", key=key, value=[expected, i])
            t += rng.randint(2, 30) * MS
            if expected == value[key]:
                value[key] = i
                emit(time=t, process=p, type="ok", f="cas", key=key, value=[expected, i])
            elif rng.random() < 0.3:
                emit(
                    time=t,
                    process=p,
                    type="info",
                    f="cas",
                    key=key,
                    value=[expected, i],
                    error="timeout",
                )
                processes[slot] = next_process  # DESIGN: an info retires the process
                next_process += 1
            else:
                emit(
                    time=t,
                    process=p,
                    type="fail",
                    f="cas",
                    key=key,
                    value=[expected, i],
                    error="precondition",
                )
        else:
            emit(time=t, process=p, type="invoke", f="read", key=key, value=None)
            t += rng.randint(2, 30) * MS
            emit(time=t, process=p, type="ok", f="read", key=key, value=value[key], node="n2")
    if stale_read:
        # A write completes, then a later read still sees the old value.
        old = value["k1"]
        t += 5 * MS
        emit(time=t, process=0, type="invoke", f="write", key="k1", value=10_000)
        t += 5 * MS
        emit(time=t, process=0, type="ok", f="write", key="k1", value=10_000)
        t += 5 * MS
        emit(time=t, process=1, type="invoke", f="read", key="k1", value=None)
        t += 5 * MS
        emit(time=t, process=1, type="ok", f="read", key="k1", value=old, node="n3")
    return events


def node_events(path: Path, two_leaders: bool) -> None:
    """nodes/<id>/events.jsonl with wall times around 2026-11-26 12:00:00 UTC; with
    `two_leaders`, n1 and n3 both lead term 3."""
    base = 1_795_694_400 * 10**9  # 2026-11-26T12:00:00Z
    s = 10**9
    plan = {
        "n1": [
            (0, 1, "follower"),
            (1 * s, 1, "leader"),
            (int(2.5 * s), 2, "follower"),
            (4 * s, 3, "leader"),
        ],
        "n2": [
            (0, 1, "follower"),
            (2 * s, 2, "candidate"),
            (int(2.2 * s), 2, "leader"),
            (4 * s, 3, "follower"),
        ],
        "n3": [(0, 1, "follower"), (int(3.8 * s), 3, "candidate")]
        + ([(4 * s, 3, "leader")] if two_leaders else [(4 * s, 3, "follower")]),
    }
    for node, changes in plan.items():
        d = path / "nodes" / node
        d.mkdir(parents=True, exist_ok=True)
        with open(d / "events.jsonl", "w") as fh:
            for t, term, role in changes:
                fh.write(
                    json.dumps({"time": base + t, "node": node, "term": term, "role": role}) + "\n"
                )
                fh.write(
                    json.dumps(
                        {"time": base + t + 1000, "node": node, "commit": 3, "term_at": term}
                    )
                    + "\n"
                )


def make_run(store: Path, name: str, n_ops: int = 300, bad: bool = False) -> RunDir:
    """A run folder as the runner leaves it (without report.html), checked for real."""
    rd = new_run_dir(store, name)
    events = register_history(n_ops, stale_read=bad)
    rd.history.write_text("".join(json.dumps(e) + "\n" for e in events))
    node_events(rd.path, two_leaders=bad)
    evs = read_jsonl(str(rd.history)).events
    lin = check_history(evs, get_model("cas-register"), timeout=30, file=str(rd.history))
    lin_d = lin.to_dict()
    if lin.counterexample is not None:
        lin_d["explanation"] = lin.counterexample.to_text()
    el = check_election_safety(events_files(rd.path))
    checkers = {
        "linearizable": lin_d,
        "election-safety": {**el.to_dict(), "explanation": el.to_text()},
        "stats": check_stats(evs).to_dict(),
    }
    valid = all(c["valid"] is True for c in checkers.values())
    rd.write_results(
        {
            "name": name,
            "backend": "sim",
            "seed": 7,
            "started": "2026-11-26T12:00:00+0000",
            "duration-s": 3.2,
            "status": "complete",
            "valid": valid,
            "faults": [{"fault": "partition"}, {"fault": "kill"}],
            "checkers": checkers,
        }
    )
    return rd
