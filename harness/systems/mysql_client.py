"""The MariaDB driver of the SQL client (sql_client.py), for mariadb and galera: PyMySQL,
one thread per attempt.

Why PyMySQL: pure Python (nothing to compile, no MariaDB Connector/C on the host, unlike
MariaDB's own `mariadb` package), maintained under the PyMySQL organisation, and the
protocol MariaDB speaks; its error codes (1213 deadlock, which Galera also gives for a
certification failure; 1047 a Galera node outside the primary component) are all the
outcome rules need. It blocks, so each attempt runs on a thread of its own: one stuck
client never holds up another, and the asyncio driver (harness/driver.py) waits on it
with a deadline.

Timeouts really bound an operation: when one fires, the attempt is marked cancelled under
a lock, and its socket is shut down, which ends whatever the thread is blocked in. The
thread checks the mark before it sends COMMIT, so the outcome is decided without a race:
COMMIT not yet sent, fail (it never will be: the server rolls the transaction back when
the connection goes); sent, unknown.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pymysql
from pymysql.constants import CLIENT

from harness.systems.sql_client import MYSQL, Answer, Body, Failure, Refused, SqlClient, Stmt, drive

PORT = 3306
USER = "raftquake"
DATABASE = "raftquake"
DEADLOCK = 1213  # ER_LOCK_DEADLOCK: InnoDB's deadlock victim, and a Galera certification failure
# The node takes no work, or the connection is gone: nothing done there, try the next.
# 1047: "WSREP has not yet prepared node for application use" (outside the primary
# component, or still joining); 1040 too many connections; 1053 shutting down; 1927
# connection killed; 2003 cannot connect; 2006 gone away; 2013 lost connection.
NOT_READY = {1047, 1040, 1053, 1927, 2003, 2006, 2013}
# Errors at COMMIT that certainly mean "not committed". Everything else there is unknown.
COMMIT_REFUSED = {DEADLOCK}
IO_MARGIN = 5.0  # PyMySQL's own socket timeouts: a backstop behind the shutdown above


def connect(addr: str, connect_timeout: float, io_timeout: float) -> pymysql.Connection:
    host, _, port = addr.rpartition(":")
    return pymysql.connect(
        host=host,
        port=int(port or PORT),
        user=USER,
        database=DATABASE,
        connect_timeout=max(0.05, connect_timeout),
        read_timeout=io_timeout,
        write_timeout=io_timeout,
        autocommit=True,  # the transactions are ours: START TRANSACTION ... COMMIT
        client_flag=CLIENT.FOUND_ROWS,  # a cas matching its row counts 1 even if unchanged
        charset="utf8mb4",
    )


def _code(exc: BaseException) -> int | None:
    args = getattr(exc, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def _said(exc: BaseException) -> str:
    code = _code(exc)
    args = getattr(exc, "args", ())
    text = str(args[1]) if len(args) > 1 else str(exc)
    return f"{code} {text}" if code is not None else text or type(exc).__name__


class _Attempt:
    """One attempt's state, shared by its thread and the waiting coroutine."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.cancelled = False
        self.committing = False
        self.conn: pymysql.Connection | None = None

    def cancel(self) -> bool:
        """Mark it cancelled and cut its connection; whether COMMIT had been sent."""
        with self.lock:
            self.cancelled = True
            committing, conn = self.committing, self.conn
        sock = getattr(conn, "_sock", None) if conn is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        return committing


class MysqlClient(SqlClient):
    dialect = MYSQL

    def __init__(self, nodes, timeout: float = 2.0, **options: Any):
        super().__init__(nodes, timeout, **options)
        # One idle connection per node, taken by an attempt and given back when it ends
        # well: a connection is only ever used by one thread.
        self._idle: dict[str, pymysql.Connection] = {}

    async def close(self) -> None:
        conns = list(self._idle.values())
        self._idle.clear()
        for conn in conns:
            with contextlib.suppress(Exception):
                conn.close()

    async def _attempt(self, node: str, body: Callable[[], Body], deadline: float) -> Any:
        loop = asyncio.get_running_loop()
        left = deadline - loop.time()
        if left <= 0:
            raise Failure("timeout", definite=True)
        attempt = _Attempt()
        conn = self._idle.pop(node, None)
        done: asyncio.Future = loop.create_future()

        def settle(outcome: tuple[bool, Any]) -> None:
            if not done.done():
                done.set_result(outcome)

        def work() -> None:
            try:
                outcome: tuple[bool, Any] = (True, self._work(attempt, node, conn, body, left))
            except BaseException as exc:  # handed to the coroutine, which decides
                outcome = (False, exc)
            with contextlib.suppress(RuntimeError):  # the loop may be gone (run over)
                loop.call_soon_threadsafe(settle, outcome)

        threading.Thread(target=work, name=f"sql-{self.client_id}", daemon=True).start()
        try:
            ok, payload = await asyncio.wait_for(asyncio.shield(done), max(0.0, left))
        except TimeoutError:
            committing = attempt.cancel()
            raise Failure("timeout", definite=not committing) from None
        except asyncio.CancelledError:
            attempt.cancel()
            raise
        if not ok:
            raise payload
        value, conn = payload
        self._idle[node] = conn
        return value

    def _work(
        self,
        attempt: _Attempt,
        node: str,
        conn: pymysql.Connection | None,
        body: Callable[[], Body],
        left: float,
    ) -> tuple[Any, pymysql.Connection]:
        """On the attempt's thread: connect if need be, the transaction, COMMIT."""
        if conn is None:
            try:
                conn = connect(
                    self.by_id[node], min(self.attempt_timeout, left), self.timeout + IO_MARGIN
                )
            except pymysql.MySQLError as exc:
                raise Failure(f"connect: {_said(exc)}", definite=True, retry=True) from None
        with attempt.lock:
            if attempt.cancelled:
                conn.close()
                raise Failure("timeout", definite=True)
            attempt.conn = conn

        def execute(stmt: Stmt) -> Answer:
            with conn.cursor() as cur:
                cur.execute(stmt.sql, stmt.params)
                return Answer(list(cur.fetchall()), cur.rowcount)

        try:
            with conn.cursor() as cur:
                for sql in self.dialect.begin(self.level):
                    cur.execute(sql)
            value = drive(body(), execute)
        except Refused:
            _rollback(conn)
            raise
        except (pymysql.MySQLError, OSError) as exc:
            code = _code(exc)
            _rollback(conn)
            _close(conn)
            raise Failure(_said(exc), definite=True, retry=code in NOT_READY) from None
        with attempt.lock:
            if attempt.cancelled:  # timed out: COMMIT is never sent
                _close(conn)
                raise Failure("timeout", definite=True)
            attempt.committing = True
        try:
            conn.commit()
        except (pymysql.MySQLError, OSError) as exc:
            _close(conn)
            raise Failure(_said(exc), definite=_code(exc) in COMMIT_REFUSED) from None
        return value, conn


def _rollback(conn: pymysql.Connection) -> None:
    with contextlib.suppress(Exception):
        if conn.open:
            conn.rollback()


def _close(conn: pymysql.Connection) -> None:
    with contextlib.suppress(Exception):
        conn.close()


# ---- status ------------------------------------------------------------------------------


def query_status(
    addrs: dict[str, str], timeout: float, sql: str
) -> dict[str, list[tuple[Any, ...]] | None]:
    """Each node's answer to `sql` (its rows), all asked at once; None for a node that does
    not answer within `timeout` (a paused one costs one timeout, not one each)."""

    def ask(addr: str) -> list[tuple[Any, ...]] | None:
        try:
            conn = connect(addr, timeout, timeout)
        except (pymysql.MySQLError, OSError):
            return None
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                return list(cur.fetchall())
        except (pymysql.MySQLError, OSError):
            return None
        finally:
            _close(conn)

    nodes = list(addrs)
    with ThreadPoolExecutor(max_workers=max(1, len(nodes))) as pool:
        answers = list(pool.map(ask, [addrs[n] for n in nodes]))
    return dict(zip(nodes, answers, strict=True))


__all__ = ["PORT", "MysqlClient", "query_status"]
