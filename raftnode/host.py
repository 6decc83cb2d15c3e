"""The host: the node's whole policy around the pure core, written once.

The core (core.py) decides; the host carries out what it decides, in the order that
keeps Raft's promises, and answers clients:

  inputs (peer messages, client requests, ticks) -> core.step/propose/read_index/tick
  flush(), when asked (once per event-loop turn on a server), if the core has a Ready:
    1. persist Ready.hard_state and Ready.entries, synced, through the disk port; the
       node keeps receiving meanwhile, so what arrives during an fsync lands in the
       *next* Ready: group commit without a batching timer;
    2. only then: write events, send Ready.messages, apply Ready.committed, answer
       clients, serve Ready.reads.
  Readys are persisted strictly one after another and nothing of a Ready leaves the node
  before it is durable, so no peer or client ever sees state the node could forget
  (the exceptions, and why they are safe, are in flush()).

What the host does not do is where the node runs: the asyncio server (server.py) and the
deterministic simulation (harness/backends/sim/cluster.py) each plug in their `Ports` (disk,
network, clock, event file, "flush soon"), so the simulation runs the server's own
pipelining, apply and reply code. Clients of a follower are answered "not-leader"
(definite: the request was not forwarded, so it certainly did not happen) with the
leader's id and address; raftnode.client follows the redirect.

Planted bugs of the host (docs/DESIGN.md "Planted bugs"): ack-before-commit,
txn-dirty-read.

Transactions (raftnode/kv.py): one that writes is proposed like a write; a read-only one
takes the node's read path (ReadIndex or lease, or the log in log mode), like a read.
"""

from __future__ import annotations

import heapq
import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from raftnode.core import (
    APPEND,
    HEARTBEAT,
    LEADER,
    SNAPSHOT,
    Entry,
    Message,
    NotLeader,
    RaftCore,
    Ready,
    Snapshot,
)
from raftnode.kv import CommandError, KVStateMachine, check_transfer, check_txn, read_only
from raftnode.membership import ADD_LEARNER, REMOVE, ChangeRefused, Membership
from raftnode.wire import compact_json, log_digest

# Leader-to-follower messages that may leave before the leader's own log write is durable.
EARLY_TYPES = frozenset({APPEND, HEARTBEAT, SNAPSHOT})

HardStateTuple = tuple[int, Any, int]  # (term, voted_for, commit)


class Conn(Protocol):
    """Where the answers to one client's requests go."""

    def send(self, answer: dict) -> None: ...


@dataclass
class Ports:
    """What the host needs from where it runs."""

    # Write hard state and entries now, without fsync (only a moved commit index: a
    # recovery from a lower one is safe).
    save: Callable[[HardStateTuple | None, Sequence[Entry]], None]
    # Write them durably and call done() once they are. A crash before that loses the
    # write, and the Ready with it. A write that fails is the port's to handle: the node
    # cannot promise anything it cannot store, so the server stops at once, like a crash.
    # With a snapshot: store it first, then the entries replace the whole log after it.
    save_synced: Callable[
        [HardStateTuple | None, Sequence[Entry], Snapshot | None, Callable[[], None]], None
    ]
    send: Callable[[list[Message]], None]
    flush_soon: Callable[[], None]  # call Host.flush() soon (next loop turn, or now)
    monotonic: Callable[[], float]  # seconds, for request timeouts
    event: Callable[[dict], None]  # one events.jsonl line, without its time
    # Each entry as it is applied: the simulation checks state machine safety with it.
    applied: Callable[[Entry], None] = lambda e: None
    # The configuration in force changed (a change appended, or cut): the server opens and
    # closes peer links. Also called once at start with the recovered configuration.
    config_changed: Callable[[Membership], None] = lambda m: None


@dataclass
class HostConfig:
    read_mode: str = "read-index"
    bugs: frozenset[str] = frozenset()
    request_timeout: float = 5.0  # seconds a request may wait for the log before "unknown"
    peers: dict[str, str] = field(default_factory=dict)  # id -> "HOST:PORT", for redirects
    anon_prefix: str = "anon"  # client ids for requests that bring none
    # Snapshot the state machine (and drop the log it covers) every this many applied
    # entries; 0: never.
    snapshot_entries: int = 0


@dataclass
class Pending:
    """A client request waiting for the log (write, cas, or a read in log mode)."""

    conn: Conn
    rid: Any
    client: str
    seq: int
    op: str
    since: float
    command: dict | None = None  # a membership change: answered when this very entry applies


@dataclass(order=True)
class ReadWaiter:
    index: int
    order: int
    conn: Conn = field(compare=False)
    rid: Any = field(compare=False)
    key: str | TxnRead = field(compare=False)


@dataclass(frozen=True)
class TxnRead:
    """What a read-only transaction waits to read (a register read waits for a key)."""

    ops: list


def log_lost_words(node: str, lost: dict, addrs: dict[str, str]) -> str:
    """What a node says, once, when a leader shows that its log is gone (the core's
    `log_lost` event): what happened, and how to bring it back. `addrs`: the members'
    addresses as this node knows them."""
    leader = lost.get("leader") or "the leader"
    at = addrs.get(leader) or "HOST:PORT"
    own = addrs.get(node) or "HOST:PORT"
    return (
        f"node {node}: the leader {leader} has entries up to {lost.get('leader_commit')} "
        f"committed here, but this node's log ends at {lost.get('last_index')}: its data "
        "was lost (deleted, or restored from an old copy) while it kept its id. It has "
        "forgotten its term and its votes too, so it takes no part (it votes for no one and "
        "answers no leader) until it is removed and added back as a new member: "
        f"`raftquake kv --node {at} member remove {node}`, then stop this node, start it "
        f"again with an empty data directory and --join, and `raftquake kv --node {at} "
        f"member add {node}={own}`"
    )


def fail(rid: Any, error: str) -> dict:
    """Definitely not done."""
    return {"id": rid, "ok": False, "error": error, "definite": True}


def unknown(rid: Any, reason: str) -> dict:
    """May or may not have happened, now or later."""
    return {"id": rid, "ok": False, "error": "unknown", "reason": reason, "definite": False}


class Host:
    def __init__(
        self,
        core: RaftCore,
        ports: Ports,
        config: HostConfig,
        durable_commit: int = 0,
    ):
        self.core = core
        self.id = core.id
        self.ports = ports
        self.config = config
        self.bugs = config.bugs
        self._ack_before_commit = "ack-before-commit" in config.bugs
        self._txn_dirty_read = "txn-dirty-read" in config.bugs
        self._snapshot_skip_commit = "snapshot-skip-commit" in config.bugs
        # The state machine lives in memory: load the snapshot, then replay the durable
        # committed entries after it.
        self.kv = KVStateMachine()
        self.applied = 0
        self.digest = ""  # log_digest of the entries the snapshot covers
        if core.snapshot is not None:
            self._load(core.snapshot)
        for e in core.entries_from(1):
            if e.index > durable_commit:
                break
            self.kv.apply(e)
            self.applied = e.index
        hs = core.status()
        self._persisted_hs: HardStateTuple = (hs["term"], hs["voted_for"], durable_commit)
        self.pending: dict[int, Pending] = {}  # log index -> request
        self.read_waiting: dict[Any, tuple[Conn, Any, str, float]] = {}  # read_index id
        self.read_heap: list[ReadWaiter] = []  # answerable once applied >= index
        self._read_ids = itertools.count(1)
        self._anon = itertools.count(1)
        self._flush_asked = False
        self.persisting: Ready | None = None  # the Ready whose synced write is under way
        self.stopped = False
        self._last_role = core.role
        self._membership: Membership | None = None
        self._config_seen()

    # ---- inputs ------------------------------------------------------------------------

    def step(self, msg: Message) -> None:
        self.core.step(msg)
        self.kick()

    def on_peer_message(self, d: dict) -> None:
        """A peer message off the wire (Message.from_dict raises on a malformed one)."""
        self.step(Message.from_dict(d))

    def tick(self, n: int = 1) -> None:
        for _ in range(n):
            self.core.tick()
        self.kick()

    def on_request(self, conn: Conn, req: dict) -> None:
        rid = req.get("id")
        op = req.get("op")
        try:
            if op == "status":
                conn.send({"id": rid, "ok": True, "value": self.status()})
            elif op == "log":
                conn.send({"id": rid, "ok": True, "value": self.committed_log()})
            elif op in ("get", "read"):
                self._read(conn, rid, req)
            elif op in ("put", "write"):
                cmd = {"op": "write", "key": str(req["key"]), "value": req.get("value")}
                self._propose(conn, rid, req, cmd)
            elif op == "cas":
                cmd = {
                    "op": "cas",
                    "key": str(req["key"]),
                    "expected": req.get("expected"),
                    "new": req.get("new"),
                }
                self._propose(conn, rid, req, cmd)
            elif op == "txn":
                self._txn(conn, rid, req)
            elif op == "transfer":
                cmd = {"op": "transfer", "from": req["from"], "to": req["to"]}
                cmd["amount"] = req["amount"]
                check_transfer(cmd)
                self._propose(conn, rid, req, cmd)
            elif op == "member":
                self._member(conn, rid, req)
            else:
                conn.send({**fail(rid, "bad-request"), "message": f"unknown op {op!r}"})
        except KeyError as e:
            conn.send({**fail(rid, "bad-request"), "message": f"missing field {e}"})
        except CommandError as e:
            conn.send({**fail(rid, "bad-request"), "message": str(e)})
        except NotLeader as e:
            conn.send(self._not_leader(rid, getattr(e, "leader", None)))
        except ChangeRefused as e:
            conn.send({**fail(rid, e.reason), "message": str(e)})

    def _identify(self, req: dict) -> tuple[str, int]:
        client, seq = req.get("client"), req.get("seq")
        if client is None or not isinstance(seq, int):
            # Without an id a retry cannot be recognized; give the request a unique one.
            return f"{self.config.anon_prefix}-{next(self._anon)}", 1
        return str(client), seq

    def _propose(self, conn: Conn, rid: Any, req: dict, cmd: dict) -> None:
        if self.core.role != LEADER:
            conn.send(self._not_leader(rid, self.core.leader))
            return
        client, seq = self._identify(req)
        cmd["client"], cmd["seq"] = client, seq
        index = self.core.propose(cmd)
        old = self.pending.pop(index, None)
        if old is not None:  # the index was reused after our entry was cut: it is unknown
            old.conn.send(unknown(old.rid, "entry replaced"))
        self.pending[index] = Pending(conn, rid, client, seq, cmd["op"], self.ports.monotonic())
        self.kick()

    def _member(self, conn: Conn, rid: Any, req: dict) -> None:
        """Membership, answered by the leader: `list` (its configuration, committed or
        not, and whether it is), `add` (ID, ADDR: a learner, promoted once caught up) and
        `remove` (ID); a change is answered once it is applied."""
        if self.core.role != LEADER:
            conn.send(self._not_leader(rid, self.core.leader))
            return
        action = req.get("action")
        if action == "list":
            value = self.core.membership.to_dict()
            value["committed"] = self.core.membership_committed
            value["leader"] = self.id
            conn.send({"id": rid, "ok": True, "value": value})
            return
        if action not in ("add", "remove"):
            raise CommandError(f"member: unknown action {action!r}; expected list, add, remove")
        node = str(req["node"])
        if action == "add":
            index = self.core.propose_change(ADD_LEARNER, node, str(req.get("addr") or ""))
        else:
            index = self.core.propose_change(REMOVE, node)
        cmd = self.core.entry(index).command
        self.pending[index] = Pending(conn, rid, "", -1, "member", self.ports.monotonic(), cmd)
        self.kick()

    def _config_seen(self) -> None:
        m = self.core.membership
        if m is self._membership:
            return
        self._membership = m
        for node, addr in m.addrs.items():
            if addr:
                self.config.peers[node] = addr  # for redirects
        self.ports.config_changed(m)

    def _txn(self, conn: Conn, rid: Any, req: dict) -> None:
        ops = req["ops"]
        check_txn(ops)
        if not read_only(ops):
            self._propose(conn, rid, req, {"op": "txn", "ops": ops})
        elif self._txn_dirty_read:
            self._dirty_txn_read(conn, rid, ops)
        else:
            self._read(conn, rid, req, TxnRead(ops))

    def _dirty_txn_read(self, conn: Conn, rid: Any, ops: list) -> None:
        # PLANTED BUG txn-dirty-read: answer a read-only transaction at once from the
        # leader's whole log, entries not yet committed included (fast, and "the leader
        # has them anyway"). A leader that loses office before they commit has shown
        # values that never happened (aborted reads), in an order the next leader's
        # writes contradict.
        if self.core.role != LEADER:
            conn.send(self._not_leader(rid, self.core.leader))
            return
        speculative = self.kv.speculate(self.core.entries_from(self.applied + 1))
        conn.send({"id": rid, "ok": True, "value": speculative.read_txn(ops)})

    def _read(self, conn: Conn, rid: Any, req: dict, what: str | TxnRead | None = None) -> None:
        key = str(req["key"]) if what is None else what
        if self.config.read_mode == "log":
            cmd = {"op": "txn", "ops": key.ops} if isinstance(key, TxnRead) else None
            self._propose(conn, rid, req, cmd or {"op": "read", "key": key})
            return
        if self.core.role != LEADER:
            conn.send(self._not_leader(rid, self.core.leader))
            return
        read_id = next(self._read_ids)
        self.read_waiting[read_id] = (conn, rid, key, self.ports.monotonic())
        try:
            self.core.read_index(read_id)
        except NotLeader:
            self.read_waiting.pop(read_id, None)
            raise
        self.kick()

    def _not_leader(self, rid: Any, leader: str | None) -> dict:
        return {
            **fail(rid, "not-leader"),
            "leader": leader,
            "leader_addr": self.config.peers.get(leader) if leader else None,
        }

    # ---- the Ready loop ----------------------------------------------------------------

    def kick(self) -> None:
        """There may be a Ready: flush soon (once, however many inputs came meanwhile)."""
        if not self._flush_asked and self.persisting is None and not self.stopped:
            self._flush_asked = True
            self.ports.flush_soon()

    def flush(self) -> None:
        self._flush_asked = False
        if self.persisting is not None or self.stopped or not self.core.has_ready():
            return
        rd = self.core.ready()
        if self.core.membership is not self._membership:
            self._config_seen()  # links to new peers before this Ready's messages go out
        hs = rd.hard_state
        # Term and vote must be durable before anything that depends on them is sent; a
        # moved commit index alone needs no fsync (recovery from a lower one is safe).
        if hs is not None:
            hs_t: HardStateTuple | None = (hs.term, hs.voted_for, hs.commit)
            last = self._persisted_hs
            vote_changed = hs.term != last[0] or hs.voted_for != last[1]
            self._persisted_hs = hs_t
        else:
            hs_t, vote_changed = None, False
        if not rd.entries and not vote_changed and rd.snapshot is None:
            if hs_t is not None:
                self.ports.save(hs_t, ())
            self._process(rd, rd.messages)
            if self.core.has_ready():  # (e.g. a snapshot taken while applying)
                self.kick()
            return
        later = rd.messages
        if not vote_changed:
            # Raft thesis 10.2.1: a leader may send AppendEntries in parallel with writing
            # its own log. Safe here because (a) Readys persist strictly in order, so when
            # these leave, every earlier Ready is durable and only this Ready's entries --
            # the very ones being sent -- are not yet; (b) the term was made durable before
            # this leader's first message; (c) commits counted with the leader's own not yet
            # durable copy reach clients and followers only through later Readys, i.e. after
            # this write. Everything else (votes, acknowledgements) waits for the fsync.
            now: list[Message] = []
            rest: list[Message] = []
            for m in rd.messages:
                (now if m.type in EARLY_TYPES else rest).append(m)
            if now:
                later = rest
                self.ports.send(now)
        # Committed entries below this Ready's new entries are already in the durable log
        # (every earlier Ready is), and a quorum's acknowledgements are durable by
        # definition: apply and answer them now rather than after this Ready's fsync, which
        # only concerns newer entries. Under load this saves one fsync per answer.
        first_new = rd.entries[0].index if rd.entries else None
        for e in rd.committed:
            if rd.snapshot is not None or (first_new is not None and e.index >= first_new):
                break  # (after a snapshot, entries apply once it is loaded and durable)
            self._apply(e)
        if rd.reads or rd.failed_reads or self.read_heap:
            self._take_reads(rd)
        self.persisting = rd
        self.ports.save_synced(hs_t, rd.entries, rd.snapshot, lambda: self._persisted(rd, later))

    def _persisted(self, rd: Ready, messages: list[Message]) -> None:
        self.persisting = None
        self._process(rd, messages)
        self.flush()

    def _process(self, rd: Ready, messages: list[Message]) -> None:
        for ev in rd.events:
            self.ports.event({"node": self.id, **ev})
        if rd.snapshot is not None and rd.snapshot.index > self.applied:
            self._load(rd.snapshot)  # a leader's (InstallSnapshot), now durable
        if messages:
            self.ports.send(messages)
        if self._ack_before_commit and rd.entries and self.core.role == LEADER:
            # PLANTED BUG ack-before-commit: acknowledge a write as soon as it is in the
            # leader's own durable log, before a quorum has it.
            for e in rd.entries:
                p = self.pending.get(e.index)
                if p is not None and p.op == "write" and _same(e.command, p):
                    del self.pending[e.index]
                    value = e.command.get("value")
                    p.conn.send({"id": p.rid, "ok": True, "value": value, "index": e.index})
        for e in rd.committed:
            self._apply(e)  # skips what was applied before the fsync
        if rd.reads or rd.failed_reads or self.read_heap:
            self._take_reads(rd)
        if self._snapshot_skip_commit:
            # The planted bug's own path; a correct node snapshots in _apply.
            self._snapshot_by_log_length()
        role = self.core.role
        if role != self._last_role:
            if self._last_role == LEADER:
                self._lost_leadership()
            self._last_role = role

    # ---- snapshots -----------------------------------------------------------------

    # Snapshots are taken at every multiple of snapshot_entries, the moment that entry is
    # applied: at the same indexes on every node, so their digests (events.jsonl) can be
    # compared by log-agreement long after the entries themselves were compacted away.

    def _snapshot_by_log_length(self) -> None:
        every = self.config.snapshot_entries
        if every:
            # PLANTED BUG snapshot-skip-commit: the log's length, not what was applied,
            # decides: once the log reaches the next multiple, the entries up to it are
            # applied (and acknowledged) uncommitted, and the snapshot there tells the
            # core they are committed.
            target = self.core.last_index // every * every
            for e in self.core.entries_from(self.applied + 1)[: max(0, target - self.applied)]:
                self._apply(e)

    def _snapshot(self, index: int) -> None:
        """Snapshot the state machine, applied through `index`, and compact the log."""
        base = self.core.snapshot_index
        covered = self.core.entries_from(base + 1)[: index - base]
        digest = log_digest(self.digest, ((e.term, e.command) for e in covered))
        term = self.core.term_at(index)
        data = compact_json({"kv": self.kv.snapshot_state(), "digest": digest})
        self.core.compact(Snapshot(index, term, data))
        self.digest = digest
        self.ports.event({"node": self.id, "snapshot": index, "term_at": term, "digest": digest})
        # No kick() here: this runs inside flush() or _persisted(), and a flush started
        # from in there (the simulation flushes at once) would persist a second Ready
        # while this one is still being written. Both end by flushing again.

    def _load(self, snap: Snapshot) -> None:
        state = json.loads(snap.data)
        self.kv = KVStateMachine.from_snapshot(state["kv"])
        self.digest = state["digest"]
        self.applied = snap.index
        if self.kv.applied_index != snap.index:
            raise ValueError(
                f"snapshot at index {snap.index} holds a state machine applied to "
                f"{self.kv.applied_index}"
            )

    def _take_reads(self, rd: Ready) -> None:
        """Queue the Ready's answerable reads (idempotent: each is taken once)."""
        if not (rd.reads or rd.failed_reads or self.read_heap):
            return
        for rs in rd.reads:
            w = self.read_waiting.pop(rs.request_id, None)
            if w is not None:
                conn, rid, key, _since = w
                heapq.heappush(self.read_heap, ReadWaiter(rs.index, rs.request_id, conn, rid, key))
        for read_id in rd.failed_reads:
            w = self.read_waiting.pop(read_id, None)
            if w is not None:
                w[0].send(self._not_leader(w[1], self.core.leader))
        self._serve_reads()

    def _apply(self, e: Entry) -> None:
        if e.index <= self.applied:
            return
        result = self.kv.apply(e)
        self.applied = e.index
        self.ports.applied(e)
        p = self.pending.pop(e.index, None)
        if p is not None:
            self._answer(e, p, result)
        every = self.config.snapshot_entries
        # Not where the core has compacted past this entry already: a leader's snapshot
        # installed while the Ready that committed it was being written. That snapshot
        # covers this one and replaces the state machine once it is durable (_process).
        if every and e.index % every == 0 and e.index > self.core.snapshot_index:
            self._snapshot(e.index)

    def _answer(self, e: Entry, p: Pending, result: dict | None) -> None:
        if _same(e.command, p):
            resp = dict(result or {"ok": True})
            resp["id"] = p.rid
            resp["index"] = e.index
            if not resp.get("ok"):
                resp.setdefault("definite", True)
            p.conn.send(resp)
        else:
            p.conn.send(unknown(p.rid, "another entry was committed at its index"))

    def _serve_reads(self) -> None:
        heap = self.read_heap
        while heap and heap[0].index <= self.applied:
            w = heapq.heappop(heap)
            if isinstance(w.key, TxnRead):
                value = self.kv.read_txn(w.key.ops)
            else:
                value = self.kv.read(w.key)
            w.conn.send({"id": w.rid, "ok": True, "value": value, "read_at": self.applied})

    def _lost_leadership(self) -> None:
        # Proposals may still commit under the next leader: their outcome is unknown.
        for p in self.pending.values():
            p.conn.send(unknown(p.rid, "leadership lost before commit"))
        self.pending.clear()
        # Reads are safe to refuse: they changed nothing.
        for conn, rid, _key, _since in self.read_waiting.values():
            conn.send(self._not_leader(rid, self.core.leader))
        self.read_waiting.clear()
        while self.read_heap:
            w = heapq.heappop(self.read_heap)
            w.conn.send(self._not_leader(w.rid, self.core.leader))

    def sweep(self) -> None:
        """Answer requests that have waited longer than request_timeout: unknown."""
        limit = self.ports.monotonic() - self.config.request_timeout
        for idx in [i for i, p in self.pending.items() if p.since < limit]:
            p = self.pending.pop(idx)
            p.conn.send(unknown(p.rid, "timed out waiting for commit"))
        for rid in [r for r, w in self.read_waiting.items() if w[3] < limit]:
            conn, crid, _key, _since = self.read_waiting.pop(rid)
            conn.send(fail(crid, "read-timeout"))

    # ---- introspection -----------------------------------------------------------------

    def status(self) -> dict:
        st = dict(self.core.status())
        st.update(
            {
                "applied": self.applied,
                "read_mode": self.config.read_mode,
                "bugs": sorted(self.bugs),
            }
        )
        return st

    def committed_log(self) -> list[dict]:
        """DESIGN's log.jsonl: the snapshot's line first (if any), then each committed
        entry after it."""
        commit = self.core.commit_index
        out: list[dict] = []
        snap = self.core.snapshot
        if snap is not None:
            out.append(
                {"snapshot": {"index": snap.index, "term": snap.term, "digest": self.digest}}
            )
        out += [
            {"index": e.index, "term": e.term, "command": e.command}
            for e in self.core.entries_from(1)
            if e.index <= commit
        ]
        return out


def _same(command: dict | None, p: Pending) -> bool:
    if p.command is not None:
        return command == p.command
    return command is not None and command.get("client") == p.client and command.get("seq") == p.seq
