"""What report.html shows of Elle's violation (checkers/protocol.py's `report_section`):
the models the anomalies rule out, the first cycles drawn, the other anomalies in a
sentence each. Read from the checker's results.json entry (checkers/elle/explain.py says
its shape); the drawing is the report's (harness/report/plots.py), imported only when a
page is written."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from checkers.elle import consistency as cm
from checkers.protocol import Page, Section

TEMPLATE = """\
<section class="alert" id="{{ s.id }}">
  <h2>Transactional anomalies</h2>
  <p>{{ s.txn_count }} transactions over {{ s.key_count }} keys, checked against <b>{{ s.consistency }}</b>.</p>
  {% if s.ruled_out %}
  <table class="ruled">
    <tr><th>ruled out</th><th>by the anomalies</th></tr>
    {% for r in s.ruled_out %}<tr{% if r.checked %} class="checked"{% endif %}><td>{{ r.model }}{% if r.checked %} (checked){% endif %}</td><td>{{ r.by | join(", ") }}</td></tr>
    {% endfor %}
  </table>
  {% if s.still_possible %}<p class="caption">Not ruled out by these anomalies: {{ s.still_possible | join(", ") }}.</p>{% endif %}
  {% endif %}
  {% for c in s.cycles %}
  <figure class="cycle" id="{{ s.id }}-cycle-{{ loop.index }}">
    <h3>{{ c.type }}: a cycle of {{ c.steps | length }} transactions</h3>
    <img class="graph" alt="{{ c.plot.alt }}" src="data:image/png;base64,{{ c.plot.png }}">
    <p class="caption">{{ c.txns | join(" · ") }}. Reads show their last elements; an edge a → b says a must come before b.</p>
    <ol class="steps">
      {% for st in c.steps %}<li>{{ st.text }} <span class="rel {{ st.type }}">({{ st.type }})</span></li>
      {% endfor %}
    </ol>
  </figure>
  {% endfor %}
  <h3>Anomalies found</h3>
  <ul class="anomalies">
    {% for a in s.anomalies %}
    <li><b>{{ a.name }}</b>: {{ a.count }} found{% if not a.prohibited %} <span class="allowed">(allowed by {{ s.consistency }})</span>{% endif %}{% if a.drawn %}, {{ a.drawn }} drawn above{% endif %}{% if a.more %}, {{ a.more }} more in the full explanation{% endif %}
      {% if a.sentences %}<ul>{% for t in a.sentences %}<li>{{ t }}</li>{% endfor %}</ul>{% endif %}
    </li>
    {% endfor %}
  </ul>
  {% if s.explanation %}<details><summary>The checker's full explanation</summary><pre>{{ s.explanation }}</pre></details>{% endif %}
</section>
"""  # noqa: E501 - HTML reads better unwrapped

MAX_CYCLES = 3  # cycles drawn; the rest are in the checker's text
MAX_NODES = 10  # a longer cycle is listed, not drawn: its ring would not read
MAX_CASES = 3  # sentences shown per non-cycle anomaly
MAX_ELEMENTS = 20  # set elements listed per kind


def is_cycle(case: dict[str, Any]) -> bool:
    return bool(case.get("steps"))


def cycles_to_draw(entry: dict[str, Any], limit: int = MAX_CYCLES) -> list[dict[str, Any]]:
    """The cycles worth drawing: the shortest of each kind, the worst kind first (the
    prohibited ones, then the rest, each in the checker's order), then the next shortest
    of each, until `limit`. One of each kind first: three G-single cycles say less than
    a G-single, a G1c and a G2-item."""
    names = entry.get("anomalies") or list(entry.get("cases", {}))
    prohibited = set(entry.get("prohibited") or [])
    names = sorted(names, key=lambda a: a not in prohibited)  # stable: keeps the order
    per_kind = [
        sorted(
            (c for c in entry.get("cases", {}).get(a, []) if is_cycle(c)),
            key=lambda c: len(c["steps"]),
        )
        for a in names
    ]
    per_kind = [[c for c in cases if len(c["steps"]) <= MAX_NODES] for cases in per_kind]
    out: list[dict[str, Any]] = []
    for rank in range(max(map(len, per_kind), default=0)):
        out += [cases[rank] for cases in per_kind if rank < len(cases)]
    return out[:limit]


def ruled_out(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """Each model the anomalies rule out, with the anomalies that do it."""
    found = entry.get("anomalies") or []
    rows = []
    for name in entry.get("not") or []:
        model = cm.MODELS.get(name)
        by = cm.prohibited(found, model) if model is not None else []
        rows.append({"model": name, "by": by, "checked": name == entry.get("consistency")})
    return rows


def _txn_where(txn: dict[str, Any]) -> str:
    status = "" if txn.get("status", "ok") == "ok" else f", {txn['status']}"
    return f"op {txn.get('index')} (process {txn.get('process')}, line {txn.get('line')}{status})"


def drawn_cycle(case: dict[str, Any]) -> dict[str, Any]:
    """One cycle for the page: its picture, its txns by name and its sentences."""
    steps = case["steps"]
    by_index = {t.get("index"): t for t in case.get("txns", [])}
    txns = [
        f"T{i + 1} = {_txn_where(by_index.get(s.get('from'), {'index': s.get('from')}))}"
        for i, s in enumerate(steps)
    ]
    sentences = [{"text": s.get("text", ""), "type": s.get("type")} for s in steps]
    return {
        "type": case.get("type"),
        "plot": _plots().cycle(case),
        "txns": txns,
        "steps": sentences,
    }


def other_anomalies(entry: dict[str, Any], drawn: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every anomaly found, worst first: how many, whether the checked model forbids it,
    and up to MAX_CASES sentences of its non-cycle cases (cycles not drawn are counted)."""
    prohibited = set(entry.get("prohibited") or [])
    counts = entry.get("counts") or {}
    drawn_ids = {id(c) for c in drawn}
    rows = []
    for name in entry.get("anomalies") or []:
        cases = entry.get("cases", {}).get(name, [])
        plain = [c.get("text", "") for c in cases if not is_cycle(c)]
        undrawn = sum(1 for c in cases if is_cycle(c) and id(c) not in drawn_ids)
        rows.append(
            {
                "name": name,
                "count": counts.get(name, len(cases)),
                "prohibited": name in prohibited,
                "sentences": plain[:MAX_CASES],
                "more": max(len(plain) - MAX_CASES, 0) + undrawn,
                "drawn": len(cases) - len(plain) - undrawn,
            }
        )
    return rows


def elle_section(name: str, entry: dict[str, Any]) -> dict[str, Any]:
    """The "Transactional anomalies" section of an invalid elle entry."""
    cycles = cycles_to_draw(entry)
    ruled = {r["model"] for r in ruled_out(entry)}
    return {
        "id": name,
        "consistency": entry.get("consistency", "?"),
        # not "keys": the template's s.keys would be the dict's method
        "txn_count": entry.get("txns"),
        "key_count": entry.get("keys"),
        "ruled_out": ruled_out(entry),
        "still_possible": [m for m in cm.MODELS if m not in ruled],
        "cycles": [drawn_cycle(c) for c in cycles],
        "anomalies": other_anomalies(entry, cycles),
        "explanation": entry.get("explanation"),
    }


def section(name: str, entry: dict[str, Any], page: Page) -> Section | None:
    """The "Transactional anomalies" section of an invalid elle entry with cases."""
    if not entry.get("cases"):
        return None
    return Section(TEMPLATE, elle_section(name, entry))


def _plots() -> ModuleType:
    from harness.report import plots

    return plots
