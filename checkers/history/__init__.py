"""The history model: events as recorded, operations as checked, and the JSONL reader.

A history is a list of `Event`s in the order the harness saw them. `pair_events`
turns them into `Op`s: one per invoke, with its completion (ok, fail or info). The
real-time order the checkers use is the position of the events in the file, not
their `time` field: the file order is what the harness observed, and positions
never tie.

The JSONL reader is strict: a malformed line raises `HistoryError`, which names the
file, the line and what was expected (docs/DESIGN.md, "History").
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

TYPES = ("invoke", "ok", "fail", "info")
NEMESIS = "nemesis"


class HistoryError(ValueError):
    """A history that cannot be read: names the file, the line and what was expected."""

    def __init__(self, file: str, line: int | None, message: str):
        self.file = file
        self.line = line
        self.message = message
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {message}")


@dataclass(slots=True)
class Event:
    """One line of a history."""

    index: int  # position in the history, 0, 1, 2, ...
    time: int  # nanoseconds (or the line number when the format has no times)
    process: Any  # int for a client, "nemesis" for faults
    type: str  # invoke | ok | fail | info
    f: str
    value: Any = None
    key: Any = None
    node: str | None = None
    error: Any = None
    line: int = 0  # line number in the source file, 1-based


@dataclass(slots=True)
class Op:
    """An operation: an invoke and its completion.

    `call` and `ret` are event positions (the real-time order); `ret` is None for an
    operation whose outcome is unknown (`info`, or no completion at all): it may take
    effect at any time after its invoke, or never.
    """

    id: int
    process: Any
    f: str
    key: Any
    value: Any  # the invoke's value (what the client asked for)
    output: Any  # the completion's value (what it saw: a read's result)
    status: str  # ok | fail | info
    call: int
    ret: int | None
    call_time: int
    ret_time: int | None
    index: int  # the invoke event's index
    ret_index: int | None
    line: int
    node: str | None = None
    error: Any = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "index": self.index,
            "process": self.process,
            "f": self.f,
            "value": self.value,
            "status": self.status,
            "invoke_time": self.call_time,
            "complete_time": self.ret_time,
            "line": self.line,
        }
        if self.key is not None:
            d["key"] = self.key
        if self.status == "ok" and self.f not in ("write", "put", "append", "cas"):
            d["output"] = self.output
        if self.node is not None:
            d["node"] = self.node
        if self.error is not None:
            d["error"] = self.error
        return d


@dataclass
class History:
    """Events read from one file, plus anything the reader noticed on the way."""

    file: str
    format: str
    events: list[Event]
    warnings: list[str] = field(default_factory=list)


def first_client_op(events: Iterable[Event]) -> Event | None:
    """The first event that is not the nemesis's: what a history's kind is told by."""
    return next((ev for ev in events if ev.process != NEMESIS), None)


def has_clock(events: Sequence[Event]) -> bool:
    """Whether the times are a clock's (ns): formats without times get their line numbers
    as times (checkers.history.importers), which then only order the events."""
    return any(e.time != e.line for e in events[:200])


def pair_events(
    events: Iterable[Event], file: str = "<history>", lone_completions: bool = False
) -> list[Op]:
    """Match every completion with its process's open invoke; skip nemesis events.

    An invoke left open at the end counts as `info`. Raises HistoryError on a completion
    without an invoke, or an invoke while the process has one open; `lone_completions`
    reads histories as Elle reads its own instead (see `_pair_leniently`).
    """
    if lone_completions:
        return _pair_leniently(events, file)
    ops: list[Op] = []
    open_ops: dict[Any, Op] = {}
    for pos, ev in enumerate(events):
        if ev.process == NEMESIS:
            continue
        if ev.type == "invoke":
            if ev.process in open_ops:
                prev = open_ops[ev.process]
                raise HistoryError(
                    file,
                    ev.line,
                    f"process {ev.process!r} invokes while its operation from line "
                    f"{prev.line} is still open; expected a completion (ok, fail or info) first",
                )
            # positional: this runs once per operation of 100,000-op histories
            op = Op(
                len(ops), ev.process, ev.f, ev.key, ev.value, None, "info", pos, None,
                ev.time, None, ev.index, None, ev.line,
            )  # fmt: skip
            ops.append(op)
            open_ops[ev.process] = op
            continue
        op = open_ops.pop(ev.process, None)
        if op is None:
            raise HistoryError(
                file,
                ev.line,
                f"{ev.type} for process {ev.process!r}, which has no open invoke; "
                "expected an invoke before it",
            )
        _complete(op, ev, pos, file)
    return ops


def _complete(op: Op, ev: Event, pos: int, file: str) -> None:
    """Fill in `op` from its completion `ev` (at event position `pos`)."""
    if ev.f != op.f:
        raise HistoryError(
            file,
            ev.line,
            f"completion f {ev.f!r} does not match the invoke's {op.f!r} (line {op.line})",
        )
    if ev.key is not None and op.key is not None and ev.key != op.key:
        raise HistoryError(
            file,
            ev.line,
            f"completion key {ev.key!r} does not match the invoke's {op.key!r} (line {op.line})",
        )
    op.status = ev.type
    op.node = ev.node
    op.error = ev.error
    op.ret_time = ev.time
    op.ret_index = ev.index
    if ev.type == "info":
        return  # unknown outcome: open until the end (ret stays None)
    op.ret = pos
    op.output = ev.value


def _pair_leniently(events: Iterable[Event], file: str) -> list[Op]:
    """Pairing as Elle reads its own test histories (and Jepsen's): a completion without
    an invoke is an operation invoked at an unknown time before it (`call` -1: nothing
    precedes it in real time); a process may have several invokes open (Elle's tests
    invoke several txns on process 0 before completing them), and a completion takes the
    earliest of its process's open invokes that asked for what it did (for a txn, the
    same micro-ops), else the earliest. A None process (an EDN op without :process) is
    one anonymous process for pairing."""
    ops: list[Op] = []
    open_ops: dict[Any, list[Op]] = {}
    for pos, ev in enumerate(events):
        if ev.process == NEMESIS:
            continue
        if ev.type == "invoke":
            op = Op(
                len(ops), ev.process, ev.f, ev.key, ev.value, None, "info", pos, None,
                ev.time, None, ev.index, None, ev.line,
            )  # fmt: skip
            ops.append(op)
            open_ops.setdefault(ev.process, []).append(op)
            continue
        waiting = open_ops.get(ev.process)
        if not waiting:
            done = ev.type != "info"
            ops.append(
                Op(
                    len(ops),
                    ev.process,
                    ev.f,
                    ev.key,
                    _asked(ev),
                    ev.value if done else None,
                    ev.type,
                    -1,
                    pos if done else None,
                    ev.time,
                    ev.time,
                    ev.index,
                    ev.index,
                    ev.line,
                    ev.node,
                    ev.error,
                )  # fmt: skip
            )
            continue
        asked = _asked(ev)
        i = next((i for i, o in enumerate(waiting) if o.f == ev.f and o.value == asked), 0)
        _complete(waiting.pop(i), ev, pos, file)
    return ops


def _asked(ev: Event) -> Any:
    """What the invoke of a completion asked for: its value, a txn's reads not done."""
    v = ev.value
    if ev.f != "txn" or type(v) is not list:
        return v
    return [[m[0], m[1], None] if type(m) is list and m and m[0] == "r" else m for m in v]


# --- JSONL -------------------------------------------------------------------------


def _fail(file: str, line: int, msg: str) -> HistoryError:
    return HistoryError(file, line, msg)


_TYPESET = frozenset(TYPES)


# --- transactions (docs/DESIGN.md "History": f "txn") ----------------------------------

TXN_FUNCTIONS = ("append", "r", "w")
_SCALARS = frozenset((int, str))  # what a micro-op writes and a read lists (not bool)


def txn_problem(value: Any, typ: str) -> str | None:
    """What is wrong with a txn event's value, or None: a list of micro-ops [f, key, v],
    f append | r | w, key a string or an integer; appended and written values integers
    or strings; a read's v null on an invoke (nothing read yet), else null, a list of
    integers or strings (list-append) or one of them (w). A fail or info completion may
    carry null: it says nothing the invoke did not."""
    if type(value) is not list:
        if value is None and typ in ("fail", "info"):
            return None
        return (
            f'expected "value" of a txn to be a list of micro-ops [f, key, v], got {_brief(value)}'
        )
    for i, mop in enumerate(value):
        expected = f"micro-op {i}: expected"
        if type(mop) is not list or len(mop) != 3:
            return f"{expected} [f, key, v], got {_brief(mop)}"
        f, k, v = mop
        # a tuple: a composite key, as Jepsen's EDN writes them ([:anti 3]; edn.py)
        if type(k) is not str and type(k) is not int and type(k) is not tuple:
            return f"{expected} the key to be a string or an integer, got {_brief(k)}"
        if f == "r":
            if v is None:
                continue
            if typ == "invoke":
                return f"{expected} a read's value to be null on an invoke, got {_brief(v)}"
            if type(v) is list:
                if not _SCALARS.issuperset(map(type, v)):
                    return (
                        f"{expected} the elements read to be integers or strings, got {_brief(v)}"
                    )
            elif type(v) is not int and type(v) is not str:
                return f"{expected} a read's value to be null, a list or a scalar, got {_brief(v)}"
        elif f == "append" or f == "w":
            if type(v) is not int and type(v) is not str:
                return f"{expected} {f}'s value to be an integer or a string, got {_brief(v)}"
        else:
            return f'{expected} f to be "append", "r" or "w", got {_brief(f)}'
    return None


def _brief(v: Any) -> str:
    text = json.dumps(v, default=repr)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_jsonl_line(text: str, file: str, lineno: int, expected_index: int) -> Event:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise _fail(file, lineno, f"not valid JSON ({e.msg}); expected one JSON object") from None
    return _event_from(obj, file, lineno, expected_index)


def _event_from(obj: Any, file: str, lineno: int, expected_index: int) -> Event:
    # the fast path: a well-formed line; anything odd goes through the checks below,
    # which say what was expected
    if type(obj) is dict:
        get = obj.get
        index, time, process, typ, f = (
            get("index"), get("time"), get("process"), get("type"), get("f"),
        )  # fmt: skip
        key, node, error = get("key"), get("node"), get("error")
        if (
            index == expected_index
            and type(index) is int
            and type(time) is int
            and time >= 0
            and (type(process) is int or process == NEMESIS)
            and typ in _TYPESET
            and type(f) is str
            and f
            and (key is None or type(key) is str or type(key) is int)
            and (node is None or type(node) is str)
            and (error is None or typ != "invoke" or process == NEMESIS)
        ):
            value = get("value")
            if f == "txn" and (problem := txn_problem(value, typ)) is not None:
                raise _fail(file, lineno, problem)
            return Event(index, time, process, typ, f, value, key, node, error, lineno)
    return _checked_event(obj, file, lineno, expected_index)


def _checked_event(obj: Any, file: str, lineno: int, expected_index: int) -> Event:
    if not isinstance(obj, dict):
        raise _fail(file, lineno, f"expected a JSON object, got {type(obj).__name__}")
    index = obj.get("index")
    if type(index) is not int:
        raise _fail(file, lineno, f'expected "index" to be an integer, got {index!r}')
    if index != expected_index:
        raise _fail(file, lineno, f'expected "index" {expected_index} (file order), got {index}')
    time = obj.get("time")
    if type(time) is not int or time < 0:
        raise _fail(file, lineno, f'expected "time" to be a non-negative integer, got {time!r}')
    process = obj.get("process")
    if not (type(process) is int or process == NEMESIS):
        raise _fail(
            file, lineno, f'expected "process" to be an integer or "nemesis", got {process!r}'
        )
    typ = obj.get("type")
    if typ not in TYPES:
        raise _fail(file, lineno, f'expected "type" to be one of {", ".join(TYPES)}, got {typ!r}')
    f = obj.get("f")
    if not isinstance(f, str) or not f:
        raise _fail(file, lineno, f'expected "f" to be a non-empty string, got {f!r}')
    key = obj.get("key")
    if key is not None and not isinstance(key, str | int):
        raise _fail(file, lineno, f'expected "key" to be a string or an integer, got {key!r}')
    node = obj.get("node")
    if node is not None and not isinstance(node, str):
        raise _fail(file, lineno, f'expected "node" to be a string, got {node!r}')
    if process != NEMESIS and typ == "invoke" and obj.get("error") is not None:
        raise _fail(file, lineno, 'an invoke cannot carry "error"')
    if f == "txn" and (problem := txn_problem(obj.get("value"), typ)) is not None:
        raise _fail(file, lineno, problem)
    return Event(
        index=index,
        time=time,
        process=process,
        type=typ,
        f=f,
        value=obj.get("value"),
        key=key,
        node=node,
        error=obj.get("error"),
        line=lineno,
    )


def read_jsonl(path: str, text: str | None = None) -> History:
    """Read a DESIGN-format history. A truncated last line (no newline, not JSON) is
    reported as a warning, not an error: a run that died mid-write leaves one."""
    if text is None:
        text = _read_text(path)
    warnings: list[str] = []
    lines = text.split("\n")
    last = len(lines)
    numbered = [(n, raw) for n, raw in enumerate(lines, start=1) if raw.strip()]
    if numbered and numbered[-1][0] == last and not text.endswith("\n"):
        try:
            json.loads(numbered[-1][1])
        except json.JSONDecodeError:
            warnings.append(f"{path}:{last}: ignored a truncated last line")
            numbered.pop()
    # Parse all lines in one call (several times faster than line by line); on any
    # trouble, go line by line, which says where and what was expected.
    objs = None
    if all("\n" not in raw and raw.lstrip().startswith("{") for _, raw in numbered[:1]):
        try:
            objs = json.loads("[" + ",".join(raw for _, raw in numbered) + "]")
        except json.JSONDecodeError:
            objs = None
    if objs is None or len(objs) != len(numbered):
        events = [parse_jsonl_line(raw.strip(), path, n, i) for i, (n, raw) in enumerate(numbered)]
    else:
        events = [
            _event_from(obj, path, n, i)
            for i, (obj, (n, _)) in enumerate(zip(objs, numbered, strict=True))
        ]
    return History(path, "jsonl", events, warnings)


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except UnicodeDecodeError as e:
        raise HistoryError(path, None, f"not UTF-8 text ({e.reason})") from None
    except OSError as e:
        raise HistoryError(path, None, f"cannot read: {e.strerror or e}") from None


def write_jsonl(events: Iterable[Event], path: str) -> None:
    """Write events in the DESIGN format (used by tests and benchmarks)."""
    with open(path, "w", encoding="utf-8") as fh:
        for ev in events:
            fh.write(json.dumps(event_to_dict(ev)) + "\n")


def event_to_dict(ev: Event) -> dict[str, Any]:
    d: dict[str, Any] = {
        "index": ev.index,
        "time": ev.time,
        "process": ev.process,
        "type": ev.type,
        "f": ev.f,
    }
    if ev.key is not None:
        d["key"] = ev.key
    d["value"] = ev.value
    if ev.node is not None:
        d["node"] = ev.node
    if ev.error is not None:
        d["error"] = ev.error
    return d
