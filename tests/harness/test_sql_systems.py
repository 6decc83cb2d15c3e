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
from harness.systems.galera_recovery import (
    WholeClusterRecovery,
    bootstrap_command,
    most_advanced,
    parse_gvwstate,
    parse_position,
    why_pc_recovery_cannot,
)
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


# ---- Galera's whole-cluster recovery (harness/systems/galera_recovery.py) ----------------

GVW = """my_uuid: {me}
#vwbeg
view_id: 3 {first} {seq}
bootstrap: 0
{members}#vwend
"""


def _gvw(me: str, members: list[str], seq: int = 5):
    text = GVW.format(
        me=me, first=members[0], seq=seq, members="".join(f"member: {m} 0\n" for m in members)
    )
    return parse_gvwstate(text)


def test_pc_recovery_is_left_to_galera_only_when_a_saved_view_has_all_its_members_back():
    abc = ["a", "b", "c"]
    agree = {"n1": _gvw("a", abc), "n2": _gvw("b", abc), "n3": _gvw("c", abc)}
    assert why_pc_recovery_cannot(agree) is None
    # n1 was out of the last primary component {b, c}: b and c restore it, n1 joins.
    moved_on = {"n1": _gvw("a", abc, 4), "n2": _gvw("b", ["b", "c"]), "n3": _gvw("c", ["b", "c"])}
    assert why_pc_recovery_cannot(moved_on) is None
    # A member killed before it wrote its gvwstate.dat: the others wait for it forever.
    lost = {"n1": _gvw("a", abc), "n2": _gvw("b", abc), "n3": None}
    assert "n3 saved no primary component" in why_pc_recovery_cannot(lost)
    assert "n1, n2, n3 saved no" in why_pc_recovery_cannot(dict.fromkeys(agree))
    # Each saved a different one, none held by all of its members (n3 alone saving {c}
    # would restore it: a component of one is whole when that one is back).
    split = {"n1": _gvw("a", abc, 4), "n2": _gvw("b", abc, 5), "n3": _gvw("c", ["b", "c"], 6)}
    assert "held by all of its members" in why_pc_recovery_cannot(split)
    assert parse_gvwstate("# nothing saved\n") is None


def test_the_most_advanced_member_is_bootstrapped_with_galeras_documented_flags():
    p = {
        "n1": parse_position("position u:7 grastate -1 safe_to_bootstrap 0"),
        "n2": parse_position("position u:9 grastate -1 safe_to_bootstrap 0"),
        "n3": parse_position("position u:9 grastate 9 safe_to_bootstrap 1"),
        "n4": parse_position("position none grastate none safe_to_bootstrap none"),
    }
    assert (p["n2"].uuid, p["n2"].seqno, p["n4"].seqno) == ("u", 9, -1)
    assert most_advanced(p) == "n3"  # of equals, the one grastate.dat says is safe
    assert most_advanced({n: p[n] for n in ("n1", "n2")}) == "n2"
    cmd = GaleraSystem().command("n1", {"n1": "10.0.0.1", "n2": "10.0.0.2", "n3": "10.0.0.3"})
    assert cmd[:3] == ["mariadb-member", "run", "--found-cluster"]
    boot = bootstrap_command(cmd)
    assert boot[:3] == ["mariadb-member", "run", "--bootstrap"]
    assert "--found-cluster" not in boot and boot[3:] == cmd[3:]


class _Members:
    """A cluster as the recovery sees it, for its decisions only (the real one is
    tests/chaos/test_sql.py's)."""

    def __init__(self, views: dict[str, str | None]):
        self.nodes = list(views)
        self.views = views
        self.fault: str | None = None
        self.started: list[tuple[str, list[str]]] = []
        self.up = set(self.nodes)
        self.said: list[str] = []

    def statuses(self, timeout: float = 1.0):
        primary = any(cmd[2] == "--bootstrap" for _, cmd in self.started)
        return {n: {"cluster_status": "Primary" if primary else "non-Primary"} for n in self.nodes}

    def faulted(self):
        return self.fault

    def running(self, node):
        return node in self.up

    def command(self, node):
        return ["mariadb-member", "run", "--wsrep-on=ON", f"--wsrep-node-name={node}"]

    def exec(self, node, cmd):
        if cmd[0] == "cat":
            text = self.views[node]
            return (0, text) if text is not None else (1, "No such file")
        seqno = {"n1": 3, "n2": 8, "n3": 8}[node]
        return 0, f"position u:{seqno} grastate -1 safe_to_bootstrap 0\n"

    def stop(self, node):
        self.up.discard(node)

    def start(self, node, command):
        self.up.add(node)
        self.started.append((node, command))

    def say(self, message, nodes=None):
        self.said.append(message)


def test_the_recovery_waits_out_faults_and_bootstraps_once_pc_recovery_cannot():
    abc = GVW.format(me="a", first="a", seq=5, members="member: a 0\nmember: b 0\nmember: c 0\n")
    m = _Members({"n1": abc, "n2": None, "n3": None})
    r = WholeClusterRecovery(grace=0.0, stall=3600.0)
    m.fault = "killed by a fault: n1"
    for _ in range(3):
        r.poll(m)
    assert m.started == [] and r.since is None  # a fault in force: the experiment's
    m.fault = None
    r.poll(m)  # the stall begins
    assert m.started == []
    r.poll(m)
    assert [n for n, _ in m.started] == ["n2", "n1", "n3"]  # the most advanced first
    assert m.started[0][1][2] == "--bootstrap"
    assert "n2, n3 saved no primary component" in m.said[0]
    assert "bootstrapping n2, the most advanced" in m.said[1]
    r.poll(m)  # primary again: nothing more
    assert len(m.started) == 3
