"""Membership: which servers vote, which only listen, and how that changes.

Single-server changes (Ongaro's thesis, chapter 4). A change is an ordinary log entry
whose command is `{"op": "member", "change": C, "id": ID, "addr": "HOST:PORT"}`, C one of

  add-learner  a new member that receives entries but neither votes nor counts in quorums
  promote      a learner becomes a voter (the leader does it once the learner caught up)
  add-voter    a voter at once (for tests and hand use; a new server should be a learner first)
  remove       the member leaves (voter or learner)

The rules the core keeps (raftnode/core.py):
- A server uses the latest configuration in its log, committed or not (thesis 4.1): it
  takes effect when appended, and is undone when the entry is cut by a conflicting leader.
  So the current configuration is a pure function, `configuration(base, entries)`, of a
  base configuration (the initial `--peers`; with snapshots, the snapshot's configuration)
  and the log entries after it.
- A leader appends a change only once the previous one is committed and once it has
  committed an entry of its own term (the fix of thesis 4.1's bug found after publication:
  without it, two leaders' uncommitted changes can build disjoint majorities).
- Each change adds or removes at most one voter, so any majority of the old voters and
  any majority of the new ones overlap.

Standard library only, and pure: the node and the simulation import it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

MEMBER_OP = "member"
ADD_LEARNER = "add-learner"
PROMOTE = "promote"
ADD_VOTER = "add-voter"
REMOVE = "remove"
CHANGES = (ADD_LEARNER, PROMOTE, ADD_VOTER, REMOVE)
# A learner is promoted once its log is within this many entries of the leader's last
# index: close enough that making it count in quorums does not stall commits for long.
PROMOTE_LAG = 8


class ChangeRefused(ValueError):
    """A membership change the leader will not append now; `reason` is a short code."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Membership:
    voters: frozenset[str]
    learners: frozenset[str] = frozenset()
    # id -> "HOST:PORT" as the change (or --peers) gave it; "" when not known
    addrs: Mapping[str, str] = field(default_factory=dict, compare=False)

    @staticmethod
    def initial(peers: Iterable[str] | Mapping[str, str]) -> Membership:
        """Every peer a voter (`--peers`: the initial configuration)."""
        addrs = dict(peers) if isinstance(peers, Mapping) else {p: "" for p in peers}
        return Membership(frozenset(addrs), frozenset(), addrs)

    @property
    def members(self) -> frozenset[str]:
        return self.voters | self.learners

    @property
    def quorum(self) -> int:
        return len(self.voters) // 2 + 1

    @staticmethod
    def from_dict(d: Mapping) -> Membership:
        """What to_dict() gave (a snapshot carries its configuration so)."""
        addrs = dict(d.get("addrs") or {})
        return Membership(frozenset(d["voters"]), frozenset(d.get("learners") or ()), addrs)

    def to_dict(self) -> dict:
        return {
            "voters": sorted(self.voters),
            "learners": sorted(self.learners),
            "addrs": {m: self.addrs.get(m, "") for m in sorted(self.members)},
        }

    def apply(self, cmd: Mapping) -> Membership:
        """This configuration with one change applied. A change that does not apply (a
        promote of a non-learner, say) changes nothing: every server folds the same log the
        same way, so they still agree."""
        change, node = cmd.get("change"), str(cmd.get("id"))
        addrs = dict(self.addrs)
        if cmd.get("addr"):
            addrs[node] = str(cmd["addr"])
        voters, learners = set(self.voters), set(self.learners)
        if change == ADD_LEARNER and node not in voters:
            learners.add(node)
        elif change == PROMOTE and node in learners:
            learners.discard(node)
            voters.add(node)
        elif change == ADD_VOTER:
            learners.discard(node)
            voters.add(node)
        elif change == REMOVE:
            voters.discard(node)
            learners.discard(node)
        else:
            return self
        return Membership(frozenset(voters), frozenset(learners), addrs)


def is_change(command: object) -> bool:
    return isinstance(command, dict) and command.get("op") == MEMBER_OP


def change_command(change: str, node: str, addr: str = "") -> dict:
    if change not in CHANGES:
        raise ChangeRefused("bad-change", f"unknown change {change!r}; expected one of {CHANGES}")
    cmd = {"op": MEMBER_OP, "change": change, "id": str(node)}
    if addr:
        cmd["addr"] = str(addr)
    return cmd


def configuration(base: Membership, entries: Iterable) -> Membership:
    """The configuration in force after `entries` (log entries with a `.command`, in
    order) on top of `base`: the latest change wins, committed or not."""
    m = base
    for e in entries:
        if is_change(e.command):
            m = m.apply(e.command)
    return m


def check_change(current: Membership, cmd: Mapping) -> None:
    """ChangeRefused when `cmd` makes no sense against `current` (the leader's check before
    it appends; the in-flight rule is the core's)."""
    change, node = cmd.get("change"), cmd.get("id")
    if change in (ADD_LEARNER, ADD_VOTER) and node in current.members:
        if not (change == ADD_VOTER and node in current.learners):
            raise ChangeRefused("already-member", f"{node} is already a member")
    elif change == PROMOTE and node not in current.learners:
        raise ChangeRefused("not-learner", f"{node} is not a learner")
    elif change == REMOVE:
        if node not in current.members:
            raise ChangeRefused("not-member", f"{node} is not a member")
        if current.voters == {node}:
            raise ChangeRefused("last-voter", f"{node} is the last voter")
