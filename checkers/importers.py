"""Readers for histories written by other tools, and format sniffing.

- `jepsen-edn`: Jepsen's history.edn, one op map a line
  (`{:type :invoke, :f :read, :value nil, :process 0, :time 123, :index 0}`);
  an optional `:key` names the register. The process `:nemesis` marks fault events.
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

FORMATS = ("jsonl", "jepsen-edn", "porcupine-etcd", "porcupine-kv")
DEFAULT_MODEL = {
    "jsonl": "cas-register",
    "jepsen-edn": "cas-register",
    "porcupine-etcd": "cas-register",
    "porcupine-kv": "kv",
}
KV_FUNCTIONS = {"get", "put", "append"}


# --- a small EDN reader (the subset histories use) ---------------------------------


class Keyword(str):
    """An EDN keyword, kept as its name (":read" -> Keyword("read"))."""


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<open>[\[({]|\#\{)
    | (?P<close>[\])}])
    | "(?P<str>(?:[^"\\]|\\.)*)"
    | :(?P<kw>[^\s,\[\](){}"]+)
    | (?P<num>[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)N?M?(?![^\s,\[\](){}])
    | (?P<sym>[^\s,\[\](){}"]+)
    )[\s,]*""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


class EdnError(ValueError):
    pass


def parse_edn(text: str) -> Any:
    """Parse one EDN value (maps, vectors, lists, sets, strings, numbers, keywords,
    nil/true/false, symbols as strings)."""
    pos = 0
    text = text.strip()
    stack: list[tuple[str, list[Any]]] = []
    result: list[Any] = []
    n = len(text)
    while pos < n:
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise EdnError(f"cannot read EDN at column {pos + 1}")
        pos = m.end()
        kind = m.lastgroup
        if kind == "open":
            stack.append((m.group("open"), []))
            continue
        if kind == "close":
            if not stack:
                raise EdnError(f"unbalanced {m.group('close')!r}")
            opener, items = stack.pop()
            closer = m.group("close")
            if {"[": "]", "(": ")", "{": "}", "#{": "}"}[opener] != closer:
                raise EdnError(f"{opener!r} closed by {closer!r}")
            if opener == "{":
                if len(items) % 2:
                    raise EdnError("a map needs an even number of forms")
                value: Any = {items[i]: items[i + 1] for i in range(0, len(items), 2)}
            else:
                value = items
        elif kind == "str":
            s = m.group("str")
            value = re.sub(r"\\(.)", lambda e: _ESCAPES.get(e.group(1), e.group(1)), s)
        elif kind == "kw":
            value = Keyword(m.group("kw"))
        elif kind == "num":
            t = m.group("num")
            value = float(t) if ("." in t or "e" in t or "E" in t) else int(t)
        else:
            t = m.group("sym")
            value = {"nil": None, "true": True, "false": False}.get(t, t)
        if stack:
            stack[-1][1].append(value)
        else:
            result.append(value)
    if stack:
        raise EdnError("unterminated collection")
    if len(result) != 1:
        raise EdnError(f"expected one form, found {len(result)}")
    return result[0]


def _plain(value: Any) -> Any:
    """EDN values as JSON-like ones: keywords lose their colon, lists stay lists."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Keyword):
        return str(value)
    return value


# Porcupine's kv lines, the common case, read without the general parser.
_KV_LINE = re.compile(
    r'\{:process (\d+), :type :(\w+), :f :(\w+), :key "((?:[^"\\])*)", '
    r':value (?:nil|"((?:[^"\\])*)")\}$'
)


def read_edn(path: str, text: str | None = None, fmt: str = "jepsen-edn") -> History:
    if text is None:
        text = _read_text(path)
    events: list[Event] = []
    for lineno, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        m = _KV_LINE.match(line)
        if m:
            typ = m.group(2)
            if typ not in TYPES:
                raise HistoryError(path, lineno, f"expected :type one of :{', :'.join(TYPES)}")
            value = m.group(5)
            if value is None and ':value "' in line:
                value = ""
            events.append(
                Event(
                    len(events),
                    lineno,
                    int(m.group(1)),
                    typ,
                    m.group(3),
                    value,
                    m.group(4),
                    line=lineno,
                )
            )
            continue
        events.append(_edn_event(line, path, lineno, len(events)))
    return History(path, fmt, events)


def _edn_event(line: str, path: str, lineno: int, index: int) -> Event:
    try:
        obj = parse_edn(line)
    except EdnError as e:
        raise HistoryError(path, lineno, f"{e}; expected one EDN op map a line") from None
    if not isinstance(obj, dict):
        raise HistoryError(path, lineno, "expected an EDN map like {:type :invoke, :f :read ...}")
    get = obj.get
    typ = get(Keyword("type"))
    if typ not in TYPES:
        raise HistoryError(
            path, lineno, f"expected :type one of :{', :'.join(TYPES)}, got {_show(typ)}"
        )
    process = get(Keyword("process"))
    if process == Keyword("nemesis") or process == "nemesis":
        process = NEMESIS
    elif type(process) is not int:
        raise HistoryError(
            path, lineno, f"expected :process to be an integer or :nemesis, got {_show(process)}"
        )
    f = get(Keyword("f"))
    if not isinstance(f, str):
        raise HistoryError(path, lineno, f"expected :f to be a keyword, got {_show(f)}")
    t = get(Keyword("time"))
    if t is not None and type(t) is not int:
        raise HistoryError(path, lineno, f"expected :time to be an integer, got {_show(t)}")
    key = get(Keyword("key"))
    if key is not None:
        key = _plain(key)
        if not isinstance(key, str | int):
            raise HistoryError(
                path, lineno, f"expected :key to be a string or an integer, got {key!r}"
            )
    error = get(Keyword("error"))
    return Event(
        index=index,
        time=lineno if t is None else t,
        process=process,
        type=str(typ),
        f=str(f),
        value=_plain(get(Keyword("value"))),
        key=key,
        node=None,
        error=_plain(error),
        line=lineno,
    )


def _show(v: Any) -> str:
    if v is None:
        return "nothing"
    if isinstance(v, Keyword):
        return ":" + v
    return repr(v)


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


def sniff(text: str) -> str:
    """Guess the format from the first non-blank line."""
    for raw in text.split("\n"):
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith("INFO") and "jepsen.util" in line:
            return "porcupine-etcd"
        if line.startswith("{:") or line.startswith("{ :"):
            m = re.search(r":f\s+:(\w+)", line)
            if m and m.group(1) in KV_FUNCTIONS:
                return "porcupine-kv"
            return "jepsen-edn"
        if line.startswith("{"):
            return "jsonl"
        return "unknown"
    return "jsonl"  # empty: any reader gives an empty history


def read_history(path: str, fmt: str = "auto") -> History:
    """Read a history file in the given format ("auto" sniffs it)."""
    # hundreds of thousands of small objects, none cyclic: spare the garbage collector
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _read_history(path, fmt)
    finally:
        if was_enabled:
            gc.enable()


def _read_history(path: str, fmt: str) -> History:
    text = _read_text(path)
    if fmt == "auto":
        fmt = sniff(text)
        if fmt == "unknown":
            raise HistoryError(
                path,
                None,
                "cannot tell the format from the first line; expected JSON Lines, "
                "Jepsen EDN op maps, or Porcupine's etcd log lines (see --format)",
            )
    if fmt == "jsonl":
        return read_jsonl(path, text)
    if fmt in ("jepsen-edn", "porcupine-kv"):
        return read_edn(path, text, fmt)
    if fmt == "porcupine-etcd":
        return read_porcupine_etcd(path, text)
    raise ValueError(f"unknown format {fmt!r}; expected auto or one of {', '.join(FORMATS)}")


def default_model(history: History) -> str:
    """The model a history is checked against when none is given: kv when its
    operations are get/put/append, else by format."""
    for ev in history.events:
        if ev.process != NEMESIS:
            return "kv" if ev.f in KV_FUNCTIONS else DEFAULT_MODEL[history.format]
    return DEFAULT_MODEL[history.format]


def events_to_jsonl(events: list[Event]) -> str:
    from checkers.history import event_to_dict

    return "".join(json.dumps(event_to_dict(e)) + "\n" for e in events)
