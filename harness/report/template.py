# ruff: noqa: E501 - HTML and CSS read better unwrapped
"""The report page's jinja2 template: inline CSS, no scripts, nothing fetched."""

from __future__ import annotations

import jinja2

# The page's and the checkers' sections' (checkers/protocol.py's Section) environment.
ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
TEMPLATE = ENV.from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} — {{ verdict_word(valid) }} — raftquake</title>
<style>
:root { --ok:#2e7d32; --bad:#c62828; --unk:#8d6e63; --ink:#1f2933; --mute:#66737f; --line:#e3e8ee; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
       color:var(--ink); background:#f5f7fa; }
header { padding:22px 32px 18px; background:#fff; border-bottom:1px solid var(--line);
         display:flex; align-items:center; gap:24px; flex-wrap:wrap; }
header h1 { margin:0; font-size:22px; font-weight:650; }
header .meta { color:var(--mute); font-size:13px; }
.badge { display:inline-block; padding:6px 16px; border-radius:999px; font-weight:700;
         font-size:15px; letter-spacing:.04em; color:#fff; text-transform:uppercase; }
.badge.valid { background:var(--ok); } .badge.invalid { background:var(--bad); }
.badge.unknown { background:var(--unk); }
main { padding:20px 32px 40px; max-width:1400px; }
.cards { display:grid; grid-template-columns:repeat(auto-fill,minmax(250px,1fr)); gap:14px; }
.card { background:#fff; border:1px solid var(--line); border-left:6px solid var(--unk);
        border-radius:8px; padding:12px 14px; }
.card.valid { border-left-color:var(--ok); } .card.invalid { border-left-color:var(--bad); background:#fff6f6; }
.card h3 { margin:0 0 4px; font-size:14px; display:flex; justify-content:space-between; gap:8px; }
.card .v { font-size:12px; font-weight:700; text-transform:uppercase; }
.card.valid .v { color:var(--ok); } .card.invalid .v { color:var(--bad); } .card.unknown .v { color:var(--unk); }
.card p { margin:0; color:var(--mute); font-size:13px; }
.numbers { display:flex; gap:28px; flex-wrap:wrap; margin:18px 2px 4px; }
.numbers div { font-size:12px; color:var(--mute); }
.numbers b { display:block; font-size:22px; color:var(--ink); font-weight:650; }
.numbers .ok b { color:var(--ok); } .numbers .fail b { color:#d81b60; } .numbers .info b { color:#ef6c00; }
section { background:#fff; border:1px solid var(--line); border-radius:8px; margin:18px 0; padding:14px 18px; }
section.alert { border-color:#ef9a9a; }
section h2 { margin:0 0 8px; font-size:16px; }
section.alert h2 { color:var(--bad); }
img.plot { width:100%; height:auto; display:block; }
.caption { color:var(--mute); font-size:12.5px; margin:6px 0 0; }
pre { background:#263238; color:#eceff1; padding:12px 14px; border-radius:6px; overflow:auto;
      font-size:12px; line-height:1.4; max-height:420px; }
table { border-collapse:collapse; width:100%; font-size:13px; }
th, td { text-align:left; padding:5px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { color:var(--mute); font-weight:600; font-size:12px; }
td.num { font-variant-numeric:tabular-nums; }
tr.stuck td { background:#ffebee; font-weight:600; } tr.lin td { background:#f1f8e9; }
.swatch { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:6px; }
.warn { color:#8d6e63; font-size:12.5px; }
section h3 { margin:16px 0 6px; font-size:14px; }
table.ruled { width:auto; margin:4px 0 2px; } tr.checked td { font-weight:600; }
figure.cycle { margin:14px 0 6px; padding-top:6px; border-top:1px solid var(--line); }
img.graph { max-width:100%; height:auto; display:block; margin:6px 0; }
ol.steps, ul.anomalies { margin:6px 0; padding-left:22px; } ol.steps li, ul.anomalies li { margin:2px 0; overflow-wrap:anywhere; }
.rel { font-weight:600; } .rel.ww { color:#1565c0; } .rel.wr { color:#2e7d32; } .rel.rw { color:#c62828; }
.rel.process, .rel.realtime { color:#546e7a; }
.allowed { color:var(--mute); }
details summary { cursor:pointer; color:var(--mute); margin-top:10px; }
p.elements { font-family:"DejaVu Sans Mono",monospace; font-size:12.5px; overflow-wrap:anywhere; }
footer { color:var(--mute); font-size:12px; padding:0 32px 30px; }
footer a { color:inherit; }
</style></head>
<body>
<header>
  <span class="badge {{ verdict_class(valid) }}" id="verdict">{{ verdict_word(valid) }}</span>
  <div><h1>{{ title }}</h1>
  <div class="meta">{{ meta | join(" · ") }}</div></div>
</header>
<main>
<div class="cards" id="checkers">
{% for c in checkers %}
  <div class="card {{ verdict_class(c.valid) }}" data-checker="{{ c.name }}">
    <h3><span>{{ c.name }}</span><span class="v">{{ verdict_word(c.valid) }}</span></h3>
    <p>{{ c.summary }}</p>
  </div>
{% else %}
  <div class="card unknown"><h3><span>no checker results</span></h3><p>results.json has no "checkers".</p></div>
{% endfor %}
</div>
<div class="numbers">
  <div>operations<b>{{ "{:,}".format(counts.total) }}</b></div>
  <div class="ok">ok<b>{{ "{:,}".format(counts.ok) }}</b></div>
  <div class="fail">fail<b>{{ "{:,}".format(counts.fail) }}</b></div>
  <div class="info">info<b>{{ "{:,}".format(counts.info) }}</b></div>
  <div>faults<b>{{ faults | length }}</b></div>
  {% if seconds %}<div>workload<b>{{ "%.1f" | format(duration) }} s</b></div>{% endif %}
</div>
{% for note in notes %}<p class="warn">{{ note }}</p>{% endfor %}

{% for s in sections %}
{{ s }}
{% endfor %}

{% for e in explanations %}
<section class="alert" id="{{ e.id }}">
  <h2>{{ e.title }}</h2>
  <pre>{{ e.text }}</pre>
</section>
{% endfor %}

{% for p in plots %}
<section id="{{ p.id }}">
  <h2>{{ p.title }}</h2>
  <img class="plot" alt="{{ p.plot.alt }}" src="data:image/png;base64,{{ p.plot.png }}">
  {% if p.plot.caption %}<p class="caption">{{ p.plot.caption }}</p>{% endif %}
</section>
{% endfor %}

{% if faults %}
<section id="faults">
  <h2>Faults</h2>
  <table>
    <tr><th>fault</th><th>from (s)</th><th>to (s)</th><th>for (s)</th><th>detail</th></tr>
    {% for f in faults %}
    <tr><td><span class="swatch" style="background:{{ fault_colour(f.fault) }}"></span>{{ f.fault }}</td>
      <td class="num">{{ "%.2f" | format(f.start) }}</td>
      <td class="num">{{ "%.2f" | format(f.end) }}{% if not f.healed %} (never stopped){% endif %}</td>
      <td class="num">{{ "%.2f" | format(f.end - f.start) }}</td><td>{{ f.detail }}</td></tr>
    {% endfor %}
  </table>
</section>
{% endif %}
</main>
<footer>
  raftquake report, written {{ written }}.
  {% for name, href in files %}<a href="{{ href }}">{{ name }}</a>{% if not loop.last %} · {% endif %}{% endfor %}
</footer>
</body></html>
"""
)
