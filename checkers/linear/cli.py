"""`raftquake check` with the linearizability search (checkers/protocol.py's CheckSupport):
the register, kv, multi-register and mutex models, `--initial`, `--explain`. Any history
no other checker claims comes here, its model chosen by its operations and format."""

from __future__ import annotations

import argparse
import json
from typing import Any

from checkers.history import History, HistoryError, has_clock, pair_events
from checkers.protocol import Checked


class LinearizableCheck:
    models = ("cas-register", "register", "kv", "multi-register", "mutex")
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
        from checkers.linear.search import check_history

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


CHECK = LinearizableCheck()
