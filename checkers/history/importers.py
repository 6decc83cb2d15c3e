"""Readers for histories written by other tools, and format sniffing.

- `jepsen-edn`: Jepsen's and Knossos's EDN: op maps
  (`{:type :invoke, :f :read, :value nil, :process 0, :time 123, :index 0}`), one a
  line (Jepsen's history.edn, also as `#jepsen.history.Op{...}` records) or all in one
  vector or list over many lines (Knossos's test data), `;` comments anywhere; an
  optional `:key` names the register. The process `:nemesis` marks fault events.
  Jepsen's `independent` histories ([key value] tuples) are unwrapped into keys.
- `porcupine-etcd`: Porcupine's etcd logs (`INFO  jepsen.util - 3  :ok  :cas  [1 4]`);
  a `:fail :cas` is a failed precondition, `:info` an unknown outcome.
- `porcupine-kv`: Porcupine's key-value EDN (`{:process 0, :type :invoke, :f :get,
  :key "1", :value nil}`), the same reader as jepsen-edn with the kv model by default.

Formats without times use the line number as the time (the order is what counts).
"""

from __future__ import annotations

import gc
import json
import re
from typing import Any

from checkers.history import (
    NEMESIS,
    TYPES,
    Event,
    History,
    HistoryError,
    _read_text,
    read_jsonl,
)
from checkers.history.edn import OP_EXAMPLE, read_forms
from checkers.history.edn import parse_edn as parse_edn  # re-exported: it used to live here

FORMATS = ("jsonl", "jepsen-edn", "porcupine-etcd", "porcupine-kv")
DEFAULT_MODEL = {
    "jsonl": "cas-register",
    "jepsen-edn": "cas-register",
    "porcupine-etcd": "cas-register",
    "porcupine-kv": "kv",
}
KV_FUNCTIONS = {"get", "put", "append"}
MUTEX_FUNCTIONS = {"acquire", "release"}


# --- Jepsen's and Knossos's EDN (checkers/history/edn.py reads the EDN) ----------------------


def read_edn(
    path: str, text: str | None = None, fmt: str = "jepsen-edn", independent: bool | None = None
) -> History:
    """Op maps, one a line or all in one vector or list, as events. `independent`: unwrap
    Jepsen's [key value] tuples (True), never (False), or when the history looks like
    one (None: see `looks_independent`)."""
    if text is None:
        text = _read_text(path)
    events = _porcupine_kv(text) if fmt == "porcupine-kv" else None
    if events is None:
        forms = read_forms(path, text)
        events = [_edn_event(obj, path, line, i) for i, (line, obj) in enumerate(forms)]
        _infer_fs(events, path)
    if independent or (independent is None and looks_independent(events)):
        unwrap_independent(events, path)
    return History(path, fmt, events)


# Porcupine's kv lines, all alike, read by one regex each: ~4x faster than the general
# reader on its benchmark files. Any other line sends the file to the general reader.
_KV_LINE = re.compile(
    r'\{:process (\d+), :type :(invoke|ok|fail|info), :f :(\w+), :key "([^"\\]*)", '
    r':value (?:nil|"([^"\\]*)")\}$'
)


def _porcupine_kv(text: str) -> list[Event] | None:
    events: list[Event] = []
    match = _KV_LINE.match
    for lineno, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        m = match(line)
        if m is None:
            return None
        proc, typ, f, key, value = m.groups()
        events.append(Event(len(events), lineno, int(proc), typ, f, value, key, line=lineno))
    return events


def _edn_event(obj: Any, path: str, lineno: int, index: int) -> Event:
    if type(obj) is not dict:
        raise HistoryError(path, lineno, f"expected an op map like {OP_EXAMPLE}, got {_show(obj)}")
    get = obj.get
    typ = get("type")
    if typ not in TYPES:
        raise HistoryError(
            path, lineno, f"expected :type one of :{', :'.join(TYPES)}, got {_show(typ)}"
        )
    process = get("process")
    # Elle's own test histories leave :process out: an anonymous client (pairing)
    if type(process) is not int and process != NEMESIS and process is not None:
        raise HistoryError(
            path, lineno, f"expected :process to be an integer or :nemesis, got {_show(process)}"
        )
    f = get("f")
    value = get("value")
    if f is None and _micro_ops(value):
        f = "txn"  # Elle's histories leave :f out of txns too
    if f is not None and type(f) is not str:
        raise HistoryError(path, lineno, f"expected :f to be a keyword, got {_show(f)}")
    if f == "txn" and type(value) is list:
        value = [_mop(m, typ == "invoke") for m in value]
    t = get("time")
    if t is not None and type(t) is not int:
        raise HistoryError(path, lineno, f"expected :time to be an integer, got {_show(t)}")
    key = get("key")
    if key is not None and type(key) is not str and type(key) is not int:
        raise HistoryError(
            path, lineno, f"expected :key to be a string or an integer, got {_show(key)}"
        )
    time = lineno if t is None else t
    return Event(index, time, process, typ, f, value, key, None, get("error"), lineno)  # type: ignore[arg-type]


_MOP_FS = ("r", "w", "append")


def _micro_ops(value: Any) -> bool:
    """A txn's value as Elle writes it: a non-empty list of [f k v] (or [:r k])."""
    return (
        type(value) is list
        and bool(value)
        and all(type(m) is list and 2 <= len(m) <= 3 and m[0] in _MOP_FS for m in value)
    )


def _mop(m: Any, invoke: bool) -> Any:
    """A micro-op as the checkers take it: a read written [:r k] gets its nil, as does
    a read on an invoke (what it will see is not known yet; Elle ignores it), and a
    composite key ([:anti 3], a vector) becomes a tuple, hashable like Elle's keys."""
    if type(m) is not list:
        return m
    if m and m[0] == "r" and (len(m) == 2 or (invoke and len(m) == 3)):
        m = [m[0], m[1], None]
    if len(m) == 3 and type(m[1]) is list:
        m = [m[0], _frozen(m[1]), m[2]]
    return m


def _frozen(v: Any) -> Any:
    return tuple(_frozen(x) for x in v) if type(v) is list else v


def _infer_fs(events: list[Event], path: str) -> None:
    """An op without :f whose value did not show it is a txn (a fail or info completion
    with nil) takes its invoke's f; anything else without :f is bad input."""
    open_f: dict[Any, str] = {}
    for ev in events:
        if ev.f is None and ev.type != "invoke" and ev.process in open_f:
            ev.f = open_f[ev.process]
        if ev.f is None:
            raise HistoryError(
                path,
                ev.line,
                "expected :f to be a keyword (it may be left out only for a txn, whose "
                ":value is a list of micro-ops like [[:r :x nil] [:w :y 1]])",
            )
        if ev.type == "invoke":
            open_f[ev.process] = ev.f
        else:
            open_f.pop(ev.process, None)


def _show(v: Any) -> str:
    if v is None:
        return "nothing"
    return json.dumps(v, default=repr)


# Jepsen's `independent` runs one register (or mutex...) per key and writes each op's
# value as a [key value] tuple: {:f :write, :value [3 5]} is key 3, value 5; a cas is
# [3 [1 2]]. A plain register's cas [1 2] is a pair too, so the rule is stricter than
# "every value is a pair" (docs/DESIGN.md, "raftquake check").


def _pair(v: Any) -> bool:
    return type(v) is list and len(v) == 2


def _tuple_key(v: Any) -> bool:
    return _pair(v) and (type(v[0]) is str or type(v[0]) is int)


def looks_independent(events: list[Event]) -> bool:
    """True when the history has client operations and every one is a [key value] tuple:
    every invoke's value is a pair whose first element is a string or an integer; every
    ok completion's value is a pair with the same key as its invoke (a fail or info
    completion may carry nil); no event has a :key of its own; and every cas value's
    second element is itself a pair ([k [old new]]). A plain register history fails this
    as soon as it has a read (invoked with nil) or a cas (whose new value is no pair)."""
    open_keys: dict[Any, Any] = {}
    seen = False
    for ev in events:
        if ev.process == NEMESIS:
            continue
        v = ev.value
        if ev.key is not None:
            return False
        if ev.type == "invoke":
            if not _tuple_key(v) or (ev.f == "cas" and not _pair(v[1])):
                return False
            open_keys[ev.process] = v[0]
            seen = True
            continue
        key = open_keys.pop(ev.process, None)
        if v is None and ev.type != "ok":
            continue
        if not _pair(v) or v[0] != key or (ev.f == "cas" and not _pair(v[1])):
            return False
    return seen


def unwrap_independent(events: list[Event], path: str) -> None:
    """[key value] tuples into `key` and `value`, in place; a fail or info completion
    without a value takes its key from its invoke (pairing does)."""
    for ev in events:
        if ev.process == NEMESIS:
            continue
        v = ev.value
        if v is None and ev.type in ("fail", "info"):
            continue
        if not _tuple_key(v):
            raise HistoryError(
                path,
                ev.line,
                f"expected an independent [key value] tuple (key a string or an integer), "
                f"got {_show(v)}",
            )
        if ev.key is not None:
            raise HistoryError(path, ev.line, "expected no :key in an independent history")
        ev.key, ev.value = v


# --- Porcupine's etcd logs ---------------------------------------------------------

_ETCD_LINE = re.compile(
    r"INFO\s+jepsen\.util\s+-\s+(\d+)\s+:(invoke|ok|fail|info)\s+:(read|write|cas)\s+(.*?)\s*$"
)
_ETCD_CAS = re.compile(r"\[\s*(\S+)\s+(\S+)\s*\]$")


def _etcd_atom(tok: str) -> Any:
    if tok == "nil":
        return None
    try:
        return int(tok)
    except ValueError:
        return tok


def read_porcupine_etcd(path: str, text: str | None = None) -> History:
    if text is None:
        text = _read_text(path)
    events: list[Event] = []
    for lineno, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        m = _ETCD_LINE.match(raw)
        if not m:
            raise HistoryError(
                path,
                lineno,
                "expected 'INFO  jepsen.util - <process> :invoke|:ok|:fail|:info "
                ":read|:write|:cas <value>'",
            )
        proc, typ, f, raw_value = m.groups()
        error = None
        if raw_value == ":timed-out":
            value: Any = None
        elif f == "cas":
            cm = _ETCD_CAS.match(raw_value)
            if not cm:
                raise HistoryError(
                    path, lineno, f"expected a cas value [from to], got {raw_value!r}"
                )
            value = [_etcd_atom(cm.group(1)), _etcd_atom(cm.group(2))]
        else:
            value = _etcd_atom(raw_value)
        if typ == "fail" and f == "cas":
            error = "precondition"  # in these logs a failed cas means the compare failed
        events.append(
            Event(len(events), lineno, int(proc), typ, f, value, None, None, error, lineno)
        )
    return History(path, "porcupine-etcd", events)


# --- sniffing ----------------------------------------------------------------------


_BLANK = re.compile(r"(?:[\s,]+|;[^\n]*)*")  # blank lines and ; comments (EDN's)
# An EDN op map, maybe tagged (#jepsen.history.Op{...}), maybe the first element of a
# whole-file vector or list (Knossos), whose opener may stand on a line of its own.
_EDN_OP_START = re.compile(r"(?:[\[(](?:[\s,]+|;[^\n]*)*)?(?:#[A-Za-z][\w.\-]*)?\{[\s,]*:")


def sniff(text: str) -> str:
    """Guess the format from the first form after blank lines and comments."""
    pos = _BLANK.match(text).end()  # type: ignore[union-attr]
    if pos == len(text):
        return "jsonl"  # empty: any reader gives an empty history
    end = text.find("\n", pos)
    line = text[pos : end if end != -1 else len(text)]
    if line.startswith("INFO") and "jepsen.util" in line:
        return "porcupine-etcd"
    m = _EDN_OP_START.match(text, pos)
    if m:
        op = text[m.end() : text.find("}", m.end())]  # the first op map, or near enough
        f = re.search(r":f[\s,]+:([\w\-]+)", ":" + op)
        return "porcupine-kv" if f and f.group(1) in KV_FUNCTIONS else "jepsen-edn"
    if line.startswith("{"):
        return "jsonl"
    return "unknown"


def read_history(path: str, fmt: str = "auto", independent: bool | None = None) -> History:
    """Read a history file in the given format ("auto" sniffs it). `independent`: for
    Jepsen EDN, whether values are [key value] tuples (None: when they look like it)."""
    # hundreds of thousands of small objects, none cyclic: spare the garbage collector
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _read_history(path, fmt, independent)
    finally:
        if was_enabled:
            gc.enable()


def _read_history(path: str, fmt: str, independent: bool | None) -> History:
    text = _read_text(path)
    if fmt == "auto":
        fmt = sniff(text)
        if fmt == "unknown":
            raise HistoryError(
                path,
                None,
                "cannot tell the format from the first line; expected JSON Lines, "
                "Jepsen EDN op maps (one a line, or in one vector), or Porcupine's etcd "
                "log lines (see --format)",
            )
    if fmt == "jsonl":
        return read_jsonl(path, text)
    if fmt in ("jepsen-edn", "porcupine-kv"):
        return read_edn(path, text, fmt, independent)
    if fmt == "porcupine-etcd":
        return read_porcupine_etcd(path, text)
    raise ValueError(f"unknown format {fmt!r}; expected auto or one of {', '.join(FORMATS)}")


def default_model(history: History) -> str:
    """The model a history is checked against when none is given, from its first
    operation: kv for get/put/append, mutex for acquire/release, multi-register for a
    txn of Knossos's :read/:write micro-ops; else by format."""
    for ev in history.events:
        if ev.process != NEMESIS:
            if ev.f in KV_FUNCTIONS:
                return "kv"
            if ev.f in MUTEX_FUNCTIONS:
                return "mutex"
            if ev.f == "txn" and _knossos_txn(ev.value):
                return "multi-register"
            return DEFAULT_MODEL[history.format]
    return DEFAULT_MODEL[history.format]


def _knossos_txn(value: Any) -> bool:
    # Knossos's multi-register spells micro-ops :read/:write; Elle's :r/:w/:append
    return type(value) is list and any(
        type(m) is list and m and m[0] in ("read", "write") for m in value
    )


def events_to_jsonl(events: list[Event]) -> str:
    from checkers.history import event_to_dict

    return "".join(json.dumps(event_to_dict(e)) + "\n" for e in events)
