"""What a report shows, read from a run folder: operations, fault intervals, node roles.

Everything here only reads: the stored history is never modified. Times are seconds
since the workload started (results.json "workload-start-ns" on the history's clock), as
the schedule's fault times count; a history without it (an imported one, an older run)
counts from its own start. Node events carry the node's wall clock; they are placed on
the history's axis through results.json "started", which is good to about a second (and
off by whatever a clock fault did to that node).
"""

from __future__ import annotations

import gc
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from checkers.history import NEMESIS, Event, Op, pair_events

STATUS_CODES = {"ok": 0, "fail": 1, "info": 2}


@dataclass
class OpTable:
    """Operations as columns (numpy), so plots over 100,000 of them stay quick."""

    lane: np.ndarray  # timeline row: a process, or the slot a renumbered process took over
    status: np.ndarray  # STATUS_CODES
    f: np.ndarray  # index into `fs`
    start: np.ndarray  # seconds
    end: np.ndarray  # seconds; an info op ends where its client gave up (or at the end)
    latency_ms: np.ndarray  # completion - invoke; nan for an invoke never completed
    fs: list[str]
    lane_labels: list[str]

    def __len__(self) -> int:
        return len(self.start)


@dataclass(frozen=True)
class Axis:
    """The time axis the plots share: from the first operation or fault to the last event."""

    lo: float
    hi: float
    label: str
    seconds: bool = True  # False: the history has no clock; times are event positions
    origin: float = 0.0  # seconds of the history's clock drawn as 0 (the workload's start)

    @property
    def width(self) -> float:
        return max(self.hi - self.lo, 1e-3)


@dataclass
class FaultInterval:
    fault: str  # "partition", "kill", ...
    start: float
    end: float
    detail: str = ""  # what the nemesis said about it (targets, mode)
    healed: bool = True  # False when the history ended with it still open


@dataclass
class NodeTrack:
    """One node's role and term over time (from its events.jsonl)."""

    node: str
    times: list[float] = field(default_factory=list)  # seconds on the history's axis
    terms: list[int] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)


@dataclass
class NodeTimeline:
    tracks: list[NodeTrack]
    aligned: bool  # True: on the history's axis; False: seconds since the first node event
    problems: list[str] = field(default_factory=list)
    wall: bool = True  # node times were wall clocks (Docker), not the history's own clock


def op_table(
    ops: list[Op],
    end_of_history: float,
    scale: float = 1e9,
    roles: dict[str, str] | None = None,
) -> OpTable:
    """`roles`: what processes that were not clients did (results.json "process-roles":
    "setup", "final reads"), which names their rows."""
    n = len(ops)
    fs: dict[str, int] = {}
    lanes = _lanes(ops)
    nan = float("nan")
    lane = np.fromiter(lanes, dtype=np.int32, count=n)
    status = np.fromiter((STATUS_CODES.get(op.status, 2) for op in ops), dtype=np.int8, count=n)
    f = np.fromiter((fs.setdefault(op.f, len(fs)) for op in ops), dtype=np.int16, count=n)
    call = np.fromiter((op.call_time for op in ops), dtype=np.float64, count=n)
    ret = np.fromiter(
        (nan if op.ret_time is None else op.ret_time for op in ops), dtype=np.float64, count=n
    )
    start = call / scale
    latency = (ret - call) / scale * 1e3  # nan for an invoke never completed
    end = np.where(np.isnan(ret), end_of_history, ret / scale)
    labels: dict[int, list[str]] = {}
    for ln, op in zip(lanes, ops, strict=True):
        procs = labels.setdefault(ln, [])
        p = str(op.process)
        if not procs or procs[-1] != p:
            procs.append(p)
    lane_labels = [
        _lane_label(labels.get(i, []), roles or {}) for i in range(max(lanes, default=-1) + 1)
    ]
    return OpTable(lane, status, f, start, end, latency, list(fs), lane_labels)


def _lane_label(procs: list[str], roles: dict[str, str]) -> str:
    named = {roles.get(p) for p in procs}
    if len(named) == 1 and None not in named:  # e.g. the final reads' row, not "133"
        return named.pop() or ""
    if len(procs) <= 2:
        return ", ".join(procs)
    return f"{procs[0]} … {procs[-1]} ({len(procs)})"


def _lanes(ops: list[Op]) -> list[int]:
    """A timeline row per process; a process that first appears after another retired
    (its last op ended info: it invokes nothing more) takes over that row, so a client
    renumbered after every timeout stays on one row instead of adding hundreds."""
    lane_of: dict[Any, int] = {}
    free: list[tuple[int, int]] = []  # (row, event position where its process retired)
    result = []
    count = 0
    for op in ops:  # ops are in invoke order
        p = op.process
        if p not in lane_of:
            taken = next((j for j, (_, t) in enumerate(free) if t < op.call), None)
            if taken is not None:
                lane_of[p] = free.pop(taken)[0]
            else:
                lane_of[p] = count
                count += 1
        result.append(lane_of[p])
        if op.status == "info" and op.ret_index is not None:
            free.append((lane_of[p], op.ret_index))
    return result


def fault_intervals(
    events: list[Event], end_of_history: float, scale: float = 1e9
) -> list[FaultInterval]:
    """Pair nemesis "start-X" with "stop-X" (or a "heal", which ends everything open)."""
    out: list[FaultInterval] = []
    open_: dict[str, list[FaultInterval]] = {}
    for ev in events:
        if ev.process != NEMESIS:
            continue
        t = ev.time / scale
        f = str(ev.f)
        if f.startswith("start-"):
            iv = FaultInterval(f[6:], t, end_of_history, _detail(ev.value), healed=False)
            open_.setdefault(iv.fault, []).append(iv)
            out.append(iv)
        elif f.startswith("stop-"):
            stack = open_.get(f[5:])
            if stack:
                iv = stack.pop(0)
                iv.end, iv.healed = t, True
        elif f == "heal":
            for stack in open_.values():
                for iv in stack:
                    iv.end, iv.healed = t, True
            open_.clear()
    return out


def _detail(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return ", ".join(f"{k}={_short(v)}" for k, v in value.items())
    return _short(value)


def _short(v: Any) -> str:
    s = v if isinstance(v, str) else json.dumps(v, separators=(",", ":"), default=str)
    return s if len(s) <= 60 else s[:57] + "..."


def _started_epoch(results: dict[str, Any] | None) -> float | None:
    started = (results or {}).get("started")
    if not isinstance(started, str):
        return None
    for fmt in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(started, fmt).timestamp()
        except ValueError:
            continue
    return None


def node_timeline(
    run_path: Path, results: dict[str, Any] | None, end_of_history: float
) -> NodeTimeline:
    """Role and term changes per node, from nodes/*/events.jsonl (or deeper).

    Wall-clock times (Docker) go on the history's axis through results.json "started";
    times already small enough to be the history's own clock (the simulation) stay."""
    files = sorted(run_path.glob("nodes/*/events.jsonl")) or sorted(
        run_path.glob("nodes/*/**/events.jsonl")
    )
    raw: dict[str, list[tuple[int, int, str]]] = {}
    problems: list[str] = []
    for path in files:
        default_node = path.relative_to(run_path / "nodes").parts[0]
        try:
            lines = path.read_text(errors="replace").splitlines()
        except OSError as exc:
            problems.append(f"{path}: {exc}")
            continue
        for lineno, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                # A node killed mid-write leaves half a last line; say so, keep the rest.
                problems.append(f"{path.relative_to(run_path)}:{lineno}: not JSON, skipped")
                continue
            if not isinstance(obj, dict) or "role" not in obj or "term" not in obj:
                continue  # commit lines and anything else
            node = str(obj.get("node", default_node))
            try:
                raw.setdefault(node, []).append(
                    (int(obj["time"]), int(obj["term"]), str(obj["role"]))
                )
            except (KeyError, TypeError, ValueError):
                problems.append(f"{path.relative_to(run_path)}:{lineno}: no usable time/term")
    if not raw:
        return NodeTimeline([], False, problems)
    first = min(t for evs in raw.values() for t, _, _ in evs)
    last = max(t for evs in raw.values() for t, _, _ in evs)
    epoch = _started_epoch(results)
    offset_ns = first
    aligned = False
    wall = True
    if -1 <= first / 1e9 <= end_of_history + 120:
        # Already on the history's clock: the simulation stamps node events with the
        # same virtual nanoseconds as its history.
        offset_ns, aligned, wall = 0, True, False
    elif epoch is not None:
        # Plausible only if the node events overlap the run on its own axis.
        lo, hi = (first / 1e9 - epoch), (last / 1e9 - epoch)
        if hi > -5 and lo < end_of_history + 120:
            offset_ns, aligned = int(epoch * 1e9), True
    tracks = []
    for node in sorted(raw):
        evs = sorted(raw[node])
        tr = NodeTrack(node)
        for t, term, role in evs:
            tr.times.append((t - offset_ns) / 1e9)
            tr.terms.append(term)
            tr.roles.append(role)
        tracks.append(tr)
    return NodeTimeline(tracks, aligned, problems, wall)


@dataclass
class RunData:
    """Everything a report draws, for one run folder (or one imported history)."""

    title: str
    results: dict[str, Any]
    ops: list[Op]
    table: OpTable
    faults: list[FaultInterval]
    nodes: NodeTimeline
    axis: Axis
    history_file: str | None = None


def load_events(history: Path) -> list[Event]:
    from checkers.history.importers import read_history

    # read_history: the strict JSONL reader, with the garbage collector spared the
    # hundreds of thousands of small objects a big run makes.
    return read_history(str(history), "jsonl").events


def build_run_data(
    title: str,
    events: list[Event],
    results: dict[str, Any],
    run_path: Path | None = None,
    history_file: str | None = None,
    clock: bool = True,
) -> RunData:
    """`clock`: the history's times are nanoseconds (a run); False when they are only
    positions (Porcupine's logs), and the plots say so instead of calling them seconds."""
    # 100,000 Op objects, none cyclic: spare the garbage collector (as the readers do).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        # lone completions: Elle's and Jepsen's EDN have them (pair_events); a run's JSONL never
        ops = pair_events(events, history_file or "<history>", lone_completions=True)
    finally:
        if was_enabled:
            gc.enable()
    scale = 1e9 if clock else 1.0
    end = max((e.time for e in events), default=0) / scale
    roles = results.get("process-roles") if isinstance(results.get("process-roles"), dict) else {}
    table = op_table(ops, end, scale, {str(k): str(v) for k, v in roles.items()})
    faults = fault_intervals(events, end, scale)
    starts = [table.start.min()] if len(table) else []
    starts += [f.start for f in faults]
    lo = min(starts, default=0.0)
    nodes = (
        node_timeline(run_path, results, end)
        if run_path is not None and clock
        else NodeTimeline([], False)
    )
    origin = workload_origin(results) if clock else 0.0
    if origin:
        # Everything on the schedule's clock: a fault `at: 2` is drawn at 2 s, however
        # long the cluster took to start (setup before it shows at negative times).
        table.start -= origin
        table.end -= origin
        for iv in faults:
            iv.start -= origin
            iv.end -= origin
        if nodes.aligned:
            for tr in nodes.tracks:
                tr.times = [t - origin for t in tr.times]
        lo, end = lo - origin, end - origin
    label = (
        ("seconds since the workload started" if origin else "seconds since the run started")
        if clock
        else "position in the history"
    )
    axis = Axis(lo, max(end, lo + 1e-3), label, clock, origin)
    return RunData(title, results, ops, table, faults, nodes, axis, history_file)


def workload_origin(results: dict[str, Any] | None) -> float:
    """Seconds on the history's clock at which the workload started; 0 when unknown."""
    ns = (results or {}).get("workload-start-ns")
    return ns / 1e9 if isinstance(ns, int | float) and not isinstance(ns, bool) else 0.0
