"""What a run checker is: a name, and a verdict on what a run left behind.

A run leaves a folder (docs/DESIGN.md "Results store"); `RunFiles` names the files in it
a checker may read. A checker returns a `Verdict`, whose `to_dict()` is the checker's
entry in results.json: {"valid": ..., <the checker's own fields>, "explanation": ...}.

To add a checker: one module with an object that has `name`, `check(run) -> Verdict`
and `summarize(entry) -> str`, and its line in checkers/registry.py. A checker with
nothing to read returns `Verdict.unknown(...)` with the reason; one that raises is
turned into "unknown" by the caller (harness/verdict.py), so a run is never called
valid on evidence nobody looked at.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from checkers.history import Event, read_jsonl

Valid = bool | Literal["unknown"]


@dataclass
class RunFiles:
    """What a run left for the checkers: the history, each node's events file, each
    node's committed log. Paths only; a checker reads what it needs."""

    history: Path
    events: list[Path] = field(default_factory=list)  # nodes/<id>/events.jsonl
    logs: dict[str, Path] = field(default_factory=dict)  # node id -> nodes/<id>/log.jsonl
    # The history's time (ns) when the workload started: explanations count seconds from
    # there, as the schedule and the report do (checkers/timefmt.py); 0: the history's start.
    origin_ns: int = 0
    _events_read: list[Event] | None = field(default=None, init=False, repr=False)

    @classmethod
    def in_folder(
        cls, run_path: str | Path, history: str | Path | None = None, origin_ns: int = 0
    ) -> RunFiles:
        """The files of a run folder as the store lays it out."""
        # Here, not at the top: those modules define their checkers on this protocol.
        from checkers.raft.election import events_files
        from checkers.raft.log_agreement import node_logs

        root = Path(run_path)
        return cls(
            history=Path(history) if history is not None else root / "history.jsonl",
            events=events_files(root),
            logs=node_logs(root),
            origin_ns=origin_ns,
        )

    def history_events(self) -> list[Event]:
        """The history's events, read once for all the checkers that need them.
        Raises OSError or checkers.history.HistoryError as reading does."""
        if self._events_read is None:
            self._events_read = read_jsonl(str(self.history)).events
        return self._events_read


@dataclass(frozen=True)
class Verdict:
    valid: Valid  # True, False, or "unknown" (could not tell: `summary` says why)
    summary: str  # one line: what was looked at, and what was found
    explanation: str | None = None  # what a person reads when it is invalid; None: none
    details: dict[str, Any] = field(default_factory=dict)  # the checker's own JSON fields

    def to_dict(self) -> dict[str, Any]:
        """The checker's entry in results.json. Its shape is a contract (tests, users and
        the report read it): "valid" first, then the checker's fields, then
        "explanation" when there is one."""
        out: dict[str, Any] = {"valid": self.valid}
        out.update((k, v) for k, v in self.details.items() if k not in ("valid", "explanation"))
        if self.explanation is not None:
            out["explanation"] = self.explanation
        return out

    @classmethod
    def unknown(cls, checker: str, reason: str) -> Verdict:
        return cls("unknown", reason, None, {"checker": checker, "reason": reason})


class Checker(Protocol):
    name: str

    def check(self, run: RunFiles) -> Verdict:
        """The verdict on one run's files."""
        ...

    def summarize(self, entry: dict[str, Any]) -> str:
        """One line from the checker's results.json entry (so a stored run's report says
        the same as the run did)."""
        ...


def verdict_from(
    checker: Checker, entry: dict[str, Any], explanation: str | None = None
) -> Verdict:
    """A Verdict from a checker's JSON dict (its result's to_dict(), with "valid")."""
    summary = str(entry["reason"]) if entry.get("reason") else checker.summarize(entry)
    return Verdict(entry["valid"], summary, explanation, dict(entry))
