"""What the reads tell: per-key indexes, version orders, and the anomalies found without
the dependency graph (Kingsbury and Alvaro, "Elle", sections 3, 4.3.1 and 6.1).

List-append keys are traceable: a read of [1, 2, 3] says the key went [], [1], [1, 2],
[1, 2, 3] in that order, and unique appended values say which txn wrote each version. So
every read must be a prefix of one order, the longest read's; reads that are not
(`incompatible-order`) show the database itself lost or reordered appends. Register keys
(`w`) keep no history: a read names its writer, and their version orders come from other
sources (registers.py: the initial state, writes following reads, and optionally each
key's sequential or linearizable order).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from checkers.elle.registers import DEFAULT_OPTIONS, RegisterOptions, Registers, infer
from checkers.elle.txns import Txn
from checkers.history import HistoryError

INIT = None  # the initial version of a key, as readers index it (elements are never null)
MAX_CASES = 8  # cases kept per anomaly (the count says how many there were)


class Uncheckable(Exception):
    """The history breaks an assumption the inference needs (unique written values)."""


@dataclass
class Case:
    """One anomaly found: its name, the txns involved, and the facts a person can check."""

    name: str
    txns: list[int]  # Txn ids
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class Index:
    txns: list[Txn]
    appended: set[Any] = field(default_factory=set)  # keys that are lists (append)
    writer: dict[Any, dict[Any, int]] = field(default_factory=dict)  # key -> value -> txn
    intermediate: dict[Any, dict[Any, int]] = field(default_factory=dict)  # overwritten by
    # the same txn: key -> value -> txn
    readers: dict[Any, dict[Any, list[int]]] = field(default_factory=dict)  # ok reads by the
    # version they saw: key -> last element (or value; INIT) -> txns
    reads_by_len: dict[Any, dict[int, tuple[list[Any], int]]] = field(default_factory=dict)
    # list keys: one read of each length (and its reader)
    order: dict[Any, list[Any]] = field(default_factory=dict)  # list keys: inferred version order
    position: dict[Any, dict[Any, int]] = field(default_factory=dict)
    registers: Registers | None = None  # register keys: external reads, version orders
    cases: dict[str, list[Case]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, case: Case) -> None:
        self.counts[case.name] = self.counts.get(case.name, 0) + 1
        kept = self.cases.setdefault(case.name, [])
        if len(kept) < MAX_CASES:
            kept.append(case)


def build_index(
    txns: list[Txn], file: str = "<history>", registers: RegisterOptions = DEFAULT_OPTIONS
) -> Index:
    """Index every write (any outcome) and every ok read; infer the version orders (list
    keys from their reads, register keys from the sources `registers` allows); find the
    anomalies that need no graph. Raises Uncheckable when a value is written twice to a
    key, HistoryError when a key is both a list and a register."""
    ix = Index(txns)
    writer, intermediate, readers = ix.writer, ix.intermediate, ix.readers
    by_len = ix.reads_by_len
    listed: set[Any] = set()  # keys appended to or read as lists
    valued: set[Any] = set()  # keys written with w or read as a value
    for t in txns:
        ok = t.status == "ok"
        mine: dict[Any, Any] = {}  # key -> this txn's latest write
        for f, k, v in t.mops:
            if f == "r":
                if not ok:
                    continue  # a read with no known result saw nothing we know
                if type(v) is list:
                    listed.add(k)
                    last = v[-1] if v else INIT
                    lens = by_len.get(k)
                    if lens is None:
                        by_len[k] = lens = {}
                    seen = lens.get(len(v))
                    if seen is None:
                        lens[len(v)] = (v, t.id)
                    elif seen[0] != v:  # two versions of one length: not one order
                        ix.add(Case("incompatible-order", [seen[1], t.id], _pair(k, seen[0], v)))
                else:
                    if v is not None:
                        valued.add(k)
                    last = v
                rk = readers.get(k)
                if rk is None:
                    readers[k] = {last: [t.id]}
                elif last in rk:
                    rk[last].append(t.id)
                else:
                    rk[last] = [t.id]
                continue
            (listed if f == "append" else valued).add(k)
            wk = writer.get(k)
            if wk is None:
                writer[k] = wk = {}
            elif v in wk:
                raise Uncheckable(
                    f"{f} of {v!r} to key {k!r} at lines {txns[wk[v]].line} and {t.line}: "
                    "the checker needs every value written to a key to be unique"
                )
            wk[v] = t.id
            if k in mine:
                intermediate.setdefault(k, {})[mine[k]] = t.id
            mine[k] = v
    if listed & valued:
        _mixed_key(txns, listed & valued, file)
    ix.appended = listed
    _orders(ix)
    _bad_reads(ix)
    _dirty_updates(ix)
    _register_orders(ix, (writer.keys() | readers.keys()) - listed, registers)
    return ix


def _register_orders(ix: Index, keys: set[Any], opts: RegisterOptions) -> None:
    ix.registers = regs = infer(ix.txns, keys, opts)
    for c in regs.cycles:
        writers = [regs.writer_of(c["key"], v) for v in c["versions"]]
        ix.add(Case("cyclic-versions", [w for w in writers if w is not None], c))


def _dirty_updates(ix: Index) -> None:
    """Elle's dirty update: in a list key's order, a committed append after a failed one
    (with nothing but failed or info appends between them): the committed txn wrote over
    state an aborted one left."""
    txns = ix.txns
    for k, order in ix.order.items():
        writers = ix.writer.get(k, {})
        last, status, values = None, "ok", []  # the initial state counts as committed
        for v in order:
            w = writers.get(v)
            if w is None:
                continue  # garbage: its own anomaly
            now = txns[w].status
            if now == "info":  # may have happened or not: keep the span open
                values.append(v)
                continue
            if status == "fail" and now == "ok":
                ix.add(Case("dirty-update", [last, w], {"key": k, "values": [*values, v]}))
            if now == "fail" and status == "fail":
                values.append(v)  # still after the first failed one
                continue
            last, status, values = w, now, [v]


def _mixed_key(txns: list[Txn], mixed: set[Any], file: str) -> None:
    """Raise for the first micro-op that uses a key both ways (the slow path)."""
    first: dict[Any, tuple[bool, Txn]] = {}
    for t in txns:
        for f, k, v in t.mops:
            if k not in mixed or (f == "r" and (v is None or t.status != "ok")):
                continue
            as_list = f == "append" or type(v) is list
            if k not in first:
                first[k] = (as_list, t)
            elif first[k][0] != as_list:
                then = first[k][1]
                raise HistoryError(
                    file,
                    t.line,
                    f"key {k!r} is used as a {_KIND[as_list]} here but as a "
                    f"{_KIND[not as_list]} at line {then.line}; expected each key to be "
                    "either appended to (read as a list) or written with w (read as a value)",
                )


_KIND = {True: "list (append)", False: "register (w)"}


def _pair(k: Any, a: list[Any], b: list[Any]) -> dict[str, Any]:
    return {"key": k, "values": [list(a), list(b)]}


def _orders(ix: Index) -> None:
    """Per list key, the version order: the longest read, if every other read is a
    prefix of it (else `incompatible-order`, and the longest is used anyway, as Elle does)."""
    for k, lens in ix.reads_by_len.items():
        ordered = sorted(lens)
        for shorter, longer in zip(ordered, ordered[1:], strict=False):
            a, ta = lens[shorter]
            b, tb = lens[longer]
            if b[:shorter] != a:
                ix.add(Case("incompatible-order", [ta, tb], _pair(k, a, b)))
        longest = lens[ordered[-1]][0]
        order = list(dict.fromkeys(longest))  # a duplicate is its own anomaly, below
        ix.order[k] = order
        ix.position[k] = {v: i for i, v in enumerate(order)}


def _bad_reads(ix: Index) -> None:
    """Duplicates, garbage, aborted reads (G1a) and intermediate reads (G1b). When a key's
    reads are compatible, the longest holds every element any read saw: only it is
    scanned, and the shortest read holding a bad element is the one reported."""
    txns = ix.txns
    inconsistent = {c.facts["key"] for c in ix.cases.get("incompatible-order", [])}
    for k, lens in ix.reads_by_len.items():
        writers = ix.writer.get(k, {})
        reads = [lens[n] for n in sorted(lens)]
        scan = reads if k in inconsistent else reads[-1:]
        reported: set[Any] = set()  # elements of this key already reported
        for v, reader in scan:
            if len(set(v)) != len(v):
                dups = sorted({e for e in v if v.count(e) > 1}, key=v.index)
                ix.add(
                    Case("duplicate-elements", [reader], {"key": k, "value": v, "duplicates": dups})
                )
            for i, e in enumerate(v):
                w = writers.get(e)
                if (w is not None and txns[w].status != "fail") or e in reported:
                    continue
                reported.add(e)
                first = next(r for r in reads if len(r[0]) > i and r[0][i] == e)[1]
                if w is None:
                    ix.add(Case("garbage-read", [first], {"key": k, "element": e}))
                else:
                    ix.add(Case("G1a", [first, w], {"key": k, "element": e}))
    for k, inter in ix.intermediate.items():
        for last, rs in ix.readers.get(k, {}).items():
            w = inter.get(last)
            if w is not None:
                for r in rs:
                    if r != w:
                        ix.add(Case("G1b", [r, w], {"key": k, "element": last}))
    for k, rk in ix.readers.items():  # registers: a read of a value nobody wrote, or a failed write
        if k in ix.appended:
            continue
        writers = ix.writer.get(k, {})
        for v, rs in rk.items():
            if v is INIT:
                continue
            w = writers.get(v)
            if w is None:
                ix.add(Case("garbage-read", [rs[0]], {"key": k, "element": v}))
            elif txns[w].status == "fail":
                ix.add(Case("G1a", [rs[0], w], {"key": k, "element": v}))


def check_txns_alone(ix: Index) -> None:
    """What each ok txn shows on its own: `internal` (a read that contradicts the txn's own
    earlier reads and writes of the key), `future-read` (it read an element it appends, or
    a value it writes, only later), and, across txns, `lost-update` (two txns read the
    same version of a key and both wrote it: one of the writes was made from a stale read)."""
    seen_then_wrote: dict[tuple[Any, Any], list[int]] = {}
    for t in ix.txns:
        if t.status != "ok" or len(t.mops) < 2:
            continue
        state: dict[Any, tuple[bool, list[Any]] | Any] = {}  # key -> what a read must see
        first_read: dict[Any, Any] = {}
        wrote: set[Any] = set()
        for i, (f, k, v) in enumerate(t.mops):
            if f == "r":
                got = v if v is not None or k not in ix.appended else []
                if k in state and not _agrees(state[k], got, k in ix.appended):
                    expected = state[k]
                    shown = expected[1] if k in ix.appended else expected
                    ix.add(
                        Case(
                            "internal",
                            [t.id],
                            {
                                "key": k,
                                "mop": i,
                                "read": v,
                                "expected": shown,
                                "prefix_known": bool(k in ix.appended and expected[0]),
                            },
                        )  # fmt: skip
                    )
                state[k] = (True, list(got)) if k in ix.appended else got
                if k not in first_read and k not in wrote:
                    first_read[k] = (got[-1] if got else INIT) if k in ix.appended else got
                continue
            if f == "append":
                known, items = state.get(k, (False, []))
                if known and v in items:
                    ix.add(Case("future-read", [t.id], {"key": k, "element": v}))
                state[k] = (known, [*items, v])
            else:
                if k in state and state[k] == v:  # it read the value before writing it
                    ix.add(Case("future-read", [t.id], {"key": k, "element": v}))
                state[k] = v
            if k not in wrote:
                wrote.add(k)
                if k in first_read:
                    seen_then_wrote.setdefault((k, first_read[k]), []).append(t.id)
    for (k, version), ids in seen_then_wrote.items():
        if len(ids) > 1:
            ix.add(Case("lost-update", ids, {"key": k, "version": version}))


def _agrees(expected: Any, got: Any, is_list: bool) -> bool:
    if not is_list:
        return expected == got
    known, items = expected
    if known:
        return got == items
    # only the txn's own appends are known: they must end what it reads
    return len(got) >= len(items) and got[len(got) - len(items) :] == items
