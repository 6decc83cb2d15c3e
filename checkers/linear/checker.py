"""Linearizability as a plug-in (checkers/protocol.py): the run checker `linearizable`
(a run's history against a cas-register per key) and its part in `raftquake check` (the
register, kv, multi-register and mutex models, `--initial`, `--explain`; any history no
other checker claims comes here, its model chosen by its operations and format). The
search is search.py's, the graph method graph.py's, the report's section report.py's."""

from __future__ import annotations

import argparse
import json
from typing import Any

from checkers.history import History, HistoryError, has_clock, pair_events
from checkers.linear.models import MutexModel
from checkers.linear.search import check_history
from checkers.protocol import (
    Checked,
    CheckerBase,
    CheckSupport,
    Page,
    RunFiles,
    Section,
    Verdict,
    verdict_from,
)

# ---- in `raftquake check` (checkers/protocol.py's CheckSupport) ----------------------


class LinearizableCheck:
    models: tuple[str, ...] = ("cas-register", "register", "kv", "multi-register", "mutex")
    model_help = "sequential model (default: by format; kv for get/put/append histories)"
    fallback = True

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--initial",
            type=_json_value,
            metavar="V",
            help="the registers' initial value, as JSON (default null: Jepsen's 'no value "
            "yet'; Knossos's tests start at 0); multi-register also takes an object "
            '{"x": 0, ...}',
        )
        parser.add_argument(
            "--explain",
            action="store_true",
            help="for an invalid register history with unique values, also look for a cycle "
            "in the precedence graph (slower)",
        )

    def claims(self, history: History) -> str | None:
        from checkers.history.importers import default_model

        return default_model(history)

    def check(self, history: History, model: str, args: argparse.Namespace) -> Checked:
        path = history.file
        m = _model(model, args.initial, path)
        result = check_history(history.events, m, args.timeout, path)
        fields = result.to_dict()
        if result.valid is True:
            keys = f"{result.keys} key" + ("" if result.keys == 1 else "s")
            text = (
                f"{path}: linearizable ({result.ops} ops, {keys}, model {m.name}, "
                f"{result.elapsed:.3f} s)"
            )
        elif result.valid is False:
            assert result.counterexample is not None
            # Seconds from the history's start; a format without times: its positions.
            origin = 0 if has_clock(history.events) else None
            cx = result.counterexample.to_text(origin)
            text = f"{path}: NOT linearizable (model {m.name})\n" + cx
            if args.explain:
                text += "\n" + _explain(history, m, result.counterexample.key, fields)
        else:
            text = f"{path}: unknown: {result.reason}"
        return Checked(result.valid, fields, text)


def _json_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise argparse.ArgumentTypeError(
            f"expected a JSON value (0, '\"x\"', null), got {text!r}"
        ) from None


def _model(name: str, initial: Any, path: str) -> Any:
    """The model; an initial value it cannot take is bad input (HistoryError). null, the
    register models' own initial value, is the same as none."""
    from checkers.linear.models import get_model

    if initial is None:
        return get_model(name)
    try:
        return get_model(name, initial)
    except ValueError as e:
        raise HistoryError(path, None, str(e)) from None


def _explain(history: History, model: Any, key: Any, fields: dict[str, Any]) -> str:
    """The precedence graph's cycle on the counterexample's key: its text, and its JSON
    as `fields["graph"]`."""
    from checkers.linear.graph import check_graph

    ops = [op for op in pair_events(history.events, history.file) if op.key == key]
    g = check_graph(ops, model)
    fields["graph"] = g.to_dict()
    return g.to_text()


# ---- as a run checker (checkers/protocol.py) ----------------------------------------


class LinearizableChecker(CheckerBase):
    """The run's history against a cas-register per key (the register workload), or a
    mutex per key when its operations are acquire/release (the lock workload)."""

    name = "linearizable"
    cli: CheckSupport | None = LinearizableCheck()
    model = "cas-register"
    timeout = 300.0  # seconds; then the verdict is "unknown"

    def check(self, run: RunFiles) -> Verdict:
        from checkers.linear.models import get_model

        try:
            events = run.history_events()
        except (OSError, HistoryError) as exc:
            return Verdict.unknown(self.name, f"history unreadable: {exc}")
        if not any(e.type == "invoke" for e in events):
            return Verdict.unknown(self.name, "the history has no operations")
        model = self.model
        if any(e.type == "invoke" and e.f in MutexModel.functions for e in events):
            model = "mutex"
        r = check_history(events, get_model(model), self.timeout, str(run.history))
        cx = r.counterexample.to_text(run.origin_ns) if r.counterexample is not None else None
        return verdict_from(self, r.to_dict(), cx)

    def report_section(self, name: str, entry: dict[str, Any], page: Page) -> Section | None:
        from checkers.linear.report import section

        return section(name, entry, page)

    def summarize(self, entry: dict[str, Any]) -> str:
        s = f"{entry.get('ops', '?')} operations over {entry.get('keys', '?')} key(s)"
        s += f", model {entry.get('model', '?')}"
        if entry.get("elapsed") is not None:
            s += f", {entry['elapsed']:.2f} s"
        return s


CHECKER = LinearizableChecker()
