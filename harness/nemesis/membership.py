"""Membership: the cluster shrinks and grows under the workload (raftnode's single-server
changes, raftnode/membership.py; `raftquake kv member ...`).

Modes (`mode:`), each on `target` (resolved among the current voters of the initial
cluster; `leader` is the leader at that moment, which then removes itself):
  remove  take the target out of the configuration (one change at a time)
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

from harness.nemesis.base import Fault, FaultError, check_choice, find_leader, resolve_targets

MODES = ("remove", "wipe", "grow")
POLL_S = 0.1


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


class MembershipFault(Fault):
    name = "membership"
    options = ("mode", "target")
    group = "membership"

    @classmethod
    def _validate(cls, options: dict[str, Any]) -> dict[str, Any]:
        return {"mode": check_choice(cls.name, "mode", options.get("mode", "remove"), MODES)}

    @classmethod
    def draw(cls, rng: random.Random, nodes: list[str], target: Any) -> dict[str, Any]:
        # At most a minority goes (start() caps it): more would stop the cluster. Several at
        # once (a minority, a list) are proposed together, and the node takes them one by one.
        if target in ("majority", "all"):
            target = rng.choice(["one", "leader", "minority"])
        return {"mode": rng.choice(MODES), "target": target}

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
        if target == "leader":
            nodes = [m["leader"]]
        else:
            voters = sorted(v for v in m["voters"] if v in self.initial)
            nodes = [n for n in resolve_targets(c, target, self.rng) if n in voters]
            if not nodes:
                raise FaultError(f"membership: no current voter among target {target!r}")
        nodes = nodes[: max(1, (len(m["voters"]) - 1) // 2)]  # a minority at most
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

    # ---- the background poll ----------------------------------------------------------------

    def _set_plan(self, phases: list[Phase]) -> None:
        plan = Plan(phases)
        with self._lock:
            self._plan = plan
        self.cluster.every(POLL_S, lambda: self.step(plan))

    def step(self, plan: Plan) -> bool:
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

    def _change(self, action: str, node: str) -> None:
        try:
            self.cluster.member_change(action, node)
        except Exception:
            pass  # refused for now (another change in flight, no leader): the next poll


__all__ = ["MODES", "MembershipFault"]
