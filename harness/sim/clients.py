"""Client processes in virtual time: raftnode/client.py's retry rules over a SimCluster.

A `SimClient` runs one logical operation at a time under its own session (client id,
growing seq; every retry reuses the seq, so the state machine applies it at most
once), as the real client does:

- it starts at the first node and sticks to the node it believes leads;
- a definite refusal ("not leader", a node that is down) follows the leader hint,
  or tries the next node, and retries within the operation's time budget;
- an attempt that may have been executed (a timeout, a crash while proposed) makes
  the operation's outcome unknown unless a later retry gets an answer;
- when the budget (OP_TIMEOUT) is spent the operation ends `fail` if nothing was
  ever sent anywhere that could execute it, else `info`.

Nothing here runs inside the simulation's event processing: completions arrive
through SimCluster.on_complete and every next step is scheduled with `sim.at`, so
no client re-enters a node while it is handling a Ready.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.live import OP_TIMEOUT
from harness.sim.cluster import Op, SimCluster
from workloads.register import Operation

ATTEMPT_TIMEOUT_MS = max(0.25, OP_TIMEOUT / 3) * 1000.0  # as raftnode/client.py
REDIRECT_MS = 1.0  # a refused attempt and its retry still take a round trip
NO_LEADER_WAIT_MS = 50.0
RETRY_WAIT_MS = 20.0
# Attempts that may have taken effect. A read's timeout counts too: the real client
# cannot tell a read from a write once the request left.
MAYBE_ERRORS = ("timeout", "node crashed")


@dataclass
class Outcome:
    type: str  # "ok" | "fail" | "info"
    value: Any = None
    error: str | None = None
    node: str | None = None


class SimClient:
    def __init__(
        self,
        sim: SimCluster,
        client_id: str,
        pending: dict[int, SimClient],
        latency: Callable[[], float] = lambda: 0.0,
    ):
        self.sim = sim
        self.latency = latency  # one way between client and node, in ms
        self.client_id = client_id
        self.seq = 0
        self.target = 0  # index into sim.ids of the node believed to lead
        self._pending = pending  # shared: sim op id -> the client waiting for it
        self._op: Operation | None = None
        self._done: Callable[[Outcome], None] | None = None

    def perform(self, op: Operation, done: Callable[[Outcome], None]) -> None:
        """Start `op` now; `done(outcome)` is called once, at the virtual time it ends."""
        if self._op is not None:
            raise RuntimeError(f"client {self.client_id} already runs an operation")
        self.seq += 1
        self._op, self._done = op, done
        self._deadline = self.sim.now + OP_TIMEOUT * 1000.0
        self._maybe = False
        self._last_error = "no-leader"
        self.sim.at(self.sim.now + self.latency(), self._attempt, "client request")

    def _attempt(self) -> None:
        left = self._deadline - self.sim.now
        if left <= 0:
            self._finish(Outcome("info" if self._maybe else "fail", None, self._last_error))
            return
        op = self._op
        node = self.sim.ids[self.target]
        attempt = self.sim.invoke(
            op.f,
            op.key,
            op.value,
            node=node,
            client=self.client_id,
            seq=self.seq,
            timeout_ms=min(left, ATTEMPT_TIMEOUT_MS),
        )
        if attempt.done:
            self.answered(attempt)
        else:
            self._pending[attempt.id] = self

    def answered(self, attempt: Op) -> None:
        """SimCluster.on_complete, via the driver: runs inside the simulation, so the
        next step is only scheduled, when the answer reaches the client."""
        n = self.sim.nodes[attempt.node]
        # A refusal names the leader the node knows of when it answers.
        hint = n.core.leader if n.up and n.core is not None else None
        at = self.sim.now + self.latency()
        self.sim.at(at, lambda: self._answered(attempt, hint), "answer")

    def _answered(self, a: Op, hint: str | None) -> None:
        op = self._op
        if a.type == "ok":
            value = a.value if op.f == "read" else op.value
            self._finish(Outcome("ok", value, None, a.node))
            return
        if a.type == "fail" and a.error == "precondition":
            self._finish(Outcome("fail", None, "precondition", a.node))
            return
        if a.type == "info" or a.error in MAYBE_ERRORS:
            self._maybe = True
        self._last_error = (a.error or "unknown").replace(" ", "-")
        wait = RETRY_WAIT_MS
        if a.error in ("not leader", "leadership lost"):  # the server says not-leader to both
            if hint in self.sim.ids and hint != a.node:
                self.target = self.sim.ids.index(hint)
                wait = REDIRECT_MS
            else:
                self._rotate()
                wait = NO_LEADER_WAIT_MS
        else:
            self._rotate()
            if a.error == "node down":
                wait = REDIRECT_MS  # connection refused comes back at once
        at = min(self.sim.now + wait + self.latency(), self._deadline)
        self.sim.at(at, self._attempt, "client retry")

    def _rotate(self) -> None:
        self.target = (self.target + 1) % len(self.sim.ids)

    def _finish(self, outcome: Outcome) -> None:
        done = self._done
        self._op = self._done = None
        done(outcome)
