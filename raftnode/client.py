"""An async client for a raftnode cluster: follows the leader, retries safely, and says
plainly whether an operation happened.

Outcomes (the history's ok / fail / info):
  ok       it happened (value holds what was read, or the write's value)
  fail     it certainly did not happen: a cas precondition failed, a transfer found too
           little money, or no node took it
           (refused connections, "not-leader" redirects, no leader found in time)
  unknown  it may have happened or may still happen: a timeout or a lost connection after
           a request was sent, or the leader lost office before committing

One Client is one logical process: it runs one operation at a time under one client id,
and each operation has a sequence number that every retry reuses, so the state machine
applies a write at most once however many nodes it was sent to.

The retry policy (which node next, when to wait, what an outcome means) is written once,
here; how a request reaches a node is a `Transport`: TCP to real nodes (`TcpTransport`,
the default), or the simulation's network (harness/backends/sim/transport.py), so a simulated
run's clients behave exactly as the real ones. Time is the running event loop's clock,
which the simulation drives in virtual time.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from raftnode import wire

OK, FAIL, UNKNOWN = "ok", "fail", "unknown"

# Waits between attempts that got nowhere (no leader yet, a dead leader that a follower
# still names, a node that timed out): exponential from BACKOFF_BASE to BACKOFF_CAP, with
# jitter, so that a failover costs a client a handful of attempts rather than a thousand
# (a redirect loop between a dead leader and a follower that still names it spins at
# network speed), while the first redirect to a freshly named leader goes out at once.
BACKOFF_BASE = 0.01
BACKOFF_CAP = 0.2


# Answers of the state machine that say the command applied as a no-op: a cas whose
# register held something else, a transfer whose payer held too little.
DEFINITE_REFUSALS = frozenset({"precondition", "insufficient"})

# A membership change the leader refuses for good (raftnode/membership.py): no retry.
# "change-in-progress" is not here: it passes once the earlier change commits.
MEMBER_REFUSALS = frozenset({"already-member", "not-member", "not-learner", "last-voter"})


@dataclass
class Result:
    outcome: str  # "ok" | "fail" | "unknown"
    value: Any = None
    error: str | None = None
    node: str | None = None  # address of the node that answered last
    attempts: int = 0
    node_id: str | None = None  # id of the node that answered last, when it answered

    @property
    def ok(self) -> bool:
        return self.outcome == OK


class Transport(Protocol):
    """How one request reaches one node and its answer comes back."""

    async def request(self, addr: str, req: dict, timeout: float) -> tuple[bool, dict | None]:
        """Send `req` to the node at `addr` and wait at most `timeout` seconds for its
        answer. Returns (sent, answer): sent is False when the request surely never left
        (nothing listens there); answer is None on a timeout or a lost connection."""
        ...

    async def close(self) -> None: ...


class _Conn:
    """One connection to one node, with requests matched to answers by id."""

    def __init__(self, addr: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.addr = addr
        self.reader = reader
        self.writer = writer
        self.waiting: dict[int, asyncio.Future] = {}
        self.task = asyncio.get_running_loop().create_task(self._read_loop())
        self.closed = False

    async def _read_loop(self) -> None:
        try:
            while True:
                frame = await wire.read_frame(self.reader)
                if isinstance(frame, dict):
                    fut = self.waiting.pop(frame.get("id"), None)
                    if fut is not None and not fut.done():
                        fut.set_result(frame)
        except (OSError, asyncio.IncompleteReadError, wire.FrameError):
            pass
        finally:
            self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for fut in self.waiting.values():
            if not fut.done():
                fut.set_exception(ConnectionError(f"connection to {self.addr} lost"))
        self.waiting.clear()
        self.writer.close()
        if self.task is not asyncio.current_task():
            self.task.cancel()


class TcpTransport:
    """raftnode's wire protocol over TCP, one connection per node, kept open. With a
    cluster secret every request goes signed, as peers' frames do (wire.py): a node
    takes a membership change only from a client that holds the secret."""

    def __init__(self, connect_timeout: float = 0.5, secret: str | None = None):
        self.connect_timeout = connect_timeout
        self._mac = wire.Mac(wire.mac_key(secret)) if secret else None
        self._rid = itertools.count(1)
        self._conns: dict[str, _Conn] = {}

    async def _connect(self, addr: str) -> _Conn:
        host, port = wire.parse_addr(addr)
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port), self.connect_timeout
        )
        c = _Conn(addr, reader, writer)
        self._conns[addr] = c
        return c

    async def request(self, addr: str, req: dict, timeout: float) -> tuple[bool, dict | None]:
        conn = self._conns.get(addr)
        if conn is None or conn.closed:  # the usual case skips a coroutine: a kept connection
            try:
                conn = await self._connect(addr)
            except (TimeoutError, OSError):
                return False, None
        rid = next(self._rid)
        fut = asyncio.get_running_loop().create_future()
        conn.waiting[rid] = fut
        try:
            frame = {**req, "id": rid}
            mac = self._mac
            conn.writer.write(wire.encode_signed(frame, mac) if mac else wire.encode(frame))
        except (OSError, RuntimeError):
            conn.close()
            return False, None
        try:
            return True, await asyncio.wait_for(fut, timeout)
        except (TimeoutError, ConnectionError):
            conn.waiting.pop(rid, None)
            # A timed-out connection may hold a late answer for another attempt's id; drop
            # it so the next request starts clean.
            conn.close()
            return True, None

    async def close(self) -> None:
        for c in list(self._conns.values()):
            c.close()
        self._conns.clear()


class Backoff:
    """Exponential waits with jitter between fruitless attempts of one operation."""

    def __init__(self, rng: random.Random, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP):
        self.rng, self.base, self.cap = rng, base, cap
        self.failures = 0

    def reset(self) -> None:
        self.failures = 0

    def next(self) -> float:
        """The wait before the next attempt: base, 2 base, 4 base, ... up to cap, each
        drawn from its upper half so that clients that failed together spread out."""
        limit = min(self.cap, self.base * 2**self.failures)
        self.failures += 1
        return self.rng.uniform(limit / 2, limit)


class Client:
    """A client of a cluster.

    ``nodes``: addresses "HOST:PORT", or a mapping node id -> address. With the mapping,
    redirects name the leader by id and the client uses its own address for it (useful when
    the nodes' addresses for each other are not reachable from the client, as in Docker).
    ``transport``: how requests travel (TCP by default); ``rng``: the backoff's jitter (a
    seeded one makes a simulated run reproducible).

    Where an operation starts: by default at the node that answered last (the leader, once
    found). ``home`` (an address or node id) starts every operation at that node, as a
    client configured with one endpoint does; ``spread`` starts each at a random node. In
    all cases an operation follows the leader a node names and moves on from a node that
    does not answer. ``attempt_timeout``: how long one node gets to answer before the
    operation moves on (default: an eighth of ``timeout``, at least 0.25 s).
    ``give_up_on_timeout``: instead of moving on, a request a node does not answer within
    the attempt timeout ends the operation ``unknown`` at once, as a Jepsen client's does:
    the run driver's clients (harness/driver.py) then go on with a fresh process, so one
    silent node holds a client for one attempt timeout, not until another leader exists.
    Refusals and redirects are still followed within ``timeout``: they cost nothing.
    """

    def __init__(
        self,
        nodes: Iterable[str] | Mapping[str, str],
        timeout: float = 3.0,
        connect_timeout: float = 0.5,
        client_id: str | None = None,
        transport: Transport | None = None,
        rng: random.Random | None = None,
        home: str | None = None,
        spread: bool = False,
        attempt_timeout: float | None = None,
        secret: str | None = None,
        give_up_on_timeout: bool = False,
    ):
        if isinstance(nodes, Mapping):
            self.by_id: dict[str, str] = dict(nodes)
            self.addrs = list(nodes.values())
        else:
            self.by_id = {}
            self.addrs = list(nodes)
        if not self.addrs:
            raise ValueError("a client needs at least one node address")
        if transport is None:
            for a in self.addrs:
                wire.parse_addr(a)
        self.transport: Transport = transport or TcpTransport(connect_timeout, secret)
        self.timeout = timeout
        # One unresponsive node (paused, partitioned) must not use up the whole budget:
        # each attempt gets a share of it, and the next goes elsewhere. A node answers in
        # milliseconds (a commit is one round trip), so an eighth of the budget (a quarter
        # second of the workload's 2 s) is already a node in trouble. Leaving it that soon
        # frees a client stuck on a cut-off node to go on to its next operation while a
        # deposed leader still answers (with a third, such clients sat out most deposed
        # leaders' last moments: benchmarks/bench_detection.py).
        self.attempt_timeout = attempt_timeout or max(0.25, timeout / 8)
        self.client_id = client_id or uuid.uuid4().hex[:16]
        self.seq = 0
        self.rng = rng or random.Random()
        self.backoff = Backoff(self.rng)
        self.home: int | None = None
        if home is not None:
            addr = self.by_id.get(home, home)
            if addr not in self.addrs:
                raise ValueError(f"home node {home!r} is not one of this client's nodes")
            self.home = self.addrs.index(addr)
        self.spread = spread
        self.give_up_on_timeout = give_up_on_timeout
        self._target = 0  # index into addrs of the node believed to lead
        self._lock = asyncio.Lock()

    # ---- operations ------------------------------------------------------------------

    async def get(self, key: str) -> Result:
        return await self._op({"op": "get", "key": key})

    async def put(self, key: str, value: Any) -> Result:
        return await self._op({"op": "put", "key": key, "value": value})

    async def cas(self, key: str, expected: Any, new: Any) -> Result:
        return await self._op({"op": "cas", "key": key, "expected": expected, "new": new})

    async def txn(self, ops: list) -> Result:
        """A transaction: micro-ops [f, key, value], f "append", "r" or "w" (raftnode/kv.py);
        ok's value is the micro-ops with each read's value filled in."""
        return await self._op({"op": "txn", "ops": ops})

    async def transfer(self, frm: Any, to: Any, amount: int) -> Result:
        """Moves `amount` from register `frm` to `to` in one step (raftnode/kv.py); fails,
        changing nothing, with "insufficient" when `frm` holds less."""
        return await self._op({"op": "transfer", "from": frm, "to": to, "amount": amount})

    async def member(self, action: str, node: str | None = None, addr: str = "") -> Result:
        """Membership, at the leader: `list` (value: voters, learners, addrs, committed),
        `add` (node, addr: joins as a learner, promoted once caught up) or `remove`
        (node). A change another change holds up is retried until the timeout."""
        req: dict = {"op": "member", "action": action}
        if node is not None:
            req["node"] = node
        if addr:
            req["addr"] = addr
        return await self._op(req)

    async def status(self, addr: str | None = None) -> Result:
        """One node's status (the first address by default); no leader needed."""
        return await self._single(addr or self.addrs[0], {"op": "status"})

    async def committed_log(self, addr: str) -> Result:
        return await self._single(addr, {"op": "log"})

    async def close(self) -> None:
        await self.transport.close()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    # ---- machinery -------------------------------------------------------------------

    async def _send(self, addr: str, req: dict, timeout: float) -> tuple[bool, dict | None]:
        sent, ans = await self.transport.request(addr, req, timeout)
        if ans is not None and ans.get("node") and ans["node"] not in self.by_id:
            # Learn which id answers at this address, so that redirects naming a node by
            # id reach it at an address this client can use.
            self.by_id[ans["node"]] = addr
        return sent, ans

    async def _single(self, addr: str, req: dict) -> Result:
        sent, ans = await self._send(addr, req, self.timeout)
        if ans is None:
            return Result(
                UNKNOWN if sent else FAIL,
                error="timeout" if sent else "unreachable",
                node=addr,
                attempts=1,
            )
        if ans.get("ok"):
            return Result(OK, ans.get("value"), node=addr, attempts=1)
        return Result(FAIL, ans.get("value"), ans.get("error"), addr, 1)

    def _follow(self, ans: dict) -> bool:
        """Aim at the leader a not-leader answer names; True if it named one."""
        leader = ans.get("leader")
        addr = self.by_id.get(leader) if leader else None
        addr = addr or ans.get("leader_addr")
        if not addr:
            self._rotate()
            return False
        if addr not in self.addrs:
            self.addrs.append(addr)
        self._target = self.addrs.index(addr)
        return True

    def _rotate(self) -> None:
        self._target = (self._target + 1) % len(self.addrs)

    async def _op(self, req: dict) -> Result:
        async with self._lock:
            loop = asyncio.get_running_loop()
            self.seq += 1
            req = {**req, "client": self.client_id, "seq": self.seq}
            deadline = loop.time() + self.timeout
            if self.home is not None:
                self._target = self.home
            elif self.spread:
                self._target = self.rng.randrange(len(self.addrs))
            maybe = False  # some attempt may have been executed
            attempts = 0
            last_error = "no-leader"
            addr = None
            wait = 0.0  # before the next attempt
            # Nodes that refused a connection or redirected us since the last wait.
            fruitless: set[str] | None = None
            self.backoff.reset()
            while True:
                if wait > 0:
                    await asyncio.sleep(min(wait, max(0.0, deadline - loop.time())))
                    fruitless = None
                left = deadline - loop.time()
                if left <= 0:
                    break
                addr = self.addrs[self._target]
                attempts += 1
                sent, ans = await self._send(addr, req, min(left, self.attempt_timeout))
                wait = 0.0
                if ans is None:
                    if sent:
                        maybe = True
                        last_error = "timeout"
                        if self.give_up_on_timeout:
                            self._rotate()  # the next operation starts elsewhere
                            break
                    else:
                        last_error = "unreachable"
                        fruitless = (fruitless or set()) | {addr}
                    self._rotate()
                    # A timeout has waited already; a refused connection answers at once,
                    # so once every node has refused or redirected, wait before going on.
                    if fruitless and len(fruitless) >= len(self.addrs):
                        wait = self.backoff.next()
                    continue
                if ans.get("ok"):
                    return Result(OK, ans.get("value"), None, addr, attempts, ans.get("node"))
                err = ans.get("error")
                if err in DEFINITE_REFUSALS:
                    return Result(FAIL, ans.get("value"), err, addr, attempts, ans.get("node"))
                if err == "bad-request" or err in MEMBER_REFUSALS:
                    return Result(FAIL, None, err, addr, attempts, ans.get("node"))
                if not ans.get("definite", False):
                    # Unknown outcome from the node (e.g. leadership lost before commit). A
                    # retry with the same (client, seq) is applied at most once: keep trying.
                    maybe = True
                    last_error = ans.get("reason") or err or "unknown"
                    self._rotate()
                    wait = self.backoff.next()
                    continue
                last_error = err or last_error
                if err == "not-leader" and self._follow(ans):
                    fruitless = (fruitless or set()) | {addr}
                    # A named leader is tried at once, unless it already refused or
                    # redirected us: then the naming node's news is stale (its leader is
                    # gone, or an election is under way).
                    if self.addrs[self._target] in fruitless:
                        wait = self.backoff.next()
                    continue
                wait = self.backoff.next()
            return Result(UNKNOWN if maybe else FAIL, None, last_error, addr, attempts)
