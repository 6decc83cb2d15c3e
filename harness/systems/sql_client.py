"""What every SQL system's client does, written once: the operations as SQL, the outcome
rules, and which node an operation goes to. The drivers (postgres_client.py: psycopg 3's
asyncio API; mysql_client.py: PyMySQL, one thread per operation) only carry statements to
a server and back.

Data, Jepsen's way (its postgres and mysql tests): one row per key in one table
`kv (k, kind, v)`, made when the image is built. `k` is the key as JSON (so 1 and "1"
differ); `kind` is `l` for a list (list-append, set) or `r` for a register (register,
rw-register, bank); `v` is the register's JSON value, or the list's elements one JSON value
a line (JSON text never holds a raw newline). An append is a single upsert that
concatenates; a read is a SELECT of the row; a write an upsert that replaces.

Every operation is one transaction at the system's isolation, set on the transaction
itself (`BEGIN ISOLATION LEVEL ...`; MariaDB: `SET TRANSACTION ISOLATION LEVEL ...` before
`START TRANSACTION`), then COMMIT. Outcomes (the history's ok / fail / info):

  ok       COMMIT answered
  fail     certainly not committed: no connection, a statement refused or failed before
           COMMIT was sent (the server rolls the transaction back; nothing is replicated
           before COMMIT, Galera included), a cas precondition, a transfer short of funds,
           or COMMIT refused with a serialization failure, a deadlock or (Galera) a
           certification failure
  unknown  COMMIT was sent and no answer came (a timeout, a lost connection, any other
           error): it may have committed. Never retried.

Timeouts bound the whole operation (`timeout`); a node that cannot be connected to, or
that says it is not ready (PostgreSQL starting up, a Galera node outside the primary
component), is left for the next node within that time, since nothing was done there.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from raftnode.client import FAIL, OK, UNKNOWN, Backoff, Result

ISOLATIONS = ("serializable", "repeatable-read", "read-committed")
SQL_ISOLATION = {
    "serializable": "SERIALIZABLE",
    "repeatable-read": "REPEATABLE READ",
    "read-committed": "READ COMMITTED",
}
# The workloads an SQL client carries out (workloads/): register through get/put/cas,
# list-append, rw-register and set through txn, bank through txn and transfer.
WORKLOADS = ("register", "list-append", "rw-register", "set", "bank")


@dataclass(frozen=True)
class Dialect:
    """The statements of one SQL dialect; parameters are %s (psycopg and PyMySQL alike)."""

    name: str
    begin: Callable[[str], tuple[str, ...]]  # SQL isolation level -> statements
    read: str  # (k) -> rows (kind, v)
    append: str  # (k, element)
    write: str  # (k, value)
    create: str  # (k, value): insert unless the key exists; rowcount 1 if it did
    update: str  # (new, k, expected): rowcount 1 if it held expected


POSTGRES = Dialect(
    "postgres",
    begin=lambda level: (f"BEGIN ISOLATION LEVEL {level}",),
    read="SELECT kind, v FROM kv WHERE k = %s",
    append="INSERT INTO kv AS t (k, kind, v) VALUES (%s, 'l', %s) "
    "ON CONFLICT (k) DO UPDATE SET v = t.v || chr(10) || EXCLUDED.v",
    write="INSERT INTO kv AS t (k, kind, v) VALUES (%s, 'r', %s) "
    "ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v",
    create="INSERT INTO kv (k, kind, v) VALUES (%s, 'r', %s) ON CONFLICT (k) DO NOTHING",
    update="UPDATE kv SET v = %s WHERE k = %s AND kind = 'r' AND v = %s",
)

MYSQL = Dialect(
    "mysql",
    begin=lambda level: (f"SET TRANSACTION ISOLATION LEVEL {level}", "START TRANSACTION"),
    read="SELECT kind, v FROM kv WHERE k = %s",
    append="INSERT INTO kv (k, kind, v) VALUES (%s, 'l', %s) "
    "ON DUPLICATE KEY UPDATE v = CONCAT(v, CHAR(10), VALUES(v))",
    write="INSERT INTO kv (k, kind, v) VALUES (%s, 'r', %s) ON DUPLICATE KEY UPDATE v = VALUES(v)",
    create="INSERT IGNORE INTO kv (k, kind, v) VALUES (%s, 'r', %s)",
    update="UPDATE kv SET v = %s WHERE k = %s AND kind = 'r' AND v = %s",
)


# ---- the operations as statements (no I/O: a driver runs them) ------------------------


@dataclass(frozen=True)
class Stmt:
    sql: str
    params: tuple[Any, ...]


@dataclass(frozen=True)
class Answer:
    rows: list[tuple[Any, ...]]
    rowcount: int


class Refused(Exception):
    """The operation's own definite failure (a cas precondition, a transfer short of
    funds): rolled back, nothing written. `value` goes into the Result."""

    def __init__(self, error: str, value: Any = None):
        super().__init__(error)
        self.error, self.value = error, value


# A body: yields statements, is sent their answers, returns the ok value; raises Refused.
Body = Generator[Stmt, Answer, Any]


def key_text(key: Any) -> str:
    return json.dumps(key, sort_keys=True, separators=(",", ":"))


def value_text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes | bytearray) else str(v)


def decode_row(rows: list[tuple[Any, ...]]) -> Any:
    """A read's value: None for no row, the list for a list key, the value for a register."""
    if not rows:
        return None
    kind, v = _text(rows[0][0]), _text(rows[0][1])
    if kind == "l":
        return [json.loads(e) for e in v.split("\n")]
    return json.loads(v)


def read_body(d: Dialect, key: Any) -> Body:
    answer = yield Stmt(d.read, (key_text(key),))
    return decode_row(answer.rows)


def write_body(d: Dialect, key: Any, value: Any) -> Body:
    yield Stmt(d.write, (key_text(key), value_text(value)))
    return value


def cas_body(d: Dialect, key: Any, expected: Any, new: Any) -> Body:
    """Put `new` if the register holds `expected` (None: if the key does not exist)."""
    k = key_text(key)
    if expected is None:
        answer = yield Stmt(d.create, (k, value_text(new)))
    else:
        answer = yield Stmt(d.update, (value_text(new), k, value_text(expected)))
    if answer.rowcount != 1:
        current = yield from read_body(d, key)
        raise Refused("precondition", current)
    return new


def txn_body(d: Dialect, micro_ops: Iterable[Any]) -> Body:
    """Micro-ops in order; the ok value repeats them with each read's value filled in."""
    done: list[list[Any]] = []
    for f, key, value in micro_ops:
        if f == "r":
            done.append([f, key, (yield from read_body(d, key))])
        elif f == "w":
            yield from write_body(d, key, value)
            done.append([f, key, value])
        elif f == "append":
            yield Stmt(d.append, (key_text(key), value_text(value)))
            done.append([f, key, value])
        else:
            raise ValueError(f"unknown micro-op {f!r}; expected r, w or append")
    return done


def transfer_body(d: Dialect, frm: Any, to: Any, amount: int) -> Body:
    """Jepsen's bank transfer: read both balances, write both (computed here, as a client
    does), in one transaction; short of funds: nothing written."""
    have = yield from read_body(d, frm)
    other = yield from read_body(d, to)
    if not isinstance(have, int) or have < amount:
        raise Refused("insufficient")
    yield from write_body(d, frm, have - amount)
    yield from write_body(d, to, (other or 0) + amount)
    return None


# ---- outcomes ---------------------------------------------------------------------------


class Failure(Exception):
    """How an attempt ended without an answer to COMMIT. `definite`: certainly not
    committed (fail); else unknown. `retry`: nothing was done at this node and another may
    do better (unreachable, not ready)."""

    def __init__(self, error: str, definite: bool, retry: bool = False):
        super().__init__(error)
        self.error, self.definite, self.retry = error, definite, retry


# ---- the client: node choice, deadlines, outcomes ---------------------------------------


class SqlClient:
    """One logical process of an SQL system: one operation at a time.

    ``nodes``: node id -> "HOST:PORT". ``home`` starts every operation at that node (the
    workload's binding `node`), ``spread`` at a random one (`any`); otherwise at the node
    that answered last (`leader`). A node that cannot be reached or is not ready is left
    for the next within ``timeout``; ``attempt_timeout`` bounds one connection attempt.
    Subclasses (the drivers) implement `_attempt(node, body_factory, deadline)`.
    """

    dialect: Dialect

    def __init__(
        self,
        nodes: Mapping[str, str],
        timeout: float = 2.0,
        isolation: str = "serializable",
        client_id: str | None = None,
        rng: random.Random | None = None,
        home: str | None = None,
        spread: bool = False,
        attempt_timeout: float | None = None,
        give_up_on_timeout: bool = True,
    ):
        # give_up_on_timeout (System.open_client's): this client never moves on from a node
        # that leaves a transaction unanswered (the operation ends: fail before COMMIT,
        # unknown after), so it holds whatever the driver asks.
        del give_up_on_timeout
        if not nodes:
            raise ValueError("a client needs at least one node address")
        if isolation not in SQL_ISOLATION:
            raise ValueError(f"isolation {isolation!r}; expected one of: {', '.join(ISOLATIONS)}")
        self.by_id = dict(nodes)
        self.ids = list(self.by_id)
        self.timeout = timeout
        self.attempt_timeout = attempt_timeout or max(0.25, timeout / 4)
        self.level = SQL_ISOLATION[isolation]
        self.client_id = client_id or uuid.uuid4().hex[:16]
        self.rng = rng or random.Random()
        self.backoff = Backoff(self.rng)
        self.spread = spread
        if home is not None and home not in self.by_id:
            addr_to_id = {a: n for n, a in self.by_id.items()}
            if home not in addr_to_id:
                raise ValueError(f"home node {home!r} is not one of this client's nodes")
            home = addr_to_id[home]
        self.home = home
        self._current = 0
        self._lock = asyncio.Lock()

    # ---- the client protocol (interfaces.md) ---------------------------------------

    async def get(self, key: Any) -> Result:
        return await self._run(lambda: read_body(self.dialect, key))

    async def put(self, key: Any, value: Any) -> Result:
        return await self._run(lambda: write_body(self.dialect, key, value))

    async def cas(self, key: Any, expected: Any, new: Any) -> Result:
        return await self._run(lambda: cas_body(self.dialect, key, expected, new))

    async def txn(self, micro_ops: list[Any]) -> Result:
        ops = [list(m) for m in micro_ops]
        return await self._run(lambda: txn_body(self.dialect, ops))

    async def transfer(self, frm: Any, to: Any, amount: int) -> Result:
        return await self._run(lambda: transfer_body(self.dialect, frm, to, amount))

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> SqlClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- retries ---------------------------------------------------------------------

    def _first(self) -> int:
        if self.home is not None:
            return self.ids.index(self.home)
        if self.spread:
            return self.rng.randrange(len(self.ids))
        return self._current

    async def _run(self, body: Callable[[], Body]) -> Result:
        async with self._lock:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.timeout
            self.backoff.reset()
            index = self._first()
            attempts, last = 0, Failure("no attempt", definite=True)
            tried: set[int] = set()
            while loop.time() < deadline:
                node = self.ids[index]
                attempts += 1
                try:
                    value = await self._attempt(node, body, deadline)
                except Refused as r:
                    return Result(FAIL, r.value, r.error, self.by_id[node], attempts, node)
                except Failure as f:
                    if not f.definite:
                        return Result(UNKNOWN, None, f.error, self.by_id[node], attempts)
                    last = f
                    if not f.retry:
                        return Result(FAIL, None, f.error, self.by_id[node], attempts, node)
                    # Nothing was done there: try the next node; once each has refused,
                    # back off before going round again.
                    tried.add(index)
                    index = (index + 1) % len(self.ids)
                    if len(tried) >= len(self.ids):
                        tried.clear()
                        wait = min(self.backoff.next(), max(0.0, deadline - loop.time()))
                        await asyncio.sleep(wait)
                    continue
                self._current = index
                return Result(OK, value, None, self.by_id[node], attempts, node)
            return Result(FAIL, None, last.error, self.by_id[self.ids[index]], attempts)

    async def _attempt(self, node: str, body: Callable[[], Body], deadline: float) -> Any:
        """One transaction at `node`: the ok value, or Refused / Failure."""
        raise NotImplementedError


def drive(body: Body, execute: Callable[[Stmt], Answer]) -> Any:
    """Run a body with a blocking `execute` (a thread's driver); its return value."""
    try:
        stmt = next(body)
        while True:
            stmt = body.send(execute(stmt))
    except StopIteration as done:
        return done.value


async def drive_async(body: Body, execute: Callable[[Stmt], Any]) -> Any:
    """Run a body with an async `execute` (psycopg's driver); its return value."""
    try:
        stmt = next(body)
        while True:
            stmt = body.send(await execute(stmt))
    except StopIteration as done:
        return done.value


__all__ = [
    "FAIL",
    "ISOLATIONS",
    "MYSQL",
    "OK",
    "POSTGRES",
    "UNKNOWN",
    "WORKLOADS",
    "Answer",
    "Dialect",
    "Failure",
    "Refused",
    "SqlClient",
    "Stmt",
    "drive",
    "drive_async",
    "key_text",
]
