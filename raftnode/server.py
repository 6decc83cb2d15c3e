"""The node: asyncio transport, timers, durable storage and the client API around the pure core.

The loop, in the style of etcd-io/raft's node:

  inputs (peer messages, client requests, ticks) -> core.step/propose/read_index/tick
  once per event-loop turn, if the core has a Ready:
    1. persist Ready.hard_state and Ready.entries (one WAL record, one fdatasync) in a
       worker thread -- the loop keeps receiving meanwhile, so everything that arrives
       during an fsync lands in the *next* Ready: group commit without a batching timer;
    2. only then: write events, send Ready.messages, apply Ready.committed, answer
       clients, serve Ready.reads.
  Readys are persisted strictly one after another and nothing of a Ready leaves the node
  before it is durable, so no peer or client ever sees state the node could forget.

One TCP port serves peers and clients (see wire.py). Clients of a follower are answered
with the leader's id and address ("not-leader", definite): the request was not forwarded,
so it certainly did not happen; raftnode.client follows the redirect.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import heapq
import itertools
import json
import logging
import os
import random
import signal
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from raftnode import wire
from raftnode.config import NodeConfig
from raftnode.core import Config, Entry, HardState, Message, NotLeader, RaftCore
from raftnode.kv import KVStateMachine
from raftnode.storage import Storage

log = logging.getLogger("raftnode")

# Drop messages for a peer whose socket buffer is this full (it is paused or slow); Raft
# retransmits, and an unbounded buffer would only deliver stale messages late.
PEER_BUFFER_LIMIT = 8 * 1024 * 1024
# A peer connection with data unacknowledged this long is closed and reopened.
PEER_ACK_TIMEOUT_MS = 2000
# Leader-to-follower messages that may leave before the leader's own log write is durable.
EARLY_TYPES = frozenset({"append", "heartbeat"})


@dataclass
class Pending:
    """A client request waiting for the log (write, cas, or a read in log mode)."""

    conn: ClientConn
    rid: Any
    client: str
    seq: int
    op: str
    since: float = field(default_factory=time.monotonic)


@dataclass(order=True)
class ReadWaiter:
    index: int
    order: int
    conn: ClientConn = field(compare=False)
    rid: Any = field(compare=False)
    key: str = field(compare=False)
    since: float = field(default_factory=time.monotonic, compare=False)


class ClientConn(asyncio.Protocol):
    """An inbound connection: frames with "m" are peer messages, frames with "op" requests."""

    def __init__(self, node: Node):
        self.node = node
        self.decoder = wire.FrameDecoder()
        self.transport: asyncio.Transport | None = None
        self.closed = False

    def connection_made(self, transport):  # type: ignore[override]
        self.transport = transport
        self.node.conns.add(self)

    def connection_lost(self, exc):  # type: ignore[override]
        self.closed = True
        self.node.conns.discard(self)

    def data_received(self, data: bytes) -> None:
        try:
            frames = self.decoder.feed(data)
        except wire.FrameError as e:
            log.warning("closing a connection that sent a bad frame: %s", e)
            self.transport.close()
            return
        for f in frames:
            if not isinstance(f, dict):
                continue
            if "m" in f:
                self.node.on_peer_message(f["m"])
            else:
                self.node.on_request(self, f)

    def send(self, obj: dict) -> None:
        if not self.closed and self.transport is not None:
            self.transport.write(wire.encode({**obj, "node": self.node.id}))


class PeerLink:
    """Outbound, one-way connection to one peer; reconnects in the background."""

    def __init__(self, node: Node, peer: str, addr: tuple[str, int]):
        self.node = node
        self.peer = peer
        self.addr = addr
        self.writer: asyncio.StreamWriter | None = None
        self.connecting = False
        self.last_attempt = 0.0
        self.dropped = 0

    def send(self, data: bytes) -> None:
        w = self.writer
        if w is None or w.is_closing():
            self.writer = None
            self.dropped += 1
            self._connect_soon()
            return
        if w.transport.get_write_buffer_size() > PEER_BUFFER_LIMIT:
            self.dropped += 1
            return
        w.write(data)

    def _connect_soon(self) -> None:
        if self.connecting or self.node.stopping:
            return
        self.connecting = True
        asyncio.get_running_loop().create_task(self._connect())

    async def _connect(self) -> None:
        try:
            # Back off a little between attempts to a dead peer.
            wait = self.last_attempt + 0.1 - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self.last_attempt = time.monotonic()
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(*self.addr), timeout=1.0
            )
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if hasattr(socket, "TCP_USER_TIMEOUT"):
                    # After a partition heals, TCP's exponential retransmission back-off
                    # could keep a stale connection silent for many seconds. Drop a
                    # connection whose data stays unacknowledged this long; the link
                    # reconnects at once with a fresh one.
                    sock.setsockopt(
                        socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, PEER_ACK_TIMEOUT_MS
                    )
            self.writer = writer
            # Peers never answer on this connection; reading only notices that it closed.
            asyncio.get_running_loop().create_task(self._drain(reader, writer))
        except (TimeoutError, OSError):
            pass
        finally:
            self.connecting = False

    async def _drain(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await reader.read(65536):
                pass
        except OSError:
            pass
        finally:
            if self.writer is writer:
                self.writer = None
            writer.close()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


class Node:
    def __init__(self, cfg: NodeConfig):
        self.cfg = cfg
        self.id = cfg.id
        self.stopping = False
        self.data_dir = Path(cfg.data_dir)
        self.storage = Storage(self.data_dir, fsync=cfg.fsync)
        rec = self.storage.recovered
        if rec.dropped_bytes:
            log.warning("recovered after cutting a torn WAL tail of %d bytes", rec.dropped_bytes)
        entries = [Entry(e.term, e.index, e.command) for e in rec.entries]
        self.core = RaftCore(
            cfg.id,
            list(cfg.peers),
            Config(
                election_ticks=cfg.election_ticks,
                heartbeat_ticks=cfg.heartbeat_ticks,
                read_mode=cfg.read_mode,
                bugs=cfg.core_bugs,
            ),
            random.Random(),
            HardState(rec.term, rec.voted_for, rec.commit),
            entries,
        )
        # The state machine lives in memory: rebuild it from the durable committed prefix.
        self.kv = KVStateMachine()
        self.applied = 0
        for e in entries:
            if e.index > rec.commit:
                break
            self.kv.apply(e)
            self.applied = e.index
        self._persisted_hs = (rec.term, rec.voted_for, rec.commit)
        log.info(
            "node %s starting: term %d, voted for %s, commit %d, %d log entries, read mode %s%s",
            cfg.id,
            rec.term,
            rec.voted_for,
            rec.commit,
            len(entries),
            cfg.read_mode,
            f", planted bugs {sorted(cfg.bugs)}" if cfg.bugs else "",
        )
        self.events = open(self.data_dir / "events.jsonl", "a", buffering=1)  # noqa: SIM115
        self.conns: set[ClientConn] = set()
        self.links: dict[str, PeerLink] = {}
        self.pending: dict[int, Pending] = {}  # log index -> request
        self.read_waiting: dict[Any, tuple[ClientConn, Any, str, float]] = {}  # read_index id
        self.read_heap: list[ReadWaiter] = []  # answerable once applied >= index
        self._read_ids = itertools.count(1)
        self._anon = itertools.count(1)
        self._flush_scheduled = False
        self._persisting = False
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="wal")
        self._last_role = self.core.role
        self._tick_s = cfg.tick_ms / 1000.0
        self._tick_base = 0.0
        self._server: asyncio.base_events.Server | None = None
        self._stopped: asyncio.Future | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    # ---- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stopped = self.loop.create_future()
        for peer, addr in self.cfg.peers.items():
            if peer != self.id:
                self.links[peer] = PeerLink(self, peer, addr)
        host, port = self.cfg.listen
        self._server = await self.loop.create_server(
            lambda: ClientConn(self), host, port, reuse_address=True
        )
        for link in self.links.values():
            link._connect_soon()
        self._tick_base = time.monotonic()
        self.loop.call_at(self._tick_base + self._tick_s, self._on_tick)
        # The log is long-lived and acyclic: keep what exists out of the cyclic GC's full
        # scans (they grow with the log and show as latency spikes); _sweep repeats this.
        gc.freeze()
        self.loop.call_later(1.0, self._sweep)
        log.info("node %s listening on %s:%d", self.id, host, port)

    async def wait_stopped(self) -> None:
        assert self._stopped is not None
        await self._stopped

    def stop(self) -> None:
        if self.stopping:
            return
        self.stopping = True
        log.info("node %s stopping", self.id)
        self.loop.create_task(self._shutdown())

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        while self._persisting:  # let an in-flight WAL write finish
            await asyncio.sleep(0.005)
        for link in self.links.values():
            link.close()
        for c in list(self.conns):
            if c.transport is not None:
                c.transport.close()
        self._executor.shutdown(wait=True)
        self.storage.close()
        self.events.close()
        if not self._stopped.done():
            self._stopped.set_result(None)

    # ---- time --------------------------------------------------------------------------

    def _on_tick(self) -> None:
        if self.stopping:
            return
        now = time.monotonic()
        if now < self._tick_base - self._tick_s:
            # The clock went backwards (a clock fault): count from here rather than stand
            # still until it catches up, which would silence a leader for that long.
            self._tick_base = now
        n = int((now - self._tick_base) / self._tick_s)
        if n > 0:
            # Catch up: a node that was paused (SIGSTOP, docker pause) sees all the ticks it
            # missed at once, so its elections and lease run out as they should.
            self._tick_base += n * self._tick_s
            for _ in range(n):
                self.core.tick()
            self._kick()
        self.loop.call_at(self._tick_base + self._tick_s, self._on_tick)

    def _sweep(self) -> None:
        """Answer requests that have waited longer than --request-timeout: unknown."""
        if self.stopping:
            return
        limit = time.monotonic() - self.cfg.request_timeout
        for idx in [i for i, p in self.pending.items() if p.since < limit]:
            p = self.pending.pop(idx)
            p.conn.send(unknown(p.rid, "timed out waiting for commit"))
        for rid in [r for r, w in self.read_waiting.items() if w[3] < limit]:
            conn, crid, _key, _since = self.read_waiting.pop(rid)
            conn.send(fail(crid, "read-timeout"))
        gc.collect(1)  # young cycles first, so that freezing does not keep them forever
        gc.freeze()
        self.loop.call_later(1.0, self._sweep)

    # ---- inputs ------------------------------------------------------------------------

    def on_peer_message(self, d: dict) -> None:
        try:
            msg = Message.from_dict(d)
        except Exception as e:  # a malformed message must not kill the node
            log.warning("dropping a malformed peer message: %s", e)
            return
        self.core.step(msg)
        self._kick()

    def on_request(self, conn: ClientConn, req: dict) -> None:
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
            else:
                conn.send({**fail(rid, "bad-request"), "message": f"unknown op {op!r}"})
        except KeyError as e:
            conn.send({**fail(rid, "bad-request"), "message": f"missing field {e}"})
        except NotLeader as e:
            conn.send(self._not_leader(rid, getattr(e, "leader", None)))

    def _identify(self, req: dict) -> tuple[str, int]:
        client, seq = req.get("client"), req.get("seq")
        if client is None or not isinstance(seq, int):
            # Without an id a retry cannot be recognized; give the request a unique one.
            return f"anon-{self.id}-{os.getpid()}-{next(self._anon)}", 1
        return str(client), seq

    def _propose(self, conn: ClientConn, rid: Any, req: dict, cmd: dict) -> None:
        if self.core.role != "leader":
            conn.send(self._not_leader(rid, self.core.leader))
            return
        client, seq = self._identify(req)
        cmd["client"], cmd["seq"] = client, seq
        index = self.core.propose(cmd)
        old = self.pending.pop(index, None)
        if old is not None:  # the index was reused after our entry was cut: it is unknown
            old.conn.send(unknown(old.rid, "entry replaced"))
        self.pending[index] = Pending(conn, rid, client, seq, cmd["op"])
        self._kick()

    def _read(self, conn: ClientConn, rid: Any, req: dict) -> None:
        key = str(req["key"])
        if self.cfg.read_mode == "log":
            self._propose(conn, rid, req, {"op": "read", "key": key})
            return
        if self.core.role != "leader":
            conn.send(self._not_leader(rid, self.core.leader))
            return
        read_id = next(self._read_ids)
        self.read_waiting[read_id] = (conn, rid, key, time.monotonic())
        try:
            self.core.read_index(read_id)
        except NotLeader:
            self.read_waiting.pop(read_id, None)
            raise
        self._kick()

    def _not_leader(self, rid: Any, leader: str | None) -> dict:
        addr = self.cfg.peers.get(leader) if leader else None
        return {
            **fail(rid, "not-leader"),
            "leader": leader,
            "leader_addr": f"{addr[0]}:{addr[1]}" if addr else None,
        }

    # ---- Ready -------------------------------------------------------------------------

    def _kick(self) -> None:
        if not self._flush_scheduled and not self._persisting:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._persisting or self.stopping or not self.core.has_ready():
            return
        rd = self.core.ready()
        hs = rd.hard_state
        hs_t = (hs.term, hs.voted_for, hs.commit) if hs is not None else None
        # Term and vote must be durable before anything that depends on them is sent; a
        # moved commit index alone needs no fsync (recovery from a lower one is safe).
        vote_changed = hs_t is not None and hs_t[:2] != self._persisted_hs[:2]
        must_sync = bool(rd.entries) or vote_changed
        if hs_t is not None:
            self._persisted_hs = hs_t
        if not must_sync:
            if hs_t is not None:
                self._save(hs_t, (), sync=False)
            self._process(rd, rd.messages)
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
            now = [m for m in rd.messages if m.type in EARLY_TYPES]
            if now:
                later = [m for m in rd.messages if m.type not in EARLY_TYPES]
                self._send(now)
        # Committed entries below this Ready's new entries are already in the durable log
        # (every earlier Ready is), and a quorum's acknowledgements are durable by
        # definition: apply and answer them now rather than after this Ready's fsync, which
        # only concerns newer entries. Under load this saves one fsync per answer.
        first_new = rd.entries[0].index if rd.entries else None
        for e in rd.committed:
            if first_new is not None and e.index >= first_new:
                break
            self._apply(e)
        self._take_reads(rd)
        self._persisting = True
        fut = self.loop.run_in_executor(self._executor, self._save, hs_t, rd.entries, True)
        fut.add_done_callback(lambda f: self._persisted(rd, later, f))

    def _save(self, hs_t, entries, sync: bool) -> None:
        if sync:
            self.storage.save(hs_t, entries)
        else:
            was = self.storage.fsync_enabled
            self.storage.fsync_enabled = False
            try:
                self.storage.save(hs_t, entries)
            finally:
                self.storage.fsync_enabled = was

    def _persisted(self, rd, messages, fut: asyncio.Future) -> None:
        self._persisting = False
        exc = fut.exception()
        if exc is not None:
            # The node cannot promise anything it cannot store: stop at once, like a crash.
            log.critical("WAL write failed, exiting: %r", exc)
            os._exit(70)
        self._process(rd, messages)
        self._flush()

    def _process(self, rd, messages) -> None:
        now = time.time_ns()
        for ev in rd.events:
            self.events.write(json.dumps({"time": now, "node": self.id, **ev}) + "\n")
            if "role" in ev:
                log.info("node %s is %s in term %s", self.id, ev["role"], ev.get("term"))
        self._send(messages)
        if "ack-before-commit" in self.cfg.bugs and rd.entries and self.core.role == "leader":
            # PLANTED BUG ack-before-commit: acknowledge a write as soon as it is in the
            # leader's own durable log, before a quorum has it.
            for e in rd.entries:
                p = self.pending.get(e.index)
                if p is not None and p.op == "write" and _same(e.command, p):
                    del self.pending[e.index]
                    p.conn.send({"id": p.rid, "ok": True, "value": e.command.get("value")})
        for e in rd.committed:
            self._apply(e)  # skips what was applied before the fsync
        self._take_reads(rd)
        role = self.core.role
        if role != self._last_role:
            if self._last_role == "leader":
                self._lost_leadership()
            self._last_role = role

    def _take_reads(self, rd) -> None:
        """Queue the Ready's answerable reads (idempotent: each is taken once)."""
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

    def _send(self, messages) -> None:
        if not messages:
            return
        by_dst: dict[str, list[bytes]] = {}
        for m in messages:
            by_dst.setdefault(m.dst, []).append(wire.encode({"m": m.to_dict()}))
        for dst, frames in by_dst.items():
            link = self.links.get(dst)
            if link is not None:
                link.send(b"".join(frames))

    def _apply(self, e: Entry) -> None:
        if e.index <= self.applied:
            return
        result = self.kv.apply(e)
        self.applied = e.index
        p = self.pending.pop(e.index, None)
        if p is None:
            return
        if _same(e.command, p):
            resp = dict(result or {"ok": True})
            resp["id"] = p.rid
            if not resp.get("ok"):
                resp.setdefault("definite", True)
            p.conn.send(resp)
        else:
            p.conn.send(unknown(p.rid, "another entry was committed at its index"))

    def _serve_reads(self) -> None:
        heap = self.read_heap
        while heap and heap[0].index <= self.applied:
            w = heapq.heappop(heap)
            w.conn.send({"id": w.rid, "ok": True, "value": self.kv.read(w.key)})

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

    # ---- introspection -----------------------------------------------------------------

    def status(self) -> dict:
        st = dict(self.core.status())
        st.update(
            {
                "applied": self.applied,
                "read_mode": self.cfg.read_mode,
                "bugs": sorted(self.cfg.bugs),
                "listen": f"{self.cfg.listen[0]}:{self.cfg.listen[1]}",
                "pid": os.getpid(),
                "wal_bytes": self.storage.bytes_written,
                # Clocks as this process sees them now (a clock fault shows here).
                "wall_ns": time.time_ns(),
                "mono_ns": time.monotonic_ns(),
                "wal_syncs": self.storage.syncs,
                "wal_sync_ms_avg": round(
                    1000 * self.storage.sync_seconds / max(1, self.storage.syncs), 3
                ),
            }
        )
        return st

    def committed_log(self) -> list[dict]:
        commit = self.core.commit_index
        return [
            {"index": e.index, "term": e.term, "command": e.command}
            for e in self.core.entries_from(1)
            if e.index <= commit
        ]


def _same(command: dict | None, p: Pending) -> bool:
    return command is not None and command.get("client") == p.client and command.get("seq") == p.seq


def fail(rid: Any, error: str) -> dict:
    """Definitely not done."""
    return {"id": rid, "ok": False, "error": error, "definite": True}


def unknown(rid: Any, reason: str) -> dict:
    """May or may not have happened, now or later."""
    return {"id": rid, "ok": False, "error": "unknown", "reason": reason, "definite": False}


def setup_logging(cfg: NodeConfig) -> None:
    fmt = logging.Formatter(
        f"%(asctime)s.%(msecs)03d {cfg.id} %(levelname)s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
    )
    root = logging.getLogger()
    root.setLevel(cfg.log_level)
    Path(cfg.data_dir).mkdir(parents=True, exist_ok=True)
    for h in (logging.StreamHandler(), logging.FileHandler(Path(cfg.data_dir) / "node.log")):
        h.setFormatter(fmt)
        root.addHandler(h)


async def serve(cfg: NodeConfig) -> None:
    node = Node(cfg)
    await node.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, node.stop)
    await node.wait_stopped()
    log.info("node %s stopped", cfg.id)


def main(cfg: NodeConfig) -> int:
    setup_logging(cfg)
    try:
        asyncio.run(serve(cfg))
    except OSError as e:
        log.error("cannot start: %s", e)
        return 4
    return 0
