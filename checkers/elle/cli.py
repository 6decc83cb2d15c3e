"""`raftquake check` with Elle's method (checkers/protocol.py's CheckSupport): txn
histories, list-append or rw-register (chosen by the micro-ops), held to
`--consistency`, register version orders from `--[no-]wfr-keys`, `--sequential-keys`
and `--linearizable-keys`."""

from __future__ import annotations

import argparse
from typing import Any

from checkers.history import History, HistoryError, first_client_op
from checkers.protocol import Checked, anomaly_verdict


class ElleCheck:
    models = ("list-append", "rw-register")
    model_help = (
        "list-append, rw-register: txn histories checked by Elle's method (chosen by the "
        "micro-ops: append or w)"
    )
    fallback = False

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from checkers.elle.consistency import MODELS as CONSISTENCY_MODELS

        parser.add_argument(
            "--consistency",
            default="strict-serializable",
            choices=list(CONSISTENCY_MODELS),
            help="with --model list-append or rw-register: the consistency model the txns "
            "must obey (default strict-serializable)",
        )
        parser.add_argument(
            "--wfr-keys",
            action=argparse.BooleanOptionalAction,
            default=True,
            help="rw-register: a txn's write of a key follows its read of it, ordering those "
            "two versions (Elle's :wfr-keys?; default on)",
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

    def claims(self, history: History) -> str | None:
        """A txn history's model; but a txn of Knossos's :read/:write micro-ops is
        multi-register's (a linearizability model, checkers/linear/models.py)."""
        from checkers.history.importers import default_model

        first = first_client_op(history.events)
        if first is None or first.f != "txn" or default_model(history) == "multi-register":
            return None
        return _elle_model(history)

    def check(self, history: History, model: str, args: argparse.Namespace) -> Checked:
        from checkers.elle import check_txn_history
        from checkers.elle.registers import RegisterOptions

        path = history.file
        if model == "rw-register" and (line := _appends(history)) is not None:
            raise HistoryError(
                path,
                line,
                "--model rw-register: this txn appends (list-append's micro-op); expected "
                "only r and w micro-ops (--model list-append takes both)",
            )
        consistency = args.consistency
        r = check_txn_history(
            history.events,
            consistency,
            path,
            history.format == "jsonl",
            RegisterOptions(args.wfr_keys, args.sequential_keys, args.linearizable_keys),
            lone_completions=history.format != "jsonl",
        )
        what = f"{r.txns} txns, {r.keys} keys, model {r.model}, {r.elapsed:.3f} s"
        verdicts: dict[Any, str] = {True: consistency, False: f"NOT {consistency}"}
        verdict = verdicts.get(r.valid, "unknown")
        if r.anomalies:
            what += f"; found {', '.join(r.anomalies)}"
        return anomaly_verdict(path, verdict, what, r)


def _elle_model(history: History) -> str:
    """rw-register when the txns write registers (`w`) and append to nothing, else
    list-append (which also takes register keys beside its lists)."""
    writes = False
    for ev in history.events:
        if ev.f == "txn" and type(ev.value) is list:
            for m in ev.value:
                if type(m) is list and m and m[0] == "append":
                    return "list-append"
                writes = writes or (type(m) is list and bool(m) and m[0] == "w")
    return "rw-register" if writes else "list-append"


def _appends(history: History) -> int | None:
    """The line of the first append, or None."""
    for ev in history.events:
        if ev.f == "txn" and type(ev.value) is list:
            if any(type(m) is list and m and m[0] == "append" for m in ev.value):
                return ev.line
    return None


CHECK = ElleCheck()
