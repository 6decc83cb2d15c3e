"""Election safety: at most one leader per term, from the nodes' events.jsonl files.

Each node appends `{"time": <wall ns>, "node": "n1", "term": 4, "role": "leader"}` on
every role or term change (and commit lines, which this checker skips). Two different
nodes that were leader in the same term break Raft's election safety; the violation
names the term, the nodes and when each became leader.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checkers.history import HistoryError

ROLES = ("follower", "candidate", "leader", "pre-candidate", "learner")


@dataclass
class LeaderClaim:
    node: str
    term: int
    time: int  # wall ns when the node said it became leader
    file: str
    line: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "term": self.term,
            "time": self.time,
            "file": self.file,
            "line": self.line,
        }


@dataclass
class ElectionResult:
    valid: bool
    terms: int = 0  # terms with a leader
    violations: list[list[LeaderClaim]] = field(default_factory=list)  # per term, its claims
    files: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "checker": "election-safety",
            "files": self.files,
            "terms_with_leader": self.terms,
            "violations": [
                {
                    "term": v[0].term,
                    "nodes": sorted({c.node for c in v}),
                    "claims": [c.to_dict() for c in v],
                }
                for v in self.violations
            ],
        }

    def to_text(self) -> str:
        if self.valid:
            return f"election safety: ok ({self.terms} terms with a leader, {self.files} nodes)"
        lines = [f"election safety VIOLATED in {len(self.violations)} term(s):"]
        for v in self.violations:
            who = ", ".join(f"{c.node} at {c.time}" for c in v)
            lines.append(f"  term {v[0].term}: {len({c.node for c in v})} leaders: {who}")
        return "\n".join(lines)


def read_events(path: str | Path) -> list[LeaderClaim]:
    """The leader claims in one events.jsonl; raises HistoryError on a malformed line."""
    file = str(path)
    claims: list[LeaderClaim] = []
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise HistoryError(file, None, f"cannot read: {e.strerror or e}") from None
    lines = text.split("\n")
    for lineno, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            if lineno == len(lines) and not text.endswith("\n"):
                break  # a node killed mid-write leaves a truncated last line
            raise HistoryError(
                file,
                lineno,
                f"not valid JSON ({e.msg}); expected one "
                'JSON object like {"time": 1, "node": "n1", "term": 2, '
                '"role": "leader"}',
            ) from None
        if not isinstance(obj, dict):
            raise HistoryError(file, lineno, "expected a JSON object")
        if "role" not in obj:
            continue  # a commit line
        node, term, role, t = obj.get("node"), obj.get("term"), obj.get("role"), obj.get("time")
        if not isinstance(node, str):
            raise HistoryError(file, lineno, f'expected "node" to be a string, got {node!r}')
        if type(term) is not int or term < 0:
            raise HistoryError(file, lineno, f'expected "term" to be an integer >= 0, got {term!r}')
        if type(t) is not int:
            raise HistoryError(file, lineno, f'expected "time" to be an integer (ns), got {t!r}')
        if role not in ROLES:
            raise HistoryError(
                file, lineno, f'expected "role" one of {", ".join(ROLES)}, got {role!r}'
            )
        if role == "leader":
            claims.append(LeaderClaim(node, term, t, file, lineno))
    return claims


def check_election_safety(paths: Iterable[str | Path]) -> ElectionResult:
    """At most one leader per term over all the nodes' events files."""
    by_term: dict[int, dict[str, LeaderClaim]] = {}
    files = 0
    for path in paths:
        files += 1
        for c in read_events(path):
            by_term.setdefault(c.term, {}).setdefault(c.node, c)  # first claim per node
    violations = [
        sorted(nodes.values(), key=lambda c: c.time)
        for term, nodes in sorted(by_term.items())
        if len(nodes) > 1
    ]
    return ElectionResult(not violations, len(by_term), violations, files)


def events_files(results_dir: str | Path) -> list[Path]:
    """nodes/<id>/events.jsonl under a results folder."""
    return sorted(Path(results_dir).glob("nodes/*/events.jsonl"))
