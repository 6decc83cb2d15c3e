"""Jepsen's bank checker: transfers move money between accounts, so every read of all the
balances must find the total the bank opened with, and (transfers refuse to overdraw) no
balance below zero.

A bank history (workloads/bank.py; DESIGN "History") opens with an `init` operation whose
value holds every account's opening balance; its sum is the total. A history without one
(Jepsen's own, say) is checked against a total given by the caller. Each ok `read` holds
every balance (`{"0": 12, "1": 13, ...}`; an EDN history's integer keys are taken as
they are): a read whose balances do not add up to the total is `wrong-total`, one with a
balance below zero `negative-balance`. A balance that is missing or null counts as 0 (so
an account that vanished shows as a wrong total). Only reads are judged: a transfer's
outcome is whatever the reads that follow it show.
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
    Valid,
    anomaly_verdict,
)

if TYPE_CHECKING:
    import argparse

MAX_LISTED = 20  # wrong reads listed per anomaly (the counts are exact)
ANOMALIES = ("wrong-total", "negative-balance")


@dataclass
class BankResult:
    valid: Valid
    total: int | None = None
    accounts: int = 0
    reads: int = 0  # ok reads judged
    transfers: dict[str, int] = field(default_factory=dict)  # ok / fail / info
    # per anomaly, the reads that show it: {"index", "time", "process", "total", "balances"}
    found: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    reason: str | None = None

    @property
    def anomalies(self) -> list[str]:
        return [name for name in ANOMALIES if self.counts.get(name)]

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "valid": self.valid,
            "checker": "bank",
            "model": "bank",
            "total": self.total,
            "accounts": self.accounts,
            "reads": self.reads,
            "transfers": self.transfers,
            "anomalies": self.anomalies,
            "counts": self.counts,
        }
        for name in self.anomalies:
            d[name] = self.found[name][:MAX_LISTED]
        if self.reason:
            d["reason"] = self.reason
        return d

    def to_text(self) -> str:
        lines = [
            f"{self.reads} reads of {self.accounts} accounts against a total of {self.total}; "
            f"transfers {self.transfers}"
        ]
        for name in self.anomalies:
            lines.append(f"{name} ({self.counts[name]} reads):")
            for r in self.found[name][:MAX_LISTED]:
                lines.append(
                    f"  op {r['index']} (process {r['process']}, {r['time'] / 1e9:.3f} s) "
                    f"read total {r['total']}: {r['balances']}"
                )
        if self.reason:
            lines.append(self.reason)
        return "\n".join(lines)


def _balances(op: Op, file: str) -> dict[str, Any]:
    if not isinstance(op.output, dict):
        raise HistoryError(
            file,
            op.line,
            f"expected a bank {op.f}'s value to be an object of account -> balance, "
            f"got {op.output!r}",
        )
    for account, balance in op.output.items():
        if balance is not None and (isinstance(balance, bool) or not isinstance(balance, int)):
            raise HistoryError(
                file,
                op.line,
                f"expected account {account!r}'s balance to be an integer or null, got {balance!r}",
            )
    return {str(a): b for a, b in op.output.items()}


def check_bank_ops(
    ops: Iterable[Op], file: str = "<history>", total: int | None = None
) -> BankResult:
    """Every ok read against the opening total (the `init` operation's, else `total`)."""
    ops = list(ops)
    opened = [op for op in ops if op.f == "init" and op.status == "ok"]
    accounts: set[str] = set()
    if opened:
        balances = _balances(opened[-1], file)
        total = sum(b or 0 for b in balances.values())
        accounts = set(balances)
    reads = [op for op in ops if op.f == "read" and op.status == "ok"]
    transfers: dict[str, int] = {}
    for op in ops:
        if op.f == "transfer":
            transfers[op.status] = transfers.get(op.status, 0) + 1
    r = BankResult(True, total, len(accounts), transfers=transfers)
    if total is None:
        r.valid = "unknown"
        r.reason = (
            "no ok init operation gives the opening balances (the bank's setup never "
            "succeeded, or the history does not record it); give the total to check against"
        )
        return r
    found: dict[str, list[dict[str, Any]]] = {name: [] for name in ANOMALIES}
    for op in reads:
        balances = _balances(op, file)
        accounts |= set(balances)
        seen = sum(b or 0 for b in balances.values())
        read = {
            "index": op.index,
            "time": op.call_time,
            "process": op.process,
            "total": seen,
            "balances": balances,
        }
        if seen != total:
            found["wrong-total"].append(read)
        if any(b is not None and b < 0 for b in balances.values()):
            found["negative-balance"].append(read)
    r.reads, r.accounts = len(reads), len(accounts)
    r.found = found
    r.counts = {name: len(found[name]) for name in ANOMALIES}
    if r.anomalies:
        r.valid = False
    elif not reads:
        r.valid, r.reason = "unknown", "the history has no ok read of the balances"
    return r


def check_bank_history(
    events: Iterable[Event], file: str = "<history>", total: int | None = None
) -> BankResult:
    """Entry point for the harness: events as read from a history file."""
    return check_bank_ops(pair_events(events, file), file, total)


# ---- as a run checker (checkers/protocol.py) ----------------------------------------


class BankCheck:
    """`raftquake check` with it (checkers/protocol.py's CheckSupport): init/transfer
    histories."""

    models: tuple[str, ...] = ("bank",)
    model_help = "bank: every read of the balances holds the opening total"
    fallback = False

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        pass

    def claims(self, history: History) -> str | None:
        first = first_client_op(history.events)
        return "bank" if first is not None and first.f in ("init", "transfer") else None

    def check(self, history: History, model: str, args: argparse.Namespace) -> Checked:
        r = check_bank_history(history.events, history.file)
        what = f"{r.reads} reads, {r.accounts} accounts, total {r.total}"
        verdicts: dict[Any, str] = {True: "bank valid", False: "bank NOT valid"}
        verdict = verdicts.get(r.valid, "unknown")
        if r.anomalies:
            what += f"; found {', '.join(r.anomalies)}"
        return anomaly_verdict(history.file, verdict, what, r)


class BankChecker(HistoryChecker):
    """A bank workload's reads against the total it opened with."""

    name = "bank"
    cli: CheckSupport | None = BankCheck()

    def judge(self, events: list[Event], path: str) -> HistoryResult:
        return check_bank_history(events, path)

    def summarize(self, entry: dict[str, Any]) -> str:
        c = entry.get("counts", {})
        return (
            f"{entry.get('reads', '?')} reads of {entry.get('accounts', '?')} accounts, total "
            f"{entry.get('total', '?')}: {c.get('wrong-total', 0)} wrong totals, "
            f"{c.get('negative-balance', 0)} negative balances"
        )


CHECKER = BankChecker()
