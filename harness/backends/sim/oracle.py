"""The simulation's live safety oracle: Raft's safety properties, checked as a run goes.

It sees what no client and no node can (every node's state at every event), so it
names a broken property the moment it breaks: election safety (one leader per term),
state machine safety (one entry per index, and snapshots that agree with it), leader
completeness for acknowledged entries, and that reads reflect every write acknowledged
before they began; at rest, log matching and that every acknowledged entry survived on
every member. Optional (`SimConfig.oracle`): a run's verdict is the checkers', from
what the run leaves behind; the oracle is for property tests and seed searches.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from raftnode.core import LEADER, Entry, RaftCore, Snapshot
from raftnode.wire import log_digest


class SafetyViolation(AssertionError):
    """A Raft safety property failed; the message says which and where."""


class SafetyOracle:
    def __init__(self, stop_on_violation: bool, log: Callable[[str], None]):
        # Raise at the first violation (the run stops where the property broke), or
        # record it and carry on, so the history shows its effect.
        self.stop_on_violation = stop_on_violation
        self._log = log
        self.violations: list[str] = []
        self.leaders: dict[int, str] = {}  # term -> the one leader of that term
        self.applied: dict[int, Entry] = {}  # index -> the entry applied there (by anyone)
        self._digests: dict[int, str] = {}  # snapshot index -> log_digest of entries 1..index
        self.acked: dict[int, tuple[Entry, int]] = {}  # index -> (entry, max term at ack)
        self.max_acked_index = 0
        self.max_term = 0
        self._checked: dict[str, int] = {}  # node -> last term leader completeness was checked

    def violation(self, message: str) -> None:
        self._log(f"VIOLATION {message}")
        if self.stop_on_violation:
            raise SafetyViolation(message)
        self.violations.append(message)

    def forget(self, node: str) -> None:
        """A new server under an old name (a member added back): it has checked nothing."""
        self._checked.pop(node, None)

    # ---- as the run goes ------------------------------------------------------------

    def observe(self, node: str, core: RaftCore) -> None:
        """After each input a node's host handled: election safety, leader completeness."""
        if core.term > self.max_term:
            self.max_term = core.term
        if core.role != LEADER:
            return
        other = self.leaders.setdefault(core.term, node)
        if other != node:
            self.violation(
                f"election safety: {other} and {node} are both leaders of term {core.term}"
            )
        if self._checked.get(node, -1) == core.term:
            return
        self._checked[node] = core.term
        # Leader completeness: an entry acknowledged while every term was below this
        # leader's term was committed in an earlier term, so this leader must hold it.
        for index, (entry, term_at_ack) in self.acked.items():
            if term_at_ack < core.term and index > core.snapshot_index:
                # (What its snapshot covers was committed: snapshot() holds it.)
                have = core.entry(index)
                if have != entry:
                    self.violation(
                        f"leader completeness: {node} leads term {core.term} without "
                        f"acknowledged entry {entry} (has {have})"
                    )

    def applied_entry(self, node: str, e: Entry) -> None:
        seen = self.applied.setdefault(e.index, e)
        if seen != e:
            self.violation(
                f"state machine safety: {node} applies {e} at index {e.index}, "
                f"another node applied {seen}"
            )

    def snapshot(self, node: str, previous: Snapshot | None, snap: Snapshot) -> None:
        """A snapshot covers entries every node applies alike (state machine safety): its
        digest must be that of the entries applied at its indexes, where all are known."""
        digest = json.loads(snap.data)["digest"]
        start = previous.index if previous else 0
        if start and self._digests.get(start) is None:
            return
        prev = self._digests.get(start, "")
        run = [self.applied.get(i) for i in range(start + 1, snap.index + 1)]
        if None in run:
            return  # (entries applied only inside other snapshots: nothing to compare)
        expected = log_digest(prev, ((e.term, e.command) for e in run))
        seen = self._digests.setdefault(snap.index, expected)
        if digest != seen:
            self.violation(
                f"state machine safety: {node} snapshots through index {snap.index} a log "
                f"that differs from the entries applied there"
            )

    def answered(
        self, node: str, core: RaftCore, req: dict, acked_before: int, answer: dict
    ) -> None:
        """A node answers a client: an acknowledged write must never be lost from now on,
        and a read must reflect every write acknowledged before it began (acked_before).
        The read's index goes into the answer (read_at)."""
        if not (answer.get("ok") and req.get("op") in ("put", "write", "cas", "get", "read")):
            return
        index = answer.get("index")
        if index is not None and req["op"] not in ("get", "read"):
            e = core.entry(index)
            self.acked[e.index] = (e, self.max_term)
            self.max_acked_index = max(self.max_acked_index, e.index)
        read_at = answer.get("read_at", index)
        if req["op"] in ("get", "read") and read_at is not None:
            answer["read_at"] = read_at
            if read_at < acked_before:
                self.violation(
                    f"stale read: {node} read key {req.get('key')!r} at index "
                    f"{read_at}, but index {acked_before} was acknowledged before "
                    f"the read began"
                )

    # ---- at rest ------------------------------------------------------------------------

    def check_logs(self, logs: dict[str, Iterable[Entry]]) -> None:
        """Log matching over every pair of live nodes: same index and term, same prefix."""
        # Compared over the indexes both still hold (snapshots cut logs at different places).
        by_index = {i: {e.index: e for e in log} for i, log in logs.items()}
        names = sorted(by_index)
        for a_i, a in enumerate(names):
            for b in names[a_i + 1 :]:
                la, lb = by_index[a], by_index[b]
                common = sorted(set(la) & set(lb))
                d = next((k for k in common if la[k] != lb[k]), None)
                if d is None:
                    continue
                for k in common:
                    if k > d and la[k].term == lb[k].term:
                        self.violation(
                            f"log matching: {a} and {b} agree on term {la[k].term} at index "
                            f"{k} but differ at index {d}"
                        )

    def check_durable(self, members: dict[str, RaftCore]) -> None:
        """Every acknowledged entry is on every member (or in its snapshot)."""
        for index, (entry, _) in sorted(self.acked.items()):
            for i, core in members.items():
                if index <= core.snapshot_index:
                    continue  # in its snapshot, whose digest snapshot() compared
                have = core.entry(index)
                if have != entry:
                    self.violation(
                        f"durability: acknowledged {entry} is missing on {i} (has {have})"
                    )
