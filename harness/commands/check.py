"""`raftquake check`: check recorded histories for linearizability.

One verdict per file. Exit status: 0 all valid; otherwise the worst over the files,
ranked 2 (bad input) > 1 (not linearizable) > 3 (unknown): a file we could not read
matters most, a proven violation next, a checker that gave up last.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from harness.commands.flags import SECONDS_OR_NONE
from harness.exit_codes import EXIT_BAD_INPUT, EXIT_INVALID, EXIT_UNKNOWN, EXIT_VALID, worst

HELP = "check histories: linearizability, txn anomalies, sets (one verdict per file)"

DEFAULT_TIMEOUT = 300.0
# models judged by anomaly checkers (checkers/elle, checkers/sets), not the linearizability
# search; with --json their objects also hold "anomalies", the names of those found
TXN_MODELS = ("list-append", "rw-register", "set", "bank")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from checkers.elle.consistency import MODELS as CONSISTENCY_MODELS

    parser.add_argument("paths", nargs="+", metavar="PATH", help="history files")
    parser.add_argument(
        "--model",
        choices=["cas-register", "register", "kv", "multi-register", "mutex", *TXN_MODELS],
        help="sequential model (default: by format; kv for get/put/append histories); "
        "list-append, rw-register: txn histories checked by Elle's method (chosen by the "
        "micro-ops: append or w); set: Jepsen's set checker; "
        "bank: every read of the balances holds the opening total",
    )
    parser.add_argument(
        "--consistency",
        default="strict-serializable",
        choices=list(CONSISTENCY_MODELS),
        help="with --model list-append or rw-register: the consistency model the txns must "
        "obey (default strict-serializable)",
    )
    parser.add_argument(
        "--wfr-keys",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="rw-register: a txn's write of a key follows its read of it, ordering those two "
        "versions (Elle's :wfr-keys?; default on)",
    )
    parser.add_argument(
        "--sequential-keys",
        action="store_true",
        help="rw-register: assume each key sequentially consistent, ordering versions by "
        "each process's txns (Elle's :sequential-keys?)",
    )
    parser.add_argument(
        "--linearizable-keys",
        action="store_true",
        help="rw-register: assume each key linearizable, ordering versions by real time "
        "(Elle's :linearizable-keys?)",
    )
    parser.add_argument(
        "--initial",
        type=_json_value,
        metavar="V",
        help="the registers' initial value, as JSON (default null: Jepsen's 'no value yet'; "
        'Knossos\'s tests start at 0); multi-register also takes an object {"x": 0, ...}',
    )
    parser.add_argument(
        "--independent",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="Jepsen EDN: values are [key value] tuples of Jepsen's independent checker "
        "(default: when every operation's value looks like one)",
    )
    parser.add_argument(
        "--format",
        default="auto",
        choices=["auto", "jsonl", "jepsen-edn", "porcupine-etcd", "porcupine-kv"],
        help="history format (default: auto, from the first line)",
    )
    parser.add_argument(
        "--timeout",
        type=SECONDS_OR_NONE,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"seconds per file before answering unknown (default {DEFAULT_TIMEOUT:g}; 0: none)",
    )
    parser.add_argument(
        "--json", action="store_true", help="one JSON object per line per file on stdout"
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="for an invalid register history with unique values, also look for a cycle "
        "in the precedence graph (slower)",
    )
    parser.add_argument(
        "--report",
        metavar="DIR",
        help="also write an HTML report into DIR (report.html; <file name>.html each when "
        "several files)",
    )


def check_file(
    path: str,
    fmt: str,
    model_name: str | None,
    timeout: float | None,
    explain: bool = False,
    consistency: str = "strict-serializable",
    initial: Any = None,
    independent: bool | None = None,
    registers: Any = None,
) -> tuple[int, dict[str, Any], str]:
    """Check one file: (exit status, JSON object, text for the terminal). `registers`:
    the rw-register version orders (checkers.elle.registers.RegisterOptions)."""
    from checkers.history import HistoryError, has_clock
    from checkers.history.importers import default_model, read_history
    from checkers.linear.search import check_history
    from harness.words import plural

    try:
        history = read_history(path, fmt, independent)
        if (model_name or _txn_model(history)) in TXN_MODELS:
            model_name = model_name or _txn_model(history)
            return _check_txns(history, model_name, consistency, registers)
        model = _model(model_name or default_model(history), initial, path)
        result = check_history(history.events, model, timeout, path)
    except HistoryError as e:
        return (
            EXIT_BAD_INPUT,
            {"file": path, "valid": "unknown", "error": str(e), "line": e.line},
            f"{path}: bad input: {e}",
        )
    d: dict[str, Any] = {"file": path, "format": history.format, **result.to_dict()}
    if history.warnings:
        d["warnings"] = history.warnings
    if result.valid is True:
        text = (
            f"{path}: linearizable ({result.ops} ops, {plural(result.keys, 'key')}, "
            f"model {model.name}, {result.elapsed:.3f} s)"
        )
        status = EXIT_VALID
    elif result.valid is False:
        assert result.counterexample is not None
        # Seconds from the history's start; a format without times: its positions.
        origin = 0 if has_clock(history.events) else None
        cx = result.counterexample.to_text(origin)
        text = f"{path}: NOT linearizable (model {model.name})\n" + cx
        status = EXIT_INVALID
        if explain:
            text, d = _explain(history, model, result, text, d)
    else:
        text = f"{path}: unknown: {result.reason}"
        status = EXIT_UNKNOWN
    for w in history.warnings:
        text += f"\n  warning: {w}"
    return status, d, text


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
    from checkers.history import HistoryError
    from checkers.linear.models import get_model

    if initial is None:
        return get_model(name)
    try:
        return get_model(name, initial)
    except ValueError as e:
        raise HistoryError(path, None, str(e)) from None


def _txn_model(history: Any) -> str | None:
    """list-append for txn histories, set for add/read ones: no register model fits them;
    but a txn of Knossos's :read/:write micro-ops is multi-register's (a linearizability
    model, checkers/linear/models.py)."""
    from checkers.history.importers import default_model

    if default_model(history) == "multi-register":
        return None
    for ev in history.events:
        if ev.process != "nemesis":
            if ev.f == "txn":
                return _elle_model(history.events)
            return {"add": "set", "init": "bank", "transfer": "bank"}.get(ev.f)
    return None


def _elle_model(events: Any) -> str:
    """rw-register when the txns write registers (`w`) and append to nothing, else
    list-append (which also takes register keys beside its lists)."""
    writes = False
    for ev in events:
        if ev.f == "txn" and type(ev.value) is list:
            for m in ev.value:
                if type(m) is list and m and m[0] == "append":
                    return "list-append"
                writes = writes or (type(m) is list and bool(m) and m[0] == "w")
    return "rw-register" if writes else "list-append"


def _appends(history: Any) -> int | None:
    """The line of the first append, or None."""
    for ev in history.events:
        if ev.f == "txn" and type(ev.value) is list:
            if any(type(m) is list and m and m[0] == "append" for m in ev.value):
                return ev.line
    return None


def _check_txns(
    history: Any, model: str, consistency: str, registers: Any = None
) -> tuple[int, dict[str, Any], str]:
    """A txn history (Elle), a set or a bank history (Jepsen's checkers); raises
    HistoryError."""
    from checkers.bank import check_bank_history
    from checkers.elle import check_txn_history
    from checkers.sets import check_set_history

    path = history.file
    if model == "bank":
        r: Any = check_bank_history(history.events, path)
        what = f"{r.reads} reads, {r.accounts} accounts, total {r.total}"
        verdict = {True: "bank valid", False: "bank NOT valid"}.get(r.valid, "unknown")
        if r.anomalies:
            what += f"; found {', '.join(r.anomalies)}"
    elif model == "set":
        r = check_set_history(history.events, path)
        c = r.counts
        what = f"{c['attempted']} adds, {c['lost']} lost, {c['unexpected']} unexpected"
        verdict = {True: "set valid", False: "set NOT valid"}.get(r.valid, "unknown")
    else:
        from checkers.elle.registers import RegisterOptions
        from checkers.history import HistoryError

        if model == "rw-register" and (line := _appends(history)) is not None:
            raise HistoryError(
                path,
                line,
                "--model rw-register: this txn appends (list-append's micro-op); expected "
                "only r and w micro-ops (--model list-append takes both)",
            )
        r = check_txn_history(
            history.events,
            consistency,
            path,
            history.format == "jsonl",
            registers or RegisterOptions(),
            lone_completions=history.format != "jsonl",
        )
        what = f"{r.txns} txns, {r.keys} keys, model {r.model}, {r.elapsed:.3f} s"
        verdict = {True: consistency, False: f"NOT {consistency}"}.get(r.valid, "unknown")
        if r.anomalies:
            what += f"; found {', '.join(r.anomalies)}"
    d: dict[str, Any] = {"file": path, "format": history.format, **r.to_dict()}
    text = f"{path}: {verdict} ({what})"
    if r.valid is not True:
        text += "\n" + r.to_text()
    if history.warnings:
        d["warnings"] = history.warnings
        text += "".join(f"\n  warning: {w}" for w in history.warnings)
    status = {True: EXIT_VALID, False: EXIT_INVALID}.get(r.valid, EXIT_UNKNOWN)
    return status, d, text


def _explain(history, model, result, text, d):  # type: ignore[no-untyped-def]
    from checkers.history import pair_events
    from checkers.linear.graph import check_graph

    key = result.counterexample.key
    ops = [op for op in pair_events(history.events, history.file) if op.key == key]
    g = check_graph(ops, model)
    d["graph"] = g.to_dict()
    text += "\n" + g.to_text()
    return text, d


def _write_report(args: argparse.Namespace, path: str, d: dict[str, Any], text: str) -> None:
    from harness.report.page import check_report_path, write_check_report

    out = check_report_path(path, args.report, len(args.paths) > 1)
    # The verdict's text after its first line is the counterexample's explanation.
    explanation = text.split("\n", 1)[1] if "\n" in text else None
    try:
        write_check_report(path, args.format, d, out, explanation)
    except OSError as exc:
        print(f"{path}: cannot write the report: {exc}", file=sys.stderr)
        return
    print(f"{path}: report {out}", file=sys.stderr)


def _register_options(args: argparse.Namespace) -> Any:
    from checkers.elle.registers import RegisterOptions

    return RegisterOptions(args.wfr_keys, args.sequential_keys, args.linearizable_keys)


def run(args: argparse.Namespace) -> int:
    timeout = args.timeout if args.timeout and args.timeout > 0 else None
    statuses = []
    for path in args.paths:
        status, d, text = check_file(
            path,
            args.format,
            args.model,
            timeout,
            args.explain,
            args.consistency,
            args.initial,
            args.independent,
            _register_options(args),
        )
        statuses.append(status)
        if args.report and status != EXIT_BAD_INPUT:
            _write_report(args, path, d, text)
        try:
            if args.json:
                print(json.dumps(d), flush=True)
            else:
                out = sys.stdout if status != EXIT_BAD_INPUT else sys.stderr
                print(text, file=out, flush=True)
        except BrokenPipeError:  # `| head`: the reader has seen enough
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return worst(statuses)
