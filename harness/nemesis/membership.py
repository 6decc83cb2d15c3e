"""Membership: the cluster shrinks and grows under the workload (raftnode's single-server
changes, raftnode/membership.py; `raftquake kv member ...`).

Modes (`mode:`), each on `target` (resolved among the current voters of the initial
cluster; `leader` is the leader at that moment, which then removes itself):
  remove  take the target out of the configuration (one change at a time)
          `overlap: true`: an impatient operator instead. Until the fault heals it takes
          the target's members out and back in, round after round (remove A, remove B,
          add A, add B; the target resolved again for each round: `one` a new voter,
          `leader` whoever leads then), sending each change of a round as soon as the
          one before it shows in the leader's configuration, committed or not, without
          waiting for its answer, and again at each poll until it shows (a script that
          retries at whichever node answers as leader); it starts the next round once
          the cluster has been whole again (every initial member a voter, committed)
          for ROUND_PAUSE_S. A
          correct leader refuses a change while another is uncommitted, so the script's
          next change waits for the commit; a leader cut off by a partition cannot
          commit, so the changes pile up there, two in flight at once, if the node
          takes them.
  wipe    take it out, and once that is committed stop it, delete its data, start it empty
          and add it back (a new server under its old name: it catches up as a learner)
  grow    start a fresh member (n<N+1>, n<N+2>, ...: a new container on Docker) and add it
Heal puts the initial membership back as far as it can: every initial node a member
again (a removed one is added back, with its data as it was), fresh members removed and
stopped.

Changes take time to commit, and the simulation's primitives act at once in virtual time,
so a fault does not wait in start() or heal(): it sets a plan, a list of target
configurations, and the cluster polls `step()` in the background (`Cluster.every`:
simulated events on sim, a thread elsewhere) until the plan is done or replaced. Each poll
asks the leader for its configuration and proposes every change still missing; the node
refuses all but one while a change is uncommitted (a node with planted bug
unsafe-membership takes them all at once, as an operator's parallel scripts would send
them).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.nemesis.base import (
    Fault,
    FaultError,
    check_bool,
    check_choice,
    find_leader,
    resolve_targets,
)

MODES = ("remove", "wipe", "grow")
POLL_S = 0.1
# How often a drawn `remove` (a nemesis package's, a hunt's) is an impatient operator's
# (`overlap`). None: drawn for half the removes it caught unsafe-membership in 0 of 20
# package.yaml runs (0 of 10 drawn for every remove) while changing every seed's plan
# (stale-read 14/20 -> 12/20, docs/detection.md), so packages keep the patient remove and
# a schedule asks for the impatient one by name.
OVERLAP_SHARE = 0.0
# How long an impatient operator's cluster stays whole between two rounds. With none, a
# partition nearly always found members out (0 of 10 package.yaml runs caught
# unsafe-membership, 2 of 8 of a schedule cutting the leader every 5 s during rounds of
# two removals); with 1 s, 6 of 8 of the latter.
ROUND_PAUSE_S = 1.0


@dataclass
class Phase:
    members: frozenset[str]  # the configuration to reach (voters once learners catch up)
    then: Callable[[], None] | None = None  # once reached and committed
    voters_too: bool = True  # wait for learners' promotion before `then`


@dataclass
class Plan:
    phases: list[Phase]
    done: bool = False
    errors: list[str] = field(default_factory=list)


@dataclass
class Rolling:
    """`overlap: true`: the changes still to send this round, in order, each an
    (action, node); a new round is resolved from the target once they have all shown."""

    target: Any
    pending: list[tuple[str, str]]
    done: bool = False
    whole: int = 0  # polls in a row that found the cluster whole, between rounds
    sent: int = 0  # changes sent (retries included), for tests and the curious


def round_of(nodes: list[str]) -> list[tuple[str, str]]:
    """The nodes out one after another, then back in: remove A, remove B, add A, add B."""
    return [("remove", n) for n in nodes] + [("add", n) for n in nodes]


def shows(change: tuple[str, str], members: set[str]) -> bool:
    """Whether the leader's configuration already has `change` (committed or not)."""
    action, node = change
    return (node in members) == (action == "add")


class MembershipFault(Fault):
    name = "membership"
    options = ("mode", "target", "overlap")
    group = "membership"

    @classmethod
    def _validate(cls, options: dict[str, Any]) -> dict[str, Any]:
        mode = check_choice(cls.name, "mode", options.get("mode", "remove"), MODES)
        overlap = check_bool(cls.name, "overlap", options.get("overlap", False))
        if overlap and mode != "remove":
            # wipe must wait for the removal to commit before deleting data (else the
            # harness, not the node, would lose acknowledged writes), and grow's rounds
            # would start a container each.
            raise FaultError(f"membership: overlap needs mode remove, not {mode}", ("overlap",))
        return {"mode": mode, "overlap": overlap}

    @classmethod
    def draw(cls, rng: random.Random, nodes: list[str], target: Any) -> dict[str, Any]:
        # At most a minority goes (start() caps it): more would stop the cluster. Several at
        # once (a minority, a list) are proposed together, and the node takes them one by one.
        if target in ("majority", "all"):
            target = rng.choice(["one", "leader", "minority"])
        mode = rng.choice(MODES)
        if mode == "remove" and OVERLAP_SHARE and rng.random() < OVERLAP_SHARE:
            return {"mode": mode, "target": target, "overlap": True}
        return {"mode": mode, "target": target}

    def __init__(self, cluster, options: dict[str, Any], rng: random.Random):
        super().__init__(cluster, options, rng)
        self._lock = threading.Lock()
        self._plan: Plan | None = None

    # ---- the fault ------------------------------------------------------------------------

    def _start(self) -> dict[str, Any]:
        c = self.cluster
        m = c.members()
        if m is None:
            find_leader(c)  # NoLeader: the driver tries again a little later
            raise FaultError("membership: the leader did not answer")
        self.initial = frozenset(c.initial_nodes())
        current = frozenset(m["voters"]) | frozenset(m["learners"])
        mode = self.opts["mode"]
        if mode == "grow":
            node = c.spawn()
            self.fresh = [node]
            self._set_plan([Phase(current | {node})])
            return {"mode": mode, "nodes": [node]}
        self.fresh = []
        target = self.opts.get("target", "one")
        nodes = self._resolve(target, m)
        if not nodes:
            raise FaultError(f"membership: no current voter among target {target!r}")
        if self.opts.get("overlap"):
            self._set_plan(Rolling(target, round_of(nodes)))
            return {"mode": mode, "overlap": True, "nodes": nodes}
        out = current - set(nodes)
        if mode == "remove":
            self._set_plan([Phase(out)])
        else:

            def wipe() -> None:
                for n in nodes:
                    c.wipe(n)

            self._set_plan([Phase(out, wipe), Phase(current)])
        return {"mode": mode, "nodes": nodes}

    def _heal(self) -> None:
        fresh = list(self.fresh)

        def retire() -> None:
            for n in fresh:
                self.cluster.retire(n)

        self._set_plan([Phase(self.initial, retire)])

    def _resolve(self, target: Any, m: dict[str, Any]) -> list[str]:
        """The target's current voters of the initial cluster, a minority at most."""
        if target == "leader":
            nodes = [m["leader"]]
        else:
            voters = sorted(v for v in m["voters"] if v in self.initial)
            nodes = [n for n in resolve_targets(self.cluster, target, self.rng) if n in voters]
        return nodes[: max(1, (len(m["voters"]) - 1) // 2)]  # a minority at most

    # ---- the background poll ----------------------------------------------------------------

    def _set_plan(self, plan: list[Phase] | Rolling) -> None:
        if isinstance(plan, list):
            plan = Plan(plan)
        with self._lock:
            self._plan = plan
        self.cluster.every(POLL_S, lambda: self.step(plan))

    def step(self, plan: Plan | Rolling) -> bool:
        """One poll: True when `plan` is done or was replaced (the poll stops)."""
        with self._lock:
            if self._plan is not plan or plan.done:
                return True
        try:
            m = self.cluster.members()
        except Exception:
            return False
        if m is None:
            return False
        if isinstance(plan, Rolling):
            self._roll(plan, m)
            return False
        phase = plan.phases[0]
        members = set(m["voters"]) | set(m["learners"])
        if members == phase.members:
            if m["committed"] and (not phase.voters_too or not m["learners"]):
                if phase.then is not None:
                    phase.then()
                plan.phases.pop(0)
                if not plan.phases:
                    plan.done = True
                    return True
            return False
        # Propose every change still missing; the node takes one at a time (it refuses the
        # others while one is uncommitted), unless planted bug unsafe-membership.
        for n in sorted(members - phase.members):
            self._change("remove", n)
        for n in sorted(phase.members - members):
            self._change("add", n)
        return False

    def _roll(self, plan: Rolling, m: dict[str, Any]) -> None:
        """`overlap`: send the first change of the round the leader's configuration does
        not show yet (again, if it was sent and refused or lost), never waiting for it to
        commit; a new round once the whole round shows."""
        members = set(m["voters"]) | set(m["learners"])
        while plan.pending and shows(plan.pending[0], members):
            plan.pending.pop(0)
        if not plan.pending:
            # A new round once the cluster has been whole again for ROUND_PAUSE_S: every
            # initial member a voter (learners promoted), that configuration committed, as
            # an operator's script checks the cluster is healthy before it goes on.
            # Without the wait the changes, piled up by a node that takes them, leave one
            # voter or none; and a cluster never whole has no far side with a majority of
            # its own, the other half of what two changes in flight need to split it.
            if not m["committed"] or not self.initial <= set(m["voters"]):
                plan.whole = 0
                return
            plan.whole += 1
            if plan.whole * POLL_S < ROUND_PAUSE_S:
                return
            plan.whole = 0
            plan.pending = round_of(self._resolve(plan.target, m))
            if not plan.pending:
                return  # no voter of the target now: the next poll
        action, node = plan.pending[0]
        plan.sent += 1
        self._change(action, node, wait=False)

    def _change(self, action: str, node: str, wait: bool = True) -> None:
        try:
            if wait:
                self.cluster.member_change(action, node)
            else:
                self.cluster.member_change(action, node, wait=False)
        except Exception:
            pass  # refused for now (another change in flight, no leader): the next poll


__all__ = ["MODES", "OVERLAP_SHARE", "MembershipFault"]
