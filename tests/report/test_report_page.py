"""report.html as a user opens it: verdicts on top, the plots, the counterexample,
nothing fetched from elsewhere; `raftquake report` and `check --report`."""

from __future__ import annotations

import json
import re
from html import escape as html_escape
from pathlib import Path

import pytest
from report_runs import make_run, register_history

from harness.cli import main
from harness.report import write_run_report


def external_refs(html: str) -> list[str]:
    """Every src/href that would leave the file: anything but data:, #, or a relative path."""
    refs = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', html)
    refs += re.findall(r"url\(([^)]*)\)", html)
    return [
        r
        for r in refs
        if re.match(r"^\s*(?:[a-z][a-z0-9+.-]*:|//)", r, re.I) and not r.startswith("data:")
    ]


def images(html: str) -> list[bytes]:
    import base64

    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', html)]


@pytest.fixture(scope="module")
def bad_run(tmp_path_factory):
    rd = make_run(tmp_path_factory.mktemp("store"), "stale", bad=True)
    before = rd.history.read_bytes(), rd.results.read_bytes()
    write_run_report(rd.path)
    # A report reads the run; it never changes what the run stored.
    assert (rd.history.read_bytes(), rd.results.read_bytes()) == before
    return rd


def test_invalid_run_report_shows_verdicts_counterexample_and_plots(bad_run):
    html = bad_run.report.read_text()
    results = json.loads(bad_run.results.read_text())
    assert results["valid"] is False
    # The overall verdict is the first thing on the page, then each checker's.
    assert re.search(r'id="verdict">\s*INVALID', html)
    assert html.index('id="verdict"') < html.index('id="checkers"') < html.index('id="timeline"')
    for name in ("linearizable", "election-safety", "stats"):
        assert f'data-checker="{name}"' in html
    assert re.search(
        r'data-checker="linearizable">\s*<h3><span>linearizable</span><span class="v">INVALID', html
    )
    # The counterexample: the stuck read, the states, the explanation text.
    cx = results["checkers"]["linearizable"]["counterexample"]
    assert 'id="counterexample"' in html and "Not linearizable on key k1" in html
    assert html_escape(cx["stuck"]["text"]) in html
    assert "States the model could be in" in html
    # Two leaders in term 3: the election section says so.
    assert 'id="election-safety"' in html and "term 3" in html
    # Plots: counterexample, timeline, latency, throughput, elections; all real PNGs.
    pngs = images(html)
    assert len(pngs) == 5
    assert all(p.startswith(b"\x89PNG\r\n\x1a\n") and len(p) > 5000 for p in pngs)
    assert external_refs(html) == []
    # Faults from the nemesis events are listed with their times.
    assert re.search(r"partition</td>\s*<td class=\"num\">\d", html)


def test_valid_run_report(tmp_path):
    rd = make_run(tmp_path, "fine", bad=False)
    out = write_run_report(rd.path)
    html = out.read_text()
    assert re.search(r'id="verdict">\s*valid', html)
    assert 'id="counterexample"' not in html
    assert len(images(html)) == 4
    assert "history.jsonl" in html  # links to the run's own files, relative


def test_report_command_regenerates(tmp_path, capsys):
    rd = make_run(tmp_path, "regen")
    assert not rd.report.exists()
    assert main(["report", str(rd.path)]) == 0
    assert capsys.readouterr().out.strip() == str(rd.report)
    assert rd.report.stat().st_size > 10_000


def test_report_command_bad_input_names_the_file_and_line(tmp_path, capsys):
    rd = make_run(tmp_path, "broken")
    lines = rd.history.read_text().splitlines()
    lines[3] = '{"index": 3, "time": "soon"'
    rd.history.write_text("\n".join(lines) + "\n")
    assert main(["report", str(rd.path), str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err
    assert f"{rd.history}:4:" in err
    assert "nothing: " in err and "no history.jsonl" in err
    assert not rd.report.exists()


def test_check_report_for_an_imported_history(tmp_path, capsys):
    path = tmp_path / "h.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in register_history(80, stale_read=True)))
    out_dir = tmp_path / "out"
    assert main(["check", str(path), "--report", str(out_dir)]) == 1
    html = (out_dir / "report.html").read_text()
    assert re.search(r'id="verdict">\s*INVALID', html)
    assert 'id="counterexample"' in html and "op " in html
    assert f"report {out_dir / 'report.html'}" in capsys.readouterr().err
    # Several files: one page each, named after the file.
    good = tmp_path / "good.jsonl"
    good.write_text("".join(json.dumps(e) + "\n" for e in register_history(40, stale_read=False)))
    assert main(["check", str(path), str(good), "--report", str(out_dir)]) == 1
    assert re.search(r'id="verdict">\s*valid', (out_dir / "good.jsonl.html").read_text())
    assert (out_dir / "h.jsonl.html").exists()


def test_runner_notes_a_failed_report_and_keeps_the_results(tmp_path):
    from harness.runner import _write_report

    rd = make_run(tmp_path, "x", bad=False)
    rd.history.write_text("not json\n")  # the report cannot read it
    results = json.loads(rd.results.read_text())
    _write_report(rd, results, say=lambda m: None)
    kept = json.loads(rd.results.read_text())
    assert kept["valid"] is True and kept["checkers"] == results["checkers"]
    assert "history.jsonl:1" in kept["report-error"]


def test_a_sim_run_writes_its_report(tmp_path):
    """The runner's hook, for real: a short simulated run of the stale-read schedule
    leaves report.html next to results.json, and the page says what results.json says."""
    from harness.runner import run_schedule
    from harness.schedule import load_schedule

    root = Path(__file__).resolve().parents[2]
    schedule = load_schedule(str(root / "schedules" / "bug-stale-read.yaml"))
    outcome = run_schedule(
        schedule, backend="sim", store=tmp_path, seed=3, time_limit=8, say=lambda m: None
    )
    results = json.loads(outcome.run_dir.results.read_text())
    assert "report-error" not in results
    html = outcome.run_dir.report.read_text()
    word = {True: "valid", False: "INVALID"}.get(results["valid"], "unknown")
    assert re.search(rf'id="verdict">\s*{word}<', html)
    assert ('id="counterexample"' in html) == (
        results["checkers"]["linearizable"]["valid"] is False
    )
    assert len(images(html)) >= 4 and external_refs(html) == []


def test_every_violation_is_shown_with_its_summary_whatever_the_checker(tmp_path):
    # The page knows no checker by name: a log-agreement violation (an entry without an
    # explanation) and one of a checker this version does not know both get a section.
    rd = make_run(tmp_path, "diverged")
    results = json.loads(rd.results.read_text())
    divergence = {"index": 2, "entries": {"n1": {"term": 1, "command": None}}}
    results["checkers"]["log-agreement"] = {
        "valid": False,
        "checker": "log-agreement",
        "nodes": ["n1", "n2", "n3"],
        "compared": 7,
        "divergences": [divergence],
        "total_divergences": 1,
    }
    results["checkers"]["future"] = {"valid": False, "checker": "future", "explanation": "why"}
    rd.write_results(results)
    html = write_run_report(rd.path).read_text()
    assert "3 nodes, 7 indexes compared; 1 index(es) disagree" in html  # its summary line
    section = html[html.index('id="log-agreement"') :]
    assert "log-agreement violated" in section and "total_divergences" in section
    assert 'id="future"' in html and "<pre>why</pre>" in html
