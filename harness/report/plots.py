"""The report's plots, drawn with matplotlib (Agg) into base64 PNG for embedding.

Each function takes what report.data read and returns a `Plot` (the PNG as base64
plus a caption saying what was left out for display, if anything). Large runs are
drawn from columns with collections (one artist for many bars or points), and the
latency scatter is sampled above MAX_POINTS; quantiles and throughput always use
every operation.
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display, ever: reports are written by CI and servers

import numpy as np  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import FancyArrowPatch, Patch, Polygon  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

from harness.report.data import Axis, FaultInterval, NodeTimeline, OpTable  # noqa: E402

# Jepsen's timeline colours: ok green, fail pink, info (unknown) orange.
OK, FAIL, INFO = "#4caf50", "#f06292", "#ffa726"
STATUS_COLOURS = [OK, FAIL, INFO]
STATUS_NAMES = ["ok", "fail", "info"]
FAULT_COLOURS = {
    "partition": "#e57373",
    "kill": "#9575cd",
    "pause": "#4fc3f7",
    "clock": "#ffd54f",
    "packet": "#a1887f",
}
OTHER_FAULT = "#90a4ae"
ROLE_COLOURS = {"leader": "#1e88e5", "candidate": "#ffa726", "pre-candidate": "#ffe0b2"}
FOLLOWER = "#e0e0e0"
WIDTH = 12.0  # inches; every time plot has the same width and margins, so they line up
LEFT, RIGHT = 0.08, 0.985
DPI = 110
MAX_POINTS = 20_000  # latency scatter points drawn; more are sampled
KEEP_ALL_BELOW = 2_000  # an outcome with fewer points than this is drawn whole
MAX_LANE_LABELS = 40


@dataclass
class Plot:
    png: str  # base64
    caption: str = ""
    alt: str = ""


def _encode(fig: Figure, dpi: int = DPI) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def fault_colour(fault: str) -> str:
    return FAULT_COLOURS.get(fault, OTHER_FAULT)


def _shade(ax, faults: list[FaultInterval], label_row: bool = True) -> list[Patch]:
    """Shade each fault interval; returns legend handles, one per kind of fault."""
    kinds: dict[str, Patch] = {}
    for iv in faults:
        c = fault_colour(iv.fault)
        ax.axvspan(iv.start, max(iv.end, iv.start + 1e-3), color=c, alpha=0.22, lw=0, zorder=0)
        if iv.fault not in kinds:
            kinds[iv.fault] = Patch(color=c, alpha=0.45, label=iv.fault)
    return list(kinds.values())


def _xlim(ax, axis: Axis) -> None:
    pad = axis.width * 0.01
    ax.set_xlim(axis.lo - pad, axis.hi + pad)


def _legend_above(ax, handles: list) -> None:
    """One row of legend entries above the plot, where it hides no data."""
    ax.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        ncol=len(handles),
        frameon=False,
        fontsize=8,
    )


def _style(ax) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", color="#eeeeee", lw=0.8)
    ax.set_axisbelow(True)


def merge_bars(
    lane: np.ndarray, start: np.ndarray, end: np.ndarray, gap: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge intervals on the same lane that overlap or are less than `gap` apart."""
    if len(start) == 0:
        return lane, start, end
    order = np.lexsort((start, lane))
    ln, st, en = lane[order], start[order], end[order]
    # A running maximum of the ends within each lane: offset each lane past the last,
    # so one accumulate over the whole array never carries a lane into the next.
    lo = min(st.min(), en.min())
    big = (max(st.max(), en.max()) - lo + gap + 1.0) * 2
    off = ln.astype(np.float64) * big
    reach = np.maximum.accumulate(en - lo + off)
    new = np.empty(len(st), dtype=bool)
    new[0] = True
    new[1:] = (ln[1:] != ln[:-1]) | (st[1:] - lo + off[1:] > reach[:-1] + gap)
    first = np.flatnonzero(new)
    return ln[first], st[first], np.maximum.reduceat(en, first)


def timeline(table: OpTable, faults: list[FaultInterval], axis: Axis) -> Plot:
    lanes = max(len(table.lane_labels), 1)
    rows = lanes + (1 if faults else 0)
    height = min(1.15 + 0.22 * rows, 14.0)
    fig = Figure(figsize=(WIDTH, height))
    ax = fig.add_axes((LEFT, 0.58 / height, RIGHT - LEFT, 1 - 0.95 / height))
    _xlim(ax, axis)
    # Row -1 is the nemesis: busy rows would hide the background shading, so each
    # fault is also a bar of its own colour there, with its edges drawn over the rows.
    top = -1.5 if faults else -0.5
    ax.set_ylim(lanes - 0.5, top)
    handles = _shade(ax, faults)
    for iv in faults:
        c = fault_colour(iv.fault)
        ax.barh(
            -1,
            max(iv.end - iv.start, axis.width * 0.002),
            left=iv.start,
            height=0.7,
            color=c,
            lw=0,
            zorder=2,
        )
        for edge in (iv.start, iv.end):
            ax.axvline(edge, color=c, lw=0.9, ls=(0, (3, 2)), zorder=3)
    # Bars at least ~1.5 px wide, or a 5 ms op on a 60 s axis would vanish.
    axis_px = (RIGHT - LEFT) * WIDTH * DPI
    min_w = 1.5 * axis.width / axis_px
    end = np.maximum(table.end, table.start + min_w)
    row_pt = (height - 0.95) * 72 / rows
    lw = max(min(row_pt * 0.72, 14.0), 0.6)
    # ok first, then fail and info on top: the rarer outcomes are what one looks for.
    for code in (0, 1, 2):
        m = table.status == code
        if not m.any():
            continue
        # Bars of one outcome closer than a pixel become one bar: the picture is the
        # same, and 100,000 operations draw as a few thousand segments.
        lane, s0, s1 = merge_bars(table.lane[m], table.start[m], end[m], min_w / 1.5)
        segs = np.empty((len(s0), 2, 2))
        segs[:, 0, 0], segs[:, 1, 0] = s0, s1
        segs[:, :, 1] = lane[:, None]
        ax.add_collection(
            LineCollection(
                segs, colors=STATUS_COLOURS[code], linewidths=lw, capstyle="butt", zorder=2
            )
        )
    step = max(1, -(-lanes // MAX_LANE_LABELS))
    ticks = list(range(0, lanes, step))
    labels = [table.lane_labels[i] for i in ticks]
    if faults:
        ticks, labels = [-1, *ticks], ["nemesis", *labels]
    ax.set_yticks(ticks)
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_ylabel("process")
    ax.set_xlabel(axis.label)
    _style(ax)
    status_handles = [
        Patch(color=c, label=f"{n} ({int((table.status == i).sum())})")
        for i, (c, n) in enumerate(zip(STATUS_COLOURS, STATUS_NAMES, strict=True))
    ]
    _legend_above(ax, status_handles + handles)
    caption = (
        "Each bar is one operation, from invoke to completion; an info bar runs to where the "
        "client gave up (or to the end, if it never heard back). A row holds one client; "
        "a client renumbered after an info keeps its row."
    )
    return Plot(_encode(fig), caption, "timeline of operations per process")


def _bins(axis: Axis, target: int = 120) -> np.ndarray:
    width = max(axis.width / target, 0.05 if axis.seconds else 1)
    # A round width reads better: 0.1, 0.2, 0.25, 0.5, 1, 2, 5 ...
    for w in (0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 3600):
        if w >= width:
            width = w
            break
    lo = np.floor(axis.lo / width) * width
    return np.arange(lo, axis.hi + width, width)


def latency(table: OpTable, faults: list[FaultInterval], axis: Axis) -> Plot:
    fig = Figure(figsize=(WIDTH, 4.2))
    ax = fig.add_axes((LEFT, 0.13, RIGHT - LEFT, 0.75))
    _xlim(ax, axis)
    handles = _shade(ax, faults)
    lat = table.latency_ms
    has = ~np.isnan(lat) & (lat >= 0)
    n_all = int(has.sum())
    drawn = has.copy()
    if n_all > MAX_POINTS:
        # One uniform sample over every outcome keeps their proportions honest; an
        # outcome with few points (a handful of info) keeps them all, so none vanish.
        rng = np.random.default_rng(0)
        rate = MAX_POINTS / n_all
        for code in (0, 1, 2):
            idx = np.flatnonzero(has & (table.status == code))
            if len(idx) <= KEEP_ALL_BELOW:
                continue
            keep = max(int(len(idx) * rate), KEEP_ALL_BELOW)
            drawn[idx] = False
            drawn[rng.choice(idx, keep, replace=False)] = True
    # A log axis has no 0: an operation that took no time (virtual time in the
    # simulation, a clock that did not tick) sits on a floor below the fastest other.
    positive = lat[has & (lat > 0)]
    floor = float(positive.min()) / 2 if len(positive) else 1e-3
    point_handles = []
    for code in (0, 1, 2):
        m = drawn & (table.status == code)
        if m.any():
            ax.scatter(
                table.start[m],
                np.maximum(lat[m], floor),
                s=4 if n_all > 5000 else 9,
                c=STATUS_COLOURS[code],
                alpha=0.55 if code == 0 else 0.85,
                lw=0,
                zorder=2,
            )
        point_handles.append(
            Patch(
                color=STATUS_COLOURS[code],
                label=f"{STATUS_NAMES[code]} ({int((has & (table.status == code)).sum())})",
            )
        )
    # Quantiles of ok latency per time bin, from every operation.
    ok = has & (table.status == 0)
    quant_handles = []
    if ok.sum() >= 2:
        edges = _bins(axis, 60)
        nb = len(edges) - 1
        which = np.clip(np.digitize(table.start[ok], edges) - 1, 0, nb - 1)
        vals = lat[ok]
        order = np.lexsort((vals, which))
        which, vals = which[order], vals[order]
        counts = np.bincount(which, minlength=nb)
        first = np.concatenate(([0], np.cumsum(counts)[:-1]))
        mids = (edges[:-1] + edges[1:]) / 2
        enough = counts >= 3  # a quantile of one or two points is noise: leave a gap
        for q, style, colour in (
            (0.5, "-", "#1b5e20"),
            (0.95, "--", "#37474f"),
            (0.99, ":", "#000000"),
        ):
            # Sorted within each bin, so a quantile is one lookup (nearest rank).
            pick = first + np.minimum((q * counts).astype(int), np.maximum(counts - 1, 0))
            ys = np.where(enough, vals[np.minimum(pick, len(vals) - 1)], np.nan)
            (line,) = ax.plot(
                mids,
                np.maximum(ys, floor),
                style,
                color=colour,
                lw=1.4,
                zorder=3,
                label=f"p{int(q * 100)}",
            )
            quant_handles.append(line)
    ax.set_yscale("log")
    # Plain numbers (1, 10, 100 ms), not 10^2; 1-2-5 steps when the range is narrow,
    # or a run whose latencies all sit between 2 and 30 ms shows a single label.
    y0, y1 = ax.get_ylim()
    narrow = y0 > 0 and np.log10(y1 / y0) <= 3
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0) if narrow else (1.0,)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylabel("latency (ms)")
    ax.set_xlabel(f"{axis.label} (at invoke)")
    _style(ax)
    _legend_above(ax, point_handles + quant_handles + handles)
    shown = int(drawn.sum())
    zero = int((has & (lat <= 0)).sum())
    caption = (
        "A point per completed operation, coloured by outcome; lines are quantiles of ok latency."
    )
    if zero:
        ops = "operation" if zero == 1 else "operations"
        caption += f" {zero:,} {ops} took no measurable time: drawn at {floor:.3g} ms."
    if shown < n_all:
        caption += (
            f" Showing {shown:,} of {n_all:,} points (a uniform sample; an outcome with under "
            f"{KEEP_ALL_BELOW:,} points is shown whole); the quantiles use them all."
        )
    return Plot(_encode(fig), caption, "latency over time")


def throughput(table: OpTable, faults: list[FaultInterval], axis: Axis) -> Plot:
    fig = Figure(figsize=(WIDTH, 3.2))
    ax = fig.add_axes((LEFT, 0.16, RIGHT - LEFT, 0.7))
    _xlim(ax, axis)
    handles = _shade(ax, faults)
    edges = _bins(axis, 100)
    width = edges[1] - edges[0] if len(edges) > 1 else 1.0
    done = ~np.isnan(table.latency_ms)
    at = table.end
    lines = []
    for code in (0, 1, 2):
        m = done & (table.status == code)
        counts, _ = np.histogram(at[m], bins=edges)
        (line,) = ax.step(
            edges[:-1],
            counts / width if axis.seconds else counts,
            where="post",
            color=STATUS_COLOURS[code],
            lw=1.6,
            label=STATUS_NAMES[code],
            zorder=2,
        )
        lines.append(line)
    ax.set_ylabel("operations / s" if axis.seconds else f"completions per {width:g}")
    ax.set_xlabel(f"{axis.label} (by completion)")
    ax.set_ylim(bottom=0)
    _style(ax)
    _legend_above(ax, lines + handles)
    return Plot(_encode(fig), "", "throughput over time")


def elections(nodes: NodeTimeline, faults: list[FaultInterval], axis: Axis) -> Plot | None:
    tracks = [t for t in nodes.tracks if t.times]
    if not tracks:
        return None
    start = min(t.times[0] for t in tracks)
    end = max(t.times[-1] for t in tracks)
    if nodes.aligned:
        start, end = min(start, axis.lo), max(end, axis.hi)
    end = max(end, start + 1e-3)
    # Terms led by more than one node break election safety: draw those red.
    leaders: dict[int, set[str]] = {}
    for t in tracks:
        for term, role in zip(t.terms, t.roles, strict=True):
            if role == "leader":
                leaders.setdefault(term, set()).add(t.node)
    bad_terms = {term for term, ns in leaders.items() if len(ns) > 1}
    n = len(tracks)
    height = 1.9 + 0.45 * n + 2.0
    fig = Figure(figsize=(WIDTH, height))
    top_h = 0.45 * n / height
    ax = fig.add_axes((LEFT, 1 - 0.55 / height - top_h, RIGHT - LEFT, top_h))
    ax2 = fig.add_axes((LEFT, 0.7 / height, RIGHT - LEFT, 1.7 / height), sharex=ax)
    ax.set_xlim(start - (end - start) * 0.01, end + (end - start) * 0.01)
    handles = _shade(ax, faults) if nodes.aligned else []
    if nodes.aligned:
        _shade(ax2, faults)
    for row, t in enumerate(tracks):
        ends = t.times[1:] + [end]
        for i, (t0, t1, role, term) in enumerate(zip(t.times, ends, t.roles, t.terms, strict=True)):
            colour = ROLE_COLOURS.get(role, FOLLOWER)
            if role == "leader" and term in bad_terms:
                colour = "#d32f2f"
            ax.barh(row, max(t1 - t0, 1e-3), left=t0, height=0.62, color=colour, lw=0)
            if role == "leader" and (t1 - t0) > (end - start) * 0.025:
                ax.text(
                    (t0 + t1) / 2,
                    row,
                    f"term {term}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white",
                    fontweight="bold",
                )
            del i
        ax2.step(t.times + [end], t.terms + [t.terms[-1]], where="post", lw=1.3, label=t.node)
    ax.set_yticks(range(n))
    ax.set_yticklabels([t.node for t in tracks])
    ax.set_ylim(n - 0.5, -0.5)
    ax.tick_params(labelbottom=False)
    _style(ax)
    _style(ax2)
    ax2.set_ylabel("term")
    ax2.yaxis.get_major_locator().set_params(integer=True)
    ax2.set_xlabel(
        (axis.label + (" (node wall clocks)" if nodes.wall else ""))
        if nodes.aligned
        else "seconds since the first node event"
    )
    ax2.legend(loc="upper left", fontsize=7, ncol=n, frameon=False)
    role_handles = [
        Patch(color=ROLE_COLOURS["leader"], label="leader"),
        Patch(color=ROLE_COLOURS["candidate"], label="candidate"),
        Patch(color=ROLE_COLOURS["pre-candidate"], label="pre-candidate"),
        Patch(color=FOLLOWER, label="follower"),
    ]
    if bad_terms:
        role_handles.append(Patch(color="#d32f2f", label="two leaders in one term"))
    _legend_above(ax, role_handles + handles)
    caption = "Each node's role over time (top) and its term (bottom), from its events.jsonl."
    if nodes.aligned and nodes.wall:
        caption += (
            " Node times are wall clocks placed on the run's axis to about a second; a clock "
            "fault shifts that node's events."
        )
    if bad_terms:
        caption += f" Terms with two leaders: {', '.join(map(str, sorted(bad_terms)))}."
    return Plot(_encode(fig), caption, "terms and leaders per node")


def counterexample(cx: dict[str, Any]) -> Plot:
    """The operations around the point where linearization got stuck, Porcupine-style:
    one row per process, the linearized tail in green joined at linearization points
    in the order found, the operation nothing could explain in red.

    The axis is zoomed on the tail and the stuck operation: a concurrent operation that
    began long before (an info write left open) is drawn from the left edge, with its
    real start in its label, instead of squeezing everything else into a sliver."""
    ops = list(cx.get("ops", []))
    stuck = cx.get("stuck", {})
    linearized = list(cx.get("linearized", []))
    position = {idx: i + 1 for i, idx in enumerate(linearized)}
    stuck_idx = stuck.get("index")
    focus = [o for o in ops if o["index"] in position or o["index"] == stuck_idx] or ops
    ends = [o["complete_time"] for o in focus if o.get("complete_time") is not None]
    t0 = min((o["invoke_time"] for o in focus), default=0)
    t1 = max(ends + [o["invoke_time"] for o in focus], default=1)
    span = max(t1 - t0, 1)
    # Ms when the times are ns (a run); raw units when they are positions (no clock).
    scale, unit = (1e6, "ms") if span > 10_000 else (1, "history position")
    lo, hi = t0 - span * 0.08, t1 + span * 0.12
    procs = sorted({str(o["process"]) for o in ops}, key=lambda p: (len(p), p))
    row = {p: i for i, p in enumerate(procs)}
    height = 1.9 + 0.62 * max(len(procs), 1)
    fig = Figure(figsize=(WIDTH, height))
    ax = fig.add_axes((LEFT, 0.9 / height, RIGHT - LEFT, 1 - 1.45 / height))

    def x(t: float) -> float:
        return (t - t0) / scale

    ax.set_xlim(x(lo), x(hi))
    ax.set_ylim(len(procs) - 0.3, -0.75)
    points: list[tuple[float, float]] = []
    last_point = -np.inf
    seen_in_row: dict[int, int] = {}
    for o in sorted(ops, key=lambda o: (position.get(o["index"], 1 << 60), o["invoke_time"])):
        start = o["invoke_time"]
        open_end = o.get("complete_time") is None or o.get("status") == "info"
        stop = hi if open_end else o["complete_time"]
        y = row[str(o["process"])]
        is_stuck = o["index"] == stuck_idx
        if is_stuck:
            face, edge, hatch = "#ffcdd2", "#c62828", "///"
        elif o["index"] in position:
            face, edge, hatch = "#c8e6c9", "#2e7d32", None
        else:
            face, edge, hatch = "#eceff1", "#78909c", None
        left = max(start, lo)
        # At least a few pixels wide, so an instant op is still a bar.
        width = max(x(min(stop, hi)) - x(left), (x(hi) - x(lo)) * 0.004)
        ax.barh(
            y,
            width,
            left=x(left),
            height=0.5,
            color=face,
            edgecolor=edge,
            lw=1.8 if is_stuck else 1.0,
            hatch=hatch,
            zorder=2,
        )
        label = o.get("text", o.get("f", ""))
        if o["index"] in position:
            label = f"#{position[o['index']]}  {label}"
        if o.get("status") == "fail":
            label += "  [fail]"
        if start < lo:
            since = f"{(lo - start) / scale:,.0f} {unit}" if scale > 1 else f"{lo - start:g}"
            label = f"\u2190 {label}  (began {since} earlier)"
        if width > (x(hi) - x(lo)) * 0.3:
            # A long bar holds its own label.
            ty, va = y, "center"
            label = "  " + label
        else:
            # Alternate labels above and below on a busy row, so neighbours do not collide.
            k = seen_in_row.get(y, 0)
            seen_in_row[y] = k + 1
            ty, va = (y - 0.3, "bottom") if k % 2 == 0 else (y + 0.3, "top")
        ax.text(
            x(left),
            ty,
            label,
            fontsize=7.5,
            va=va,
            color="#b71c1c" if is_stuck else "#263238",
            fontweight="bold" if is_stuck else "normal",
            zorder=4,
            clip_on=True,
        )
        if o["index"] in position:
            # A linearization point consistent with the order found: never before the
            # previous one, inside the op's own interval.
            pt = max(start, last_point)
            if not open_end:
                pt = min(pt, o["complete_time"])
            last_point = pt
            points.append((x(pt), y))
    if points:
        xs, ys = zip(*points, strict=True)
        ax.plot(xs, ys, "-", color="#2e7d32", lw=1.2, alpha=0.7, zorder=3)
        ax.scatter(xs, ys, s=30, color="#2e7d32", zorder=5)
    if stuck:
        sy = row.get(str(stuck.get("process")))
        if sy is not None:
            sx = x(max(stuck["invoke_time"], last_point))
            if points:
                ax.plot([points[-1][0], sx], [points[-1][1], sy], ":", color="#c62828", lw=1.4)
            ax.scatter([sx], [sy], marker="X", s=120, color="#c62828", zorder=6)
    ax.set_yticks(range(len(procs)))
    ax.set_yticklabels([f"process {p}" for p in procs], fontsize=8)
    ax.set_xlabel(f"{unit} since the first operation of the prefix's tail")
    _style(ax)
    ax.legend(
        handles=[
            Patch(
                facecolor="#c8e6c9",
                edgecolor="#2e7d32",
                label="linearized (#: its place in the order)",
            ),
            Patch(
                facecolor="#ffcdd2", edgecolor="#c62828", hatch="///", label="cannot be linearized"
            ),
            Patch(facecolor="#eceff1", edgecolor="#78909c", label="concurrent, not placed"),
        ],
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        ncol=3,
        frameon=False,
        fontsize=8,
    )
    states = ", ".join(map(str, cx.get("states", []))) or "?"
    caption = (
        f"The longest linearizable prefix has {cx.get('linearized_count', len(linearized))} "
        "operations; its last ones are in green, joined in the order they linearize. "
        f"After them the model could be in: {states}. No order then explains the red one."
    )
    return Plot(_encode(fig, dpi=120), caption, "linearizability counterexample")


# ---- Elle: a cycle of transactions -------------------------------------------------

# Data dependencies solid, orders dashed; rw (an anti-dependency, what serializability
# cannot put up with) red, as Elle's own plots do.
EDGE_STYLES = {
    "ww": ("#1565c0", "-"),
    "wr": ("#2e7d32", "-"),
    "rw": ("#c62828", "-"),
    "process": ("#6d4c41", "--"),
    "realtime": ("#546e7a", "--"),
}
EDGE_SHORT = {"realtime": "rt"}
TXN_EDGE = {"ok": "#37474f", "info": INFO, "fail": FAIL}
MAX_MOPS = 4  # micro-ops listed per box; the rest are counted
READ_TAIL = 2  # elements shown of a list read: its last ones, the version it saw
MAX_VALUE = 14  # characters of any other value
# Inches between the boxes an edge joins, side by side or one above the other: room
# for its label (horizontal text, so more across than down).
LABEL_GAP = (1.35, 0.7)
ARC = -0.28  # arc3 curvature: negative bends a clockwise edge away from the centre
TAB_LEFT = 0.1  # inches from a box's left edge to its name tab


def short_value(v: Any) -> str:
    """A value in a few characters: a list read by its last elements (the version it
    saw, which is what an edge's sentence names), anything else cut."""
    if v is None:
        return "nil"
    if isinstance(v, list | tuple):
        tail = " ".join(short_value(e) for e in v[-READ_TAIL:])
        return f"[{'… ' if len(v) > READ_TAIL else ''}{tail}]"
    s = json.dumps(v) if isinstance(v, str) else str(v)
    return s if len(s) <= MAX_VALUE else s[: MAX_VALUE - 1] + "…"


def mop_label(mop: list[Any], known: bool) -> str:
    """One micro-op; the read of a txn that did not end ok saw nothing we know."""
    f, k, v = (list(mop) + [None, None, None])[:3]
    if f == "r" and not known:
        return f"r {short_value(k)}"
    return f"{f} {short_value(k)} {short_value(v)}"


def txn_label(txn: dict[str, Any]) -> str:
    """A box's text: where to find the txn in the history, then its micro-ops."""
    status = txn.get("status", "ok")
    head = f"op {txn.get('index')}, process {txn.get('process')}"
    if status != "ok":
        head += f" ({status})"
    mops = list(txn.get("value") or [])
    lines = [mop_label(m, status == "ok") for m in mops[:MAX_MOPS]]
    if len(mops) > MAX_MOPS:
        lines.append(f"… {len(mops) - MAX_MOPS} more")
    return "\n".join([head, *lines])


def _cycle_txns(case: dict[str, Any]) -> list[dict[str, Any]]:
    """The txn each step leaves from, in step order (T1, T2, ...: the sentences' names)."""
    by_index = {t.get("index"): t for t in case.get("txns", [])}
    return [by_index.get(s.get("from"), {"index": s.get("from")}) for s in case["steps"]]


def _ring(sizes: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Box centres (inches) on an ellipse, clockwise from the top (two boxes: side by
    side), grown until neighbours are LABEL_GAP apart and no two boxes touch."""
    n = len(sizes)
    start = np.pi if n == 2 else np.pi / 2
    angles = [start - 2 * np.pi * i / n for i in range(n)]

    def apart(p: list[tuple[float, float]], i: int, j: int, gap: tuple[float, float]) -> bool:
        dx = abs(p[i][0] - p[j][0]) - (sizes[i][0] + sizes[j][0]) / 2
        dy = abs(p[i][1] - p[j][1]) - (sizes[i][1] + sizes[j][1]) / 2
        return dx >= gap[0] or dy >= gap[1]

    scale = 0.5
    while True:
        # wider than tall: the boxes are, and so is the page
        pts = [(scale * np.cos(a), 0.62 * scale * np.sin(a)) for a in angles]
        if all(
            apart(pts, i, j, LABEL_GAP if (j - i) in (1, n - 1) else (0.3, 0.3))
            for i in range(n)
            for j in range(i + 1, n)
        ):
            return pts
        scale *= 1.06


def _arc_middle(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    # arc3's control point is the chord's middle moved by rad * (dy, -dx); the quadratic
    # Bezier passes halfway to it (data are inches on both axes, as the display is)
    dx, dy = b[0] - a[0], b[1] - a[1]
    return (a[0] + b[0]) / 2 + ARC * dy / 2, (a[1] + b[1]) / 2 - ARC * dx / 2


def _size(text: Any, dpi: float) -> tuple[float, float]:
    """A drawn text's box (its bbox patch, padding included), in inches."""
    e = text.get_bbox_patch().get_window_extent()
    return e.width / dpi, e.height / dpi


def _outline(
    centre: tuple[float, float], box: tuple[float, float], tab: tuple[float, float], ax: Any
) -> Polygon:
    """A txn's box with its name tab on top (TAB_LEFT from its left edge): where the
    arrows to and from it stop."""
    (x, y), (w, h), (tw, th) = centre, box, tab
    left, right, bottom, top = x - w / 2, x + w / 2, y - h / 2, y + h / 2
    t0, t1 = left + TAB_LEFT, left + TAB_LEFT + tw
    corners = [(left, bottom), (right, bottom), (right, top), (t1, top)]
    corners += [(t1, top + th), (t0, top + th), (t0, top), (left, top)]
    return Polygon(corners, closed=True, transform=ax.transData)


def _edge_label(step: dict[str, Any]) -> str:
    label = EDGE_SHORT.get(step.get("type"), str(step.get("type")))
    if step.get("key") is not None:
        label += f" {short_value(step['key'])}"
    return label


def _arrow(a: Polygon, b: Polygon, step: dict[str, Any]) -> FancyArrowPatch:
    colour, style = EDGE_STYLES.get(step.get("type"), ("#455a64", "-"))
    return FancyArrowPatch(
        _centre(a),
        _centre(b),
        arrowstyle="-|>",
        mutation_scale=14,
        connectionstyle=f"arc3,rad={ARC}",
        patchA=a,
        patchB=b,
        shrinkA=3,
        shrinkB=3,
        color=colour,
        lw=1.6,
        linestyle=style,
        zorder=2,
    )


def _centre(outline: Polygon) -> tuple[float, float]:
    # the box's own centre: the outline's first three corners are its bottom and right
    (left, bottom), (right, _), (_, top) = outline.get_xy()[:3]
    return (left + right) / 2, (bottom + top) / 2


def cycle(case: dict[str, Any]) -> Plot:
    """A cycle of an Elle case as a small graph: each txn a box (its name, op index,
    process and micro-ops, abbreviated) on a ring, each step an arrow labelled with its
    relation and key. Data coordinates are inches: every text is drawn once to measure
    it, then placed, and the figure made to fit."""
    steps = case["steps"]
    n = len(steps)
    txns = _cycle_txns(case)
    fig = Figure(figsize=(6, 4))
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    boxes = [
        ax.text(
            0,
            0,
            txn_label(t),
            ha="center",
            va="center",
            multialignment="left",
            family="DejaVu Sans Mono",
            fontsize=8,
            linespacing=1.35,
            zorder=3,
            bbox={
                "boxstyle": "round,pad=0.5",
                "fc": "#fafbfc",
                "lw": 1.2,
                "ec": TXN_EDGE.get(t.get("status", "ok"), INFO),
            },
        )  # fmt: skip
        for t in txns
    ]
    tabs = [
        ax.text(
            0,
            0,
            f"T{i + 1}",
            ha="left",
            va="bottom",
            fontsize=8.5,
            fontweight="bold",
            color="white",
            zorder=5,
            bbox={"boxstyle": "round,pad=0.22", "fc": "#37474f", "ec": "none"},
        )  # fmt: skip
        for i in range(n)
    ]
    labels = []
    for step in steps:
        colour = EDGE_STYLES.get(step.get("type"), ("#455a64", "-"))[0]
        labels.append(
            ax.text(0, 0, _edge_label(step), ha="center", va="center", fontsize=8.5,
                    fontweight="bold", color=colour, zorder=4,
                    bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": colour, "lw": 0.8})
        )  # fmt: skip
    canvas.draw()  # lays every text out: their sizes are known from here on
    box_sizes = [_size(b, fig.dpi) for b in boxes]
    tab_sizes = [_size(t, fig.dpi) for t in tabs]
    centres = _ring(box_sizes)
    outlines = []
    extent: list[tuple[float, float]] = []
    for box, tab, c, size, tab_size in zip(boxes, tabs, centres, box_sizes, tab_sizes, strict=True):
        outline = _outline(c, size, tab_size, ax)
        outlines.append(outline)
        box.set_position(c)
        # the tab's text box starts where its outline does (a bbox pads its text)
        pad = 0.22 * 8.5 / 72
        tab.set_position((c[0] - size[0] / 2 + TAB_LEFT + pad, c[1] + size[1] / 2 + pad))
        extent += list(map(tuple, outline.get_xy()))
    for i, (step, label) in enumerate(zip(steps, labels, strict=True)):
        a, b = outlines[i], outlines[(i + 1) % n]
        ax.add_patch(_arrow(a, b, step))
        mx, my = _arc_middle(_centre(a), _centre(b))
        label.set_position((mx, my))
        w, h = _size(label, fig.dpi)
        extent += [(mx - w / 2, my - h / 2), (mx + w / 2, my + h / 2)]
    margin = 0.15
    x0, y0 = min(p[0] for p in extent) - margin, min(p[1] for p in extent) - margin
    x1, y1 = max(p[0] for p in extent) + margin, max(p[1] for p in extent) + margin
    fig.set_size_inches(x1 - x0, y1 - y0)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    names = [f"T{i + 1}" for i in range(n)]
    alt = f"{case.get('type', 'cycle')} cycle: {' → '.join([*names, names[0]])}"
    return Plot(_encode(fig, dpi=120), "", alt)
