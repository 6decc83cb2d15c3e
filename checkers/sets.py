"""Jepsen's set checker: adds of unique elements, then a final read of the whole set.

Every acknowledged add (ok) must be in the final read (else it is `lost`), and the read
may hold only elements some add could have put there (else `unexpected`): an add that
ended ok or info. An info add that shows up is `recovered` (not an anomaly: its outcome
was unknown). A failed add certainly did not happen (docs/DESIGN.md "History"), so its
element in the read is unexpected too. The final read is the last ok read; with a `key`
field the history holds one set per key, each checked on its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from checkers.history import Event, History, HistoryError, Op, first_client_op, pair_events
from checkers.protocol import (
    Checked,
    CheckSupport,
    HistoryChecker,
    HistoryResult,
    Page,
    Section,
    Valid,
    anomaly_verdict,
)

if TYPE_CHECKING:
    import argparse

MAX_LISTED = 100  # elements listed per kind (the counts are exact)


@dataclass
class _KeySet:
    attempted: set[Any] = field(default_factory=set)  # adds that may have happened
    acknowledged: set[Any] = field(default_factory=set)
    failed: set[Any] = field(default_factory=set)
    final: list[Any] | None = None  # the last ok read


@dataclass
class SetResult:
    valid: Valid
    keys: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    # (key, element) pairs, sorted; key None for a history without keys
    lost: list[tuple[Any, Any]] = field(default_factory=list)  # acknowledged, not read
    unexpected: list[tuple[Any, Any]] = field(default_factory=list)  # read, never added
    recovered: list[tuple[Any, Any]] = field(default_factory=list)  # info adds read back
    reason: str | None = None

    @property
    def anomalies(self) -> list[str]:
        return [name for name in ("lost", "unexpected") if self.counts.get(name)]

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "valid": self.valid,
            "checker": "set",
            "model": "set",
            "keys": self.keys,
            "anomalies": self.anomalies,
            "counts": self.counts,
        }
        for name in ("lost", "unexpected", "recovered"):
            # elements as they are; [key, element] when the history has keys
            d[name] = [e if k is None else [k, e] for k, e in getattr(self, name)[:MAX_LISTED]]
        if self.reason:
            d["reason"] = self.reason
        return d

    def to_text(self) -> str:
        c = self.counts
        lines = [
            f"{c.get('attempted', 0)} adds attempted, {c.get('acknowledged', 0)} acknowledged, "
            f"{c.get('ok', 0)} read back, {c.get('recovered', 0)} recovered"
        ]
        for name in ("lost", "unexpected"):
            pairs = getattr(self, name)
            if pairs:
                shown = ", ".join(_show(k, e) for k, e in pairs[:MAX_LISTED])
                more = " ..." if len(pairs) > MAX_LISTED else ""
                lines.append(f"{name} ({len(pairs)}): {shown}{more}")
        if self.reason:
            lines.append(self.reason)
        return "\n".join(lines)


def _show(key: Any, element: Any) -> str:
    return repr(element) if key is None else f"{key!r}:{element!r}"


def _sorted(pairs: Iterable[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    return sorted(pairs, key=lambda p: (str(p[0]), type(p[1]).__name__, p[1]))


def check_set_ops(ops: Iterable[Op], file: str = "<history>") -> SetResult:
    sets: dict[Any, _KeySet] = {}
    for op in ops:
        if op.f == "add":
            if type(op.value) is not int and type(op.value) is not str:
                raise HistoryError(
                    file,
                    op.line,
                    f"expected an add's value to be an integer or a string, got {op.value!r}",
                )
            s = sets.setdefault(op.key, _KeySet())
            (s.failed if op.status == "fail" else s.attempted).add(op.value)
            if op.status == "ok":
                s.acknowledged.add(op.value)
        elif op.f == "read" and op.status == "ok":
            if type(op.output) is not list:
                raise HistoryError(
                    file,
                    op.line,
                    f"expected a set read's value to be a list of elements, got {op.output!r}",
                )
            sets.setdefault(op.key, _KeySet()).final = op.output
    if not sets:
        return SetResult("unknown", reason="the history has no add or read operations")
    r = SetResult(True, keys=len(sets))
    c = dict.fromkeys(("attempted", "acknowledged", "ok", "lost", "unexpected", "recovered"), 0)
    unread = []
    for key, s in sets.items():
        c["attempted"] += len(s.attempted | s.failed)
        c["acknowledged"] += len(s.acknowledged)
        if s.final is None:
            unread.append(key)
            continue
        read = set(s.final)
        c["ok"] += len(read & s.attempted)
        r.lost += [(key, e) for e in s.acknowledged - read]
        r.unexpected += [(key, e) for e in read - s.attempted]
        r.recovered += [(key, e) for e in (read & s.attempted) - s.acknowledged]
    r.lost, r.unexpected, r.recovered = map(_sorted, (r.lost, r.unexpected, r.recovered))
    c["lost"], c["unexpected"], c["recovered"] = map(len, (r.lost, r.unexpected, r.recovered))
    r.counts = c
    if r.lost or r.unexpected:
        r.valid = False
    elif unread:
        which = "" if unread == [None] else f" (key {', '.join(map(repr, unread[:10]))})"
        r.valid, r.reason = "unknown", f"the set was never read{which}"
    return r


def check_set_history(events: Iterable[Event], file: str = "<history>") -> SetResult:
    """Entry point for the harness: events as read from a history file."""
    return check_set_ops(pair_events(events, file), file)


# ---- as a run checker (checkers/protocol.py) ----------------------------------------


# ---- in report.html (checkers/protocol.py's report_section) --------------------------

MAX_ELEMENTS = 20  # set elements listed per kind in the report

SECTION_TEMPLATE = """\
<section class="alert" id="{{ s.id }}">
  <h2>Set: elements lost or unexpected</h2>
  <div class="numbers">
    {% for label, n in s.counts %}<div>{{ label }}<b>{{ "{:,}".format(n) }}</b></div>{% endfor %}
  </div>
  {% for k in s.kinds %}
  <p><b>{{ k.kind }}</b> ({{ "{:,}".format(k.total) }}): {{ k.meaning }}{% if k.total > k.shown | length %}; the first {{ k.shown | length }}, sorted{% endif %}:</p>
  <p class="elements">{{ k.shown | join(", ") }}{% if k.total > k.shown | length %}, …{% endif %}</p>
  {% endfor %}
</section>
"""  # noqa: E501 - HTML reads better unwrapped


def _element(e: Any) -> str:
    from harness.report.plots import short_value

    # a keyed history lists [key, element]
    if isinstance(e, list) and len(e) == 2:
        return f"{short_value(e[0])}:{short_value(e[1])}"
    return short_value(e)


def set_section(name: str, entry: dict[str, Any], page: Page) -> Section | None:
    """The report's section of an invalid set entry: its counts, the first lost and
    unexpected elements; None without counts (the page shows its explanation)."""
    if not entry.get("counts"):
        return None
    c = entry.get("counts") or {}
    counts = [
        ("attempted", c.get("attempted")),
        ("acknowledged", c.get("acknowledged")),
        ("read back", c.get("ok")),
        ("lost", c.get("lost")),
        ("unexpected", c.get("unexpected")),
        ("recovered", c.get("recovered")),
    ]
    kinds = []
    for kind, meaning in (
        ("lost", "acknowledged adds missing from the final read"),
        ("unexpected", "elements in the final read that no add could have put there"),
    ):
        listed = entry.get(kind) or []
        total = c.get(kind, len(listed))
        if total:
            shown = [_element(e) for e in listed[:MAX_ELEMENTS]]
            kinds.append({"kind": kind, "meaning": meaning, "total": total, "shown": shown})
    data = {
        "id": name,
        "counts": [(k, v) for k, v in counts if v is not None],
        "kinds": kinds,
        "key_count": entry.get("keys"),
    }
    return Section(SECTION_TEMPLATE, data)


# ---- in `raftquake check` (checkers/protocol.py's CheckSupport) ----------------------


class SetCheck:
    """`raftquake check` with it (checkers/protocol.py's CheckSupport): add histories."""

    models: tuple[str, ...] = ("set",)
    model_help = "set: Jepsen's set checker"
    fallback = False

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        pass

    def claims(self, history: History) -> str | None:
        first = first_client_op(history.events)
        return "set" if first is not None and first.f == "add" else None

    def check(self, history: History, model: str, args: argparse.Namespace) -> Checked:
        r = check_set_history(history.events, history.file)
        c = r.counts
        # A history with no add or read (a txn history given --model set) has no counts:
        # its verdict is unknown and the reason says why.
        what = (
            f"{c['attempted']} adds, {c['lost']} lost, {c['unexpected']} unexpected"
            if c
            else r.reason
        )
        verdicts: dict[Any, str] = {True: "set valid", False: "set NOT valid"}
        verdict = verdicts.get(r.valid, "unknown")
        return anomaly_verdict(history.file, verdict, what, r)


class SetChecker(HistoryChecker):
    """A set workload's adds against its final read."""

    name = "set"
    cli: CheckSupport | None = SetCheck()

    def judge(self, events: list[Event], path: str) -> HistoryResult:
        return check_set_history(events, path)

    def report_section(self, name: str, entry: dict[str, Any], page: Page) -> Section | None:
        return set_section(name, entry, page)

    def summarize(self, entry: dict[str, Any]) -> str:
        c = entry.get("counts", {})
        return (
            f"{c.get('attempted', '?')} adds, {c.get('lost', '?')} lost, "
            f"{c.get('unexpected', '?')} unexpected, {c.get('recovered', '?')} recovered"
        )


CHECKER = SetChecker()
