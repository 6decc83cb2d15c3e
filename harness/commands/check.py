"""`raftquake check`: check recorded histories, each with the checker that takes it.

The checkers bring their own part (checkers/protocol.py's CheckSupport, through
checkers/registry.py): their `--model` names and options, the histories they take by
themselves, their verdict's JSON and words. This module reads the files, chooses, and
prints. One verdict per file. Exit status: 0 all valid; otherwise the worst over the files,
ranked 2 (bad input) > 1 (not linearizable) > 3 (unknown): a file we could not read
matters most, a proven violation next, a checker that gave up last.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from harness.commands.flags import SECONDS_OR_NONE
from harness.exit_codes import EXIT_BAD_INPUT, EXIT_INVALID, EXIT_UNKNOWN, EXIT_VALID, worst

if TYPE_CHECKING:
    from checkers.history import History
    from checkers.protocol import CheckSupport

HELP = "check histories: linearizability, txn anomalies, sets (one verdict per file)"

DEFAULT_TIMEOUT = 300.0


def _supports() -> list[CheckSupport]:
    """The checkers `check` can choose, in the registry's order (checkers/registry.py):
    each brings its models, its options, the histories it takes by itself and its
    verdict's words (checkers/protocol.py's CheckSupport)."""
    from checkers.registry import CHECKERS

    return [c.cli for c in CHECKERS.values() if c.cli is not None]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    supports = _supports()
    parser.add_argument("paths", nargs="+", metavar="PATH", help="history files")
    parser.add_argument(
        "--model",
        choices=[m for s in supports for m in s.models],
        help="; ".join(s.model_help for s in supports),
    )
    for s in supports:
        s.add_arguments(parser)
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
        "--report",
        metavar="DIR",
        help="also write an HTML report into DIR (report.html; <file name>.html each when "
        "several files)",
    )


def check_file(path: str, args: argparse.Namespace) -> tuple[int, dict[str, Any], str]:
    """Check one file with the checker its model (`--model`, or the first checker that
    claims the history) belongs to: (exit status, JSON object, text for the terminal)."""
    from checkers.history import HistoryError
    from checkers.history.importers import read_history

    try:
        history = read_history(path, args.format, args.independent)
        support, model = _choose(history, args.model)
        checked = support.check(history, model, args)
    except HistoryError as e:
        return (
            EXIT_BAD_INPUT,
            {"file": path, "valid": "unknown", "error": str(e), "line": e.line},
            f"{path}: bad input: {e}",
        )
    d: dict[str, Any] = {"file": path, "format": history.format, **checked.fields}
    text = checked.text
    if history.warnings:
        d["warnings"] = history.warnings
        text += "".join(f"\n  warning: {w}" for w in history.warnings)
    statuses: dict[Any, int] = {True: EXIT_VALID, False: EXIT_INVALID}
    status = statuses.get(checked.valid, EXIT_UNKNOWN)
    return status, d, text


def _choose(history: History, model: str | None) -> tuple[CheckSupport, str]:
    """The checker for `--model`; without one, the first that claims the history, the
    fallback (linearizability, by the history's operations and format) last."""
    supports = _supports()
    if model is not None:
        return next(s for s in supports if model in s.models), model
    for s in sorted(supports, key=lambda s: s.fallback):
        claimed = s.claims(history)
        if claimed is not None:
            return s, claimed
    raise AssertionError("no checker claims the history, and none is the fallback")


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


def run(args: argparse.Namespace) -> int:
    args.timeout = args.timeout if args.timeout and args.timeout > 0 else None
    statuses = []
    for path in args.paths:
        status, d, text = check_file(path, args)
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
