"""PostgreSQL 15 (Debian 12's postgresql-15) as a system under test: one server.

- Image: docker/postgres.Dockerfile installs postgresql-15 on the shared base when a
  schedule first uses it, and makes the template cluster (with the `kv` table every client
  uses) that a member copies on its first start (docker/postgres-member.sh).
- One server: `nodes:` is 1 (left out, it is 1; anything else is an error naming the
  line). It leads itself, so `target: leader` works; partitions have nothing to cut and
  are refused with the reason; kill (SIGKILL of the postmaster and every backend; the
  restart replays the WAL), pause (SIGSTOP of them all), packet and clock faults apply.
  Clock: libfaketime reaches the server (it reads time through libc): `SELECT now()`
  moves with a bump (tests/chaos/test_sql.py).
- Option `isolation: serializable | repeatable-read | read-committed` (default
  serializable), set on every transaction (`BEGIN ISOLATION LEVEL ...`).
- Client: postgres_client.py (psycopg 3, asyncio). Logs: the server's own log
  (postgresql.log) beside console.log in nodes/<id>/.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from harness.systems.base import ImageSpec
from harness.systems.sql import SingleServerSql
from harness.systems.sql_client import SqlClient

PORT = 5432
IMAGE = ImageSpec(
    "raftquake-postgres",
    "docker/postgres.Dockerfile",
    ("docker/postgres.Dockerfile", "docker/postgres-member.sh"),
)


class PostgresSystem(SingleServerSql):
    name = "postgres"
    DEFAULTS: ClassVar[dict[str, Any]] = {"isolation": "serializable"}
    client_port = PORT
    kept_files: ClassVar[tuple[str, ...]] = (
        "/data/node/log/postgresql.log",
        "/data/node/pgdata/postgresql.conf",
    )

    def image(self) -> ImageSpec:
        return IMAGE

    def command(self, node: str, ips: dict[str, str]) -> list[str]:
        return ["postgres-member", "run"]

    def client_class(self) -> type[SqlClient]:
        from harness.systems.postgres_client import PostgresClient

        return PostgresClient

    def statuses(self, addrs: dict[str, str], timeout: float) -> dict[str, dict[str, Any] | None]:
        from harness.systems.postgres_client import status

        async def every() -> list[dict[str, Any] | None]:
            return await asyncio.gather(*(status(n, a, timeout) for n, a in addrs.items()))

        return dict(zip(addrs, asyncio.run(every()), strict=True))
