"""The node: asyncio transport, timers and durable storage around the host (host.py).

What to do with the core's Readys, client requests and answers is the host's (the same
code the simulation runs); here is where it runs: one TCP port for peers and clients
(see wire.py), ticks from the monotonic clock, the WAL (storage.py) written and
fdatasync'd in a worker thread while the loop keeps receiving (so what arrives during an
fsync lands in the next Ready: group commit), events.jsonl, signals and logging. The
host's "flush soon" is one flush per event-loop turn.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import json
import logging
import os
import random
import signal
import socket
import time
from pathlib import Path

from raftnode import wire
from raftnode.config import NodeConfig
from raftnode.core import Config, Entry, HardState, RaftCore, Snapshot
from raftnode.host import Host, HostConfig, Ports, log_lost_words
from raftnode.membership import Membership
from raftnode.storage import Storage

log = logging.getLogger("raftnode")

# Drop messages for a peer whose socket buffer is this full (it is paused or slow); Raft
# retransmits, and an unbounded buffer would only deliver stale messages late.
PEER_BUFFER_LIMIT = 8 * 1024 * 1024
# A peer connection with data unacknowledged this long is closed and reopened.
PEER_ACK_TIMEOUT_MS = 2000


class ClientConn(asyncio.Protocol):
    """An inbound connection: frames with "m" are peer messages, frames with "op" requests."""

    def __init__(self, node: Node):
        self.node = node
        self.decoder = wire.FrameDecoder(node.cfg.mac_key)
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
        if self.decoder.forged:  # signed, but not with our secret
            self.node.refuse(self.decoder.forged, "a MAC that does not check out", self)
            self.decoder.forged = 0
        if frames:
            self.node.catch_up()  # once per read: a clock call is not free (libfaketime)
        must_sign = self.node.cfg.mac_key is not None
        for f, signed in frames:
            if not isinstance(f, dict):
                continue
            if "m" in f or "hello" in f:
                # Only a member, which holds the secret, speaks for a peer; clients'
                # requests need no signature (docs/raftnode.md, "Peers that prove who they
                # are").
                if must_sign and not signed:
                    self.node.refuse(1, "no MAC", self)
                elif "m" in f:
                    self.node.on_peer_message(f["m"])
                else:
                    self.node.on_hello(f)
            elif must_sign and not signed and f.get("op") == "member":
                # Who the peers are is the peers' business: a membership change from a
                # client without the secret could add voters that never answer.
                self.send({"id": f.get("id"), "ok": False, "error": "unauthenticated",
                           "definite": True, "message": "a membership change needs the "
                           "cluster secret (RAFTNODE_SECRET)"})  # fmt: skip
            else:
                self.node.on_request(self, f)

    def peer_name(self) -> str:
        try:
            host, port = self.transport.get_extra_info("peername")[:2]
            return f"{host}:{port}"
        except (TypeError, ValueError, AttributeError):
            return "an unknown address"

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
            # Who we are and where we listen: a peer whose configuration does not hold us
            # yet (we lead a configuration its log has not caught up with) can answer.
            writer.write(
                self.node.encode_peer({"hello": self.node.id, "addr": self.node.advertised})
            )
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
        snap = rec.snapshot
        snapshot = Snapshot(snap.index, snap.term, snap.data, snap.config) if snap else None
        core = RaftCore(
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
            snapshot=snapshot,
            # The initial configuration (--peers), with the addresses; the log's changes
            # come on top of it (raftnode/membership.py).
            base=Membership.initial({p: f"{a[0]}:{a[1]}" for p, a in cfg.peers.items()}),
            # --join: a new server (one wiped and brought back under its old name too),
            # outside the configuration until the leader adds it.
            join=cfg.join,
        )
        ports = Ports(
            save=self._save,
            save_synced=self._save_synced,
            send=self._send,
            flush_soon=self._flush_soon,
            monotonic=time.monotonic,
            event=self._event,
            config_changed=self._config_changed,
        )
        self.advertised = f"{cfg.listen[0]}:{cfg.listen[1]}"
        # Peer frames are signed with the cluster secret's key (wire.py); --no-auth: not.
        mac = wire.Mac(cfg.mac_key) if cfg.mac_key is not None else None
        self.encode_peer = (lambda obj: wire.encode_signed(obj, mac)) if mac else wire.encode
        self.refused_frames = 0  # peer frames dropped: unsigned, or signed with another key
        self.links: dict[str, PeerLink] = {}
        self._membership: Membership | None = None
        self._linked: set[str] = set()  # the members we opened links to
        self.loop: asyncio.AbstractEventLoop | None = None
        host_config = HostConfig(
            read_mode=cfg.read_mode,
            bugs=frozenset(cfg.bugs),
            request_timeout=cfg.request_timeout,
            peers={p: f"{a[0]}:{a[1]}" for p, a in cfg.peers.items()},
            anon_prefix=f"anon-{cfg.id}-{os.getpid()}",
            snapshot_entries=cfg.snapshot_entries,
        )
        self.host = Host(core, ports, host_config, durable_commit=rec.commit)
        self.core = core
        log.info(
            "node %s starting: term %d, voted for %s, commit %d, snapshot at %d, "
            "%d log entries after it, read mode %s%s",
            cfg.id,
            rec.term,
            rec.voted_for,
            rec.commit,
            snap.index if snap else 0,
            len(entries),
            cfg.read_mode,
            f", planted bugs {sorted(cfg.bugs)}" if cfg.bugs else "",
        )
        self.events = open(self.data_dir / "events.jsonl", "a", buffering=1)  # noqa: SIM115
        self.conns: set[ClientConn] = set()
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="wal")
        self._tick_s = cfg.tick_ms / 1000.0
        self._tick_base = 0.0
        self._server: asyncio.base_events.Server | None = None
        self._stopped: asyncio.Future | None = None

    @property
    def applied(self) -> int:
        return self.host.applied

    # ---- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stopped = self.loop.create_future()
        host, port = self.cfg.listen
        self._server = await self.loop.create_server(
            lambda: ClientConn(self), host, port, reuse_address=True
        )
        self._reconcile_links()
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
        self.host.stopped = True
        log.info("node %s stopping", self.id)
        self.loop.create_task(self._shutdown())

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        while self.host.persisting is not None:  # let an in-flight WAL write finish
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

    def catch_up(self) -> None:
        """Feed the core the ticks that elapsed by the monotonic clock. Called on every
        timer and before every input: a node that was paused (SIGSTOP, docker pause)
        sees all the ticks it missed at once, before it handles what queued up meanwhile,
        so its elections and leases run out before it answers anything."""
        now = time.monotonic()
        if now < self._tick_base - self._tick_s:
            # The clock went backwards (a clock fault): count from here rather than stand
            # still until it catches up, which would silence a leader for that long.
            self._tick_base = now
        n = int((now - self._tick_base) / self._tick_s)
        if n > 0:
            self._tick_base += n * self._tick_s
            self.host.tick(n)

    def _on_tick(self) -> None:
        if self.stopping:
            return
        self.catch_up()
        self.loop.call_at(self._tick_base + self._tick_s, self._on_tick)

    def _sweep(self) -> None:
        """Answer requests that have waited longer than --request-timeout: unknown."""
        if self.stopping:
            return
        self.host.sweep()
        self._reconcile_links()
        gc.collect(1)  # young cycles first, so that freezing does not keep them forever
        gc.freeze()
        self.loop.call_later(1.0, self._sweep)

    # ---- inputs ------------------------------------------------------------------------

    def on_peer_message(self, d: dict) -> None:
        try:
            self.host.on_peer_message(d)
        except (KeyError, TypeError, ValueError) as e:  # a malformed message must not kill us
            log.warning("dropping a malformed peer message: %s", e)

    def refuse(self, n: int, why: str, conn: ClientConn) -> None:
        """Peer frames dropped unread: counted (status's refused_frames), and logged at
        the 1st, 10th, 100th, ... so a flood does not flood the log too."""
        before = self.refused_frames
        self.refused_frames += n
        if len(str(self.refused_frames)) > len(str(before)) or before == 0:
            log.warning(
                "node %s refused a peer frame with %s from %s (%d refused so far)",
                self.id,
                why,
                conn.peer_name(),
                self.refused_frames,
            )

    def on_request(self, conn: ClientConn, req: dict) -> None:
        if req.get("op") == "status":  # the host's status, and the process's own figures
            conn.send({"id": req.get("id"), "ok": True, "value": self.status()})
            return
        self.host.on_request(conn, req)

    # ---- peer links follow the configuration ---------------------------------------------

    def _config_changed(self, m: Membership) -> None:
        self._membership = m
        if self.loop is not None and not self.stopping:
            self._reconcile_links()

    def _reconcile_links(self) -> None:
        """A link to every other member whose address we know. A member removed loses its
        link once its removal is committed (the sweep looks again every second): until
        then a removed leader still needs our answers to commit it."""
        m = self._membership
        if m is None:
            return
        for peer in sorted(m.members):
            addr = m.addrs.get(peer)
            if peer != self.id and addr:
                self._link(peer, addr)
        if not self.core.membership_committed:
            return
        for peer in self._linked - m.members:
            link = self.links.pop(peer, None)
            if link is not None:
                log.info("node %s closes its link to %s (removed)", self.id, peer)
                link.close()
        self._linked = set(m.members) - {self.id}

    def _link(self, peer: str, addr: str) -> None:
        try:
            a = wire.parse_addr(addr)
        except ValueError:
            log.warning("member %s has a bad address %r", peer, addr)
            return
        link = self.links.get(peer)
        if link is not None and link.addr == a:
            return
        if link is not None:
            link.close()
        log.info("node %s opens a link to %s at %s", self.id, peer, addr)
        self.links[peer] = link = PeerLink(self, peer, a)
        link._connect_soon()

    def on_hello(self, f: dict) -> None:
        peer, addr = f.get("hello"), f.get("addr")
        if isinstance(peer, str) and isinstance(addr, str) and peer != self.id:
            if peer not in self.links and not self.stopping:
                self._link(peer, addr)

    # ---- the host's ports ----------------------------------------------------------------

    def _flush_soon(self) -> None:
        self.loop.call_soon(self.host.flush)  # a no-op while a synced write is under way

    def _save(self, hs_t, entries) -> None:
        was = self.storage.fsync_enabled
        self.storage.fsync_enabled = False
        try:
            self.storage.save(hs_t, entries)
        finally:
            self.storage.fsync_enabled = was

    def _save_synced(self, hs_t, entries, snapshot, done) -> None:
        def written(fut: asyncio.Future) -> None:
            exc = fut.exception()
            if exc is not None:
                # The node cannot promise anything it cannot store: stop at once, like a crash.
                log.critical("WAL write failed, exiting: %r", exc)
                os._exit(70)
            done()

        fut = self.loop.run_in_executor(self._executor, self.storage.save, hs_t, entries, snapshot)
        fut.add_done_callback(written)

    def _event(self, ev: dict) -> None:
        self.events.write(json.dumps({"time": time.time_ns(), **ev}) + "\n")
        if "role" in ev:
            log.info("node %s is %s in term %s", self.id, ev["role"], ev.get("term"))
        if "log_lost" in ev:  # once: the core takes no part after it
            addrs = dict(self.core.membership.addrs)
            log.error("%s", log_lost_words(self.id, ev["log_lost"], addrs))

    def _send(self, messages) -> None:
        by_dst: dict[str, list[bytes]] = {}
        for m in messages:
            by_dst.setdefault(m.dst, []).append(self.encode_peer({"m": m.to_dict()}))
        for dst, frames in by_dst.items():
            link = self.links.get(dst)
            if link is not None:
                link.send(b"".join(frames))

    # ---- introspection -----------------------------------------------------------------

    def status(self) -> dict:
        st = self.host.status()
        st.update(
            {
                "listen": f"{self.cfg.listen[0]}:{self.cfg.listen[1]}",
                "pid": os.getpid(),
                "wal_bytes": self.storage.bytes_written,
                # Peer authentication: on unless --no-auth; frames dropped for lack of it.
                "peer_auth": self.cfg.mac_key is not None,
                "refused_frames": self.refused_frames,
                # Clocks as this process sees them now (a clock fault shows here).
                "wall_ns": time.time_ns(),
                "mono_ns": time.monotonic_ns(),
                "wal_syncs": self.storage.syncs,
                "snapshots": self.storage.snapshots,
                "wal_sync_ms_avg": round(
                    1000 * self.storage.sync_seconds / max(1, self.storage.syncs), 3
                ),
            }
        )
        return st


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
