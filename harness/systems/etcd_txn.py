"""What an etcd transaction writes and returns, worked out from what it read: pure
functions, no I/O. etcd's Txn compares and puts but cannot compute a put from a read, so
the client (etcd_client.py) reads every key a transaction touches, asks these what to
put, then puts it in one Txn guarded by the revisions it read.

A plan takes the values read (etcd key -> value, None when absent) and gives the writes
(etcd key -> the whole new value: a list appended to is written whole) and the ok value,
or raises Refused: the transaction's own definite failure, nothing written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# values read -> (writes, ok value)
Plan = Callable[[dict[str, Any]], tuple[dict[str, Any], Any]]
MICRO_OPS = ("r", "w", "append")


class Refused(Exception):
    """A transaction's own definite failure, found from what it read (a transfer short of
    funds, an append to a register): nothing was written."""

    def __init__(self, error: str, value: Any = None):
        super().__init__(error)
        self.error, self.value = error, value


def etcd_key(key: Any) -> str:
    """A register's or a transaction's key as etcd's key: its text (workloads name keys
    by strings or integers, never both in one run)."""
    return str(key)


def txn_plan(micro: list[list[Any]]) -> Plan:
    """Micro-ops `["r", k, None]`, `["w", k, v]`, `["append", k, v]` in order: a read sees
    what was read, or the transaction's own earlier write; the ok value repeats the
    micro-ops with each read's value filled in."""
    for f, _k, _v in micro:
        if f not in MICRO_OPS:
            raise ValueError(f"unknown micro-op {f!r}; expected r, w or append")

    def plan(read: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        state = dict(read)
        writes: dict[str, Any] = {}
        done: list[list[Any]] = []
        for f, k, v in micro:
            key = etcd_key(k)
            if f == "r":
                seen = state.get(key)
                done.append([f, k, list(seen) if isinstance(seen, list) else seen])
                continue
            new = v
            if f == "append":
                have = state.get(key)
                if have is not None and not isinstance(have, list):
                    raise Refused(f"append to {k!r}, which holds a register")
                new = [*(have or []), v]
            state[key] = writes[key] = new
            done.append([f, k, v])
        return writes, done

    return plan


def transfer_plan(frm: Any, to: Any, amount: int) -> Plan:
    """Jepsen's bank transfer: both balances written, or Refused "insufficient" when the
    payer holds less than `amount` (or nothing)."""
    a, b = etcd_key(frm), etcd_key(to)

    def plan(read: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        have, other = read.get(a), read.get(b)
        if not isinstance(have, int) or have < amount:
            raise Refused("insufficient")
        return {a: have - amount, b: (other or 0) + amount}, None

    return plan
