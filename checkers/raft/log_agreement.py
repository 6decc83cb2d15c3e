"""Log agreement: committed entries are the same at every index on every node.

Each node's committed log is dumped at the end of a run as nodes/<id>/log.jsonl (one
object per committed entry, in index order: {"index", "term", "command"}); a JSON array
in the same shape (nodes/<id>/committed.json) is read too. Any index where two nodes
hold different entries is a violation of Raft's state machine safety.

A node that compacted its log starts the dump with its snapshot's line,
{"snapshot": {"index", "term", "digest"}}, the digest of the entries it replaced
(raftnode.wire.log_digest). Its entries are gone, but not the comparison: at each
snapshot's index, every other node whose dump reaches that index (through its own
snapshot and entries) must have the same digest, or some entry before it differs.
Each snapshot a node took is also a line of its events.jsonl ({"snapshot", "term_at",
"digest"}); raftnode takes them at the same indexes on every node, so the digests a
node claimed during the run are compared too, even after a later snapshot (its own or
a leader's) replaced what it held.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checkers.history import HistoryError
from checkers.protocol import CheckerBase, RunFiles, Verdict, verdict_from
from checkers.protocol import node_logs as node_logs  # re-exported: it lived here

MAX_REPORTED = 20


@dataclass
class Divergence:
    index: int
    entries: dict[str, dict[str, Any]]  # node -> {"term", "command"}

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "entries": self.entries}


@dataclass
class LogAgreementResult:
    valid: bool
    nodes: list[str] = field(default_factory=list)
    compared: int = 0  # indexes held by at least two nodes
    divergences: list[Divergence] = field(default_factory=list)
    total_divergences: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "checker": "log-agreement",
            "nodes": self.nodes,
            "compared": self.compared,
            "divergences": [d.to_dict() for d in self.divergences],
            "total_divergences": self.total_divergences,
        }

    def to_text(self) -> str:
        if self.valid:
            return f"log agreement: ok ({len(self.nodes)} nodes, {self.compared} indexes compared)"
        lines = [f"log agreement VIOLATED at {self.total_divergences} index(es):"]
        for d in self.divergences:
            each = "; ".join(
                f"{n}: term {e['term']} {json.dumps(e['command'])}"
                for n, e in sorted(d.entries.items())
            )
            lines.append(f"  index {d.index}: {each}")
        return "\n".join(lines)


def _entry(obj: Any, file: str, line: int | None, prev: int | None) -> tuple[int, dict]:
    if not isinstance(obj, dict):
        raise HistoryError(file, line, 'expected an object {"index", "term", "command"}')
    index, term = obj.get("index"), obj.get("term")
    if type(index) is not int or index < 1:
        raise HistoryError(file, line, f'expected "index" to be an integer >= 1, got {index!r}')
    if type(term) is not int or term < 0:
        raise HistoryError(file, line, f'expected "term" to be an integer >= 0, got {term!r}')
    if "command" not in obj:
        raise HistoryError(file, line, 'expected a "command" field')
    if prev is not None and index <= prev:
        raise HistoryError(file, line, f"expected index order: {index} after {prev}")
    return index, {"term": term, "command": obj["command"]}


@dataclass
class NodeLog:
    entries: dict[int, dict[str, Any]]  # index -> {"term", "command"}
    snapshot: tuple[int, int, str] | None = None  # (index, term, digest) of its first line

    def digests_at(self, wanted: set[int]) -> dict[int, str]:
        """The log digest at each wanted index this dump reaches (from its snapshot)."""
        # Here, not at the top: raftnode.wire brings asyncio, which `raftquake check`
        # on a history file never needs (tests/harness/test_startup.py).
        from raftnode.wire import log_digest

        start, h = (self.snapshot[0], self.snapshot[2]) if self.snapshot else (0, "")
        out = {start: h} if start in wanted else {}
        top = max(wanted, default=0)
        i = start
        while i < top and (i + 1) in self.entries:
            i += 1
            h = log_digest(h, [(self.entries[i]["term"], self.entries[i]["command"])])
            if i in wanted:
                out[i] = h
        return out


def _snapshot_line(obj: Any, file: str, line: int | None) -> tuple[int, int, str]:
    snap = obj["snapshot"]
    if (
        not isinstance(snap, dict)
        or type(snap.get("index")) is not int
        or type(snap.get("term")) is not int
        or not isinstance(snap.get("digest"), str)
    ):
        raise HistoryError(
            file, line, 'expected "snapshot" to be {"index": int, "term": int, "digest": str}'
        )
    return snap["index"], snap["term"], snap["digest"]


def read_log(path: str | Path) -> dict[int, dict[str, Any]]:
    """One node's committed log: index -> {"term", "command"} (its snapshot line, if any,
    is read_node_log's)."""
    return read_node_log(path).entries


def read_node_log(path: str | Path) -> NodeLog:
    """One node's committed log, with its snapshot's line if it starts with one."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise HistoryError(file, None, f"cannot read: {e.strerror or e}") from None
    out: dict[int, dict[str, Any]] = {}
    prev = None
    snapshot = None
    if file.endswith(".json"):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as e:
            raise HistoryError(file, e.lineno, f"not valid JSON ({e.msg})") from None
        if not isinstance(items, list):
            raise HistoryError(file, 1, "expected a JSON array of entries")
        for pos, obj in enumerate(items):
            where = f"{file} (entry {pos})"
            if pos == 0 and isinstance(obj, dict) and "snapshot" in obj:
                snapshot = _snapshot_line(obj, where, None)
                prev = snapshot[0]
                continue
            prev, e = _entry(obj, where, None, prev)
            out[prev] = e
        return NodeLog(out, snapshot)
    for lineno, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            raise HistoryError(
                file,
                lineno,
                f"not valid JSON ({e.msg}); expected one entry "
                'object {"index", "term", "command"}',
            ) from None
        if prev is None and snapshot is None and isinstance(obj, dict) and "snapshot" in obj:
            snapshot = _snapshot_line(obj, file, lineno)
            prev = snapshot[0]
            continue
        prev, e = _entry(obj, file, lineno, prev)
        out[prev] = e
    return NodeLog(out, snapshot)


def snapshot_digests(events: list[Path]) -> dict[str, list[tuple[int, str]]]:
    """The (index, digest) of every snapshot each node took, from its events.jsonl."""
    out: dict[str, list[tuple[int, str]]] = {}
    for path in events:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if '"digest"' not in line:  # one line per commit otherwise: skip unparsed
                    continue
                try:
                    ev = json.loads(line)
                    out.setdefault(str(ev["node"]), []).append(
                        (int(ev["snapshot"]), str(ev["digest"]))
                    )
                except (ValueError, KeyError, TypeError):
                    continue  # not a snapshot line; election-safety judges the file's form
    return out


def check_log_agreement(
    paths: dict[str, str | Path] | list[str | Path],
    digests: dict[str, list[tuple[int, str]]] | None = None,
) -> LogAgreementResult:
    """Compare the nodes' committed logs; `paths` maps node id -> file (a list of
    nodes/<id>/log.jsonl paths also works: the node id is the folder's name). `digests`:
    the log digests nodes claimed at snapshot indexes during the run (snapshot_digests)."""
    if not isinstance(paths, dict):
        paths = {Path(p).parent.name: p for p in paths}
    node_logs = {node: read_node_log(p) for node, p in paths.items()}
    logs = {node: nl.entries for node, nl in node_logs.items()}
    indexes = sorted({i for log in logs.values() for i in log})
    found: dict[int, Divergence] = {}
    total = compared = 0
    for i in indexes:
        held = {node: log[i] for node, log in logs.items() if i in log}
        if len(held) < 2:
            continue
        compared += 1
        first = next(iter(held.values()))
        if any(e != first for e in held.values()):
            total += 1
            if len(found) < MAX_REPORTED:
                found[i] = Divergence(i, held)
    # Compacted prefixes: compare digests at every snapshot's index, as the dumps reach
    # it and as the nodes claimed it during the run.
    marks = {nl.snapshot[0] for nl in node_logs.values() if nl.snapshot and nl.snapshot[0]}
    claims: dict[int, dict[str, set[str]]] = {}
    for node, pairs in (digests or {}).items():
        for i, h in pairs:
            claims.setdefault(i, {}).setdefault(node, set()).add(h)
    marks |= set(claims)
    if marks:
        at = {node: nl.digests_at(marks) for node, nl in node_logs.items()}
        for i in sorted(marks):
            held_d = {node: d[i] for node, d in at.items() if i in d}
            for node, hs in claims.get(i, {}).items():
                held_d.setdefault(node, min(hs))
                if len(hs) > 1 or held_d[node] not in hs:  # the node changed its mind
                    held_d[f"{node} (earlier)"] = max(hs - {held_d[node]} or hs)
            if len(held_d) < 2:
                continue
            compared += 1
            if len(set(held_d.values())) > 1:
                total += 1
                if len(found) < MAX_REPORTED and i not in found:
                    found[i] = Divergence(
                        i,
                        {
                            node: {"term": None, "command": {"log digest": h[:16]}}
                            for node, h in held_d.items()
                        },
                    )
    divergences = [found[i] for i in sorted(found)]
    return LogAgreementResult(total == 0, sorted(logs), compared, divergences, total)


# ---- as a run checker (checkers/protocol.py) ----------------------------------------


class LogAgreementChecker(CheckerBase):
    """The nodes' committed logs (collected at the end of the run) agree index by index."""

    name = "log-agreement"

    def check(self, run: RunFiles) -> Verdict:
        if len(run.logs) < 2:
            return Verdict.unknown(
                self.name, f"committed logs of {len(run.logs)} node(s) collected; need 2"
            )
        # No explanation in results.json (its entry has never had one): the report
        # shows the divergences themselves.
        result = check_log_agreement(run.logs, snapshot_digests(run.events))
        return verdict_from(self, result.to_dict())

    def summarize(self, entry: dict[str, Any]) -> str:
        s = f"{len(entry.get('nodes', []))} nodes, {entry.get('compared', '?')} indexes compared"
        d = entry.get("total_divergences", 0)
        return s + (f"; {d} index(es) disagree" if d else "; committed logs agree")


CHECKER = LogAgreementChecker()
