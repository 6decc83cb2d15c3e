"""A deterministic in-process Raft cluster: real RaftCores, a simulated network, virtual time.

Everything random (message delays, drops, duplicates, election timeouts) comes from
one seed, and every event runs in a fixed order from one priority queue, so a seed
fixes the whole run: the same seed gives a byte-identical trace.

What the simulation models, and why:
- Network: each message gets an independent random delay (hence reordering), may be
  dropped or duplicated, and is lost if a partition separates its ends when it is
  sent or when it arrives.
- Nodes: each runs the server's own host (raftnode/host.py: persist, pipelined send,
  apply, answer clients, planted bugs) with simulated ports: a disk whose synced writes
  take disk_ms (0: instant), the simulated network, the virtual clock.
- Crash: a node stops at an event boundary and loses everything except what its host
  persisted (hard state and log), exactly as the real storage does; its clients' open
  requests lose their connection. Restart builds a fresh core and host from that state.
- Pause: a paused node neither ticks nor receives; arriving messages and client
  requests wait, and on resume it catches up the missed ticks at once, before it handles
  what waited (as the server does from its monotonic clock), so a paused leader's lease
  has expired when it wakes.
- Clock rate: a node's ticks can run faster or slower than virtual time.

Safety is checked as the run goes (see SafetyViolation): election safety, state
machine safety, leader completeness for acknowledged entries, and that reads
reflect every write acknowledged before they were invoked. `finish()` heals
everything, waits for the cluster to converge and checks log matching and that
every acknowledged entry survived on every node.
"""

from __future__ import annotations

import dataclasses
import heapq
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from raftnode.config import NodeConfig
from raftnode.core import LEADER, Config, Entry, HardState, Message, RaftCore, Ready, Snapshot
from raftnode.host import Host, HostConfig, Ports
from raftnode.kv import KVStateMachine
from raftnode.membership import ADD_LEARNER, REMOVE
from raftnode.wire import log_digest

# The server's own request timeout and sweep period (raftnode/server.py).
REQUEST_TIMEOUT_S = NodeConfig(id="n1", listen=("", 0), peers={}, data_dir="").request_timeout
SWEEP_MS = 1000.0


class SafetyViolation(AssertionError):
    """A Raft safety property failed; the message says which and where."""


@dataclass
class NetworkConfig:
    min_delay_ms: float = 1.0
    max_delay_ms: float = 10.0
    drop: float = 0.0  # probability a message is lost
    duplicate: float = 0.0  # probability a message is delivered twice
    # A long tail: with probability `slow` a copy is delayed up to slow_delay_ms instead,
    # so old requests (and old votes) arrive long after their sender moved on.
    slow: float = 0.0
    slow_delay_ms: float = 300.0


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
    stop_on_violation: bool = True  # False: record violations in SimCluster.violations
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
    hard: HardState = field(default_factory=HardState)
    # Durable: the snapshot (if any) and the log after it.
    snapshot: Snapshot | None = None
    log: list[Entry] = field(default_factory=list)
    host: Host | None = None
    up: bool = True
    paused: bool = False
    incarnation: int = 0
    clock_rate: float = 1.0
    conns: dict[int, _Conn] = field(default_factory=dict)  # requests not yet answered
    inbox: list[Message | _Conn] = field(default_factory=list)  # held while paused
    missed_ticks: int = 0
    checked_term: int = -1  # the last term in which leader completeness was checked
    retired: bool = False  # a member added during the run and taken away again: stays down

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
        self.blocked: set[tuple[str, str]] = set()
        self.trace: list[str] = []
        # Safety bookkeeping.
        self.leaders: dict[int, str] = {}  # term -> the one leader of that term
        self.applied: dict[int, Entry] = {}  # index -> the entry applied there (by anyone)
        self._digests: dict[int, str] = {}  # snapshot index -> log_digest of entries 1..index
        self.acked: dict[int, tuple[Entry, int]] = {}  # index -> (entry, max term at ack)
        self.max_acked_index = 0
        self.max_term = 0
        self.stats = {"delivered": 0, "dropped": 0, "duplicated": 0}
        self.violations: list[str] = []
        self.node_errors: list[str] = []
        self._conn_ids = 0
        # Each node's events (DESIGN's events.jsonl lines, "time" in virtual ms), which
        # the backend writes to the run folder (harness/backends/sim/adapter.py).
        self.node_events: dict[str, list[dict]] = {i: [] for i in self.ids}
        # Per-node faults on what a node receives (a packet fault): node -> (delay_ms, loss).
        self.inbound: dict[str, tuple[float, float]] = {}
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
        core = RaftCore(i, self.initial_ids, cfg, rng, n.hard, list(n.log), snapshot=n.snapshot)
        host_config = HostConfig(
            read_mode=c.read_mode,
            bugs=frozenset(c.bugs),
            request_timeout=REQUEST_TIMEOUT_S,
            peers={j: j for j in self.ids},
            anon_prefix=f"anon-{i}-{n.incarnation}",
            snapshot_entries=c.snapshot_entries,
        )
        n.host = Host(core, self._ports(n), host_config, durable_commit=n.hard.commit)
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
                self._send(m)

        events = self.node_events[n.id]

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
            applied=lambda e: self._applied(n, e),
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
        if n.host is not None:
            self._observe(n)

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
        self._log(f"restart {i} term={n.hard.term} vote={n.hard.voted_for} log={len(n.log)}")
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
        self.restart(i)

    def retire(self, i: str) -> None:
        """Stop a node for good (a member added during the run, removed again)."""
        self.crash(i)
        self.nodes[i].retired = True

    def wipe(self, i: str) -> None:
        """Crash node i, delete everything it persisted, and start it again empty."""
        self.crash(i)
        self._log(f"wipe {i}")
        n = self.nodes[i]
        n.hard, n.log, n.snapshot = HardState(), [], None
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

    # ---- network ------------------------------------------------------------------

    def partition(self, *groups: list[str]) -> None:
        """Nodes talk only within their group; nodes in no group are cut off from all."""
        self._log(f"partition {[sorted(g) for g in groups]}")
        side = {i: k for k, g in enumerate(groups) for i in g}
        self.blocked = {
            (a, b)
            for a in self.ids
            for b in self.ids
            if a != b and (a not in side or b not in side or side[a] != side[b])
        }

    def isolate(self, i: str) -> None:
        self.partition([j for j in self.ids if j != i])

    def block(self, src: str, dst: str) -> None:
        """One-way loss: messages from src to dst are dropped."""
        self._log(f"block {src}->{dst}")
        self.blocked.add((src, dst))

    def cut(self, pairs: list[tuple[str, str]]) -> None:
        """Drop messages on each (src, dst) link given, on top of what is cut already:
        any partition shape (bridge, ring, one-way) is a set of such links."""
        for src, dst in pairs:
            if src not in self.nodes or dst not in self.nodes:
                raise ValueError(f"unknown node in link {src}->{dst}; nodes are {self.ids}")
            self.block(src, dst)

    def set_network(self, network: NetworkConfig) -> None:
        """Change delays, loss and duplication from now on (a packet fault)."""
        self._log(f"network {network}")
        self.config.network = network

    def heal(self) -> None:
        self._log("heal")
        self.blocked = set()

    def set_inbound(self, i: str, delay_ms: float = 0.0, loss: float = 0.0) -> None:
        """What node i receives is delayed by delay_ms more and lost with probability
        `loss` (0..1), as a packet fault on that node's interface does."""
        if i not in self.nodes or delay_ms < 0 or not 0 <= loss <= 1:
            raise ValueError(f"set_inbound({i!r}, {delay_ms}, {loss}): bad node, delay or loss")
        self._log(f"inbound {i} delay={delay_ms} loss={loss}")
        self.inbound[i] = (delay_ms, loss)

    def clear_inbound(self, i: str) -> None:
        self._log(f"inbound {i} clear")
        self.inbound.pop(i, None)

    def _send(self, m: Message) -> None:
        net = self.config.network
        if (m.src, m.dst) in self.blocked or self.rng.random() < net.drop:
            self.stats["dropped"] += 1
            return
        extra_delay = 0.0
        if m.dst in self.inbound:  # drawn only under a packet fault: other runs stay as they were
            extra_delay, loss = self.inbound[m.dst]
            if loss and self.rng.random() < loss:
                self.stats["dropped"] += 1
                return
        copies = 2 if self.rng.random() < net.duplicate else 1
        self.stats["duplicated"] += copies - 1
        for _ in range(copies):
            if net.slow and self.rng.random() < net.slow:
                delay = self.rng.uniform(net.max_delay_ms, net.slow_delay_ms)
            else:
                delay = self.rng.uniform(net.min_delay_ms, net.max_delay_ms)
            self._schedule(self.now + delay + extra_delay, "deliver", m)

    def _on_deliver(self, m: Message) -> None:
        n = self.nodes[m.dst]
        if not n.up or (m.src, m.dst) in self.blocked:
            self.stats["dropped"] += 1
            return
        if n.paused:
            n.inbox.append(m)
            return
        self.stats["delivered"] += 1
        if self.config.trace:
            self._log(_describe(m))
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
        if hs_t is not None:
            n.hard = HardState(*hs_t)
        if snapshot is not None:
            # The snapshot, and the whole log after it in place of the old one.
            self._check_snapshot(n, snapshot)
            n.snapshot, n.log = snapshot, list(entries)
            return
        if entries:
            first = n.snapshot.index + 1 if n.snapshot else 1
            del n.log[entries[0].index - first :]
            n.log.extend(entries)

    def _check_snapshot(self, n: _Node, snap: Snapshot) -> None:
        """A snapshot covers entries every node applies alike (state machine safety): its
        digest must be that of the entries applied at its indexes, where all are known."""
        digest = json.loads(snap.data)["digest"]
        start = n.snapshot.index if n.snapshot else 0
        if start and self._digests.get(start) is None:
            return
        prev = self._digests.get(start, "")
        run = [self.applied.get(i) for i in range(start + 1, snap.index + 1)]
        if None in run:
            return  # (entries applied only inside other snapshots: nothing to compare)
        expected = log_digest(prev, ((e.term, e.command) for e in run))
        seen = self._digests.setdefault(snap.index, expected)
        if digest != seen:
            self._violation(
                f"state machine safety: {n.id} snapshots through index {snap.index} a log "
                f"that differs from the entries applied there"
            )

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

    def _observe(self, n: _Node) -> None:
        core = n.core
        if core.term > self.max_term:
            self.max_term = core.term
        if core.role != LEADER:
            return
        other = self.leaders.setdefault(core.term, n.id)
        if other != n.id:
            self._violation(
                f"election safety: {other} and {n.id} are both leaders of term {core.term}"
            )
        if n.checked_term == core.term:
            return
        n.checked_term = core.term
        # Leader completeness: an entry acknowledged while every term was below this
        # leader's term was committed in an earlier term, so this leader must hold it.
        for index, (entry, term_at_ack) in self.acked.items():
            if term_at_ack < core.term and index > core.snapshot_index:
                # (What its snapshot covers was committed: _check_snapshot holds it.)
                have = core.entry(index)
                if have != entry:
                    self._violation(
                        f"leader completeness: {n.id} leads term {core.term} without "
                        f"acknowledged entry {entry} (has {have})"
                    )

    def _applied(self, n: _Node, e: Entry) -> None:
        seen = self.applied.setdefault(e.index, e)
        if seen != e:
            self._violation(
                f"state machine safety: {n.id} applies {e} at index {e.index}, "
                f"another node applied {seen}"
            )

    def _answered(self, conn: _Conn, answer: dict) -> None:
        """A host answers a request: check what the answer promises, then pass it on."""
        n = self.nodes[conn.node]
        if n.conns.pop(conn.id, None) is None:
            return  # the client gave up on it (a timeout): nobody hears the answer
        answer = {**answer, "node": conn.node}
        if answer.get("ok") and conn.req.get("op") in ("put", "write", "cas", "get", "read"):
            index = answer.get("index")
            if index is not None and conn.req["op"] not in ("get", "read"):
                self._acknowledge(n.core.entry(index))
            read_at = answer.get("read_at", index)
            if conn.req["op"] in ("get", "read") and read_at is not None:
                answer["read_at"] = read_at
                if read_at < conn.acked_before:
                    self._violation(
                        f"stale read: {n.id} read key {conn.req.get('key')!r} at index "
                        f"{read_at}, but index {conn.acked_before} was acknowledged before "
                        f"the read began"
                    )
        conn.reply(answer)

    def _acknowledge(self, e: Entry) -> None:
        # A client was told this entry took effect: from now on it must never be lost.
        self.acked[e.index] = (e, self.max_term)
        self.max_acked_index = max(self.max_acked_index, e.index)

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
        conn = _Conn(self, node, self._conn_ids, req, reply, self.max_acked_index)
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
        self.heal()
        for i in self.ids:
            if self.nodes[i].retired:
                continue
            self.set_clock_rate(i, 1.0)
            self.resume(i)
            self.restart(i)
        net = self.config.network
        self.config.network = NetworkConfig(net.min_delay_ms, net.max_delay_ms)
        # Converged: one leader whose whole log is committed and applied everywhere.
        if not self.run_until(self._converged, timeout_ms):
            states = {
                i: self.nodes[i].core.status() if self.nodes[i].core else None
                for i in self._members()
            }
            raise AssertionError(f"healed cluster did not converge in {timeout_ms} ms: {states}")
        self.check_logs()
        for index, (entry, _) in sorted(self.acked.items()):
            for i in self._members():
                core = self.nodes[i].core
                if index <= core.snapshot_index:
                    continue  # in its snapshot, whose digest _check_snapshot compared
                have = core.entry(index)
                if have != entry:
                    self._violation(
                        f"durability: acknowledged {entry} is missing on {i} (has {have})"
                    )

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

    def check_logs(self) -> None:
        """Log matching over every pair of live nodes: same index and term, same prefix."""
        # Compared over the indexes both still hold (snapshots cut logs at different places).
        logs = {
            i: {e.index: e for e in self.nodes[i].core.entries_from(1)}
            for i in self.ids
            if self.nodes[i].up
        }
        names = sorted(logs)
        for a_i, a in enumerate(names):
            for b in names[a_i + 1 :]:
                la, lb = logs[a], logs[b]
                common = sorted(set(la) & set(lb))
                d = next((k for k in common if la[k] != lb[k]), None)
                if d is None:
                    continue
                for k in common:
                    if k > d and la[k].term == lb[k].term:
                        self._violation(
                            f"log matching: {a} and {b} agree on term {la[k].term} at index "
                            f"{k} but differ at index {d}"
                        )

    def _violation(self, message: str) -> None:
        # Raise at once (the default: the run stops where the property broke), or, with
        # stop_on_violation off, record it and carry on so the history shows the effect.
        self._log(f"VIOLATION {message}")
        if self.config.stop_on_violation:
            raise SafetyViolation(message)
        self.violations.append(message)

    def trace_text(self) -> str:
        return "\n".join(self.trace) + "\n"


def _describe(m: Message) -> str:
    s = f"{m.src}>{m.dst} {m.type} t{m.term}"
    if m.type in ("append", "prevote", "vote"):
        s += f" i{m.index} lt{m.log_term}"
    if m.entries:
        s += f" e{m.entries[0].index}..{m.entries[-1].index}"
    if m.type in ("append", "heartbeat") and m.commit:
        s += f" c{m.commit}"
    if m.type == "append_resp":
        s += f" i{m.index}"
        if m.reject:
            s += f" reject ct{m.conflict_term} ci{m.conflict_index}"
    elif m.reject:
        s += " reject"
    if m.context:
        s += f" x{m.context}"
    return s
