"""A deterministic in-process Raft cluster: real RaftCores, a simulated network, virtual time.

Everything random (message delays, drops, duplicates, election timeouts) comes from
one seed, and every event runs in a fixed order from one priority queue, so a seed
fixes the whole run: the same seed gives a byte-identical trace.

This module is the nodes and the clock; the network is network.py's (delays, loss,
duplicates, partitions, packet faults), and the optional live safety oracle is
oracle.py's (SafetyViolation). What the nodes model, and why:
- Each runs the server's own host (raftnode/host.py: persist, pipelined send, apply,
  answer clients, planted bugs) with simulated ports: a disk whose synced writes take
  disk_ms (0: instant), the simulated network, the virtual clock.
- Crash: a node stops at an event boundary and loses everything except what its host
  persisted (hard state and log), exactly as the real storage does; its clients' open
  requests lose their connection. Restart builds a fresh core and host from that state.
- Pause: a paused node neither ticks nor receives; arriving messages and client
  requests wait, and on resume it catches up the missed ticks at once, before it handles
  what waited (as the server does from its monotonic clock), so a paused leader's lease
  has expired when it wakes.
- Clock rate: a node's ticks can run faster or slower than virtual time.

`finish()` heals everything, waits for the cluster to converge and has the oracle
check log matching and that every acknowledged entry survived on every node.
"""

from __future__ import annotations

import dataclasses
import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from harness.backends.sim.network import NetworkConfig, SimNetwork, describe
from harness.backends.sim.oracle import SafetyOracle, SafetyViolation
from raftnode.config import NodeConfig
from raftnode.core import LEADER, Config, HardState, Message, RaftCore, Ready, Snapshot
from raftnode.host import Host, HostConfig, Ports
from raftnode.kv import KVStateMachine
from raftnode.membership import ADD_LEARNER, REMOVE
from raftnode.storage import MemoryStorage

__all__ = ["NetworkConfig", "SafetyViolation", "SimCluster", "SimConfig"]

# The server's own request timeout and sweep period (raftnode/server.py).
REQUEST_TIMEOUT_S = NodeConfig(id="n1", listen=("", 0), peers={}, data_dir="").request_timeout
SWEEP_MS = 1000.0


@dataclass
class SimConfig:
    nodes: int = 3
    seed: int = 0
    tick_ms: float = 10.0
    election_ticks: int = 10
    heartbeat_ticks: int = 1
    pre_vote: bool = True
    check_quorum: bool = True
    read_mode: str = "read-index"
    bugs: frozenset[str] = frozenset()
    snapshot_entries: int = 0  # the node's --snapshot-entries (0: never)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    # Disk: 0 persists each Ready instantly. Otherwise a synced write takes about
    # disk_ms, the node takes no new Ready meanwhile (group commit; the host pipelines as
    # the server does), and a crash loses the Ready being written.
    disk_ms: float = 0.0
    # The live safety oracle (oracle.py); stop_on_violation False: it records violations
    # in SimCluster.violations rather than raising the first.
    oracle: bool = True
    stop_on_violation: bool = True
    # True: an exception inside a node (its core) crashes that node and is recorded in
    # SimCluster.node_errors; False: it propagates and ends the simulation.
    crash_on_error: bool = False
    trace: bool = True


@dataclass
class _Conn:
    """One client request at a simulated node; the host answers through send()."""

    cluster: SimCluster
    node: str
    id: int
    req: dict
    reply: Callable[[dict | None], None]
    acked_before: int  # the highest index acknowledged to any client when it arrived

    def send(self, answer: dict) -> None:
        self.cluster._answered(self, answer)


@dataclass
class _Node:
    id: str
    # Durable: the hard state, the snapshot (if any) and the log after it.
    disk: MemoryStorage = field(default_factory=MemoryStorage)
    host: Host | None = None
    up: bool = True
    paused: bool = False
    incarnation: int = 0
    clock_rate: float = 1.0
    conns: dict[int, _Conn] = field(default_factory=dict)  # requests not yet answered
    inbox: list[Message | _Conn] = field(default_factory=list)  # held while paused
    missed_ticks: int = 0
    retired: bool = False  # a member added during the run and taken away again: stays down
    # Wiped after its removal: it runs as `--join` does, a new server under its old name
    # whose base configuration leaves it out, waiting for the leader to add it back.
    joining: bool = False

    @property
    def core(self) -> RaftCore | None:
        return self.host.core if self.host is not None else None

    @property
    def kv(self) -> KVStateMachine | None:
        return self.host.kv if self.host is not None else None

    @property
    def persisting(self) -> Ready | None:
        """The Ready whose synced write is under way."""
        return self.host.persisting if self.host is not None else None


class SimCluster:
    def __init__(self, config: SimConfig):
        # A private copy: finish() calms the network, and the caller's config stays as given.
        self.config = config = dataclasses.replace(
            config, network=dataclasses.replace(config.network)
        )
        self.ids = [f"n{i}" for i in range(1, config.nodes + 1)]
        # The initial configuration, every node's base (raftnode/membership.py); members
        # added during the run (add_node) join self.ids but not this.
        self.initial_ids = list(self.ids)
        self.rng = random.Random(config.seed)
        self.now = 0.0
        self._queue: list[tuple[float, int, str, object]] = []
        self._seq = 0
        self.trace: list[str] = []
        self.network = SimNetwork(config.network, self.ids, self.rng, self._deliver_at, self._log)
        self.oracle = SafetyOracle(config.stop_on_violation, self._log) if config.oracle else None
        self.node_errors: list[str] = []
        self._conn_ids = 0
        # Each node's events (DESIGN's events.jsonl lines, "time" in virtual ms), which
        # the backend writes to the run folder (harness/backends/sim/adapter.py).
        self.node_events: dict[str, list[dict]] = {i: [] for i in self.ids}
        self.nodes = {i: _Node(i) for i in self.ids}
        for i in self.ids:
            self._boot(i)
            # Each node's clock starts at a random phase, so ticks interleave.
            self._schedule(self.rng.uniform(0, config.tick_ms), "tick", (i, 0))
            self._schedule(self.rng.uniform(0, SWEEP_MS), "sweep", (i, 0))

    # ---- scheduling ---------------------------------------------------------------

    def _schedule(self, at: float, kind: str, payload: object) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (at, self._seq, kind, payload))

    def _deliver_at(self, at: float, m: Message) -> None:
        self._schedule(at, "deliver", m)

    @property
    def violations(self) -> list[str]:
        """What the oracle found (with stop_on_violation off; none without the oracle)."""
        return self.oracle.violations if self.oracle is not None else []

    def _log(self, text: str) -> None:
        if self.config.trace:
            self.trace.append(f"{self.now:.3f} {text}")

    def at(self, time_ms: float, action: Callable[[], object], label: str = "action") -> None:
        """Run `action` (e.g. lambda: c.crash("n1")) at virtual time `time_ms`."""
        self._schedule(max(time_ms, self.now), "call", (action, label))

    def step_event(self) -> bool:
        if not self._queue:
            return False
        at, _, kind, payload = heapq.heappop(self._queue)
        self.now = at
        if kind in ("tick", "deliver", "fsync", "sweep"):
            node = payload.dst if kind == "deliver" else payload[0]
            try:
                if kind == "tick":
                    self._on_tick(*payload)
                elif kind == "deliver":
                    self._on_deliver(payload)
                elif kind == "fsync":
                    self._on_fsync(*payload)
                else:
                    self._on_sweep(*payload)
            except SafetyViolation:
                raise
            except Exception as exc:
                if not self.config.crash_on_error:
                    raise
                self._node_failed(node, exc)
        elif kind == "call":
            action, label = payload
            self._log(label)
            action()
        return True

    def next_event_time(self) -> float | None:
        """The virtual time of the next queued event, or None when nothing is queued."""
        return self._queue[0][0] if self._queue else None

    def run_for(self, ms: float) -> None:
        self.run_until(lambda: False, ms)

    def run_until(self, done: Callable[[], bool], timeout_ms: float) -> bool:
        """Run events until done() or timeout_ms of virtual time passed; returns done()."""
        deadline = self.now + timeout_ms
        while not done():
            if not self._queue or self._queue[0][0] > deadline:
                self.now = max(self.now, deadline)
                return done()
            self.step_event()
        return True

    # ---- nodes --------------------------------------------------------------------

    def _boot(self, i: str) -> None:
        n = self.nodes[i]
        c = self.config
        cfg = Config(
            election_ticks=c.election_ticks,
            heartbeat_ticks=c.heartbeat_ticks,
            pre_vote=c.pre_vote,
            check_quorum=c.check_quorum,
            read_mode=c.read_mode,
            bugs=frozenset(c.bugs),
        )
        # The core's own randomness is a child of the run's seed: deterministic, yet a
        # restarted node draws new timeouts.
        rng = random.Random(self.rng.getrandbits(64))
        d = n.disk
        core = RaftCore(
            i, self.initial_ids, cfg, rng, d.hard, list(d.log), snapshot=d.snapshot, join=n.joining
        )
        host_config = HostConfig(
            read_mode=c.read_mode,
            bugs=frozenset(c.bugs),
            request_timeout=REQUEST_TIMEOUT_S,
            peers={j: j for j in self.ids},
            anon_prefix=f"anon-{i}-{n.incarnation}",
            snapshot_entries=c.snapshot_entries,
        )
        n.host = Host(core, self._ports(n), host_config, durable_commit=d.hard.commit)
        # Each event is its own loop turn: the host flushes at its end, as the server's
        # call_soon does after the data it received.
        n.host.ports.flush_soon = n.host.flush
        n.up = True
        n.paused = False
        n.inbox = []
        n.missed_ticks = 0
        self._run(n, n.host.kick)

    def _ports(self, n: _Node) -> Ports:
        """What the host of node n runs on here: the simulated disk, network and clock."""
        incarnation = n.incarnation

        def save(hs_t, entries) -> None:
            self._persist(n, hs_t, entries, None)

        def save_synced(hs_t, entries, snapshot, done) -> None:
            disk = self.config.disk_ms
            if not disk:
                self._persist(n, hs_t, entries, snapshot)
                done()
                return
            # The write takes time; a crash before it completes loses this whole Ready.
            delay = self.rng.uniform(0.5 * disk, 1.5 * disk)
            payload = (n.id, incarnation, hs_t, entries, snapshot, done)
            self._schedule(self.now + delay, "fsync", payload)

        def send(messages: list[Message]) -> None:
            for m in messages:
                self.network.send(m, self.now)

        events = self.node_events[n.id]
        oracle = self.oracle

        def event(ev: dict) -> None:
            if self.config.trace:
                self._log(f"{n.id} event {ev}")
            events.append({"time": self.now, **ev})

        return Ports(
            save=save,
            save_synced=save_synced,
            send=send,
            flush_soon=lambda: None,  # set to the host's flush once it exists
            monotonic=lambda: self.now / 1000.0,
            event=event,
            applied=(lambda e: oracle.applied_entry(n.id, e)) if oracle else (lambda e: None),
        )

    def _run(self, n: _Node, action: Callable[..., object], *args: object) -> None:
        """Run one input through node n's host; a failure inside the node crashes it
        (with crash_on_error), and the leader rules are checked after it."""
        try:
            action(*args)
        except SafetyViolation:
            raise
        except Exception as exc:
            if not self.config.crash_on_error:
                raise
            self._node_failed(n.id, exc)
            return
        if n.host is not None and self.oracle is not None:
            self.oracle.observe(n.id, n.host.core)

    def crash(self, i: str) -> None:
        n = self.nodes[i]
        if not n.up:
            return
        self._log(f"crash {i}")
        n.up = False
        n.host = None  # with it an fsync under way: its Ready is lost
        n.incarnation += 1
        # Its clients' connections are lost: what they asked may or may not have happened.
        conns, n.conns, n.inbox = n.conns, {}, []
        for conn in conns.values():
            conn.reply(None)

    def restart(self, i: str) -> None:
        n = self.nodes[i]
        if n.up or n.retired:
            return
        d = n.disk
        self._log(f"restart {i} term={d.hard.term} vote={d.hard.voted_for} log={len(d.log)}")
        self._boot(i)
        tick = (i, n.incarnation)
        self._schedule(self.now + self.rng.uniform(0, self.config.tick_ms), "tick", tick)
        self._schedule(self.now + self.rng.uniform(0, SWEEP_MS), "sweep", tick)

    # ---- membership (raftnode/membership.py) ------------------------------------------

    def add_node(self, i: str) -> None:
        """A new server outside the initial configuration, empty, up and listening (as
        `python -m raftnode --join`); it takes part once the leader adds it."""
        if i in self.nodes and not self.nodes[i].retired:
            raise ValueError(f"{i} exists already")
        self._log(f"add node {i}")
        if i not in self.ids:
            self.ids.append(i)
            self.node_events[i] = []
            self.nodes[i] = _Node(i, up=False)
        else:
            old = self.nodes[i]
            self.nodes[i] = _Node(i, up=False, incarnation=old.incarnation + 1)
            if self.oracle is not None:
                self.oracle.forget(i)
        self.restart(i)

    def retire(self, i: str) -> None:
        """Stop a node for good (a member added during the run, removed again)."""
        self.crash(i)
        self.nodes[i].retired = True

    def wipe(self, i: str) -> None:
        """Crash node i, delete everything it persisted, and start it again empty, as a
        new server under its old name (`--join`, as DESIGN tells an operator to bring a
        wiped member back): it waits to be added, and a stale leader's commit beyond its
        empty log is not a lost log of its own."""
        self.crash(i)
        self._log(f"wipe {i}")
        n = self.nodes[i]
        n.disk = MemoryStorage()
        n.joining = True
        self.restart(i)

    def membership(self) -> dict | None:
        """The leader's configuration (its latest, committed or not), or None."""
        lead = self.leader()
        if lead is None:
            return None
        core = self.nodes[lead].core
        out = core.membership.to_dict()
        out["committed"] = core.membership_committed
        out["leader"] = lead
        return out

    def change_member(self, action: str, i: str) -> None:
        """Append a change at the leader now: "add" (a learner) or "remove". Raises the
        core's NotLeader/ChangeRefused, or LookupError when no node leads."""
        lead = self.leader()
        if lead is None:
            raise LookupError("no leader")
        n = self.nodes[lead]
        change = ADD_LEARNER if action == "add" else REMOVE
        self._log(f"member {action} {i} at {lead}")
        n.core.propose_change(change, i, i if action == "add" else "")
        self._run(n, n.host.kick)

    def pause(self, i: str) -> None:
        n = self.nodes[i]
        if n.up and not n.paused:
            self._log(f"pause {i}")
            n.paused = True

    def resume(self, i: str) -> None:
        n = self.nodes[i]
        if not (n.up and n.paused):
            return
        self._log(f"resume {i} missed_ticks={n.missed_ticks}")
        n.paused = False
        ticks, n.missed_ticks = n.missed_ticks, 0
        self._run(n, lambda: n.host.tick(ticks))
        inbox, n.inbox = n.inbox, []
        for item in inbox:
            if n.host is None:
                break  # it failed on the way
            if isinstance(item, _Conn):
                self._run(n, lambda c=item: n.host.on_request(c, c.req))
            else:
                self._run(n, lambda m=item: n.host.step(m))

    def set_clock_rate(self, i: str, rate: float) -> None:
        """Make node i's ticks come `rate` times as often as they should (clock skew)."""
        if rate <= 0:
            raise ValueError(f"clock rate must be positive, got {rate}")
        self._log(f"clock {i} rate={rate}")
        self.nodes[i].clock_rate = rate

    def bump_clock(self, i: str, delta_ms: float) -> None:
        """Jump node i's clock by delta_ms, as a clock fault does to the server's clock.

        The server ticks once per elapsed tick of its clock and catches up missed ticks,
        so a forward jump is a burst of ticks at once (timeouts fire, leases end); after a
        backward jump it counts from the new reading, so ticks simply go on.
        """
        n = self.nodes[i]
        self._log(f"clock {i} bump={delta_ms}")
        if delta_ms <= 0 or not n.up:
            return
        ticks = int(delta_ms // self.config.tick_ms)
        if n.paused:
            n.missed_ticks += ticks
            return
        self._run(n, lambda: n.host.tick(ticks))

    def _on_tick(self, i: str, incarnation: int) -> None:
        n = self.nodes[i]
        if incarnation != n.incarnation:
            return  # the tick chain of a crashed incarnation ends; restart starts a new one
        if not n.up:
            return
        self._schedule(self.now + self.config.tick_ms / n.clock_rate, "tick", (i, incarnation))
        if n.paused:
            n.missed_ticks += 1
            return
        self._run(n, n.host.tick)

    def _on_sweep(self, i: str, incarnation: int) -> None:
        n = self.nodes[i]
        if incarnation != n.incarnation or not n.up:
            return
        self._schedule(self.now + SWEEP_MS, "sweep", (i, incarnation))
        if not n.paused:
            self._run(n, n.host.sweep)

    def _on_deliver(self, m: Message) -> None:
        n = self.nodes[m.dst]
        if not n.up:
            self.network.stats["dropped"] += 1
            return
        if not self.network.arrives(m):
            return
        if n.paused:
            n.inbox.append(m)
            return
        self.network.stats["delivered"] += 1
        if self.config.trace:
            self._log(describe(m))
        self._run(n, n.host.step, m)

    # ---- what the hosts do, observed -----------------------------------------------

    def _node_failed(self, i: str, exc: Exception) -> None:
        # The node's code failed: its process dies, as an uncaught error would end the
        # server. The run goes on; the error is kept for the results.
        self.node_errors.append(f"{self.now:.3f} ms {i}: {type(exc).__name__}: {exc}")
        self._log(f"node error {i}: {exc!r}")
        self.crash(i)

    def _persist(self, n: _Node, hs_t: tuple | None, entries, snapshot: Snapshot | None) -> None:
        # Exactly what the host asked for, nothing else: a crash keeps only this.
        if snapshot is not None and self.oracle is not None:
            self.oracle.snapshot(n.id, n.disk.snapshot, snapshot)
        n.disk.save(HardState(*hs_t) if hs_t is not None else None, entries, snapshot)

    def _on_fsync(self, i: str, incarnation: int, hs_t, entries, snapshot, done) -> None:
        n = self.nodes[i]
        if incarnation != n.incarnation or not n.up:
            return  # crashed before the write completed: the Ready is lost
        if n.paused:
            # A stopped process finishes nothing; look again later.
            payload = (i, incarnation, hs_t, entries, snapshot, done)
            self._schedule(self.now + self.config.tick_ms, "fsync", payload)
            return
        self._persist(n, hs_t, entries, snapshot)
        if self.config.trace:
            self._log(f"{i} fsync {len(entries)} entries")
        self._run(n, done)

    def _answered(self, conn: _Conn, answer: dict) -> None:
        """A host answers a request: check what the answer promises, then pass it on."""
        n = self.nodes[conn.node]
        if n.conns.pop(conn.id, None) is None:
            return  # the client gave up on it (a timeout): nobody hears the answer
        answer = {**answer, "node": conn.node}
        if self.oracle is not None:
            self.oracle.answered(n.id, n.core, conn.req, conn.acked_before, answer)
        conn.reply(answer)

    # ---- clients -------------------------------------------------------------------

    def leader(self) -> str | None:
        """A node that believes it leads in the highest term (there may be stale ones)."""
        best = None
        for i in self.ids:
            n = self.nodes[i]
            if n.up and not n.paused and n.core.role == LEADER:
                if best is None or n.core.term > self.nodes[best].core.term:
                    best = i
        return best

    def leaders_above(self, term: int) -> list[str]:
        """Nodes (up, not paused) that lead some term above `term`."""
        return [
            i
            for i in self.ids
            if self.nodes[i].up
            and not self.nodes[i].paused
            and self.nodes[i].core.role == LEADER
            and self.nodes[i].core.term > term
        ]

    def request(self, node: str, req: dict, reply: Callable[[dict | None], None]) -> int:
        """Deliver the wire-protocol request `req` (raftnode/client.py's, without "id") to
        `node`'s host now. `reply(answer)` is called when the host answers, with the answer
        dict (as the server sends it, "node" included), or `reply(None)` if the node
        crashes first (a lost connection). A node that is down refuses at once:
        ConnectionRefusedError, nothing was sent. A paused node holds the request, as a
        frozen process's kernel holds the bytes, and handles it when it resumes.
        No latency is added here: the caller adds its own. Returns the request's id, its
        key among the node's open requests."""
        n = self.nodes[node]
        if not n.up:
            raise ConnectionRefusedError(f"{node} is down")
        self._conn_ids += 1
        acked = self.oracle.max_acked_index if self.oracle is not None else 0
        conn = _Conn(self, node, self._conn_ids, req, reply, acked)
        n.conns[conn.id] = conn
        if n.paused:
            n.inbox.append(conn)
        else:
            self._run(n, n.host.on_request, conn, req)
        return conn.id

    # ---- the end of a run -------------------------------------------------------------

    def finish(self, timeout_ms: float = 30_000.0) -> None:
        """Heal every fault, let the cluster converge, and check what must hold at rest.

        Raises SafetyViolation on lost acknowledged entries or logs that break log
        matching, and AssertionError if the healed cluster does not converge in time.
        """
        self.network.heal()
        for i in self.ids:
            if self.nodes[i].retired:
                continue
            self.set_clock_rate(i, 1.0)
            self.resume(i)
            self.restart(i)
        net = self.network.config
        self.network.config = NetworkConfig(net.min_delay_ms, net.max_delay_ms)
        # Converged: one leader whose whole log is committed and applied everywhere.
        if not self.run_until(self._converged, timeout_ms):
            states = {
                i: self.nodes[i].core.status() if self.nodes[i].core else None
                for i in self._members()
            }
            raise AssertionError(f"healed cluster did not converge in {timeout_ms} ms: {states}")
        if self.oracle is not None:
            live = {i: self.nodes[i].core.entries_from(1) for i in self.ids if self.nodes[i].up}
            self.oracle.check_logs(live)
            self.oracle.check_durable({i: self.nodes[i].core for i in self._members()})

    def _members(self) -> list[str]:
        """The members of the leader's configuration (every node when none leads):
        a removed node is no longer kept up to date."""
        lead = self.leader()
        if lead is None:
            return [i for i in self.ids if not self.nodes[i].retired]
        members = self.nodes[lead].core.membership.members
        return [i for i in self.ids if i in members]

    def _converged(self) -> bool:
        lead = self.leader()
        if lead is None:
            return False
        last = self.nodes[lead].core.last_index
        return all(
            self.nodes[i].up
            and self.nodes[i].core.commit_index == last
            and self.nodes[i].kv.applied_index == last
            for i in self._members()
        )

    def trace_text(self) -> str:
        return "\n".join(self.trace) + "\n"
