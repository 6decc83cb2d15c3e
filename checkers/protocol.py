"""What a run checker is: a name, and a verdict on what a run left behind.

A run leaves a folder (docs/DESIGN.md "Results store"); `RunFiles` names the files in it
a checker may read. A checker returns a `Verdict`, whose `to_dict()` is the checker's
entry in results.json: {"valid": ..., <the checker's own fields>, "explanation": ...}.

To add a checker: one module with an object that has `name`, `check(run) -> Verdict`
and `summarize(entry) -> str`, and its line in checkers/registry.py. Two hooks more,
both optional (`CheckerBase` gives the defaults): `cli`, what `raftquake check` needs to
judge a history file with it (`CheckSupport`: its models, its options, which histories
it takes by itself, its verdict's JSON and text); and `report_section`, what report.html
shows of its violation (a `Section`: a jinja2 fragment and its data; without one, the
page shows the entry's explanation). A checker with
nothing to read returns `Verdict.unknown(...)` with the reason; one that raises is
turned into "unknown" by the caller (harness/verdict.py), so a run is never called
valid on evidence nobody looked at.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from checkers.history import Event, HistoryError, read_jsonl

if TYPE_CHECKING:
    import argparse

    from checkers.history import History

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


def events_files(results_dir: str | Path) -> list[Path]:
    """nodes/<id>/events.jsonl under a results folder."""
    return sorted(Path(results_dir).glob("nodes/*/events.jsonl"))


def node_logs(results_dir: str | Path) -> dict[str, Path]:
    """nodes/<id>/log.jsonl (or committed.json) under a results folder, by node id."""
    found: dict[str, Path] = {}
    for d in sorted(Path(results_dir).glob("nodes/*")):
        for name in ("log.jsonl", "committed.json"):
            if (d / name).is_file():
                found[d.name] = d / name
                break
    return found


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


@dataclass(frozen=True)
class Checked:
    """One history file's verdict as `raftquake check` gives it."""

    valid: Valid
    fields: dict[str, Any]  # its JSON object's fields after "file" and "format"
    text: str  # for the terminal: the verdict's line, then what explains it


def anomaly_verdict(path: str, verdict: str, what: str, result: Any) -> Checked:
    """An anomaly checker's verdict (Elle's, the set's, the bank's) for `raftquake check`:
    "<path>: <verdict> (<what>)", then the result's own text unless it is valid."""
    text = f"{path}: {verdict} ({what})"
    if result.valid is not True:
        text += "\n" + result.to_text()
    return Checked(result.valid, result.to_dict(), text)


class CheckSupport(Protocol):
    """What `raftquake check` needs from a checker that judges a history file alone."""

    models: tuple[str, ...]  # the `--model` names it answers, in --help's order
    model_help: str  # what `--model`'s help says of them
    # Chosen when no other checker claims a history (linearizability: any register-like
    # history); the others are asked first, in the registry's order.
    fallback: bool

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Its own options (`--consistency`, `--initial`, ...)."""
        ...

    def claims(self, history: History) -> str | None:
        """The model it would check this history with when `--model` is not given, or
        None when the history is not its kind."""
        ...

    def check(self, history: History, model: str, args: argparse.Namespace) -> Checked:
        """The verdict on one history; raises checkers.history.HistoryError on bad input
        (the command says "bad input" with its file and line)."""
        ...


@dataclass(frozen=True)
class Section:
    """What report.html shows of one checker's violation: a jinja2 fragment (rendered
    autoescaped with `s` = `data` and `seconds`: whether the history has a clock) that
    makes one `<section>`, and the data it lays out. `data` holds plain values and the
    page's plots (harness/report/plots.py's Plot); "id" is the section's anchor."""

    template: str
    data: dict[str, Any]


class Page(Protocol):
    """What a report section may ask of the page it is on."""

    @property
    def seconds(self) -> bool:
        """The history has a clock: times are seconds from the workload's start."""
        ...

    def when(self, t: Any) -> str:
        """A history time as the page's axis shows it ("—" for none)."""
        ...


class Checker(Protocol):
    name: str
    cli: CheckSupport | None  # None: `raftquake check` cannot choose it

    def report_section(self, name: str, entry: dict[str, Any], page: Page) -> Section | None:
        """The report's section for an invalid entry filed under `name`, or None: the page
        shows the entry's explanation (or its JSON fields)."""
        ...

    def check(self, run: RunFiles) -> Verdict:
        """The verdict on one run's files."""
        ...

    def summarize(self, entry: dict[str, Any]) -> str:
        """One line from the checker's results.json entry (so a stored run's report says
        the same as the run did)."""
        ...


class CheckerBase:
    """The optional hooks' defaults: no `raftquake check` support, no section of its own."""

    cli: CheckSupport | None = None

    def report_section(self, name: str, entry: dict[str, Any], page: Page) -> Section | None:
        return None


class HistoryResult(Protocol):
    """What a history checker's function returns (elle's, the set's, the bank's result)."""

    @property
    def valid(self) -> Valid: ...

    def to_dict(self) -> dict[str, Any]: ...

    def to_text(self) -> str: ...


class HistoryChecker(CheckerBase):
    """A run checker that judges the history alone: `judge` reads its events; a history
    that cannot be read is unknown, an invalid one's explanation is the result's text."""

    name: str

    def judge(self, events: list[Event], path: str) -> HistoryResult:
        raise NotImplementedError

    def summarize(self, entry: dict[str, Any]) -> str:
        raise NotImplementedError

    def check(self, run: RunFiles) -> Verdict:
        try:
            r = self.judge(run.history_events(), str(run.history))
        except (OSError, HistoryError) as exc:
            return Verdict.unknown(self.name, f"history unreadable: {exc}")
        explanation = r.to_text() if r.valid is False else None
        return verdict_from(self, r.to_dict(), explanation)


def verdict_from(
    checker: Checker, entry: dict[str, Any], explanation: str | None = None
) -> Verdict:
    """A Verdict from a checker's JSON dict (its result's to_dict(), with "valid")."""
    summary = str(entry["reason"]) if entry.get("reason") else checker.summarize(entry)
    return Verdict(entry["valid"], summary, explanation, dict(entry))
