"""EDN as Jepsen and Knossos write histories: the op maps of a file, each with its line.

A history file holds op maps either one after another (Jepsen's store, one a line) or
inside one vector or list spanning the file (Knossos's test data, pretty-printed maps
over several lines), with `;` comments anywhere. `read_forms` finds each op-level form
and the line it starts on (the library gives no positions), and reads it:

- Op maps of the shape nearly every op of a big history has (keyword keys; nil,
  booleans, integers, keywords, strings without escapes, vectors of those; optionally
  tagged `#jepsen.history.Op`) are recognised by one regex each, and then all turned
  into one JSON text for the C JSON parser. `edn_format` builds its parser on every call
  and takes ~200 us an op even in a batch (and ~90 ms to import): a 100,000-op history
  (200,000 events) would take most of a minute through it.
- Everything else (sets, lists, maps as values, escapes, floats, symbols, characters,
  other tags, comments inside a map, ...) goes to `edn_format`, the reference reader.
  The fast path accepts only what it reads exactly as `edn_format` does (a test checks
  that); anything it is unsure of falls through.

Values come back plain, as JSON would give them: keywords and symbols as their names
(`:read` -> "read"), nil as None, vectors, lists and sets as lists, maps as dicts. A
tagged value is its value without the tag (`#jepsen.history.Op{...}` -> the map,
`#inst "2020-..."` -> the string).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from checkers.history import HistoryError

OP_EXAMPLE = "{:type :invoke, :f :read, :value nil, :process 0}"

# --- framing -----------------------------------------------------------------------

_SKIP = re.compile(r"(?:[\s,]+|;[^\n]*)*")  # whitespace (commas are whitespace) and comments
# One token of a form: enough to find where the form ends, never to read it.
_SCAN = re.compile(
    r"""
      (?P<ws>[\s,]+)
    | (?P<comment>;[^\n]*)
    | (?P<str>"(?:[^"\\]|\\.)*")
    | (?P<openstr>".*)
    | (?P<char>\\(?:newline|return|space|tab|u[0-9A-Fa-f]{4}|.))
    | (?P<open>\#?[\[({])
    | (?P<close>[\])}])
    | (?P<discard>\#_|\^)
    | (?P<tag>\#:?[A-Za-z][^\s,\[\](){}";\\]*)
    | (?P<atom>[^\s,\[\](){}";\\]+)
    | (?P<bad>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_CLOSER = {"[": "]", "(": ")", "{": "}"}


class _Framer:
    """Walks a file's top level: op forms, or one collection whose elements are ops."""

    def __init__(self, path: str, text: str):
        self.path = path
        self.text = text
        self._line = 1  # the line number at offset `_seen`
        self._seen = 0

    def line_at(self, pos: int) -> int:
        # counted in C from the last position asked for: one call per op
        if pos < self._seen:  # an error about an earlier place
            return self.text.count("\n", 0, pos) + 1
        self._line += self.text.count("\n", self._seen, pos)
        self._seen = pos
        return self._line

    def error(self, pos: int, message: str) -> HistoryError:
        return HistoryError(self.path, self.line_at(pos), message)

    def form_end(self, pos: int) -> int:
        """The end of the form starting at `pos` (brackets balanced, a tag with its
        value, `#_` with what it discards)."""
        text, n = self.text, len(self.text)
        closers: list[tuple[str, int]] = []  # (expected closer, where its opener is)
        need = 1  # complete forms still to come at depth 0
        p = pos
        while p < n:
            m = _SCAN.match(text, p)
            assert m is not None  # `bad` matches any character
            kind, start, p = m.lastgroup, p, m.end()
            if kind in ("ws", "comment", "tag"):
                continue  # a tag belongs to the form after it
            if kind == "discard":
                need += not closers  # `#_ x` and `^meta x` need one form more
                continue
            if kind == "open":
                closers.append((_CLOSER[m.group()[-1]], start))
                continue
            if kind == "close":
                if not closers:
                    raise self.error(pos, f"unexpected {m.group()!r} before a complete form")
                want, opened = closers.pop()
                if m.group() != want:
                    where = _where(text, pos, start)
                    raise self.error(
                        pos, f"{m.group()!r}{where} closes {text[opened]!r}: expected {want!r}"
                    )
                if closers:
                    continue
            elif kind == "openstr":
                raise self.error(pos, "unterminated string: expected a closing '\"'")
            elif closers:
                continue
            need -= 1
            if need == 0:
                return p
        if closers:
            want, opened = closers[-1]
            where = _where(text, pos, opened)
            raise self.error(
                pos, f"unterminated {text[opened]!r}{where}: expected {want!r} to close it"
            )
        raise self.error(pos, "expected a value after the tag at the end of the file")


def _where(text: str, form_start: int, pos: int) -> str:
    """' at line N' when `pos` is on a later line than the form's start."""
    extra = text.count("\n", form_start, pos)
    if not extra:
        return ""
    return f" at line {text.count(chr(10), 0, pos) + 1}"


def read_forms(path: str, text: str) -> list[tuple[int, Any]]:
    """The op-level forms of an EDN history file, as (line, plain value).

    Raises HistoryError naming the line where the offending form starts."""
    fr = _Framer(path, text)
    lines: list[int] = []
    fast_at: list[int] = []  # positions in `lines` of the fast path's op maps
    bodies: list[str] = []  # ... and their bodies, read together at the end
    slow: list[tuple[int, int, str]] = []  # (position, line, text) for edn_format
    closer = ""  # the whole-file collection's closing bracket, once one opened
    opened = closed = 0  # where it opened; whether it closed
    pos, n = 0, len(text)
    skip, fast = _SKIP.match, _FAST_OP.match
    while True:
        pos = skip(text, pos).end()  # type: ignore[union-attr]
        if pos >= n:
            break
        if closed:
            raise fr.error(pos, f"expected nothing after the history's closing {closer!r}")
        m = fast(text, pos)
        if m is not None:
            fast_at.append(len(lines))
            bodies.append(m.group("body"))
            lines.append(fr.line_at(pos))
            pos = m.end()
            continue
        c = text[pos]
        if c in "[(" and not closer and not lines:
            closer, opened = _CLOSER[c], pos  # Knossos: the history is one collection
            pos += 1
            continue
        if c == closer:
            closed = 1
            pos += 1
            continue
        if c in "])}":
            raise fr.error(pos, f"unexpected {c!r}; expected an op map like {OP_EXAMPLE}")
        if text.startswith("#_", pos):
            pos = fr.form_end(pos + 2)  # a discarded op
            continue
        end = fr.form_end(pos)
        slow.append((len(lines), fr.line_at(pos), text[pos:end]))
        lines.append(slow[-1][1])
        pos = end
    if closer and not closed:
        raise fr.error(opened, f"expected {closer!r} to close the history opened here")
    values: list[Any] = [None] * len(lines)
    for i, v in zip(fast_at, _fast_maps(bodies), strict=True):
        values[i] = v
    if slow:
        for (i, _, _), v in zip(slow, _read_slow(path, slow), strict=True):
            values[i] = v
    return list(zip(lines, values, strict=True))


# --- the fast path -----------------------------------------------------------------

# An atom the fast path reads exactly as edn_format does, followed by a delimiter.
_ATOM = (
    r'(?:nil|true|false|-?(?:0|[1-9][0-9]*)|:[\w*+!?<>=.\-]+(?:/[\w*+!?<>=.\-]+)?|"[^"\\\x01\x02]*")'
    r"(?=[ \t\r\n,\]}])"
)
_VEC1 = rf"\[[ \t\r\n,]*(?:{_ATOM}[ \t\r\n,]*)*\]"
_VEC2 = rf"\[[ \t\r\n,]*(?:(?:{_ATOM}|{_VEC1})[ \t\r\n,]*)*\]"
# [k [[:read :x 1] ...]] (an independent txn) is three deep
_VEC3 = rf"\[[ \t\r\n,]*(?:(?:{_ATOM}|{_VEC2})[ \t\r\n,]*)*\]"
_FAST_OP = re.compile(
    rf"(?:\#jepsen\.history\.Op)?\{{(?P<body>[ \t\r\n,]*"
    rf"(?::[\w*+!?<>=.\-]+[ \t\r\n,]+(?:{_ATOM}|{_VEC3})[ \t\r\n,]*)*)\}}"
)
# The fast path's op-map bodies become one JSON text, so that the C JSON parser reads
# them all: strings set aside (they have no escapes, and no \x01 or \x02), EDN's
# separators made JSON's, nil made null, keywords quoted. A body turns into the list of
# its keys and values. String methods, not regex substitutions: those cost ~0.3 us a
# match, and a template (r'"\1"') a Python call a match on Python 3.11.
_SEP, _STR = "\x01", "\x02"
_STRING = re.compile(r'("[^"]*")')
_KEYWORD = re.compile(r"(:[^,\[\]\x01]+)")
# After a separator, the only token of the fast path that starts with "nil" is nil.
_NIL = ((",nil", ",null"), ("[nil", "[null"), (_SEP + "nil", _SEP + "null"))
_EDGES = (("[,", "["), (",]", "]"), (_SEP + ",", _SEP), ("," + _SEP, _SEP))


def _fast_maps(bodies: list[str]) -> list[dict[str, Any]]:
    if not bodies:
        return []
    s = _SEP.join(bodies)
    strings: list[str] = []
    if '"' in s:
        parts = _STRING.split(s)  # text, string, text, ...
        strings = parts[1::2]
        s = _STR.join(parts[::2])
    # EDN's commas are whitespace; between a fast body's tokens there is no other kind
    # than spaces, tabs, CR and LF, all of which str.split() splits at
    s = ",".join(s.replace(",", " ").split())
    for old, new in (*_EDGES, *_NIL):
        s = s.replace(old, new)
    parts = _KEYWORD.split(s)  # text, keyword, text, ...: the same few keywords recur
    quoted = {k: f'"{k[1:]}"' for k in set(parts[1::2])}
    parts[1::2] = map(quoted.__getitem__, parts[1::2])
    s = "".join(parts)
    if strings:
        parts = [""] * (2 * len(strings) + 1)
        parts[::2] = s.split(_STR)
        parts[1::2] = strings
        s = "".join(parts)
    rows = json.loads("[[" + s.replace(_SEP, "],[") + "]]", strict=False)
    # keys and values alternate (the regex saw to it)
    return [dict(zip(r[::2], r[1::2], strict=True)) for r in rows]


# --- edn_format --------------------------------------------------------------------

# Tags, outside strings, comments and characters: dropped, so that a tagged value reads
# as its value (edn_format refuses tags nobody registered, and registering is global).
# And CR: whitespace to Clojure's reader (CRLF files), not to edn_format's lexer.
_TAGS = re.compile(
    r'("(?:[^"\\]|\\.)*")|(;[^\n]*)|(\\.)|(?<!\#)\#(?![_{#:])[A-Za-z][\w.*+!\-?$%&=:#<>@/]*|\r',
    re.DOTALL,
)


def _untag(text: str) -> str:
    if "#" not in text and "\r" not in text:
        return text
    # same length, so that the library's positions stay right
    return _TAGS.sub(lambda m: m.group() if m.lastindex else " " * len(m.group()), text)


def _read_slow(path: str, forms: list[tuple[int, int, str]]) -> list[Any]:
    """Read forms with edn_format: all in one call (it builds its parser per call), and
    only on trouble one by one, to say which."""
    import edn_format  # ~90 ms: only when a file needs it

    texts = [_untag(t) for _, _, t in forms]
    try:
        values = edn_format.loads_all("\n".join(texts))
    except (ValueError, ArithmeticError):  # EDNDecodeError is a ValueError
        values = None
    if values is not None and len(values) == len(texts):
        return [plain(v) for v in values]
    return [_read_one(path, line, t) for (_, line, _), t in zip(forms, texts, strict=True)]


def _read_one(path: str, line: int, text: str, what: str = f"one op map like {OP_EXAMPLE}") -> Any:
    import edn_format

    try:
        values = edn_format.loads_all(text)
    except (ValueError, ArithmeticError) as e:
        raise HistoryError(path, line, f"cannot read EDN ({_describe(e, text, line)})") from None
    if len(values) != 1:
        raise HistoryError(path, line, f"expected {what}, found {len(values)} values")
    return plain(values[0])


def _describe(e: Exception, text: str, line: int) -> str:
    """edn_format's error, in words: its parse errors carry the offending token."""
    tok = e.args[0] if e.args else None
    pos = getattr(tok, "lexpos", None)
    if pos is None:
        msg = str(tok) if tok is not None else type(e).__name__
        return "it ends too early" if msg == "EOF Reached" else msg
    at = line + text.count("\n", 0, pos)
    return f"unexpected {getattr(tok, 'value', tok)!r} at line {at}"


def plain(v: Any) -> Any:
    """An edn_format value as a JSON-like one (see the module's docstring)."""
    import edn_format as edn

    if v is None or type(v) in (bool, int, float, str):
        return v
    if isinstance(v, edn.Keyword | edn.Symbol):
        return v.name
    if isinstance(v, str):  # a character
        return str(v)
    if isinstance(v, Mapping):
        return {_hashable(plain(k)): plain(x) for k, x in v.items()}
    if isinstance(v, Sequence):  # vectors, lists
        return [plain(x) for x in v]
    if isinstance(v, AbstractSet):
        items = [plain(x) for x in v]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=repr)  # mixed types: some stable order
    if isinstance(v, edn.MetadataValue):
        return plain(v.value)
    try:
        return float(v)  # Decimal (1.5M), Fraction (1/2)
    except (TypeError, ValueError):
        return str(v)


def _hashable(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(_hashable(x) for x in v)
    if isinstance(v, dict):
        return tuple((k, _hashable(x)) for k, x in v.items())
    return v


def parse_edn(text: str) -> Any:
    """One EDN value, plain (tags dropped). Raises ValueError (a HistoryError) when
    `text` is not exactly one value."""
    return _read_one("<edn>", 1, _untag(text), "one EDN value")
