"""Shared helpers for the checker tests: building histories and a brute-force oracle."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

from checkers.history import Event, Op, pair_events

REPO = Path(__file__).resolve().parents[2]
# CI clones main into some folder with shared/ beside it: ../shared/data/porcupine
PORCUPINE = REPO.parent / "shared" / "data" / "porcupine"


def events_from(spec: list[tuple], key: Any = None) -> list[Event]:
    """(process, type, f, value[, error]) tuples -> events, times = positions."""
    out = []
    for i, s in enumerate(spec):
        p, t, f, v = s[:4]
        err = s[4] if len(s) > 4 else None
        out.append(Event(i, i * 10, p, t, f, v, key, None, err, i + 1))
    return out


def ops_from(spec: list[tuple], key: Any = None) -> list[Op]:
    return pair_events(events_from(spec, key))


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _ref_step(state: Any, op: Op) -> tuple[bool, Any]:
    """A register with cas, written out independently of checkers.linear.models."""
    v = op.value
    if op.f == "read":
        return state == op.output, state
    if op.f == "write":
        return True, v
    if op.f == "cas" and op.status == "fail":  # precondition failed: saw something else
        return state != v[0], state
    return (True, v[1]) if state == v[0] else (False, state)


def _kv_step(state: Any, op: Op) -> tuple[bool, Any]:
    """Porcupine's kv on one key, written out independently of checkers.linear.models."""
    if op.f == "get":
        return (op.output or "") == state, state
    if op.f == "put":
        return True, op.value
    return True, state + op.value


def brute_force_linearizable(ops: list[Op], kv: bool = False) -> bool:
    """Every real-time-respecting order of the ops that must happen, with each info op
    placed anywhere after its invoke or left out. Exponential: tiny histories only."""
    required = []
    optional = []
    for op in ops:
        if op.status == "ok" or (op.status == "fail" and op.error == "precondition"):
            required.append(op)
        elif op.status == "info" and op.f not in ("read", "get"):
            optional.append(op)
    step = _kv_step if kv else _ref_step
    init = "" if kv else None
    for k in range(len(optional) + 1):
        for chosen in itertools.combinations(optional, k):
            if _some_order(required + list(chosen), step, init):
                return True
    return False


def _some_order(ops: list[Op], step: Any, init: Any) -> bool:
    def before(a: Op, b: Op) -> bool:  # a must precede b
        return a.ret is not None and a.status != "info" and a.ret < b.call

    def go(placed: list[Op], rest: list[Op], state: Any) -> bool:
        if not rest:
            return True
        for i, op in enumerate(rest):
            if any(before(o, op) for o in rest if o is not op):
                continue
            ok, ns = step(state, op)
            if ok and go(placed + [op], rest[:i] + rest[i + 1 :], ns):
                return True
        return False

    return go([], ops, init)


def run_check(capsys: Any, *args: str) -> tuple[int, str, str]:
    """`raftquake check ARGS` in-process: (exit status, stdout, stderr)."""
    from harness.cli import main

    code = main(["check", *args])
    out, err = capsys.readouterr()
    return code, out, err
