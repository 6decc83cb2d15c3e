"""Counts of ok / fail / info operations per function, per node and per key."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from checkers.history import Event, HistoryError, Op, pair_events
from checkers.protocol import CheckerBase, RunFiles, Verdict, verdict_from

STATUSES = ("ok", "fail", "info")


def _zero() -> dict[str, int]:
    return dict.fromkeys(STATUSES, 0)


@dataclass
class StatsResult:
    valid: bool = True  # stats judge nothing, except a history with no ok at all
    total: dict[str, int] = field(default_factory=_zero)
    by_f: dict[str, dict[str, int]] = field(default_factory=dict)
    by_node: dict[str, dict[str, int]] = field(default_factory=dict)
    by_key: dict[str, dict[str, int]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "checker": "stats",
            "total": self.total,
            "by_f": self.by_f,
            "by_node": self.by_node,
            "by_key": self.by_key,
        }

    def to_text(self) -> str:
        t = self.total
        lines = [f"operations: {t['ok']} ok, {t['fail']} fail, {t['info']} info"]
        for name, table in (("f", self.by_f), ("node", self.by_node)):
            for k, c in sorted(table.items()):
                lines.append(f"  {name} {k}: {c['ok']} ok, {c['fail']} fail, {c['info']} info")
        return "\n".join(lines)


def stats_ops(ops: Iterable[Op]) -> StatsResult:
    r = StatsResult()
    for op in ops:
        s = op.status
        r.total[s] += 1
        r.by_f.setdefault(op.f, _zero())[s] += 1
        r.by_node.setdefault(op.node if op.node is not None else "unknown", _zero())[s] += 1
        if op.key is not None:
            r.by_key.setdefault(str(op.key), _zero())[s] += 1
    r.valid = r.total["ok"] > 0 or sum(r.total.values()) == 0
    return r


def check_stats(events: Iterable[Event], file: str = "<history>") -> StatsResult:
    """Entry point for the harness: events as read from a history file. Invalid only
    when operations were attempted and none succeeded (the run tested nothing)."""
    return stats_ops(pair_events(events, file))


# ---- as a run checker (checkers/protocol.py) ----------------------------------------


class StatsChecker(CheckerBase):
    """Counts; invalid only when operations were attempted and none succeeded."""

    name = "stats"

    def check(self, run: RunFiles) -> Verdict:
        try:
            events = run.history_events()
        except (OSError, HistoryError) as exc:
            return Verdict.unknown(self.name, f"history unreadable: {exc}")
        return verdict_from(self, check_stats(events, file=str(run.history)).to_dict())

    def summarize(self, entry: dict[str, Any]) -> str:
        t = entry.get("total", {})
        return f"{t.get('ok', 0)} ok, {t.get('fail', 0)} fail, {t.get('info', 0)} info"


CHECKER = StatsChecker()
