"""A client of Redis with Sentinel on redis-py's asyncio API, with the history's ok / fail /
unknown rules (raftnode/client.py's Result), and the status probe of a deployment.

Finding the primary, as applications do: redis-py's `Sentinel.discover_master` asks the
Sentinels in turn (the client's own member's first, as an application configured with its
local Sentinel) for the primary of `mymaster`, taking the first answer that names a
primary the Sentinel does not think is down. The client keeps its connection to that
primary for every later operation, as redis-py's Sentinel-managed pool does, and asks
again only once the connection fails or the server answers READONLY (it was demoted). A
client connected to a primary that a partition cut off therefore keeps writing to it:
Redis's documented loss window.

Why not `master_for()` itself: its pool reconnects inside a command's send and turns a
READONLY answer into a ConnectionError, so "never sent" (safe to try again), "refused"
(certainly not applied) and "sent, no answer" (may have been applied) could not be told
apart. Here each step is its own call on one redis-py Connection: discovery and connect
first, then exactly one send.

Outcomes:
  ok       the server answered it (with `wait`, WAIT then counted enough replicas)
  fail     certainly not applied: no primary found or no connection made before the
           deadline (nothing was sent), an error reply (READONLY, NOREPLICAS,
           MASTERDOWN, LOADING, a cas precondition); a read that got no answer (a read
           changes nothing, so a lost answer is a read that did not happen)
  unknown  a write sent with no answer (timeout, connection lost), or a write the primary
           applied while WAIT counted fewer replicas than asked for: it is in the
           primary's data set and may survive or be lost with it

Never resent blind: a write whose answer was lost is unknown and ends there; only what was
certainly not applied (READONLY from a demoted primary, a failed connect) is tried again,
within the operation's time, after asking the Sentinels again. redis-py's own retries are
switched off (its default retries a command after a timeout).

Timeouts bound the whole operation (discovery, connect, command, WAIT) with
asyncio.timeout: everything here is asyncio, so a stuck client never holds up another.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import Mapping
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import Connection
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from harness.systems.base import NoTransactions
from raftnode.client import FAIL, OK, UNKNOWN, Backoff, Result

SERVICE = "mymaster"
# A cas as one atomic script on the primary: set `new` when the value is `expected`
# (absent when expected is None); returns {1} or {0, the value that stood in the way}.
CAS_SCRIPT = """
local cur = redis.call('GET', KEYS[1])
if (ARGV[1] == '' and cur == false) or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return {1}
end
return {0, cur}
"""
# Connection errors: the socket failed or the time ran out (redis-py wraps the OSErrors).
LOST = (RedisConnectionError, RedisTimeoutError, OSError)
NO_RETRY = Retry(NoBackoff(), 0)


def encode(value: Any) -> str:
    """A register value or set element as Redis stores it: canonical JSON, so that a cas
    compares what was written and integers come back as integers."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def decode(raw: bytes | str | None) -> Any:
    if raw is None:
        return None
    text = raw.decode() if isinstance(raw, bytes) else raw
    try:
        return json.loads(text)
    except ValueError:
        return text  # written by someone else


class _NotSent(Exception):
    """Nothing was sent: no primary found or no connection; safe to try again."""


class _Refused(Exception):
    """An error reply: the command was not applied."""


class RedisClient(NoTransactions):
    """One logical client process of a Redis deployment behind Sentinel.

    ``sentinels``: node id -> (host, port) of the Sentinel beside each member. ``home``: a
    node id whose Sentinel is asked first (the client's own box); ``spread``: a random
    order each time a primary is looked for. ``attempt_timeout`` bounds one Sentinel's
    answer and one connect; ``timeout`` the whole operation. ``wait``: after each write,
    WAIT for that many replicas within what is left of the timeout.
    """

    def __init__(
        self,
        sentinels: Mapping[str, tuple[str, int]],
        timeout: float = 2.0,
        wait: int = 0,
        client_id: str | None = None,
        rng: random.Random | None = None,
        home: str | None = None,
        spread: bool = False,
        attempt_timeout: float | None = None,
        service: str = SERVICE,
    ):
        if not sentinels:
            raise ValueError("a client needs at least one Sentinel")
        order = list(sentinels)
        if home is not None:
            if home not in sentinels:
                raise ValueError(f"home node {home!r} is not one of this client's nodes")
            i = order.index(home)
            order = order[i:] + order[:i]
        self.order = order
        self.sentinels = dict(sentinels)
        self.timeout = timeout
        self.attempt_timeout = attempt_timeout or max(0.25, timeout / 4)
        self.wait = wait
        self.service = service
        self.client_id = client_id or uuid.uuid4().hex[:16]
        self.rng = rng or random.Random()
        self.spread = spread
        self.backoff = Backoff(self.rng)
        self.by_host = {host: n for n, (host, _) in sentinels.items()}
        self._sentinel: Sentinel | None = None
        self._conn: Connection | None = None
        self._primary: tuple[str, int] | None = None
        self._lock = asyncio.Lock()

    # ---- operations ------------------------------------------------------------------

    async def get(self, key: str) -> Result:
        res, raw = await self._op(("GET", key), write=False)
        if res.ok:
            res.value = decode(raw)
        return res

    async def put(self, key: str, value: Any) -> Result:
        res, _ = await self._op(("SET", key, encode(value)), write=True)
        if res.ok:
            res.value = value
        return res

    async def cas(self, key: str, expected: Any, new: Any) -> Result:
        old = "" if expected is None else encode(expected)
        res, raw = await self._op(("EVAL", CAS_SCRIPT, 1, key, old, encode(new)), write=True)
        if res.outcome == FAIL and res.error == "precondition-reply":
            res.error = "precondition"
            res.value = decode(raw[1]) if isinstance(raw, list) and len(raw) > 1 else None
        elif res.ok:
            res.value = new
        return res

    async def add(self, key: str, element: Any) -> Result:
        """SADD: the set workload's add (workloads/set.py)."""
        res, _ = await self._op(("SADD", key, encode(element)), write=True)
        if res.ok:
            res.value = element
        return res

    async def members(self, key: str) -> Result:
        """SMEMBERS: the set workload's read; ok value the elements (a list)."""
        res, raw = await self._op(("SMEMBERS", key), write=False)
        if res.ok:
            res.value = sorted((decode(m) for m in raw or ()), key=_order)
        return res

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.disconnect(nowait=True)
        sentinel, self._sentinel = self._sentinel, None
        if sentinel is not None:
            await asyncio.gather(*(s.aclose() for s in sentinel.sentinels), return_exceptions=True)

    # ---- one operation ---------------------------------------------------------------

    async def _op(self, command: tuple, write: bool) -> tuple[Result, Any]:
        async with self._lock:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.timeout
            self.backoff.reset()
            sent = False
            node: str | None = None
            error = "no primary found"
            try:
                async with asyncio.timeout_at(deadline):
                    while True:
                        try:
                            conn = await self._connected()
                        except _NotSent as exc:
                            error = str(exc)
                            await asyncio.sleep(self.backoff.next())
                            continue
                        node = self.by_host.get(str(conn.host))
                        sent = True
                        try:
                            reply = await self._command(conn, command)
                        except ReadOnlyError:
                            # A demoted primary: not applied. Ask the Sentinels again.
                            sent, error = False, "READONLY (the primary was demoted)"
                            await self._drop()
                            continue
                        except _Refused as exc:
                            return self._result(FAIL, exc.args[0], node), None
                        if command[0] == "EVAL" and reply and reply[0] == 0:
                            return self._result(FAIL, "precondition-reply", node), reply
                        if write and self.wait:
                            acked = await self._wait(conn, deadline - loop.time())
                            if acked < self.wait:
                                why = f"WAIT: {acked} of {self.wait} replicas acknowledged"
                                return self._result(UNKNOWN, why, node), None
                        return self._result(OK, None, node), reply
            except TimeoutError:
                await self._drop()
                if not sent:
                    return self._result(FAIL, f"timeout before sending: {error}", node), None
                return self._result(UNKNOWN if write else FAIL, "timeout", node), None
            except LOST as exc:
                await self._drop()
                why = f"connection lost: {exc}"
                return self._result(UNKNOWN if write else FAIL, why, node), None

    def _result(self, outcome: str, error: str | None, node: str | None) -> Result:
        addr = f"{self._primary[0]}:{self._primary[1]}" if self._primary else None
        return Result(outcome, None, error, addr, 1, node)

    async def _command(self, conn: Connection, command: tuple) -> Any:
        """One send and its answer. An error reply other than READONLY is _Refused."""
        await conn.send_command(*command)
        try:
            return await conn.read_response(timeout=_FOREVER)
        except ReadOnlyError:
            raise
        except ResponseError as exc:
            # Redis refuses a command before running it (NOREPLICAS, MASTERDOWN,
            # LOADING, OOM, BUSY...): nothing was applied.
            raise _Refused(str(exc).split("\n")[0]) from None

    async def _wait(self, conn: Connection, left: float) -> int:
        """WAIT for self.wait replicas within `left` seconds, less a margin for its answer
        to come back before the operation's deadline (at least 1 ms): how many
        acknowledged the write."""
        ms = max(1, int((left - max(0.1, left / 4)) * 1000))
        await conn.send_command("WAIT", self.wait, ms)
        return int(await conn.read_response(timeout=_FOREVER))

    # ---- the primary -----------------------------------------------------------------

    async def _connected(self) -> Connection:
        """The connection to the primary, made now if there is none: the Sentinels are
        asked for the primary first. _NotSent when either step fails."""
        if self._conn is not None and self._conn.is_connected:
            try:
                # The server may have closed it while it was idle (Sentinel has a demoted
                # primary kill its clients' connections): find out before sending, when
                # it is still certain that nothing was sent.
                if not await self._conn.can_read():
                    return self._conn
            except LOST:
                pass
            await self._drop()  # closed, or holding bytes nobody asked for
        sentinel = self._sentinels()
        if self.spread:
            self.rng.shuffle(sentinel.sentinels)
        try:
            host, port = await sentinel.discover_master(self.service)
        except LOST as exc:
            raise _NotSent(f"no primary from the Sentinels: {exc}") from None
        self._primary = (str(host), int(port))
        conn = Connection(
            host=str(host),
            port=int(port),
            socket_timeout=None,  # the operation's deadline bounds every read
            socket_connect_timeout=self.attempt_timeout,
            retry=NO_RETRY,
            client_name=self.client_id,
        )
        try:
            await conn.connect()
        except LOST as exc:
            await conn.disconnect(nowait=True)
            raise _NotSent(f"cannot connect to {host}:{port}: {exc}") from None
        self._conn = conn
        return conn

    def _sentinels(self) -> Sentinel:
        if self._sentinel is None:
            self._sentinel = Sentinel(
                [self.sentinels[n] for n in self.order],
                socket_timeout=self.attempt_timeout,
                socket_connect_timeout=self.attempt_timeout,
            )
        return self._sentinel

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.disconnect(nowait=True)
            except Exception:
                pass


_FOREVER = float("inf")  # redis-py: no per-read timeout; the operation's deadline rules


def _order(v: Any) -> tuple[int, Any]:
    return (0, v) if isinstance(v, int) else (1, str(v))


# ---- status -------------------------------------------------------------------------


async def member_statuses(
    members: dict[str, str], service: str, sentinel_port: int, timeout: float
) -> dict[str, dict[str, Any] | None]:
    """Each member's status: its server's replication role and its Sentinel's view, and
    the leader, the primary a majority of all the Sentinels name.

    A member is None (not answering) when its server or its Sentinel does not answer, and
    also until it has joined: its Sentinel has yet to hear of every other Sentinel and
    every replica, or, as a replica, it has not had a link to its primary since it
    started. Then a partition or a kill right after start-up meets a deployment that can
    fail over, as one running for a while would.
    """

    async def ask(node: str, addr: str) -> tuple[dict | None, dict | None]:
        host, port = addr.rsplit(":", 1)
        server = Redis(host=host, port=int(port), socket_timeout=timeout,
                       socket_connect_timeout=timeout, retry=NO_RETRY)  # fmt: skip
        sentinel = Redis(host=host, port=sentinel_port, socket_timeout=timeout,
                         socket_connect_timeout=timeout, retry=NO_RETRY)  # fmt: skip
        try:
            info, watched = await asyncio.gather(
                server.info("replication"),
                sentinel.sentinel_master(service),
                return_exceptions=True,
            )
        finally:
            await asyncio.gather(server.aclose(), sentinel.aclose(), return_exceptions=True)
        return (
            info if isinstance(info, dict) else None,
            watched if isinstance(watched, dict) else None,
        )

    async def bounded(node: str, addr: str):
        try:
            return await asyncio.wait_for(ask(node, addr), timeout + 0.5)
        except (TimeoutError, *LOST):
            return None, None

    asked = await asyncio.gather(*(bounded(n, a) for n, a in members.items()))
    answers = dict(zip(members, asked, strict=True))
    return combine_statuses(members, answers)


def combine_statuses(
    members: dict[str, str], answers: dict[str, tuple[dict | None, dict | None]]
) -> dict[str, dict[str, Any] | None]:
    """The statuses from each member's (INFO replication, SENTINEL MASTER) answers (None
    where it did not answer): the leader is the primary a majority of all the members'
    Sentinels name, at the highest configuration epoch they give it."""
    host_node = {a.rsplit(":", 1)[0]: n for n, a in members.items()}
    named: dict[str, int] = {}
    epochs: dict[str, int] = {}
    for _, watched in answers.values():
        if watched and watched.get("ip") in host_node:
            primary = host_node[watched["ip"]]
            named[primary] = named.get(primary, 0) + 1
            epochs[primary] = max(epochs.get(primary, 0), int(watched.get("config-epoch", 0)))
    majority = len(members) // 2 + 1
    leader = next((n for n, k in named.items() if k >= majority), None)
    out: dict[str, dict[str, Any] | None] = {}
    for node, (info, watched) in answers.items():
        if info is None or watched is None:
            out[node] = None
            continue
        role = info.get("role")
        # A Sentinel hears of the others through the primary within seconds, and of the
        # replicas from the primary's INFO every 10 s: until it knows them all, it could
        # not fail over.
        joined = (
            int(watched.get("num-other-sentinels", 0)) >= len(members) - 1
            and int(watched.get("num-slaves", 0)) >= len(members) - 1
        )
        if role == "slave":
            joined = joined and int(info.get("master_link_down_since_seconds", 0)) != -1
        if not joined:
            out[node] = None
            continue
        out[node] = {
            "id": node,
            "role": "leader" if node == leader else "follower",
            "term": epochs.get(leader, 0) if leader else 0,
            "leader": leader,
            "server-role": "primary" if role == "master" else "replica",
            "replicates": host_node.get(str(info.get("master_host"))) if role == "slave" else None,
            "link": info.get("master_link_status") if role == "slave" else None,
            "sentinel-primary": host_node.get(str(watched.get("ip"))),
        }
    return out
