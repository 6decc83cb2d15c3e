"""The `Cluster` interface over a SimCluster, so the run driver (harness/driver.py) and
the nemesis's own fault objects (harness/nemesis/) drive the simulation exactly as they
drive Docker.

The primitives are called directly rather than in a thread (`run_blocking`). Most act
at once, at the current virtual time; the network's (partitions and their heals) take
effect as Docker's do during a run: each node's rules when its own `docker exec` gets to
run, 0.08-0.33 s after the nemesis asked, nodes within 145 ms of each other and a node's
rules 12 ms apart, and the driver goes on once all of them have (EXEC_MS). Applied at
once, every cut fell at the same moment of the leader's CheckQuorum period (a fixed time
after the workload started), which made the simulation see a deposed leader's last
answers far more often than Docker (issue 24). Clients are raftnode's own, over the
simulated network (harness/backends/sim/transport.py).
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from harness.backends.base import Cluster
from harness.backends.sim.cluster import SimCluster
from harness.backends.sim.transport import SimTransport
from harness.systems.base import ClientOptions
from raftnode.client import Client
from raftnode.host import log_lost_words

T = TypeVar("T")

# One way, harness to node: a local bridge and a busy server.
CLIENT_LATENCY_MS = (0.1, 1.0)
SETTLE_MS = 30_000.0  # a healed cluster converges within this, before its logs are dumped
# How long after the nemesis asks a node's iptables rules take effect on Docker: one
# `docker exec` per container, all in parallel (harness/backends/docker/cluster.py's
# `each`), each rule of an exec stamped as it lands. Measured during runs, where the
# nodes and the workload load the machine (benchmarks/bench_exec_spread.py: 18 leader
# cuts in 9 runs of leader-cuts.yaml, load 0.3-2.4 on 2 cores): the first node's rules
# land 96-204 ms after the request (median 155), the last node's 188-331 ms (median
# 254), 65-152 ms apart (median 97); within one exec each further rule ~12 ms after the
# one before. So a call's execs share one delay (EXEC_MS[0] up to EXEC_MS[1] less the
# spread), each node adds its own up to EXEC_SPREAD_MS, and its rules land RULE_MS
# apart. On an idle cluster the execs are faster and half as spread; drawn from that
# (80-220 ms, 70 ms apart, a node's rules at once), the simulation cut the leader earlier
# in its CheckQuorum period than Docker does (docs/detection.md, issue 24).
EXEC_MS = (75.0, 330.0)  # the earliest and the latest a node's first rule takes effect
EXEC_SPREAD_MS = 145.0
RULE_MS = 12.0


def rules_in_ms(rules: int = 8) -> float:
    """By when (ms after the request) a node's rules are all in, for up to `rules` rules
    in one exec (a node cut from eight others has eight)."""
    return EXEC_MS[1] + (rules - 1) * RULE_MS


class SimBackendCluster(Cluster):
    def __init__(self, sim: SimCluster, seed: int = 0):
        self.sim = sim
        self.nodes = list(sim.ids)
        # Client <-> node latencies on their own random stream, so the cluster's stays as
        # it is.
        rng = random.Random(f"{seed}/sim-clients")
        self.latency = lambda: rng.uniform(*CLIENT_LATENCY_MS)
        self.settle_problem: str | None = None
        self.clock_offsets: dict[str, float] = {n: 0.0 for n in self.nodes}  # seconds
        self._strobe: dict[str, int] = {}  # node -> generation of its strobe chain
        # The network faults' execs (EXEC_MS): their own random stream, each node's in
        # order (an exec starts once the node's previous one is done), and when the
        # primitive being called is done with all of them.
        self._exec_rng = random.Random(f"{seed}/sim-exec")
        self._exec_done: dict[str, float] = {}  # node -> virtual ms its last exec ends
        self._call_done = 0.0
        self._call_delay: float | None = None  # the delay the current call's execs share

    # ---- life cycle: the simulation exists as soon as it is built ------------------

    def start(self) -> None:
        pass

    def teardown(self) -> None:
        pass

    # ---- observation -----------------------------------------------------------------

    def addrs(self) -> dict[str, str]:
        return {n: f"sim:{n}" for n in self.nodes}

    def status(self, node: str, timeout: float = 1.0) -> dict[str, Any] | None:
        n = self.sim.nodes[node]
        if not n.up or n.paused:
            return None  # a killed or frozen node does not answer
        return n.core.status()

    def leader(self) -> str | None:
        return self.sim.leader()

    # ---- what the run driver uses ------------------------------------------------------

    def open_client(self, timeout: float, options: ClientOptions = ClientOptions()) -> Client:
        transport = SimTransport(self.sim, self.latency)
        nodes = {n: n for n in self.nodes}
        return Client(nodes, timeout=timeout, transport=transport, **options.kwargs())

    async def run_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        # fn schedules the execs it needs (_exec) and returns; the caller goes on once
        # they are all done, as Docker's does once every `docker exec` returned.
        self._call_done = 0.0
        self._call_delay = self._draw_delay()
        try:
            out = fn(*args)
        finally:
            self._call_delay = None
        wait_ms = self._call_done - self.sim.now
        if wait_ms > 0:
            await asyncio.sleep(wait_ms / 1000.0)
        return out

    def _draw_delay(self) -> float:
        """The delay one call's execs share (the machine's, before each node's own)."""
        return self._exec_rng.uniform(EXEC_MS[0], EXEC_MS[1] - EXEC_SPREAD_MS)

    def _exec(self, node: str, actions: list[Callable[[], object]]) -> None:
        """`actions` on `node`, one rule each, when a `docker exec` into it would have run
        them (EXEC_MS, RULE_MS apart)."""
        shared = self._call_delay if self._call_delay is not None else self._draw_delay()
        delay = shared + self._exec_rng.uniform(0.0, EXEC_SPREAD_MS)
        at = max(self.sim.now, self._exec_done.get(node, 0.0)) + delay
        for k, action in enumerate(actions):
            self.sim.at(at + k * RULE_MS, action, f"exec on {node}")
        done = at + (len(actions) - 1) * RULE_MS
        self._exec_done[node] = done
        self._call_done = max(self._call_done, done)

    def _rules(self, links: list[tuple[str, str]]) -> None:
        """Drop each (src, dst) link, from when dst's rule for it is written: Docker's rule
        for a link is in its receiver's chain, a receiver's rules in order in one exec."""
        for src, dst in links:
            if src not in self.sim.nodes or dst not in self.sim.nodes:
                raise ValueError(f"unknown node in link {src}->{dst}; nodes are {self.sim.ids}")
        by_dst: dict[str, list[tuple[str, str]]] = {}
        for link in links:
            by_dst.setdefault(link[1], []).append(link)
        for dst, own in by_dst.items():
            self._exec(dst, [lambda link=link: self.sim.network.cut([link]) for link in own])

    def _flush(self, node: str) -> None:
        """Node's rules flushed: what it receives is no longer dropped."""
        net = self.sim.network
        net.blocked = {link for link in net.blocked if link[1] != node}

    def collect(self, dest: Any) -> None:
        """Heal everything and let the cluster converge, so every node's committed log is
        complete when it is dumped (Docker collects from a healed cluster too), then write
        nodes/<id>/events.jsonl (virtual ns) and log.jsonl (committed entries, in order)."""
        sim = self.sim
        try:
            sim.finish(timeout_ms=SETTLE_MS)
        except AssertionError as exc:  # did not converge: dump what there is
            self.settle_problem = str(exc)
        root = Path(dest)
        for i in sim.ids:
            d = root / "nodes" / i
            d.mkdir(parents=True, exist_ok=True)
            # What the node's own log would say of an error it died of (checkers/crashes.py).
            with open(d / "node.log", "w", encoding="utf-8") as f:
                for error in sim.node_errors:
                    at, _, rest = error.partition(" ms ")
                    if rest.startswith(f"{i}: "):
                        f.write(f"{at} ms {i} CRITICAL node error: {rest}\n")
                for ev in sim.node_events[i]:
                    if "log_lost" in ev:  # what the server logs (raftnode/server.py)
                        words = log_lost_words(i, ev["log_lost"], self.addrs())
                        f.write(f"{ev['time']:.3f} ms {i} ERROR {words}\n")
            node = json.dumps(i)
            with open(d / "events.jsonl", "w", encoding="utf-8") as f:
                for ev in sim.node_events[i]:
                    t = round(ev["time"] * 1_000_000)
                    if len(ev) == 4 and "commit" in ev:
                        # Most lines by far (one per commit move): written directly, the
                        # same bytes json.dumps gives.
                        commit, term_at = ev["commit"], ev["term_at"]
                        f.write(
                            f'{{"time": {t}, "node": {node}, "commit": {commit}, '
                            f'"term_at": {term_at}}}\n'
                        )
                    else:
                        f.write(json.dumps({**ev, "time": t}) + "\n")
            n = sim.nodes[i]
            if n.core is None:
                continue
            with open(d / "log.jsonl", "w", encoding="utf-8") as f:
                for line in n.host.committed_log():
                    f.write(json.dumps(line) + "\n")

    # ---- membership -------------------------------------------------------------------

    def initial_nodes(self) -> list[str]:
        return list(self.sim.initial_ids)

    def members(self) -> dict[str, Any] | None:
        return self.sim.membership()

    def member_change(self, action: str, node: str, wait: bool = True) -> None:
        # The change is appended at once in virtual time: there is no answer to wait for.
        self.sim.change_member(action, node)

    def wipe(self, node: str) -> None:
        self.sim.wipe(node)

    def spawn(self) -> str:
        k = len(self.sim.ids) + 1
        node = f"n{k}"
        self.sim.add_node(node)
        self.nodes.append(node)
        self.clock_offsets[node] = 0.0
        return node

    def retire(self, node: str) -> None:
        self.sim.retire(node)
        if node in self.nodes:
            self.nodes.remove(node)

    def every(self, period_s: float, poll: Callable[[], bool]) -> None:
        def again() -> None:
            if not poll():
                self.sim.at(self.sim.now + period_s * 1000.0, again, "membership poll")

        self.sim.at(self.sim.now + period_s * 1000.0, again, "membership poll")

    # ---- fault primitives ------------------------------------------------------------

    def block(self, src: str, dst: str) -> None:
        self._rules([(src, dst)])

    def cut_many(self, pairs: list[tuple[str, str]]) -> None:
        self._rules([p for a, b in pairs for p in ((a, b), (b, a))])

    def block_many(self, pairs: list[tuple[str, str]]) -> None:
        self._rules(list(pairs))

    def heal_network(self) -> None:
        for node in self.sim.ids:
            self._exec(node, [lambda node=node: self._flush(node)])

    def kill(self, node: str) -> None:
        self.sim.crash(node)

    def restart(self, node: str) -> None:
        self.sim.restart(node)

    def pause(self, node: str) -> None:
        self.sim.pause(node)

    def resume(self, node: str) -> None:
        self.sim.resume(node)

    def set_clock(self, node: str, offset_s: float) -> None:
        """A jump to real time + offset_s: forward jumps fire the node's missed ticks at
        once (timeouts, lease expiry), backward ones just move the reading (see
        SimCluster.bump_clock)."""
        delta_ms = (offset_s - self.clock_offsets[node]) * 1000.0
        self.clock_offsets[node] = offset_s
        self.sim.bump_clock(node, delta_ms)

    def strobe_clock(self, node: str, delta_s: float, period_s: float) -> None:
        if period_s <= 0:
            raise ValueError(f"strobe period must be positive, got {period_s}")
        gen = self._strobe.get(node, 0) + 1
        self._strobe[node] = gen
        base = self.clock_offsets[node]

        def flip(high: bool) -> None:
            if self._strobe.get(node) != gen:
                return  # stopped, or a newer strobe took over
            self.set_clock(node, base + delta_s if high else base)
            self.sim.at(self.sim.now + period_s * 1000.0, lambda: flip(not high), "strobe")

        flip(True)

    def stop_strobe(self, node: str) -> None:
        self._strobe[node] = self._strobe.get(node, 0) + 1

    def set_packet(self, node: str, delay_ms: float = 0.0, loss_pct: float = 0.0) -> None:
        self.sim.network.set_inbound(node, delay_ms, loss_pct / 100.0)

    def clear_packet(self, node: str) -> None:
        self.sim.network.clear_inbound(node)
