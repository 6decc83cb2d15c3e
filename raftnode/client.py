"""An async client for a raftnode cluster: follows the leader, retries safely, and says
plainly whether an operation happened.

Outcomes (the history's ok / fail / info):
  ok       it happened (value holds what was read, or the write's value)
  fail     it certainly did not happen: a cas precondition failed, or no node took it
           (refused connections, "not-leader" redirects, no leader found in time)
  unknown  it may have happened or may still happen: a timeout or a lost connection after
           a request was sent, or the leader lost office before committing

One Client is one logical process: it runs one operation at a time under one client id,
and each operation has a sequence number that every retry reuses, so the state machine
applies a write at most once however many nodes it was sent to.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from raftnode import wire

OK, FAIL, UNKNOWN = "ok", "fail", "unknown"


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


class Client:
    """A client of a cluster.

    ``nodes``: addresses "HOST:PORT", or a mapping node id -> address. With the mapping,
    redirects name the leader by id and the client uses its own address for it (useful when
    the nodes' addresses for each other are not reachable from the client, as in Docker).
    """

    def __init__(
        self,
        nodes: Iterable[str] | Mapping[str, str],
        timeout: float = 3.0,
        connect_timeout: float = 0.5,
        client_id: str | None = None,
    ):
        if isinstance(nodes, Mapping):
            self.by_id: dict[str, str] = dict(nodes)
            self.addrs = list(nodes.values())
        else:
            self.by_id = {}
            self.addrs = list(nodes)
        if not self.addrs:
            raise ValueError("a client needs at least one node address")
        for a in self.addrs:
            wire.parse_addr(a)
        self.timeout = timeout
        self.attempt_timeout = max(0.25, timeout / 3)
        self.connect_timeout = connect_timeout
        self.client_id = client_id or uuid.uuid4().hex[:16]
        self.seq = 0
        self._rid = itertools.count(1)
        self._conns: dict[str, _Conn] = {}
        self._target = 0  # index into addrs of the node believed to lead
        self._lock = asyncio.Lock()

    # ---- operations ------------------------------------------------------------------

    async def get(self, key: str) -> Result:
        return await self._op({"op": "get", "key": key})

    async def put(self, key: str, value: Any) -> Result:
        return await self._op({"op": "put", "key": key, "value": value})

    async def cas(self, key: str, expected: Any, new: Any) -> Result:
        return await self._op({"op": "cas", "key": key, "expected": expected, "new": new})

    async def status(self, addr: str | None = None) -> Result:
        """One node's status (the first address by default); no leader needed."""
        return await self._single(addr or self.addrs[0], {"op": "status"})

    async def committed_log(self, addr: str) -> Result:
        return await self._single(addr, {"op": "log"})

    async def close(self) -> None:
        for c in list(self._conns.values()):
            c.close()
        self._conns.clear()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    # ---- machinery -------------------------------------------------------------------

    async def _connect(self, addr: str) -> _Conn:
        c = self._conns.get(addr)
        if c is not None and not c.closed:
            return c
        host, port = wire.parse_addr(addr)
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port), self.connect_timeout
        )
        c = _Conn(addr, reader, writer)
        self._conns[addr] = c
        return c

    async def _send(self, addr: str, req: dict, timeout: float) -> tuple[bool, dict | None]:
        """Send one request. Returns (sent, answer): sent is False if the request surely
        never left (connecting failed); answer is None on a timeout or lost connection."""
        try:
            conn = await self._connect(addr)
        except (TimeoutError, OSError):
            return False, None
        rid = next(self._rid)
        fut = asyncio.get_running_loop().create_future()
        conn.waiting[rid] = fut
        try:
            conn.writer.write(wire.encode({**req, "id": rid}))
        except (OSError, RuntimeError):
            conn.close()
            return False, None
        try:
            ans = await asyncio.wait_for(fut, timeout)
            if ans.get("node") and ans["node"] not in self.by_id:
                # Learn which id answers at this address, so that redirects naming a node
                # by id reach it at an address this client can use.
                self.by_id[ans["node"]] = addr
            return True, ans
        except (TimeoutError, ConnectionError):
            conn.waiting.pop(rid, None)
            # A timed-out connection may hold a late answer for another attempt's id; drop
            # it so the next request starts clean.
            conn.close()
            return True, None

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

    def _follow(self, ans: dict) -> None:
        leader = ans.get("leader")
        addr = self.by_id.get(leader) if leader else None
        addr = addr or ans.get("leader_addr")
        if addr:
            if addr not in self.addrs:
                self.addrs.append(addr)
            self._target = self.addrs.index(addr)
        else:
            self._target = (self._target + 1) % len(self.addrs)

    async def _op(self, req: dict) -> Result:
        async with self._lock:
            self.seq += 1
            req = {**req, "client": self.client_id, "seq": self.seq}
            deadline = time.monotonic() + self.timeout
            maybe = False  # some attempt may have been executed
            attempts = 0
            last_error = "no-leader"
            addr = None
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                addr = self.addrs[self._target]
                attempts += 1
                # One unresponsive node (paused, partitioned) must not use up the whole
                # budget: give each attempt a share and try elsewhere after it.
                sent, ans = await self._send(addr, req, min(left, self.attempt_timeout))
                if ans is None:
                    if sent:
                        maybe = True
                        last_error = "timeout"
                    else:
                        last_error = "unreachable"
                    self._target = (self._target + 1) % len(self.addrs)
                    continue
                if ans.get("ok"):
                    return Result(OK, ans.get("value"), None, addr, attempts, ans.get("node"))
                err = ans.get("error")
                if err == "precondition":
                    return Result(FAIL, ans.get("value"), err, addr, attempts, ans.get("node"))
                if ans.get("definite", False):
                    if err == "not-leader":
                        had_leader = bool(ans.get("leader"))
                        self._follow(ans)
                        if not had_leader:
                            await asyncio.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
                    elif err == "bad-request":
                        return Result(FAIL, None, err, addr, attempts)
                    else:
                        await asyncio.sleep(min(0.02, max(0.0, deadline - time.monotonic())))
                    last_error = err or last_error
                    continue
                # Unknown outcome from the node (e.g. leadership lost before commit). A retry
                # with the same (client, seq) is applied at most once, so keep trying.
                maybe = True
                last_error = ans.get("reason") or err or "unknown"
                self._target = (self._target + 1) % len(self.addrs)
                await asyncio.sleep(min(0.02, max(0.0, deadline - time.monotonic())))
            return Result(UNKNOWN if maybe else FAIL, None, last_error, addr, attempts)
