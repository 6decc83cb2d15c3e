"""PostgreSQL, MariaDB and Galera Cluster from Debian 12 as systems under test, on real
containers: their clients keep the history's ok / fail / unknown rules against the real
servers (a COMMIT left unanswered is unknown, and did commit; a paused server costs an
operation its timeout and fails it), kills and pauses reach every server process, a clock
bump moves the server's `now()`, Galera's leader is one member of the primary component
and a cluster killed whole comes back by its own recovery (pc.recovery, or the documented
bootstrap of the most advanced member where pc.recovery has nothing to restore), and one
short run per system under its faults. The findings table is benchmarks/bench_sql.py's."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import psycopg
import pymysql
import pytest

from harness.backends.docker.cluster import DockerCluster
from harness.pytest_plugin import assert_caught, assert_valid
from harness.runner import run_schedule
from harness.schedule import parse_schedule
from harness.systems.base import ClientOptions
from harness.systems.galera import GaleraSystem
from harness.systems.mariadb import MariadbSystem
from harness.systems.postgres import PostgresSystem
from raftnode.client import FAIL, OK, UNKNOWN
from tests.chaos.clusters import system_cluster

pytestmark = pytest.mark.chaos


@pytest.fixture(scope="module")
def postgres(docker_engine):
    with system_cluster(PostgresSystem(), nodes=1) as c:
        yield c


@pytest.fixture(scope="module")
def mariadb(docker_engine):
    with system_cluster(MariadbSystem(), nodes=1) as c:
        yield c


def _run(coro):
    return asyncio.run(coro)


async def _ops(cluster: DockerCluster, timeout: float, *calls):
    """Each call (a method name and its arguments) on one client, in order: the Results."""
    client = cluster.open_client(timeout, ClientOptions(home="n1"))
    try:
        return [await getattr(client, f)(*args) for f, *args in calls]
    finally:
        await client.close()


def _pg_sql(cluster: DockerCluster, sql: str):
    with psycopg.connect(
        host=cluster.ips["n1"], user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        cur = conn.execute(sql)
        return cur.fetchall() if cur.description else []


def _my_sql(cluster: DockerCluster, node: str, sql: str):
    conn = pymysql.connect(host=cluster.ips[node], user="raftquake", database="raftquake")
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize("system", ["postgres", "mariadb"])
def test_the_operations_keep_the_history_rules(system, request):
    c = request.getfixturevalue(system)
    got = _run(
        _ops(
            c, 3.0,
            ("put", f"{system}-r", 1), ("get", f"{system}-r"),
            ("cas", f"{system}-r", 1, 2), ("cas", f"{system}-r", 1, 3),
            ("txn", [["append", 91, 1], ["append", 91, 2], ["r", 91, None], ["r", 92, None]]),
            ("txn", [["w", "a", 10], ["w", "b", 0]]),
            ("transfer", "a", "b", 4), ("transfer", "a", "b", 40),
            ("txn", [["r", "a", None], ["r", "b", None]]),
        )
    )  # fmt: skip
    assert [r.outcome for r in got] == [OK, OK, OK, FAIL, OK, OK, OK, FAIL, OK]
    assert got[1].value == 1
    assert (got[3].error, got[3].value) == ("precondition", 2)  # it held 2: not applied
    assert got[4].value == [
        ["append", 91, 1],
        ["append", 91, 2],
        ["r", 91, [1, 2]],
        ["r", 92, None],
    ]
    assert got[7].error == "insufficient"
    assert got[8].value == [["r", "a", 6], ["r", "b", 4]]  # the refused transfer wrote nothing


def test_a_postgres_commit_left_unanswered_is_unknown_and_did_commit(postgres):
    # With a synchronous standby named that never comes, PostgreSQL commits locally and
    # then waits for it before answering COMMIT: the client's timeout ends the wait. The
    # timeout leaves the connection, BEGIN and INSERT ample time on a loaded machine: a
    # timeout that fires while COMMIT is being sent is rightly "unknown" too, but then the
    # write may not have happened, and this test is about one that did.
    _pg_sql(postgres, "ALTER SYSTEM SET synchronous_standby_names = 'nobody'")
    _pg_sql(postgres, "SELECT pg_reload_conf()")
    try:
        (res,) = _run(_ops(postgres, 5.0, ("put", "unanswered", 7)))
    finally:
        _pg_sql(postgres, "ALTER SYSTEM RESET synchronous_standby_names")
        _pg_sql(postgres, "SELECT pg_reload_conf()")
    assert (res.outcome, res.error) == (UNKNOWN, "timeout")
    (after,) = _run(_ops(postgres, 3.0, ("get", "unanswered")))
    assert after.value == 7  # "unknown" was the truth: it had committed


def test_a_mariadb_commit_left_unanswered_is_unknown(mariadb):
    # BACKUP STAGE BLOCK_COMMIT (held by a root session for 4 s) lets the transaction's
    # writes through and holds its COMMIT: the client's timeout ends the wait, and since
    # COMMIT was sent, the outcome is unknown, not fail.
    hold = "BACKUP STAGE START; BACKUP STAGE BLOCK_COMMIT; SELECT SLEEP(4); BACKUP STAGE END"
    mariadb.containers["n1"].exec_run(["mariadb", "-u", "root", "-e", hold], detach=True)
    deadline = time.monotonic() + 10
    while "SLEEP(4)" not in _processlist(mariadb):
        assert time.monotonic() < deadline, "the backup stage never took hold"
        time.sleep(0.05)
    t0 = time.monotonic()
    (res,) = _run(_ops(mariadb, 1.5, ("put", "unanswered", 7)))
    assert (res.outcome, res.error) == (UNKNOWN, "timeout")
    assert time.monotonic() - t0 < 2.0
    # (Here MariaDB rolls the waiting COMMIT back once its client has gone; PostgreSQL,
    # above, had committed: "unknown" is the only answer true of both.)


def _processlist(c: DockerCluster) -> str:
    return c.exec("n1", ["mariadb", "-u", "root", "-e", "SHOW PROCESSLIST"], check=False)[1]


@pytest.mark.parametrize("system", ["postgres", "mariadb"])
def test_a_paused_server_fails_an_operation_within_its_timeout(system, request):
    c = request.getfixturevalue(system)
    _run(_ops(c, 3.0, ("put", "paused", 1)))  # a connection is open before the pause
    c.pause("n1")
    try:
        t0 = time.monotonic()
        (res,) = _run(_ops(c, 1.0, ("put", "paused", 2)))
        took = time.monotonic() - t0
    finally:
        c.resume("n1")
    # COMMIT was never sent (the statements before it hung): certainly not applied.
    assert res.outcome == FAIL
    assert took < 1.5, f"an operation with a 1 s timeout took {took:.1f} s"
    (after,) = _run(_ops(c, 3.0, ("get", "paused")))
    assert after.value == 1


def test_a_postgres_kill_takes_every_backend_and_the_restart_recovers(postgres):
    (res,) = _run(_ops(postgres, 3.0, ("put", "durable", 5)))
    assert res.outcome == OK
    postgres.kill("n1")
    _, ps = postgres.exec("n1", ["ps", "-eo", "comm="])
    assert "postgres" not in ps.split()  # no orphaned backend holding shared memory
    postgres.restart("n1")
    postgres.wait_ready(30)
    (after,) = _run(_ops(postgres, 3.0, ("get", "durable")))
    assert after.value == 5  # acknowledged before the kill, recovered from the WAL


def test_a_clock_bump_moves_postgres_now(postgres):
    try:
        postgres.set_clock("n1", 3600)
        time.sleep(0.1)
        ((now,),) = _pg_sql(postgres, "SELECT extract(epoch FROM now())")
        assert 3590 < float(now) - time.time() < 3610
    finally:
        postgres.set_clock("n1", 0)


def test_a_clock_bump_moves_mariadb_now(mariadb):
    mariadb.set_clock("n1", 3600)
    try:
        time.sleep(0.1)
        ((now,),) = _my_sql(mariadb, "n1", "SELECT UNIX_TIMESTAMP(NOW(6))")
        assert 3590 < float(now) - time.time() < 3610
    finally:
        mariadb.set_clock("n1", 0)


# ---- Galera ------------------------------------------------------------------------------


def test_galera_leads_through_one_primary_member_and_recovers_a_cluster_killed_whole(
    docker_engine,
):
    # flush-log-at-commit 1: what was acknowledged before the crash must come back (at 0,
    # the recommended setting, the last second is lost: the findings table's row).
    with system_cluster(GaleraSystem(**{"flush-log-at-commit": 1})) as c:
        st = c.statuses()
        assert all(s["ready"] and s["cluster_size"] == 3 for s in st.values())
        lead = c.leader()
        assert [n for n, s in st.items() if s["role"] == "leader"] == [lead]
        assert {s["leader"] for s in st.values()} == {lead}

        # The leader cut off: it leaves the primary component, another member leads.
        c.cut_many([(lead, n) for n in c.nodes if n != lead])
        new = c.wait_for_leader(30, exclude={lead})
        _wait(lambda: (c.status(lead) or {}).get("role") == "non-primary", 30, c)
        (refused,) = _run(_ops_at(c, lead, ("put", "g", 0)))
        assert refused.outcome == FAIL or refused.node != c.addrs()[lead]
        c.heal_network()
        _wait(lambda: all(s and s["ready"] for s in c.statuses().values()), 60, c)
        assert new in c.nodes

        # A clock bump reaches mariadbd under Galera too.
        c.set_clock("n2", 3600)
        ((now,),) = _my_sql(c, "n2", "SELECT UNIX_TIMESTAMP(NOW(6))")
        c.set_clock("n2", 0)
        assert 3590 < float(now) - time.time() < 3610

        (written,) = _run(_ops_at(c, "n3", ("txn", [["append", "survivor", 1]])))
        assert written.outcome == OK
        c.each(c.kill, c.nodes)  # every member at once
        c.each(c.restart, c.nodes)
        _wait(lambda: all(s and s["ready"] for s in c.statuses().values()), 90, c)
        (read,) = _run(_ops_at(c, "n1", ("txn", [["r", "survivor", None]])))
        assert read.value == [["r", "survivor", [1]]]
        log = c.log_tail("n1", 400)
        assert "recovered position" in log  # mariadb-member's recovery, not a wipe
        assert "galera recovery" not in log  # pc.recovery did it

        # n1 left behind, then the cluster killed whole with no member's gvwstate.dat (as
        # when it crashes before writing it): pc.recovery has nothing to restore, and the
        # harness bootstraps the most advanced member as Galera documents. Bootstrapping
        # n1, the founder, would lose the append made without it.
        c.kill("n1")
        _wait(
            lambda: all((c.status(n) or {}).get("cluster_size") == 2 for n in ("n2", "n3")), 60, c
        )
        (ahead,) = _run(_ops_at(c, "n3", ("txn", [["append", "survivor", 2]])))
        assert ahead.outcome == OK
        c.each(c.kill, ["n2", "n3"])
        c.each(lambda n: c.exec(n, ["rm", "-f", "/data/node/mysql/gvwstate.dat"]), c.nodes)
        c.each(c.restart, c.nodes)
        _wait(lambda: all(s and s["ready"] for s in c.statuses().values()), 120, c)
        (read,) = _run(_ops_at(c, "n1", ("txn", [["r", "survivor", None]])))
        assert read.value == [["r", "survivor", [1, 2]]]
        log = c.log_tail("n1", 400)
        said = re.search(r"positions: n1 \S+:(\d+) .*bootstrapping (n\d), the most advanced", log)
        assert said and "saved no primary component" in log, log
        assert said[2] in ("n2", "n3")
        boot = re.search(rf"{said[2]} \S+:(\d+) ", log[said.start() :])
        assert int(boot[1]) > int(said[1])  # the seqnos --wsrep-recover gave
        assert "bootstrapping a new primary component" in c.log_tail(said[2], 100)


async def _ops_at(cluster: DockerCluster, node: str, *calls):
    client = cluster.open_client(3.0, ClientOptions(home=node))
    try:
        return [await getattr(client, f)(*args) for f, *args in calls]
    finally:
        await client.close()


def _wait(ready, timeout: float, c: DockerCluster) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, f"not ready after {timeout:g} s: {c.statuses()}"
        time.sleep(0.5)


# ---- one short run per system ------------------------------------------------------------

SHORT = """
name: {name}
system: {system}
time-limit: {time}
workload: {{name: {workload}, concurrency: 6, rate: 100}}
nemesis:
{nemesis}
final: {{heal: true, recover: {recover}}}
"""


def _short(name, system, workload, nemesis, time=15, recover=3):
    text = SHORT.format(
        name=name, system=system, workload=workload, nemesis=nemesis, time=time, recover=recover
    )
    return parse_schedule(text, f"{name}.yaml")


def test_a_short_postgres_run_under_its_faults_is_valid(docker_engine, tmp_path):
    nemesis = """
  - {at: 1, fault: kill, target: leader, for: 2}
  - {at: 5, fault: pause, target: all, for: 2}
  - {at: 8, fault: packet, delay-ms: 20, loss: 5, target: all, for: 2}
  - {at: 10, fault: clock, mode: bump, delta-ms: 5000, target: all, for: 3}
  - {at: 11, fault: partition, mode: halves, for: 2}
"""
    s = _short("postgres-short", "{name: postgres, isolation: serializable}", "bank", nemesis)
    outcome = run_schedule(s, "docker", tmp_path, seed=1, say=print)
    assert_valid(outcome)
    r = outcome.results
    assert {f["fault"] for f in r["faults"]} == {"kill", "pause", "packet", "clock"}
    (refused,) = r["fault-errors"]
    assert "partition" in refused and "one server" in refused
    n1 = Path(outcome.run_dir.path) / "nodes" / "n1"
    assert "database system is ready" in (n1 / "postgresql.log").read_text()


def test_a_short_mariadb_run_at_serializable_is_valid(docker_engine, tmp_path):
    nemesis = """
  - {at: 2, fault: kill, target: leader, for: 2}
  - {at: 7, fault: pause, target: leader, for: 2}
"""
    system = "{name: mariadb, isolation: serializable}"
    outcome = run_schedule(
        _short("mariadb-short", system, "list-append", nemesis), "docker", tmp_path, seed=1
    )
    assert_valid(outcome)
    n1 = Path(outcome.run_dir.path) / "nodes" / "n1"
    assert "ready for connections" in (n1 / "mariadb.err").read_text()


def test_a_short_galera_run_finds_its_documented_weak_spots(docker_engine, tmp_path):
    # Defaults (repeatable read, no sync-wait), clients bound to their members, the leader
    # cut off and then every member killed at once: the run comes through, and elle finds
    # what Galera documents (lost updates, stale reads), as expected_findings says.
    nemesis = """
  - {at: 2, fault: partition, mode: leader, for: 4}
  - {at: 9, fault: kill, target: all, for: 1}
"""
    s = _short("galera-short", "galera", "list-append", nemesis, time=20, recover=8)
    outcome = run_schedule(s, "docker", tmp_path, seed=1)
    assert_caught(outcome, "elle")
    r = outcome.results
    assert [f["fault"] for f in r["faults"]] == ["partition", "kill"]
    assert r["faults"][1]["nodes"] == ["n1", "n2", "n3"]
    assert all(v != "unavailable" for v in r["final-reads"].values())  # it came back
