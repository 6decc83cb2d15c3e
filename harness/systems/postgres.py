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

from harness.systems.base import Client, ClientOptions, ImageSpec, System
from harness.systems.sql_client import ISOLATIONS, WORKLOADS

PORT = 5432
IMAGE = ImageSpec(
    "raftquake-postgres",
    "docker/postgres.Dockerfile",
    ("docker/postgres.Dockerfile", "docker/postgres-member.sh"),
)
SINGLE_SERVER_CHECKERS = {
    "election-safety": "one server: there are no elections to check",
    "log-agreement": "one server: there are no replicas whose logs could disagree",
}


def weak_isolation_findings(workload: str | None) -> tuple[str, ...]:
    """What a run below serializable shows, by workload (None: any): transactions' anomalies
    (elle), a bank's wrong totals; single registers and appends on one server stay
    linearizable and lose nothing."""
    if workload == "bank":
        return ("bank",)
    if workload in ("register", "set"):
        return ()
    return ("elle",) if workload else ("elle", "bank")


def one_server(name: str, nodes: int) -> str | None:
    if nodes != 1:
        return f"{name} is one server: nodes must be 1 (or left out), got {nodes}"
    return None


def refuses_partition(name: str) -> str:
    return (
        f"{name} is one server: a partition cuts members off from each other, and there is "
        "only one (the harness's clients are never cut off)"
    )


class PostgresSystem(System):
    name = "postgres"
    OPTIONS: ClassVar[dict[str, tuple | type]] = {"isolation": ISOLATIONS}
    DEFAULTS: ClassVar[dict[str, Any]] = {"isolation": "serializable"}
    client_port = PORT
    default_nodes: ClassVar[int] = 1
    workloads: ClassVar[tuple[str, ...]] = WORKLOADS
    unchecked: ClassVar[dict[str, str]] = SINGLE_SERVER_CHECKERS
    kept_files: ClassVar[tuple[str, ...]] = (
        "/data/node/log/postgresql.log",
        "/data/node/pgdata/postgresql.conf",
    )

    @classmethod
    def check_nodes(cls, nodes: int) -> str | None:
        return one_server(cls.name, nodes)

    def expected_findings(self, workload: str | None = None) -> tuple[str, ...]:
        # Below serializable, PostgreSQL documents the anomalies it allows (read committed:
        # lost update; repeatable read, snapshot isolation: write skew); only transaction
        # histories can show them.
        if self.options["isolation"] == "serializable":
            return ()
        return weak_isolation_findings(workload)

    def image(self) -> ImageSpec:
        return IMAGE

    def command(self, node: str, ips: dict[str, str]) -> list[str]:
        return ["postgres-member", "run"]

    def refuses(self, family: str) -> str | None:
        if family == "partition":
            return refuses_partition(self.name)
        if family == "membership":
            return f"{self.name} is one server: there is no membership to change"
        return None

    def open_client(
        self, addrs: dict[str, str], timeout: float, options: ClientOptions = ClientOptions()
    ) -> Client:
        from harness.systems.postgres_client import PostgresClient

        return PostgresClient(
            addrs, timeout, isolation=self.options["isolation"], **options.kwargs()
        )

    def statuses(self, addrs: dict[str, str], timeout: float) -> dict[str, dict[str, Any] | None]:
        from harness.systems.postgres_client import status

        async def every() -> list[dict[str, Any] | None]:
            return await asyncio.gather(*(status(n, a, timeout) for n, a in addrs.items()))

        return dict(zip(addrs, asyncio.run(every()), strict=True))
