"""The PostgreSQL driver of the SQL client (sql_client.py): psycopg 3's asyncio API.

Why psycopg 3: the PostgreSQL project's own recommended Python adapter, maintained, with a
native asyncio API (no thread per client), SQLSTATE-typed errors (40001 serialization
failure, 40P01 deadlock), and libpq underneath (the `binary` wheel carries it, so nothing
is installed on the host). Each client keeps one connection (autocommit: the transaction
is ours, `BEGIN ISOLATION LEVEL ...` ... `COMMIT`), dropped after any error that leaves
its state in doubt.

Timeouts: the whole attempt runs under asyncio.timeout(); when it fires the connection is
closed at once (libpq's socket: the server rolls back what was not committed), so a
paused or cut-off server costs an operation its timeout and no more.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from harness.systems.sql_client import (
    POSTGRES,
    Answer,
    Body,
    Failure,
    SqlClient,
    Stmt,
    drive_async,
)

# psycopg warns when it closes a connection whose query it could not cancel: that is our
# timeout at work (see _interrupt), not news for the run's output.
logging.getLogger("psycopg").setLevel(logging.ERROR)

PORT = 5432
USER = "postgres"
DATABASE = "postgres"
# SQLSTATEs that mean "this transaction was not committed", wherever they come: class 40
# (transaction rollback: serialization failure, deadlock, ...).
ROLLBACK_CLASS = "40"
# The server is up but takes no work yet (starting up, shutting down, recovering):
# nothing was done, another attempt may do better.
NOT_READY = {"57P03", "57P01", "57P02", "08006", "08001", "08004"}


def conninfo(addr: str, connect_timeout: float) -> dict[str, Any]:
    host, _, port = addr.rpartition(":")
    return {
        "host": host,
        "port": int(port or PORT),
        "user": USER,
        "dbname": DATABASE,
        # libpq's own connect timeout is in whole seconds (2 at least); asyncio.timeout
        # bounds it to ours.
        "connect_timeout": max(2, int(connect_timeout) + 1),
        "application_name": "raftquake",
    }


class PostgresClient(SqlClient):
    dialect = POSTGRES

    def __init__(self, nodes, timeout: float = 2.0, **options: Any):
        super().__init__(nodes, timeout, **options)
        self._conns: dict[str, psycopg.AsyncConnection] = {}

    async def close(self) -> None:
        for conn in self._conns.values():
            await conn.close()
        self._conns.clear()

    async def _connection(self, node: str, deadline: float) -> psycopg.AsyncConnection:
        conn = self._conns.get(node)
        if conn is not None and not conn.closed:
            return conn
        loop = asyncio.get_running_loop()
        left = min(self.attempt_timeout, deadline - loop.time())
        if left <= 0:
            raise Failure("timeout", definite=True)
        try:
            async with asyncio.timeout(left):
                conn = await psycopg.AsyncConnection.connect(
                    **conninfo(self.by_id[node], left), autocommit=True
                )
        except TimeoutError:
            raise Failure("connect timeout", definite=True, retry=True) from None
        except psycopg.Error as exc:
            raise Failure(f"connect: {_said(exc)}", definite=True, retry=True) from None
        self._conns[node] = conn
        return conn

    async def _drop(self, node: str) -> None:
        conn = self._conns.pop(node, None)
        if conn is not None:
            await conn.close()  # libpq's finish(): closes the socket at once

    async def _attempt(self, node: str, body: Callable[[], Body], deadline: float) -> Any:
        conn = await self._connection(node, deadline)
        loop = asyncio.get_running_loop()
        state = {"committing": False}
        task = asyncio.ensure_future(self._transaction(conn, body, state))
        try:
            return await asyncio.wait_for(asyncio.shield(task), max(0.0, deadline - loop.time()))
        except TimeoutError:
            await _interrupt(task)
            await self._drop(node)
            raise Failure("timeout", definite=not state["committing"]) from None
        except psycopg.Error as exc:
            sqlstate = exc.sqlstate or ""
            if conn.closed or conn.broken:
                await self._drop(node)
            if sqlstate.startswith(ROLLBACK_CLASS):
                raise Failure(_said(exc), definite=True) from None
            if state["committing"]:
                await self._drop(node)
                raise Failure(_said(exc), definite=False) from None
            # Before COMMIT: rolled back. A node that takes no work yet: try the next.
            await self._drop(node)
            retry = sqlstate in NOT_READY or not sqlstate
            raise Failure(_said(exc), definite=True, retry=retry) from None
        except asyncio.CancelledError:
            await _interrupt(task)
            await self._drop(node)
            raise

    async def _transaction(
        self, conn: psycopg.AsyncConnection, body: Callable[[], Body], state: dict[str, bool]
    ) -> Any:
        async def execute(stmt: Stmt) -> Answer:
            cur = await conn.execute(stmt.sql, stmt.params)
            rows = await cur.fetchall() if cur.description else []
            return Answer(rows, cur.rowcount)

        for sql in self.dialect.begin(self.level):
            await conn.execute(sql)
        try:
            value = await drive_async(body(), execute)
        except BaseException:
            await _rollback(conn)
            raise
        state["committing"] = True
        await conn.execute("COMMIT")
        return value


async def _interrupt(task: asyncio.Future) -> None:
    """Stop a transaction's task at once. psycopg answers a cancelled query by asking the
    server to cancel it and waiting for that (up to 10 s, longer than any operation's
    timeout); a second cancellation, while it waits, makes it close the connection
    instead (its documented way out), so the first only starts that."""
    for _ in range(2):
        if task.done():
            break
        task.cancel()
        await asyncio.sleep(0)
    if not task.done():
        await asyncio.wait([task], timeout=1.0)
    if task.done() and not task.cancelled():
        task.exception()  # retrieved: the outcome is decided by the caller


async def _rollback(conn: psycopg.AsyncConnection) -> None:
    if conn.closed or conn.broken:
        return
    try:
        await conn.execute("ROLLBACK")
    except psycopg.Error:
        pass


def _said(exc: psycopg.Error) -> str:
    """The error as the history's `error`: its SQLSTATE and the server's first line."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{exc.sqlstate} {text}" if exc.sqlstate else text


# ---- status ------------------------------------------------------------------------------


async def status(node: str, addr: str, timeout: float) -> dict[str, Any] | None:
    """A single server leads itself: {"id", "role": "leader", "term" (its WAL timeline,
    which a promotion would move), "leader", ...}; None when it does not answer SQL."""
    try:
        async with asyncio.timeout(timeout):
            conn = await psycopg.AsyncConnection.connect(**conninfo(addr, timeout), autocommit=True)
            try:
                cur = await conn.execute(
                    "SELECT pg_is_in_recovery(), timeline_id FROM pg_control_checkpoint()"
                )
                recovering, timeline = await cur.fetchone()
            finally:
                await conn.close()
    except (TimeoutError, psycopg.Error, OSError):
        return None
    return {
        "id": node,
        "role": "follower" if recovering else "leader",
        "term": int(timeline),
        "leader": None if recovering else node,
    }


__all__ = ["PORT", "PostgresClient", "pg_errors", "status"]
