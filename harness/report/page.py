"""report.html: one self-contained page per run (inline CSS, plots as base64 PNG).

The page opens from the file system and fetches nothing: no scripts, no fonts, no
external URLs. Text goes through jinja2 with autoescaping on.
"""

from __future__ import annotations

import functools
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from checkers.history import has_clock
from checkers.protocol import Page, Section
from checkers.registry import CHECKERS, summary_of
from harness.report import plots
from harness.report.data import Axis, RunData, build_run_data, load_events
from harness.report.template import ENV, TEMPLATE

VERDICT_WORDS = {True: "valid", False: "INVALID", "unknown": "unknown"}


def verdict_class(valid: Any) -> str:
    return {True: "valid", False: "invalid"}.get(valid, "unknown")


def verdict_word(valid: Any) -> str:
    return VERDICT_WORDS.get(valid, "unknown" if valid is None else str(valid))


@dataclass(frozen=True)
class _Page:
    """What a checker's section may ask of the page (checkers/protocol.py's Page)."""

    axis: Axis

    @property
    def seconds(self) -> bool:
        return self.axis.seconds

    def when(self, t: Any) -> str:
        """A history time as the report's axis shows it (seconds since the workload
        started)."""
        if t is None:
            return "—"
        return f"{t / 1e9 - self.axis.origin:.3f}" if self.axis.seconds else str(t)


def violation_sections(
    checkers: dict[str, dict[str, Any]], page: Page
) -> tuple[list[Markup], list[dict[str, Any]]]:
    """The sections of the invalid checker entries: those whose checker lays out its own
    (its report_section: linearizable's counterexample, Elle's anomalies, the set's
    elements), in the registry's order, then every other violation in the checker's own
    words, or without them its JSON fields. An entry's checker is its "checker" field,
    else its name, so a check --report entry filed under another name still has its
    section."""
    own: list[tuple[int, Markup]] = []
    other: list[dict[str, Any]] = []
    rank = {name: i for i, name in enumerate(CHECKERS)}
    for name, r in checkers.items():
        if r.get("valid") is not False:
            continue
        kind = r.get("checker", name)
        checker = CHECKERS.get(kind)
        section = checker.report_section(name, r, page) if checker is not None else None
        if section is not None:
            own.append((rank[kind], _render_section(section, page)))
        else:
            text = r.get("explanation") or json.dumps(
                {k: v for k, v in r.items() if k not in ("valid", "checker")}, indent=2
            )
            other.append({"id": name, "title": f"{name} violated", "text": text})
    own.sort(key=lambda ranked: ranked[0])  # stable: a checker's sections keep their order
    return [html for _, html in own], other


def _render_section(section: Section, page: Page) -> Markup:
    return Markup(_fragment(section.template).render(s=section.data, seconds=page.seconds))


@functools.cache
def _fragment(template: str) -> jinja2.Template:
    return ENV.from_string(template)


def render(data: RunData, files: list[tuple[str, str]] | None = None) -> str:
    results = data.results
    checkers = [
        {"name": name, "valid": r.get("valid"), "summary": summary_of(name, r)}
        for name, r in (results.get("checkers") or {}).items()
    ]
    t = data.table
    counts = {
        "total": len(t),
        "ok": int((t.status == 0).sum()),
        "fail": int((t.status == 1).sum()),
        "info": int((t.status == 2).sum()),
    }
    meta = []
    for label, key in (("backend", "backend"), ("seed", "seed"), ("started", "started")):
        if results.get(key) is not None:
            meta.append(f"{label} {results[key]}")
    if results.get("duration-s") is not None:
        meta.append(f"took {results['duration-s']:.1f} s")
    if results.get("status") not in (None, "complete"):
        meta.append(f"run {results['status']}")
    notes = []
    if results.get("error"):
        notes.append(f"The run says: {results['error']}")
    for err in results.get("fault-errors", []) + results.get("heal-errors", []):
        notes.append(f"Fault problem: {err}")
    notes += [f"Node events: {p}" for p in data.nodes.problems[:5]]
    if not len(data.table):
        notes.append("The history has no operations: nothing to plot.")

    sections, explanations = violation_sections(results.get("checkers") or {}, _Page(data.axis))

    figs = []
    if len(t):
        figs.append(
            {
                "id": "timeline",
                "title": "Operations",
                "plot": plots.timeline(t, data.faults, data.axis),
            }
        )
    if len(t) and data.axis.seconds:  # without a clock, latency and rate mean nothing
        figs.append(
            {"id": "latency", "title": "Latency", "plot": plots.latency(t, data.faults, data.axis)}
        )
        figs.append(
            {
                "id": "throughput",
                "title": "Throughput",
                "plot": plots.throughput(t, data.faults, data.axis),
            }
        )
    el = plots.elections(data.nodes, data.faults, data.axis)
    if el is not None:
        figs.append({"id": "elections", "title": "Terms and leaders", "plot": el})

    return TEMPLATE.render(
        title=data.title,
        valid=results.get("valid", "unknown"),
        meta=meta,
        checkers=checkers,
        counts=counts,
        duration=data.axis.hi - data.axis.lo,
        seconds=data.axis.seconds,
        notes=notes,
        sections=sections,
        explanations=explanations,
        plots=figs,
        faults=data.faults,
        files=files or [],
        written=time.strftime("%Y-%m-%d %H:%M:%S"),
        verdict_word=verdict_word,
        verdict_class=verdict_class,
        fault_colour=plots.fault_colour,
    )


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_run_report(run_path: str | Path) -> Path:
    """(Re)write report.html of a run folder from its history and results.json."""
    run_path = Path(run_path)
    if run_path.is_symlink():  # store/latest: name the run, not the link
        run_path = run_path.resolve()
    history = run_path / "history.jsonl"
    results_file = run_path / "results.json"
    if not history.is_file():
        raise FileNotFoundError(f"{run_path}: no history.jsonl; expected a run folder")
    try:
        results = json.loads(results_file.read_text())
    except FileNotFoundError:
        results = {"valid": "unknown", "error": "results.json is missing"}
    except ValueError as exc:
        raise ValueError(f"{results_file}: not valid JSON ({exc})") from None
    title = str(results.get("name") or run_path.parent.name)
    title += f" / {run_path.name}"
    data = build_run_data(title, load_events(history), results, run_path, str(history))
    files = [
        (name, name)
        for name in ("history.jsonl", "results.json", "schedule.yaml")
        if (run_path / name).exists()
    ]
    if (run_path / "nodes").is_dir():
        files.append(("nodes/", "nodes/"))
    out = run_path / "report.html"
    write_atomic(out, render(data, files))
    return out


def check_report_path(history: str | Path, out_dir: str | Path, several: bool) -> Path:
    """report.html in DIR for one history; DIR/<file name>.html each when several."""
    out_dir = Path(out_dir)
    return out_dir / (f"{Path(history).name}.html" if several else "report.html")


def write_check_report(
    history: str | Path,
    fmt: str,
    result: dict[str, Any],
    out: str | Path,
    explanation: str | None = None,
) -> Path:
    """A report for an imported history checked by `raftquake check --report DIR`:
    no run folder, so no nodes, only the history and the verdict, filed under the name
    of the checker that gave it (linearizable, elle or set) so its section shows."""
    from checkers.history.importers import read_history

    h = read_history(str(history), fmt)
    checker = {k: v for k, v in result.items() if k not in ("file", "format", "warnings")}
    if explanation and result.get("valid") is False:
        checker["explanation"] = explanation
    results = {
        "name": Path(history).name,
        "valid": result.get("valid"),
        "format": h.format,
        "checkers": {str(result.get("checker") or "linearizable"): checker},
    }
    clock = has_clock(h.events)
    data = build_run_data(Path(history).name, h.events, results, None, str(history), clock)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, render(data, []))
    return out
