"""The SQL systems as plug-ins (harness/systems/postgres.py, mariadb.py, galera.py): what a
schedule may say about them, what they refuse, how Galera's members start and what its
status means, and the statements their clients send. No Docker here; the real servers
are tests/chaos/test_sql.py's."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.pytest_plugin import schedule_catchers
from harness.schedule import ScheduleError, load_schedule, parse_schedule
from harness.systems import make_system
from harness.systems.galera import GaleraSystem, _status
from harness.systems.sql_client import (
    MYSQL,
    POSTGRES,
    Answer,
    Refused,
    Stmt,
    cas_body,
    decode_row,
    drive,
    transfer_body,
    txn_body,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "system, nodes, defaults",
    [
        ("postgres", 1, {"isolation": "serializable"}),
        ("mariadb", 1, {"isolation": "repeatable-read"}),
        ("galera", 3, {"isolation": "repeatable-read", "flush-log-at-commit": 0, "sync-wait": 0}),
    ],
)
def test_each_system_has_its_own_size_and_defaults(system, nodes, defaults):
    s = parse_schedule(f"name: x\nsystem: {system}\nworkload: {{name: list-append}}\n")
    assert s.nodes == nodes  # `nodes:` left out: the system's own
    assert make_system(s).options == defaults
    # No elections, no committed log: those checkers are left out, the history's kept.
    assert "election-safety" not in s.checkers and "log-agreement" not in s.checkers
    assert "elle" in s.checkers


@pytest.mark.parametrize(
    "text, line, words",
    [
        ("name: x\nsystem: postgres\nnodes: 3\n", 3, "postgres is one server: nodes must be 1"),
        ("name: x\nsystem: mariadb\nnodes: 2\n", 3, "mariadb is one server"),
        ("name: x\nsystem: galera\nnodes: 4\n", 3, "odd number of members"),
        ("name: x\nsystem:\n  name: postgres\n  isolation: snapshot\n", 4, "expected one of"),
        ("name: x\nsystem:\n  name: galera\n  sync-wait: 16\n", 4, "sync-wait is 16"),
        ("name: x\nsystem:\n  name: galera\n  flush-log-at-commit: 3\n", 4, "0, 1, 2"),
    ],
)
def test_bad_sql_system_entries_name_the_line(text, line, words):
    with pytest.raises(ScheduleError) as err:
        parse_schedule(text, "s.yaml")
    assert err.value.line == line and words in str(err.value)


def test_single_servers_refuse_partitions_and_galera_takes_them():
    for name in ("postgres", "mariadb"):
        system = make_system(parse_schedule(f"name: x\nsystem: {name}\n"))
        assert "one server" in system.refuses("partition")
        assert system.refuses("kill") is None and system.refuses("clock") is None
    galera = GaleraSystem()
    assert galera.refuses("partition") is None and galera.refuses("clock") is None
    assert galera.refuses("membership")


def test_the_shipped_schedules_parse_and_say_what_they_should_find():
    expected = {"postgres": (), "mariadb": ("elle",), "galera": ("elle",)}
    for name, findings in expected.items():
        s = load_schedule(ROOT / "schedules" / f"{name}.yaml")
        assert s.system.name == name
        assert make_system(s).expected_findings(s.workload.name) == findings
        # Without the workload (the pytest plugin's call), any checker that could catch it.
        assert set(findings) <= set(schedule_catchers(s))
    galera = GaleraSystem()
    assert galera.expected_findings("register") == ("linearizable",)  # stale reads
    assert GaleraSystem(isolation="serializable", **{"sync-wait": 1}).expected_findings() == ()
    postgres = make_system(
        parse_schedule("name: x\nsystem: {name: postgres, isolation: read-committed}\n")
    )
    assert postgres.expected_findings("bank") == ("bank",)
    assert postgres.expected_findings("register") == ()


def test_galera_founds_the_cluster_on_n1_only_with_the_options_on_its_command_line():
    g = GaleraSystem(**{"flush-log-at-commit": 2, "sync-wait": 3})
    ips = {"n1": "10.0.0.11", "n2": "10.0.0.12", "n3": "10.0.0.13"}
    n1, n2 = g.command("n1", ips), g.command("n2", ips)
    assert "--found-cluster" in n1 and "--found-cluster" not in n2
    assert "--wsrep-cluster-address=gcomm://10.0.0.11,10.0.0.12,10.0.0.13" in n2
    assert "--innodb-flush-log-at-trx-commit=2" in n2 and "--wsrep-sync-wait=3" in n2
    assert "--wsrep-provider-options=pc.recovery=TRUE" in n2


def _wsrep(status: str, index: int, conf: int = 7, state: str = "Synced") -> dict[str, str]:
    return {
        "wsrep_cluster_status": status,
        "wsrep_local_state_comment": state,
        "wsrep_local_index": str(index),
        "wsrep_cluster_conf_id": str(conf),
        "wsrep_cluster_state_uuid": "u",
        "wsrep_ready": "ON" if status == "Primary" else "OFF",
        "wsrep_cluster_size": "2",
    }


def test_galeras_leader_is_the_primary_components_first_member():
    every = {
        "n1": _wsrep("non-Primary", 0, conf=-1),
        "n2": _wsrep("Primary", 1),
        "n3": _wsrep("Primary", 0),
    }
    st = {n: _status(n, s, every) for n, s in every.items()}
    assert [n for n, s in st.items() if s["role"] == "leader"] == ["n3"]
    assert st["n2"]["leader"] == "n3" and st["n2"]["term"] == 7
    assert st["n1"]["role"] == "non-primary" and not st["n1"]["ready"]
    joining = _status("n2", _wsrep("Primary", 1, state="Joiner"), every)
    assert not joining["ready"]  # answers, but the run waits for it


def _run(body, answers):
    """Drive a body with canned answers; the statements it sent and its value."""
    sent: list[Stmt] = []
    replies = iter(answers)

    def execute(stmt: Stmt) -> Answer:
        sent.append(stmt)
        return next(replies)

    return sent, drive(body, execute)


def test_an_append_is_one_concatenating_upsert_and_reads_decode_the_row():
    sent, value = _run(
        txn_body(POSTGRES, [["append", 3, 7], ["r", 3, None], ["r", "x", None]]),
        [Answer([], 1), Answer([("l", "5\n7")], 1), Answer([], 0)],
    )
    assert [s.sql for s in sent] == [POSTGRES.append, POSTGRES.read, POSTGRES.read]
    assert sent[0].params == ("3", "7")  # keys and elements as JSON: 3 and "3" differ
    assert "ON CONFLICT" in POSTGRES.append and "||" in POSTGRES.append
    assert "ON DUPLICATE KEY UPDATE" in MYSQL.append and "CONCAT" in MYSQL.append
    assert value == [["append", 3, 7], ["r", 3, [5, 7]], ["r", "x", None]]
    assert decode_row([(b"r", b'"s"')]) == "s"


def test_a_cas_that_matches_nothing_and_a_short_transfer_are_refused():
    with pytest.raises(Refused) as err:
        _run(cas_body(MYSQL, "k", 1, 2), [Answer([], 0), Answer([("r", "4")], 1)])
    assert (err.value.error, err.value.value) == ("precondition", 4)
    with pytest.raises(Refused, match="insufficient"):
        _run(transfer_body(MYSQL, 1, 2, 5), [Answer([("r", "3")], 1), Answer([("r", "0")], 1)])
    sent, _ = _run(
        transfer_body(MYSQL, 1, 2, 2),
        [Answer([("r", "3")], 1), Answer([], 0), Answer([], 1), Answer([], 1)],
    )
    assert [s.params for s in sent[2:]] == [("1", "1"), ("2", "2")]  # both written
