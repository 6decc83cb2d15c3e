"""What report.html shows of a linearizability violation (checkers/protocol.py's
`report_section`): the counterexample drawn, its operations in a table (the order the
search linearized them, the one it got stuck on), the states the model could be in, and
the checker's explanation. Read from the checker's results.json entry; the drawing is
the report's (harness/report/plots.py), imported only when a page is written."""

from __future__ import annotations

from typing import Any

from checkers.protocol import Page, Section

TEMPLATE = """\
<section class="alert" id="counterexample">
  <h2>Not linearizable{% if s.cx.key is not none %} on key {{ s.cx.key }}{% endif %}</h2>
  <img class="plot" alt="{{ s.plot.alt }}" src="data:image/png;base64,{{ s.plot.png }}">
  <p class="caption">{{ s.plot.caption }}</p>
  <table>
    <tr><th>#</th><th>op</th><th>process</th><th>operation</th><th>outcome</th><th>invoked{% if seconds %} (s){% endif %}</th><th>completed{% if seconds %} (s){% endif %}</th></tr>
    {% for o in s.ops %}
    <tr class="{{ o.cls }}"><td class="num">{{ o.pos }}</td><td class="num">{{ o.index }}</td><td>{{ o.process }}</td>
      <td>{{ o.text }}</td><td>{{ o.status }}</td><td class="num">{{ o.invoked }}</td><td class="num">{{ o.completed }}</td></tr>
    {% endfor %}
  </table>
  <p class="caption">States the model could be in when it got stuck: <b>{{ s.cx.states | join(", ") }}</b></p>
  {% if s.explanation %}<pre>{{ s.explanation }}</pre>{% endif %}
</section>
"""  # noqa: E501 - HTML reads better unwrapped


def section(name: str, entry: dict[str, Any], page: Page) -> Section | None:
    """The counterexample's section; None for an entry without one (a graph-method
    verdict, say: the page shows its explanation)."""
    cx = entry.get("counterexample")
    if not cx:
        return None
    from harness.report import plots

    position = {idx: i + 1 for i, idx in enumerate(cx.get("linearized", []))}
    stuck = (cx.get("stuck") or {}).get("index")
    ops = []
    for o in cx.get("ops", []):
        cls = "stuck" if o["index"] == stuck else ("lin" if o["index"] in position else "")
        ops.append(
            {
                "pos": position.get(o["index"], "✗" if cls == "stuck" else ""),
                "index": o["index"],
                "process": o["process"],
                "text": o.get("text", o.get("f")),
                "status": o.get("status"),
                "invoked": page.when(o.get("invoke_time")),
                "completed": page.when(o.get("complete_time"))
                if o.get("status") != "info"
                else "never (info)",
                "cls": cls,
            }
        )
    data = {
        "id": "counterexample",
        "cx": cx,
        "plot": plots.counterexample(cx),
        "ops": ops,
        "explanation": entry.get("explanation"),
    }
    return Section(TEMPLATE, data)
