"""MariaDB Galera Cluster (Debian 12's mariadb-server 10.11 with galera-4 26.4) as a
system under test: every member a MariaDB server with the Galera provider.

- Image: docker/galera.Dockerfile (mariadb-server, galera-4, rsync for state transfers) on
  the shared base, built when a schedule first uses it; the same member script and
  template as the mariadb image (docker/mariadb-member.sh).
- Members: 3 by default (`nodes:` left out), any odd number (a primary component needs a
  majority, and an even split would leave none). n1 founds the cluster on its first start
  (`--wsrep-new-cluster`); the others join it and receive its state by rsync (SST). Every
  later start first recovers the member's position from InnoDB (`--wsrep-recover`) and
  starts from it: a member killed alone rejoins (IST or SST from the others); a cluster
  killed whole comes back by Galera's own recovery, pc.recovery (on by default, set here
  explicitly): each member saved the last primary component in gvwstate.dat, and once all
  of its members are back they restore it, the most advanced one's state winning. When
  pc.recovery cannot (a member saved none, or the saved ones disagree), the harness does
  what Galera's documentation tells an operator to do (galera_recovery.py): bootstrap the
  most advanced member (--wsrep-recover's seqno; safe_to_bootstrap: 1,
  --wsrep-new-cluster), then start the others. Data is never wiped.
- Options: `isolation` (default repeatable-read, as MariaDB ships), `flush-log-at-commit:
  0 | 1 | 2` (InnoDB's innodb_flush_log_at_trx_commit; default 0, the value MariaDB's
  "Configuring MariaDB Galera Cluster" page recommends for Galera ("a safer, recommended
  option with Galera Cluster, since inconsistencies can always be fixed by recovering from
  another node", https://mariadb.com/kb/en/configuring-mariadb-galera-cluster/), and
  Galera's own example configuration uses; InnoDB then writes and flushes its log about
  once a second), `sync-wait: 0..15` (wsrep_sync_wait, default 0 as shipped: reads do not
  wait for the member to apply what the cluster has committed).
- Status: Galera has no leader; a member reports `leader` when it is in the primary
  component and its index there (wsrep_local_index) is 0, so exactly one member of the
  primary component leads, and `target: leader` or a `mode: leader` partition picks a
  member the cluster is working through and cuts it off (it drops out of the primary
  component; the others carry on). `term` is the configuration's id
  (wsrep_cluster_conf_id), which every membership change moves. A member is ready when it
  is Synced in the primary component.
- Faults: partition, kill, pause, packet; clock through libfaketime (mariadbd and Galera's
  timers read time through libc: `SELECT now()` moves with a bump). Membership changes are
  raftnode's and refused.
- Client: mysql_client.py (PyMySQL), clients spread over the members as the workload's
  `binding` says. Logs: each member's error log (mariadb.err) and Galera's state files.
"""

from __future__ import annotations

from typing import Any, ClassVar

from harness.systems.base import ImageSpec, Members
from harness.systems.galera_recovery import WholeClusterRecovery
from harness.systems.mariadb import MARIADB_FILES
from harness.systems.sql import SqlSystem
from harness.systems.sql_client import ISOLATIONS, SqlClient

PORT = 3306
IMAGE = ImageSpec(
    "raftquake-galera", "docker/galera.Dockerfile", ("docker/galera.Dockerfile", *MARIADB_FILES)
)
PROVIDER = "/usr/lib/galera/libgalera_smm.so"
STATUS_SQL = (
    "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_cluster_status', "
    "'wsrep_local_state_comment', 'wsrep_local_index', 'wsrep_cluster_conf_id', "
    "'wsrep_cluster_size', 'wsrep_ready', 'wsrep_cluster_state_uuid', 'wsrep_last_committed')"
)


class GaleraSystem(SqlSystem):
    name = "galera"
    OPTIONS: ClassVar[dict[str, tuple | type]] = {
        "isolation": ISOLATIONS,
        "flush-log-at-commit": (0, 1, 2),
        "sync-wait": tuple(range(16)),
    }
    DEFAULTS: ClassVar[dict[str, Any]] = {
        "isolation": "repeatable-read",
        "flush-log-at-commit": 0,
        "sync-wait": 0,
    }
    client_port = PORT
    default_nodes: ClassVar[int] = 3
    ready_timeout: ClassVar[float] = 90.0  # joiners wait for the founder, then an SST each
    unchecked: ClassVar[dict[str, str]] = {
        "election-safety": "Galera elects no leader: its members agree on each primary "
        "component by group communication, with no terms to check",
        "log-agreement": "Galera exposes no committed log to compare",
    }
    kept_files: ClassVar[tuple[str, ...]] = (
        "/data/node/mariadb.err",
        "/data/node/mysql/grastate.dat",
        "/data/node/mysql/gvwstate.dat",
    )

    @classmethod
    def check_nodes(cls, nodes: int) -> str | None:
        if nodes % 2 == 0:
            return (
                f"galera needs an odd number of members (a primary component is a majority; "
                f"an even split leaves none), got {nodes}"
            )
        return None

    def expected_findings(self, workload: str | None = None) -> tuple[str, ...]:
        # Without sync-wait, a member answers reads before it has applied what the cluster
        # committed: stale reads (Galera's documented default). Below serializable, lost
        # updates (no first-committer-wins on a member). By workload (None: any).
        found: list[str] = []
        if self.options["isolation"] != "serializable":
            found += ["elle", "bank"]
        if self.options["sync-wait"] == 0:
            found += ["linearizable", "elle"]
        wanted = {
            "register": {"linearizable"},
            "bank": {"bank"},
            "set": set(),
            None: {"elle", "linearizable", "bank"},
        }.get(workload, {"elle"})
        return tuple(f for f in dict.fromkeys(found) if f in wanted)

    def image(self) -> ImageSpec:
        return IMAGE

    def command(self, node: str, ips: dict[str, str]) -> list[str]:
        founder = sorted(ips, key=lambda n: (len(n), n))[0]
        return [
            "mariadb-member", "run",
            *(["--found-cluster"] if node == founder else []),
            "--wsrep-on=ON",
            f"--wsrep-provider={PROVIDER}",
            "--wsrep-cluster-address=gcomm://" + ",".join(ips.values()),
            "--wsrep-cluster-name=raftquake",
            f"--wsrep-node-address={ips[node]}",
            f"--wsrep-node-name={node}",
            "--wsrep-sst-method=rsync",
            "--wsrep-provider-options=pc.recovery=TRUE",
            f"--innodb-flush-log-at-trx-commit={self.options['flush-log-at-commit']}",
            f"--wsrep-sync-wait={self.options['sync-wait']}",
        ]  # fmt: skip

    # A cluster killed whole that pc.recovery cannot restore: galera_recovery.py.
    recover_every: ClassVar[float | None] = 2.0

    def recover(self, members: Members) -> None:
        if not hasattr(self, "_whole"):
            self._whole = WholeClusterRecovery()
        self._whole.poll(members)

    def refuses(self, family: str) -> str | None:
        if family == "membership":
            return (
                "the membership fault speaks raftnode's member requests; Galera's membership "
                "follows who is connected (a partition or a kill changes it)"
            )
        return None

    def client_class(self) -> type[SqlClient]:
        from harness.systems.mysql_client import MysqlClient

        return MysqlClient

    def statuses(self, addrs: dict[str, str], timeout: float) -> dict[str, dict[str, Any] | None]:
        from harness.systems.mysql_client import query_status

        answers = query_status(addrs, timeout, STATUS_SQL)
        raw = {
            n: {str(k): _text(v) for k, v in rows} if rows is not None else None
            for n, rows in answers.items()
        }
        return {n: _status(n, s, raw) if s is not None else None for n, s in raw.items()}


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes | bytearray) else str(v)


def _status(node: str, s: dict[str, str], every: dict[str, dict[str, str] | None]) -> dict:
    primary = s.get("wsrep_cluster_status") == "Primary"
    state = s.get("wsrep_local_state_comment", "")
    index = _int(s.get("wsrep_local_index"))
    conf = _int(s.get("wsrep_cluster_conf_id"))
    view = (s.get("wsrep_cluster_state_uuid"), conf)

    def first_of_view(other: dict[str, str] | None) -> bool:
        return (
            other is not None
            and other.get("wsrep_cluster_status") == "Primary"
            and (other.get("wsrep_cluster_state_uuid"), _int(other.get("wsrep_cluster_conf_id")))
            == view
            and _int(other.get("wsrep_local_index")) == 0
        )

    leader = next((n for n, o in every.items() if first_of_view(o)), None) if primary else None
    return {
        "id": node,
        "role": ("leader" if index == 0 else "follower") if primary else "non-primary",
        "term": max(conf, 0),
        "leader": leader,
        "ready": primary and state == "Synced" and s.get("wsrep_ready") == "ON",
        "state": state,
        "cluster_status": s.get("wsrep_cluster_status"),
        "cluster_size": _int(s.get("wsrep_cluster_size")),
        "last_committed": _int(s.get("wsrep_last_committed")),
    }


def _int(v: str | None) -> int:
    try:
        return int(v or "")
    except ValueError:
        return -1
