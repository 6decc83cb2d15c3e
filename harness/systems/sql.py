"""What the SQL systems (postgres.py, mariadb.py, galera.py) share as Systems.

- SqlSystem: the `isolation` option (every transaction at that level), the workloads
  sql_client.py carries out, and open_client building the system's client class
  (`client_class`: PostgresClient, MysqlClient; imported when first used, so that naming
  a system loads no database driver).
- SingleServerSql: one server (postgres, mariadb): `nodes:` 1, partitions and membership
  refused with the reason, no elections or replicas to check, and below serializable the
  anomalies the weaker levels document.
"""

from __future__ import annotations

from typing import Any, ClassVar

from harness.systems.base import Client, ClientOptions, Option, System
from harness.systems.sql_client import ISOLATIONS, WORKLOADS, SqlClient

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


class SqlSystem(System):
    OPTIONS: ClassVar[dict[str, Option | tuple[Any, ...] | type]] = {"isolation": ISOLATIONS}
    workloads: ClassVar[tuple[str, ...]] = WORKLOADS

    def client_class(self) -> type[SqlClient]:
        """The client this system's servers speak to (sql_client.py's SqlClient)."""
        raise NotImplementedError

    def open_client(
        self, addrs: dict[str, str], timeout: float, options: ClientOptions = ClientOptions()
    ) -> Client:
        client = self.client_class()
        return client(addrs, timeout, isolation=self.options["isolation"], **options.kwargs())


class SingleServerSql(SqlSystem):
    default_nodes: ClassVar[int] = 1
    unchecked: ClassVar[dict[str, str]] = SINGLE_SERVER_CHECKERS

    @classmethod
    def check_nodes(cls, nodes: int) -> str | None:
        return one_server(cls.name, nodes)

    def expected_findings(self, workload: str | None = None) -> tuple[str, ...]:
        # Below serializable, each server documents the anomalies its levels allow
        # (PostgreSQL's read committed: lost update, its repeatable read, snapshot
        # isolation: write skew; MariaDB's repeatable read detects no write conflicts: lost
        # update, G-single); only transaction histories can show them.
        if self.options["isolation"] == "serializable":
            return ()
        return weak_isolation_findings(workload)

    def refuses(self, family: str) -> str | None:
        if family == "partition":
            return refuses_partition(self.name)
        if family == "membership":
            return f"{self.name} is one server: there is no membership to change"
        return None
