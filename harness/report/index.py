# ruff: noqa: E501 - HTML and CSS read better unwrapped
"""The store's index: every run, newest first, with its verdict and a link to its report;
then every hunt (`raftquake hunt`), with what it found and links to its minimal schedule
and the replayed run's report."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from harness.report.page import verdict_class, verdict_word
from harness.report.plots import fault_colour
from harness.store import list_hunts, list_runs
from harness.words import plural


@dataclass
class RunRow:
    name: str
    stamp: str
    when: str
    href: str  # the report, relative to the store
    has_report: bool
    has_history: bool
    valid: Any
    status: str
    backend: str
    ok: int = 0
    fail: int = 0
    info: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    faults_note: str = ""
    failing: list[str] = field(default_factory=list)  # checkers that said invalid
    took: float | None = None  # seconds the run took
    order: tuple = ()  # newest first sorts by this, descending

    @property
    def ops(self) -> int:
        return self.ok + self.fail + self.info


def _when(stamp: str) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.strptime(stamp[:15], "%Y%m%dT%H%M%S"))
    except ValueError:
        return stamp


def run_rows(store: str | Path) -> list[RunRow]:
    store = Path(store)
    rows = []
    for rd in list_runs(store):
        results = rd.read_results() or {}
        checkers = results.get("checkers") or {}
        total = (checkers.get("stats") or {}).get("total") or {}
        kinds: dict[str, int] = {}
        applied = results.get("faults")
        for f in applied if isinstance(applied, list) else []:
            kind = str(f.get("fault", "?")) if isinstance(f, dict) else str(f)
            kinds[kind] = kinds.get(kind, 0) + 1
        note = ""
        if not isinstance(applied, list) and results.get("faults-planned") is not None:
            note = f"{results['faults-planned']} planned"
        rows.append(
            RunRow(
                name=str(results.get("name") or rd.path.parent.name),
                stamp=rd.path.name,
                when=_when(rd.path.name),
                href=rd.report.relative_to(store).as_posix(),
                has_report=rd.report.exists(),
                has_history=rd.history.is_file(),
                valid=results.get("valid", "unknown") if results else "unknown",
                status=str(results.get("status", "no results.json" if not results else "")),
                backend=str(results.get("backend", "")),
                ok=int(total.get("ok", 0)),
                fail=int(total.get("fail", 0)),
                info=int(total.get("info", 0)),
                faults=kinds,
                faults_note=note,
                failing=[
                    n
                    for n, r in checkers.items()
                    if isinstance(r, dict) and r.get("valid") is False
                ],
                took=results.get("duration-s")
                if isinstance(results.get("duration-s"), int | float)
                else None,
                order=(rd.path.name[:15], _suffix(rd.path.name), _mtime(rd)),
            )
        )
    # Stamps have one-second resolution: runs of the same second (different schedules,
    # or a suite on sim) are ordered by when their results were written.
    rows.sort(key=lambda r: r.order, reverse=True)
    return rows


def _suffix(stamp: str) -> int:
    _, _, n = stamp.partition("-")
    return int(n) if n.isdigit() else 0


def _mtime(rd) -> int:  # type: ignore[no-untyped-def]
    for p in (rd.results, rd.path):
        try:
            return p.stat().st_mtime_ns
        except OSError:
            continue
    return 0


@dataclass
class HuntRow:
    name: str
    stamp: str
    when: str
    status: str  # running, complete, interrupted, abandoned; "" for a hunt of older code
    runs: int | None
    found: bool
    best: str  # "1 fault, 2 s, 2 clients, 1 key; caught by linearizable" or ""
    minimal: str | None  # minimal.yaml, relative to the store
    replay: str | None  # the replayed run's report, relative to the store
    replay_exists: bool = False  # written already (serve writes a missing one on request)
    seed: Any = None


def hunt_rows(store: str | Path) -> list[HuntRow]:
    """Every hunt's folder, newest first, from its results.json (or, for a hunt made
    before hunts kept one, from the minimal.yaml it left)."""
    store = Path(store)
    rows = []
    for hd in list_hunts(store):
        results = hd.read_results() or {}
        minimal = hd.path / str(results.get("minimal") or "minimal.yaml")
        best = results.get("best") if isinstance(results.get("best"), dict) else {}
        words = ""
        if best:
            words = (
                f"{plural(int(best.get('faults', 0)), 'fault')}, {best.get('time-limit', 0):g} s, "
                f"{plural(int(best.get('clients', 0)), 'client')}, "
                f"{plural(int(best.get('keys', 0)), 'key')}"
            )
            if best.get("caught-by"):
                words += "; caught by " + ", ".join(map(str, best["caught-by"]))
        replay = None
        if results.get("replay"):
            report = hd.path / str(results["replay"]) / "report.html"
            replay = report.relative_to(store).as_posix()
        else:  # older hunts: the replayed run is the one run folder inside
            inner = sorted(hd.path.glob("*/2*/history.jsonl"))
            if inner:
                replay = (inner[-1].parent / "report.html").relative_to(store).as_posix()
        rows.append(
            HuntRow(
                name=str(results.get("name") or hd.path.parent.name),
                stamp=hd.path.name,
                when=_when(hd.path.name),
                status=str(results.get("status", "")),
                runs=results.get("runs") if isinstance(results.get("runs"), int) else None,
                found=bool(results.get("found", minimal.is_file())),
                best=words,
                minimal=minimal.relative_to(store).as_posix() if minimal.is_file() else None,
                replay=replay,
                replay_exists=replay is not None and (store / replay).is_file(),
                seed=results.get("seed"),
            )
        )
    return rows


TEMPLATE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>raftquake runs</title>
<style>
:root { --ok:#2e7d32; --bad:#c62828; --unk:#8d6e63; --ink:#1f2933; --mute:#66737f; --line:#e3e8ee; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif; color:var(--ink); background:#f5f7fa; }
header { padding:20px 32px; background:#fff; border-bottom:1px solid var(--line); }
header h1 { margin:0; font-size:21px; } header p { margin:4px 0 0; color:var(--mute); font-size:13px; }
main { padding:18px 32px 40px; }
.tally { display:flex; gap:10px; margin:0 0 14px; }
.tally span { background:#fff; border:1px solid var(--line); border-radius:999px; padding:3px 12px; font-size:13px; }
table { border-collapse:collapse; width:100%; background:#fff; border:1px solid var(--line); border-radius:8px; overflow:hidden; }
th, td { text-align:left; padding:8px 12px; border-bottom:1px solid var(--line); vertical-align:middle; }
th { color:var(--mute); font-weight:600; font-size:12px; background:#fafbfc; }
tr:hover td { background:#f7fbff; }
td.num { font-variant-numeric:tabular-nums; text-align:right; }
.badge { display:inline-block; min-width:74px; text-align:center; padding:2px 10px; border-radius:999px; font-weight:700; font-size:12px; color:#fff; text-transform:uppercase; letter-spacing:.03em; }
.badge.valid { background:var(--ok); } .badge.invalid { background:var(--bad); } .badge.unknown { background:var(--unk); }
.bar { display:flex; width:140px; height:8px; border-radius:4px; overflow:hidden; background:#eceff1; margin-top:3px; }
.bar i { display:block; height:100%; } .bar .ok { background:#4caf50; } .bar .fail { background:#f06292; } .bar .info { background:#ffa726; }
.small { color:var(--mute); font-size:12px; }
.fault { display:inline-block; border-radius:4px; padding:0 6px; margin:1px 2px 1px 0; font-size:12px; }
a { color:#1565c0; text-decoration:none; } a:hover { text-decoration:underline; }
.why { color:var(--bad); font-size:12px; }
.notes { background:#fff8e1; border:1px solid #ffe082; border-radius:8px; padding:8px 14px; margin:0 0 14px; }
.notes p { margin:4px 0; }
.empty { padding:40px; text-align:center; color:var(--mute); background:#fff; border:1px dashed var(--line); border-radius:8px; }
</style></head>
<body>
<header><h1>raftquake runs</h1><p>{{ store }} · {{ rows | length }} run(s), newest first</p></header>
<main>
{% if notes %}<div class="notes" id="notes">{% for n in notes %}<p>{{ n }}</p>{% endfor %}</div>{% endif %}
{% if rows %}
<div class="tally">
  <span><b style="color:var(--ok)">{{ tally.valid }}</b> valid</span>
  <span><b style="color:var(--bad)">{{ tally.invalid }}</b> invalid</span>
  <span><b style="color:var(--unk)">{{ tally.unknown }}</b> unknown</span>
</div>
<table id="runs">
<tr><th>run</th><th>time</th><th>verdict</th><th style="text-align:right">operations</th><th>faults</th><th>backend</th><th></th></tr>
{% for r in rows %}
<tr class="run" data-verdict="{{ verdict_class(r.valid) }}">
  <td><b>{{ r.name }}</b><div class="small">{{ r.stamp }}</div></td>
  <td>{{ r.when }}{% if r.took is not none %}<div class="small">took {{ "%.1f" | format(r.took) }} s</div>{% endif %}</td>
  <td><span class="badge {{ verdict_class(r.valid) }}">{{ verdict_word(r.valid) }}</span>
    {% if r.failing %}<div class="why">{{ r.failing | join(", ") }}</div>{% endif %}
    {% if r.status and r.status != "complete" %}<div class="small">{{ r.status }}</div>{% endif %}</td>
  <td class="num">{{ "{:,}".format(r.ops) }}
    {% if r.ops %}<div class="bar" title="{{ r.ok }} ok, {{ r.fail }} fail, {{ r.info }} info">
      <i class="ok" style="width:{{ 100 * r.ok / r.ops }}%"></i><i class="fail" style="width:{{ 100 * r.fail / r.ops }}%"></i><i class="info" style="width:{{ 100 * r.info / r.ops }}%"></i></div>
    <div class="small">{{ r.ok }} ok · {{ r.fail }} fail · {{ r.info }} info</div>{% endif %}</td>
  <td>{% for kind, n in r.faults.items() %}<span class="fault" style="background:{{ fault_colour(kind) }}55">{{ kind }}{% if n > 1 %} ×{{ n }}{% endif %}</span>{% else %}<span class="small">{{ r.faults_note or "none" }}</span>{% endfor %}</td>
  <td class="small">{{ r.backend }}</td>
  <td>{% if r.has_report or (live and r.has_history) %}<a href="{{ r.href }}">report →</a>{% else %}<span class="small">no report</span>{% endif %}</td>
</tr>
{% endfor %}
</table>
{% else %}
<div class="empty">No runs in {{ store }} yet. Start one with <code>raftquake run schedules/default.yaml</code>.</div>
{% endif %}
{% if hunts %}
<h2 style="font-size:17px; margin:26px 0 10px">Hunts <span class="small">({{ hunts | length }}, newest first: <code>raftquake hunt</code>)</span></h2>
<table id="hunts">
<tr><th>hunt</th><th>time</th><th>found</th><th style="text-align:right">runs</th><th>status</th><th></th></tr>
{% for h in hunts %}
<tr class="hunt" data-found="{{ 'yes' if h.found else 'no' }}">
  <td><b>{{ h.name }}</b><div class="small">{{ h.stamp }}{% if h.seed is not none %} · seed {{ h.seed }}{% endif %}</div></td>
  <td>{{ h.when }}</td>
  <td>{% if h.found %}<span class="badge invalid">failure</span><div class="small">{{ h.best }}</div>{% else %}<span class="small">nothing</span>{% endif %}</td>
  <td class="num">{{ h.runs if h.runs is not none else "" }}</td>
  <td class="small">{{ h.status }}</td>
  <td>{% if h.minimal %}<a href="{{ h.minimal }}">minimal.yaml</a>{% endif %}{% if h.replay and (live or h.replay_exists) %} · <a href="{{ h.replay }}">report →</a>{% endif %}</td>
</tr>
{% endfor %}
</table>
{% endif %}
</main></body></html>
"""
)


def render_index(store: str | Path, live: bool = False, notes: Sequence[str] = ()) -> str:
    """`live`: served by `raftquake serve`, which writes a missing report on request,
    so every run links to one. `notes`: lines shown above the runs (what dead runs left,
    harness/leftovers.py)."""
    rows = run_rows(store)
    hunts = hunt_rows(store)
    tally = {"valid": 0, "invalid": 0, "unknown": 0}
    for r in rows:
        tally[verdict_class(r.valid)] += 1
    return TEMPLATE.render(
        store=str(store),
        rows=rows,
        hunts=hunts,
        tally=tally,
        live=live,
        notes=list(notes),
        verdict_class=verdict_class,
        verdict_word=verdict_word,
        fault_colour=fault_colour,
    )
