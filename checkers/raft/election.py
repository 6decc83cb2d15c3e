"""Election safety, from the nodes' events.jsonl files.

Each node appends `{"time": <wall ns>, "node": "n1", "term": 4, "role": "leader"}` on
every role or term change (and commit lines, which this checker skips). Two different
nodes that were leader in the same term break Raft's election safety; the violation
names the term, the nodes and when each became leader.

Raft's proof of that property rests on one vote per server per term (paper 5.2), which
holds only if currentTerm and votedFor survive a crash (Figure 2, "persistent state").
raftnode also records each vote (a role line with `"voted_for"`) and, as the first line
after every start, the term and vote it recovered (`"voted_for"` and `"start": true`).
From those lines this checker also finds, per node:
- a second vote in a term it had already voted in (a double vote);
- a restart into a term it had voted in, without that vote (a forgotten vote: the node
  could now vote again in that term);
- a restart into a lower term than one it had recorded (a forgotten term).
A start line with `"empty": true` (the node found no durable state at all: a member
removed, wiped and added back as a new server, as the membership fault does) starts that
node's record afresh: its earlier votes and terms no longer bind it, and its leader claims
from before still count.
A node is only held to the vote lines it wrote, so files without them (another node
implementation) are checked for leaders alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from checkers.history import HistoryError
from checkers.protocol import CheckerBase, RunFiles, Verdict, verdict_from
from checkers.protocol import events_files as events_files  # re-exported: it lived here
from checkers.timefmt import moment

ROLES = ("follower", "candidate", "leader", "pre-candidate", "learner")
MAX_VOTE_LINES = 10  # in the text; results.json keeps them all


@dataclass
class LeaderClaim:
    node: str
    term: int
    time: int  # wall ns when the node said it became leader
    file: str
    line: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class VoteViolation:
    """A node that broke one vote per term, or recovered less than it had recorded."""

    node: str
    term: int
    kind: str  # "double-vote", "forgotten-vote" or "forgotten-term"
    text: str
    file: str
    line: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class NodeEvents:
    """What one events.jsonl says about elections."""

    claims: list[LeaderClaim] = field(default_factory=list)
    votes: list[VoteViolation] = field(default_factory=list)


@dataclass
class ElectionResult:
    valid: bool
    terms: int = 0  # terms with a leader
    violations: list[list[LeaderClaim]] = field(default_factory=list)  # per term, its claims
    files: int = 0
    vote_violations: list[VoteViolation] = field(default_factory=list)

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
            "vote_violations": [v.to_dict() for v in self.vote_violations],
        }

    def to_text(self, origin_ns: int = 0) -> str:
        """`origin_ns`: the workload's start on the history's clock, for node times on
        that clock (the simulation's); wall clocks are shown as the time of day."""
        if self.valid:
            return f"election safety: ok ({self.terms} terms with a leader, {self.files} nodes)"
        lines = []
        if self.violations:
            lines.append(f"election safety VIOLATED in {len(self.violations)} term(s):")
        for v in self.violations:
            who = ", ".join(f"{c.node} at {moment(c.time, origin_ns)}" for c in v)
            lines.append(f"  term {v[0].term}: {len({c.node for c in v})} leaders: {who}")
        if self.vote_violations:
            lines.append(
                f"one vote per term VIOLATED {len(self.vote_violations)} time(s) "
                "(the premise of election safety, Raft 5.2):"
            )
        for w in self.vote_violations[:MAX_VOTE_LINES]:
            lines.append(f"  {w.text} ({w.file}:{w.line})")
        if len(self.vote_violations) > MAX_VOTE_LINES:
            lines.append(f"  ... and {len(self.vote_violations) - MAX_VOTE_LINES} more")
        return "\n".join(lines)


def read_events(path: str | Path) -> NodeEvents:
    """The leader claims and vote violations in one events.jsonl; raises HistoryError on
    a malformed line."""
    file = str(path)
    out = NodeEvents()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise HistoryError(file, None, f"cannot read: {e.strerror or e}") from None
    # Per node (a file normally holds one): the highest term recorded so far and the last
    # vote recorded, as (term, candidate, line).
    high: dict[str, int] = {}
    vote: dict[str, tuple[int, str, int]] = {}
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
        voted = obj.get("voted_for")
        if voted is not None and not isinstance(voted, str):
            raise HistoryError(
                file, lineno, f'expected "voted_for" to be a node name or null, got {voted!r}'
            )
        start = obj.get("start", False)
        if type(start) is not bool:
            raise HistoryError(file, lineno, f'expected "start" to be true or false, got {start!r}')
        if role == "leader":
            out.claims.append(LeaderClaim(node, term, t, file, lineno))
        if start and obj.get("empty") is True:
            high.pop(node, None)  # a new server under an old name (see the docstring)
            vote.pop(node, None)

        last = vote.get(node)
        # A vote (or a restart's recovered vote) other than the one recorded for this term.
        other = last is not None and last[0] == term and voted != last[1]
        problem: tuple[str, str] | None = None
        if start and "voted_for" in obj:
            # A restart: what the node recovered must cover what it had recorded.
            if node in high and term < high[node]:
                problem = (
                    "forgotten-term",
                    f"{node} restarted in term {term} after recording term {high[node]}: "
                    "currentTerm was not durable",
                )
            elif other:
                problem = (
                    "forgotten-vote",
                    f"{node} voted for {_who(node, last[1])} in term {term} (line {last[2]}), then "
                    f"restarted in term {term} with "
                    + (f"a vote for {_who(node, voted)}" if voted else "no vote")
                    + ": votedFor was not durable, so it could vote twice in that term",
                )
        elif voted is not None and other:
            problem = (
                "double-vote",
                f"{node} voted for {_who(node, last[1])} (line {last[2]}) and for "
                f"{_who(node, voted)} in term {term}",
            )
        if voted is not None:
            vote[node] = (term, voted, lineno)
        if problem is not None:
            out.votes.append(VoteViolation(node, term, problem[0], problem[1], file, lineno))
        high[node] = max(high.get(node, term), term)
    return out


def _who(node: str, candidate: str) -> str:
    return "itself" if candidate == node else candidate


def check_election_safety(paths: Iterable[str | Path]) -> ElectionResult:
    """At most one leader per term over all the nodes' events files, and one vote per
    node per term in each file."""
    by_term: dict[int, dict[str, LeaderClaim]] = {}
    votes: list[VoteViolation] = []
    files = 0
    for path in paths:
        files += 1
        node = read_events(path)
        votes.extend(node.votes)
        for c in node.claims:
            by_term.setdefault(c.term, {}).setdefault(c.node, c)  # first claim per node
    violations = [
        sorted(nodes.values(), key=lambda c: c.time)
        for term, nodes in sorted(by_term.items())
        if len(nodes) > 1
    ]
    return ElectionResult(
        not violations and not votes, len(by_term), violations, files, vote_violations=votes
    )


# ---- as a run checker (checkers/protocol.py) ----------------------------------------


class ElectionSafetyChecker(CheckerBase):
    """At most one leader per term, one vote per node per term, over the nodes'
    events.jsonl files."""

    name = "election-safety"

    def check(self, run: RunFiles) -> Verdict:
        if not run.events:
            return Verdict.unknown(self.name, "no node events.jsonl was collected")
        r = check_election_safety(run.events)
        return verdict_from(self, r.to_dict(), r.to_text(run.origin_ns))

    def summarize(self, entry: dict[str, Any]) -> str:
        v = len(entry.get("violations", []))
        w = len(entry.get("vote_violations", []))
        s = f"{entry.get('terms_with_leader', '?')} terms with a leader"
        s += f", from {entry.get('files', '?')} node(s)"
        s += f"; {v} term(s) with two leaders" if v else "; one leader per term"
        return s + (f"; {w} vote(s) forgotten or doubled" if w else "")


CHECKER = ElectionSafetyChecker()
