"""A client of a ZooKeeper ensemble on kazoo, with the history's ok / fail / unknown rules
(raftnode/client.py's Result), and the ensemble's status probe.

The register: a znode per key (`/<key>`), its data the value as JSON.
  read   getData (after sync() with `reads: sync`); no znode: None
  write  setData; no znode yet: create, and if someone created it meanwhile, setData
  cas    getData (after sync() with `reads: sync`), then setData with the version read:
         a changed version (BadVersion) or another value is a failed precondition

kazoo is a blocking library with asynchronous calls: each client is one KazooClient (one
session, its own connection thread), and each request's IAsyncResult is turned into an
asyncio future, so the driver's loop never blocks on a client and a stuck session stalls
only its own client. The operation's timeout bounds the wait for that future; what kazoo
does after that no longer matters to the history (the op ended `info` or `fail`).

Outcomes:
  ok       ZooKeeper answered it
  fail     certainly not applied: the session was not connected before the deadline
           (nothing is queued until it is), a precondition failed (another value, or
           BadVersion), an error ZooKeeper gives before it applies anything (NoNode,
           NodeExists on the way to a write, which are then tried the other way); a read
           that got no answer (it changed nothing)
  unknown  a write handed to kazoo with no answer: ConnectionLoss (kazoo fails the requests
           it had sent and those it still held alike, so which is unknown), SessionExpired
           after it was queued, or the time ran out
Never resent blind: only what ZooKeeper said it did not do is tried another way.

Binding: a client with a `home` node (the default `binding: node`) is given that server
alone, as Jepsen's ZooKeeper clients are; without one (the final reads, `binding:
leader`) the whole ensemble, which kazoo goes round in order as connections drop; with
`spread` (`binding: any`) the ensemble in a random order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import threading
import uuid
from collections.abc import Mapping
from typing import Any

from kazoo.client import KazooClient, KazooState
from kazoo.exceptions import BadVersionError, KazooException, NodeExistsError, NoNodeError
from kazoo.retry import KazooRetry

from harness.systems.base import NoTransactions
from raftnode.client import FAIL, OK, UNKNOWN, Result

# kazoo warns on stderr of every dropped connection (Python's last-resort handler), which
# under faults is hundreds of lines over the run's status line; a handler of its own keeps
# them out of the terminal while a logging set up by the user still gets them.
logging.getLogger("kazoo").addHandler(logging.NullHandler())

# kazoo's default reconnect backoff grows to an hour between attempts; after the failed
# attempts of an election, a client would then sit out the rest of a run. One second at
# most, still backing off, as a client that must stay available is configured.
RECONNECT = {"max_tries": -1, "delay": 0.1, "backoff": 2, "max_jitter": 0.2, "max_delay": 1.0}
SESSION_TIMEOUT = 10.0  # kazoo's default, seconds


def encode(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def decode(data: bytes | None) -> Any:
    if data is None or data == b"":
        return None
    try:
        return json.loads(data)
    except ValueError:
        return data.decode(errors="replace")


class _Precondition(Exception):
    def __init__(self, current: Any):
        self.current = current


class ZooKeeperClient(NoTransactions):
    """One logical client process: one kazoo session.

    ``nodes``: node id -> "HOST:PORT". ``home``: the one server this client talks to;
    ``spread``: every server, in a random order (else in order). ``sync``: reads (and a
    cas's read) call sync() first. ``timeout`` bounds each operation. ``attempt_timeout``
    is not used: kazoo decides when a server is gone (2/3 of the session timeout without
    an answer).
    """

    def __init__(
        self,
        nodes: Mapping[str, str],
        timeout: float = 2.0,
        sync: bool = False,
        client_id: str | None = None,
        rng: random.Random | None = None,
        home: str | None = None,
        spread: bool = False,
        attempt_timeout: float | None = None,
    ):
        order = list(nodes)
        if home is not None:
            # One endpoint, as Jepsen configures a ZooKeeper client (and a client given a
            # single server in its connect string): the client stays with its server
            # through faults, so what that server answers is what it sees. Given the whole
            # ensemble, kazoo moves a session at each dropped connection and never back:
            # after a few kills the clients had all left some servers, and a partition
            # cutting such a server off showed nothing.
            if home not in nodes:
                raise ValueError(f"home node {home!r} is not one of this client's nodes")
            order = [home]
        self.rng = rng or random.Random()
        if spread:
            self.rng.shuffle(order)
        self.hosts = [nodes[n] for n in order]
        self.by_addr = {a: n for n, a in nodes.items()}
        self.timeout = timeout
        self.sync = sync
        self.client_id = client_id or uuid.uuid4().hex[:16]
        self._zk: KazooClient | None = None
        self._connected: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()

    # ---- operations ------------------------------------------------------------------

    async def get(self, key: str) -> Result:
        async def read(zk: KazooClient) -> Any:
            value, _ = await self._read(zk, _path(key))
            return value

        return await self._op(read, write=False)

    async def put(self, key: str, value: Any) -> Result:
        path, data = _path(key), encode(value)

        async def write(zk: KazooClient, sent: list[bool]) -> Any:
            while True:
                try:
                    sent[0] = True
                    await self._call(zk.set_async(path, data))
                    return value
                except NoNodeError:
                    pass  # never written: create it
                try:
                    await self._call(zk.create_async(path, data))
                    return value
                except NodeExistsError:
                    continue  # created meanwhile by another client: set it

        return await self._op(write, write=True)

    async def cas(self, key: str, expected: Any, new: Any) -> Result:
        path, data = _path(key), encode(new)

        async def swap(zk: KazooClient, sent: list[bool]) -> Any:
            current, version = await self._read(zk, path)
            if current != expected:
                raise _Precondition(current)
            sent[0] = True
            try:
                if version is None:  # expected None, and no znode: create it
                    await self._call(zk.create_async(path, data))
                else:
                    await self._call(zk.set_async(path, data, version=version))
            except (BadVersionError, NodeExistsError, NoNodeError):
                raise _Precondition(None) from None  # changed since the read
            return new

        return await self._op(swap, write=True)

    async def close(self) -> None:
        zk, self._zk = self._zk, None
        if zk is not None:
            # stop() closes the session and joins kazoo's threads, which can take up to
            # the session timeout when the server is gone: not on the driver's loop.
            threading.Thread(target=_stop, args=(zk,), daemon=True).start()

    # ---- steps -----------------------------------------------------------------------

    async def _read(self, zk: KazooClient, path: str) -> tuple[Any, int | None]:
        """(value, version); (None, None) when the znode does not exist."""
        if self.sync:
            await self._call(zk.sync_async(path))
        try:
            data, stat = await self._call(zk.get_async(path))
        except NoNodeError:
            return None, None
        return decode(data), stat.version

    async def _op(self, body, write: bool) -> Result:
        async with self._lock:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.timeout
            sent = [False]  # a write request handed to kazoo
            node = None
            try:
                async with asyncio.timeout_at(deadline):
                    zk = await self._session()
                    node = self._node(zk)
                    value = await (body(zk, sent) if write else body(zk))
                return Result(OK, value, None, None, 1, node)
            except _Precondition as exc:
                return Result(FAIL, exc.current, "precondition", None, 1, node)
            except TimeoutError:
                if self._zk is None or not self._zk.connected:
                    why = "timeout: no connected session"
                else:
                    why = "timeout"
                return self._failed(write and sent[0], why, node)
            except KazooException as exc:  # ConnectionLoss, SessionExpired, ...
                return self._failed(write and sent[0], _name(exc), node)

    def _failed(self, maybe: bool, why: str, node: str | None) -> Result:
        return Result(UNKNOWN if maybe else FAIL, None, why, None, 1, node)

    def _node(self, zk: KazooClient) -> str | None:
        with contextlib.suppress(Exception):
            host, port = zk._connection._socket.getpeername()[:2]
            return self.by_addr.get(f"{host}:{port}")
        return None

    # ---- the session -----------------------------------------------------------------

    async def _session(self) -> KazooClient:
        """The kazoo client, started on first use, once its session is connected: nothing
        is handed to kazoo before, so nothing can be queued and sent later."""
        loop = asyncio.get_running_loop()
        if self._zk is None:
            self._loop = loop
            self._connected = asyncio.Event()
            self._zk = KazooClient(
                hosts=",".join(self.hosts),
                timeout=SESSION_TIMEOUT,
                randomize_hosts=False,
                connection_retry=KazooRetry(**RECONNECT),
            )
            self._zk.add_listener(self._state)
            self._zk.start_async()
        zk = self._zk
        while not zk.connected:
            assert self._connected is not None
            self._connected.clear()
            if zk.connected:
                break
            await self._connected.wait()
        return zk

    def _state(self, state: str) -> None:
        """kazoo's listener, on its own thread: wake the loop on every change."""
        if state == KazooState.CONNECTED and self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits
                self._loop.call_soon_threadsafe(self._connected.set)

    async def _call(self, async_result) -> Any:
        """Await a kazoo IAsyncResult without blocking the loop."""
        loop = asyncio.get_running_loop()
        fut = loop.create_future()

        def done(ar) -> None:
            def settle() -> None:
                if fut.done():
                    return
                if ar.successful():
                    fut.set_result(ar.value)
                else:
                    fut.set_exception(ar.exception)

            with contextlib.suppress(RuntimeError):  # the loop is gone
                loop.call_soon_threadsafe(settle)

        async_result.rawlink(done)
        return await fut


def _stop(zk: KazooClient) -> None:
    with contextlib.suppress(Exception):
        zk.stop()
    with contextlib.suppress(Exception):
        zk.close()


def _path(key: Any) -> str:
    return f"/{key}"


def _name(exc: BaseException) -> str:
    return type(exc).__name__ + (f": {exc}" if str(exc) else "")


# ---- status -------------------------------------------------------------------------


async def srvr(addr: str, timeout: float) -> str | None:
    """The `srvr` four-letter word's answer, or None when the server does not answer."""
    host, port = addr.rsplit(":", 1)

    async def ask() -> str:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            writer.write(b"srvr")
            await writer.drain()
            return (await reader.read()).decode(errors="replace")
        finally:
            writer.close()

    try:
        return await asyncio.wait_for(ask(), timeout)
    except (OSError, TimeoutError):
        return None


def parse_srvr(text: str) -> dict[str, Any]:
    """Mode and epoch from `srvr`: {"mode": "leader" | "follower" | "looking" | ..., "zxid",
    "epoch"}; a server outside a quorum says it is "not currently serving requests"."""
    if "not currently serving" in text:
        return {"mode": "looking", "zxid": None, "epoch": None}
    fields = {}
    for line in text.splitlines():
        k, sep, v = line.partition(":")
        if sep:
            fields[k.strip().lower()] = v.strip()
    zxid = int(fields["zxid"], 16) if fields.get("zxid", "").startswith("0x") else None
    return {
        "mode": fields.get("mode", "unknown"),
        "zxid": zxid,
        "epoch": zxid >> 32 if zxid is not None else None,
    }


ROLES = {"leader": "leader", "follower": "follower", "observer": "follower"}


async def server_statuses(
    addrs: dict[str, str], timeout: float
) -> dict[str, dict[str, Any] | None]:
    """Each server's status: {"id", "role" (leader or follower), "term" (the epoch of its
    last zxid), "leader" (the server in Mode: leader of the highest epoch among those that
    answered)}; None for one that does not answer or does not serve (LOOKING)."""
    texts = await asyncio.gather(*(srvr(a, timeout) for a in addrs.values()))
    parsed = {n: parse_srvr(t) if t else None for n, t in zip(addrs, texts, strict=True)}
    # A server outside a quorum (LOOKING, or still syncing with its leader) refuses
    # clients: it is not serving, so it is not up for the harness either. Cluster start-up
    # waits for every server to serve, so that the clients bound to each reach it.
    parsed = {n: p if p and p["mode"] != "looking" else None for n, p in parsed.items()}
    leaders = [(p["epoch"] or 0, n) for n, p in parsed.items() if p and p["mode"] == "leader"]
    leader = max(leaders)[1] if leaders else None
    out: dict[str, dict[str, Any] | None] = {}
    for n, p in parsed.items():
        if p is None:
            out[n] = None
            continue
        out[n] = {
            "id": n,
            "role": ROLES.get(p["mode"], "candidate"),
            "term": p["epoch"] or 0,
            "leader": leader,
            "zxid": p["zxid"],
            "mode": p["mode"],
        }
    return out
