"""MariaDB 10.11 (Debian 12's mariadb-server, InnoDB) as a system under test: one server.

- Image: docker/mariadb.Dockerfile installs mariadb-server on the shared base when a
  schedule first uses it, and makes the template data directory (database `raftquake`,
  user `raftquake`, the `kv` table) a member copies on its first start
  (docker/mariadb-member.sh; settings in docker/mariadb.cnf). Its steps are galera's
  image's up to the label (galera-4 and rsync included, unused here), so Docker builds
  them once for both.
- One server: `nodes:` is 1 (left out, it is 1). It leads itself; partitions are refused
  with the reason; kill (SIGKILL; the restart runs InnoDB's crash recovery), pause, packet
  and clock faults apply. Clock: libfaketime reaches mariadbd (`SELECT now()` moves with a
  bump, tests/chaos/test_sql.py).
- Option `isolation: serializable | repeatable-read | read-committed` (default
  repeatable-read, as MariaDB ships), set on every transaction (`SET TRANSACTION
  ISOLATION LEVEL ...` before `START TRANSACTION`). InnoDB's repeatable read does not
  detect write conflicts in 10.11 (`innodb_snapshot_isolation` came in 11.6), so lost
  updates and G-single are MariaDB's documented behaviour there, as Jepsen's MySQL 8.0.34
  analysis found for MySQL.
- Client: mysql_client.py (PyMySQL). Logs: the server's error log (mariadb.err) beside
  console.log in nodes/<id>/.
"""

from __future__ import annotations

from typing import Any, ClassVar

from harness.systems.base import ImageSpec
from harness.systems.sql import SingleServerSql
from harness.systems.sql_client import SqlClient

PORT = 3306
MARIADB_FILES = ("docker/mariadb-member.sh", "docker/mariadb.cnf")
IMAGE = ImageSpec(
    "raftquake-mariadb", "docker/mariadb.Dockerfile", ("docker/mariadb.Dockerfile", *MARIADB_FILES)
)


class MariadbSystem(SingleServerSql):
    name = "mariadb"
    DEFAULTS: ClassVar[dict[str, Any]] = {"isolation": "repeatable-read"}
    client_port = PORT
    kept_files: ClassVar[tuple[str, ...]] = ("/data/node/mariadb.err",)

    def image(self) -> ImageSpec:
        return IMAGE

    def command(self, node: str, ips: dict[str, str]) -> list[str]:
        return ["mariadb-member", "run"]

    def client_class(self) -> type[SqlClient]:
        from harness.systems.mysql_client import MysqlClient

        return MysqlClient

    def statuses(self, addrs: dict[str, str], timeout: float) -> dict[str, dict[str, Any] | None]:
        from harness.systems.mysql_client import query_status

        answers = query_status(addrs, timeout, "SELECT @@server_id")
        return {
            n: None if rows is None else {"id": n, "role": "leader", "term": 1, "leader": n}
            for n, rows in answers.items()
        }
