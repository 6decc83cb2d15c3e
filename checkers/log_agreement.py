"""Log agreement: committed entries are the same at every index on every node.

Each node's committed log is dumped at the end of a run as nodes/<id>/log.jsonl (one
object per committed entry, in index order: {"index", "term", "command"}); a JSON array
in the same shape (nodes/<id>/committed.json) is read too. Any index where two nodes
hold different entries is a violation of Raft's state machine safety.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checkers.history import HistoryError
from checkers.protocol import RunFiles, Verdict, verdict_from

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


def read_log(path: str | Path) -> dict[int, dict[str, Any]]:
    """One node's committed log: index -> {"term", "command"}."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise HistoryError(file, None, f"cannot read: {e.strerror or e}") from None
    out: dict[int, dict[str, Any]] = {}
    prev = None
    if file.endswith(".json"):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as e:
            raise HistoryError(file, e.lineno, f"not valid JSON ({e.msg})") from None
        if not isinstance(items, list):
            raise HistoryError(file, 1, "expected a JSON array of entries")
        for pos, obj in enumerate(items):
            prev, e = _entry(obj, f"{file} (entry {pos})", None, prev)
            out[prev] = e
        return out
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
        prev, e = _entry(obj, file, lineno, prev)
        out[prev] = e
    return out


def node_logs(results_dir: str | Path) -> dict[str, Path]:
    """nodes/<id>/log.jsonl (or committed.json) under a results folder, by node id."""
    found: dict[str, Path] = {}
    for d in sorted(Path(results_dir).glob("nodes/*")):
        for name in ("log.jsonl", "committed.json"):
            if (d / name).is_file():
                found[d.name] = d / name
                break
    return found


def check_log_agreement(paths: dict[str, str | Path] | list[str | Path]) -> LogAgreementResult:
    """Compare the nodes' committed logs; `paths` maps node id -> file (a list of
    nodes/<id>/log.jsonl paths also works: the node id is the folder's name)."""
    if not isinstance(paths, dict):
        paths = {Path(p).parent.name: p for p in paths}
    logs = {node: read_log(p) for node, p in paths.items()}
    indexes = sorted({i for log in logs.values() for i in log})
    divergences: list[Divergence] = []
    total = compared = 0
    for i in indexes:
        held = {node: log[i] for node, log in logs.items() if i in log}
        if len(held) < 2:
            continue
        compared += 1
        first = next(iter(held.values()))
        if any(e != first for e in held.values()):
            total += 1
            if len(divergences) < MAX_REPORTED:
                divergences.append(Divergence(i, held))
    return LogAgreementResult(total == 0, sorted(logs), compared, divergences, total)


# ---- as a run checker (checkers/protocol.py) ----------------------------------------


class LogAgreementChecker:
    """The nodes' committed logs (collected at the end of the run) agree index by index."""

    name = "log-agreement"

    def check(self, run: RunFiles) -> Verdict:
        if len(run.logs) < 2:
            return Verdict.unknown(
                self.name, f"committed logs of {len(run.logs)} node(s) collected; need 2"
            )
        # No explanation in results.json (its entry has never had one): the report
        # shows the divergences themselves.
        return verdict_from(self, check_log_agreement(run.logs).to_dict())

    def summarize(self, entry: dict[str, Any]) -> str:
        s = f"{len(entry.get('nodes', []))} nodes, {entry.get('compared', '?')} indexes compared"
        d = entry.get("total_divergences", 0)
        return s + (f"; {d} index(es) disagree" if d else "; committed logs agree")


CHECKER = LogAgreementChecker()
