"""The report of an anomaly checker's violation: Elle's cycles drawn with their sentences,
the other anomalies listed, the set checker's lost elements; and `check --report` files
the verdict under the checker that gave it."""

from __future__ import annotations

import base64
import json
import re
import struct
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from checkers.elle import check_txn_history
from checkers.elle.report import MAX_CYCLES, cycles_to_draw
from checkers.history.importers import read_history
from harness.cli import main
from harness.report import plots, write_run_report
from harness.store import new_run_dir

MS = 1_000_000

# Concurrent txns (all invoked, then all completed: no real-time edges). Processes 0-1:
# G0 (x and y appended in opposite orders, as process 2 reads); 3-5: a G-single over a
# and b; 6 appends c and fails, yet 7 reads it (G1a).
TXNS: list[tuple[list[list[Any]], str]] = [
    ([["append", "x", 1], ["append", "y", 1]], "ok"),
    ([["append", "x", 2], ["append", "y", 2]], "ok"),
    ([["r", "x", [1, 2]], ["r", "y", [2, 1]]], "ok"),
    ([["append", "a", 1], ["r", "b", [1]]], "ok"),
    ([["r", "a", [1]], ["r", "b", []]], "ok"),
    ([["append", "b", 1]], "ok"),
    ([["append", "c", 9]], "fail"),
    ([["r", "c", [9]]], "ok"),
]


def txn_history(txns: list[tuple[list[list[Any]], str]]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for p, (mops, _) in enumerate(txns):
        asked = [[f, k, None if f == "r" else v] for f, k, v in mops]
        events.append({"process": p, "type": "invoke", "f": "txn", "value": asked})
    for p, (mops, status) in enumerate(txns):
        value = mops if status == "ok" else [[f, k, None if f == "r" else v] for f, k, v in mops]
        events.append({"process": p, "type": status, "f": "txn", "value": value})
    return [{"index": i, "time": (i + 1) * MS, **e} for i, e in enumerate(events)]


def set_history(added: list[int], final: list[int]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for v in added:
        events.append({"process": v % 3, "type": "invoke", "f": "add", "value": v})
        events.append({"process": v % 3, "type": "ok", "f": "add", "value": v})
    events.append({"process": 9, "type": "invoke", "f": "read", "value": None})
    events.append({"process": 9, "type": "ok", "f": "read", "value": final})
    return [{"index": i, "time": (i + 1) * MS, **e} for i, e in enumerate(events)]


def write_jsonl(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def section(html: str, sid: str) -> str:
    start = html.index(f'<section class="alert" id="{sid}">')
    return html[start : html.index("</section>", start)]


def pngs(html: str) -> list[bytes]:
    found = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    return [base64.b64decode(m) for m in found]


def png_size(png: bytes) -> tuple[int, int]:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return struct.unpack(">II", png[16:24])


@pytest.fixture(scope="module")
def elle_run(tmp_path_factory):
    """A run folder as the runner leaves it for a list-append workload, checked by Elle."""
    rd = new_run_dir(tmp_path_factory.mktemp("store"), "txns")
    write_jsonl(rd.history, txn_history(TXNS))
    r = check_txn_history(read_history(str(rd.history), "jsonl").events, validated=True)
    entry = {**r.to_dict(), "explanation": r.to_text()}
    rd.write_results({"name": "txns", "valid": False, "checkers": {"elle": entry}})
    write_run_report(rd.path)
    return rd, entry


def test_elle_violation_draws_its_cycles_with_their_sentences(elle_run):
    rd, entry = elle_run
    assert entry["anomalies"] == ["G1a", "G0", "G-single"]
    html = rd.report.read_text()
    s = section(html, "elle")
    assert "<h2>Transactional anomalies</h2>" in s
    # the models ruled out, and by what: read committed already by G1a and G0
    assert re.search(r"<td>read-committed</td><td>G1a, G0</td>", s)
    assert "strict-serializable (checked)" in s
    # one drawing per cycle, worst kind first, each a real PNG with its sentences under it
    assert [c["type"] for c in cycles_to_draw(entry)] == ["G0", "G-single"]
    images = pngs(s)
    assert len(images) == 2 and all(png_size(p)[0] > 300 for p in images)
    assert 'alt="G0 cycle: T1 → T2 → T1"' in s
    assert 'alt="G-single cycle: T1 → T2 → T3 → T1"' in s
    assert s.index('id="elle-cycle-1"') < s.index("G-single: a cycle of 3") < s.index("<b>G1a</b>")
    for case in entry["cases"]["G0"] + entry["cases"]["G-single"]:
        for step in case["steps"]:
            assert escape(step["text"]) in s
    assert "T1 = op 0 (process 0, line 1)" in s
    # the non-cycle anomaly in a sentence; everything in the checker's words, folded
    assert escape(entry["cases"]["G1a"][0]["text"]) in s
    assert "<details><summary>The checker's full explanation" in s
    assert "elle violated" not in html  # not shown a second time as plain text


def test_check_report_files_the_verdict_under_its_checker(tmp_path, capsys):
    txns = write_jsonl(tmp_path / "txns.jsonl", txn_history(TXNS))
    for args in (["--model", "list-append"], []):  # named, or told from the history
        out = tmp_path / f"out{len(args)}"
        assert main(["check", str(txns), *args, "--report", str(out)]) == 1
        html = (out / "report.html").read_text()
        assert 'data-checker="elle"' in html and 'data-checker="linearizable"' not in html
        assert len(pngs(section(html, "elle"))) == 2
    sets = write_jsonl(tmp_path / "set.jsonl", set_history([1, 2, 3, 4, 5], [1, 2, 4, 99]))
    assert main(["check", str(sets), "--report", str(tmp_path / "set")]) == 1
    html = (tmp_path / "set" / "report.html").read_text()
    assert 'data-checker="set"' in html and 'data-checker="linearizable"' not in html
    s = section(html, "set")
    assert re.search(r"lost<b>2</b>", s) and re.search(r"unexpected<b>1</b>", s)
    assert '<p class="elements">3, 5</p>' in s and '<p class="elements">99</p>' in s
    capsys.readouterr()


def test_cycles_drawn_are_the_shortest_of_each_kind_first():
    def cyc(kind: str, n: int) -> dict[str, Any]:
        return {"type": kind, "steps": [{"type": "ww"}] * n}

    entry = {
        "anomalies": ["G0", "G-single", "G2-item"],
        "prohibited": ["G-single", "G2-item"],  # G0 allowed: drawn after the prohibited
        "cases": {
            "G0": [cyc("G0", 2)],
            "G-single": [cyc("G-single", 5), cyc("G-single", 3), cyc("G-single", 40)],
            "G2-item": [cyc("G2-item", 4)],
        },
    }
    got = [(c["type"], len(c["steps"])) for c in cycles_to_draw(entry, limit=5)]
    # a 40-txn ring would not read: listed in the text, never drawn
    assert got == [("G-single", 3), ("G2-item", 4), ("G0", 2), ("G-single", 5)]
    assert len(cycles_to_draw(entry)) == MAX_CYCLES


def test_txn_boxes_abbreviate_long_values():
    txn = {
        "index": 12,
        "process": 3,
        "status": "ok",
        "value": [
            ["r", 7, list(range(5000))],  # a read of a long list: its last elements
            ["append", "a-rather-long-key-name", "and an even longer value string"],
            *[["append", 7, i] for i in range(8)],
        ],
    }
    lines = plots.txn_label(txn).split("\n")
    assert lines[:2] == ["op 12, process 3", "r 7 [… 4998 4999]"]
    assert len(lines) == 1 + plots.MAX_MOPS + 1 and lines[-1] == "… 6 more"
    assert max(map(len, lines)) <= 40
    info = {**txn, "status": "info", "value": [["r", 7, None], ["append", 7, 1]]}
    assert plots.txn_label(info).split("\n") == ["op 12, process 3 (info)", "r 7", "append 7 1"]


@pytest.mark.parametrize("n", [2, 3, 6])
def test_a_cycle_drawing_stays_page_sized(n):
    txns = [
        {"index": i, "process": i, "status": "ok", "value": [["append", "k", i], ["r", "k", [i]]]}
        for i in range(n)
    ]
    kinds = ["ww", "wr", "rw", "realtime", "process", "ww"]
    steps = [{"type": kinds[i], "from": i, "to": (i + 1) % n, "key": "k"} for i in range(n)]
    width, height = png_size(base64.b64decode(plots.cycle({"txns": txns, "steps": steps}).png))
    assert 250 < width <= 1100 and 100 < height <= 800
