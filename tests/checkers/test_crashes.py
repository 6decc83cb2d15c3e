"""The crashes checker: a node that died of its own error is named, with its log line."""

from __future__ import annotations

from pathlib import Path

from checkers.protocol import RunFiles
from checkers.registry import CHECKERS

NODE_LOG = """\
2026-11-29T01:00:00.001 n2 INFO raftnode: node n2 is leader in term 3
Traceback (most recent call last):
  File "/opt/raftquake/raftnode/core.py", line 755, in _send_append
    entries = tuple(self._log[pr.next : pr.next + MAX_ENTRIES_PER_APPEND])
IndexError: list index out of range
2026-11-29T01:00:02.500 n2 CRITICAL raftnode: WAL write failed, exiting: OSError(28)
"""


def _run(tmp_path: Path, logs: dict[str, str]) -> RunFiles:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "history.jsonl").write_text("")
    for node, text in logs.items():
        (tmp_path / "nodes" / node).mkdir(parents=True)
        (tmp_path / "nodes" / node / "node.log").write_text(text)
    return RunFiles.in_folder(tmp_path)


def test_a_traceback_and_a_critical_line_are_each_named(tmp_path: Path):
    quiet = "2026-11-29T01:00:00.001 n1 INFO raftnode: node n1 is follower in term 3\n"
    v = CHECKERS["crashes"].check(_run(tmp_path, {"n1": quiet, "n2": NODE_LOG}))
    assert v.valid is False
    assert [(c["node"], c["line"]) for c in v.details["crashes"]] == [("n2", 2), ("n2", 6)]
    assert "IndexError: list index out of range" in v.explanation
    assert "nodes/n2/node.log:6" in v.explanation and "WAL write failed" in v.explanation
    assert v.to_dict()["valid"] is False and v.to_dict()["total"] == 2


def test_quiet_logs_are_valid_and_no_logs_is_unknown(tmp_path: Path):
    quiet = "2026-11-29T01:00:00.001 n1 INFO raftnode: started\n"
    assert CHECKERS["crashes"].check(_run(tmp_path / "a", {"n1": quiet})).valid is True
    assert CHECKERS["crashes"].check(_run(tmp_path / "b", {})).valid == "unknown"


def test_a_simulated_node_that_raises_is_caught(tmp_path: Path, monkeypatch):
    from harness.runner import run_schedule
    from harness.schedule import parse_schedule
    from raftnode.core import RaftCore

    real_step = RaftCore.step

    def step(self, msg):  # n3 raises on the first vote request it sees
        if self.id == "n3" and msg.type == "vote":
            raise RuntimeError("planted for the test")
        return real_step(self, msg)

    monkeypatch.setattr(RaftCore, "step", step)
    s = parse_schedule(
        "name: c\nnodes: 3\ntime-limit: 4\nworkload: {keys: 1, concurrency: 2}\n"
        "nemesis:\n  - {at: 1, fault: kill, target: leader, for: 1}\n"
        "checkers: [crashes, stats]\n"
    )
    r = run_schedule(s, "sim", tmp_path, seed=1, say=lambda _m: None).results
    assert r["checkers"]["crashes"]["valid"] is False
    assert "RuntimeError: planted for the test" in r["checkers"]["crashes"]["explanation"]


def test_a_go_member_that_died_is_named_from_its_console_log(tmp_path: Path):
    # etcd keeps no node.log: its console output is what there is. A zap fatal line and the
    # Go runtime's panic are each a death of its own; info lines and a SIGKILL are not.
    console = (
        '{"level":"info","ts":"2026-11-29T06:29:08.512Z","msg":"a became leader at term 2"}\n'
        "=== node-ctl SIGKILL 2026-11-29T06:30:00Z\n"
        '{"level":"fatal","ts":"2026-11-29T06:31:00.000Z","msg":"failed to open WAL"}\n'
        "panic: runtime error: index out of range [3] with length 3\n"
        "goroutine 1 [running]:\n"
    )
    for node, text in (("n1", console), ("n2", console.splitlines(True)[0])):
        (tmp_path / "nodes" / node).mkdir(parents=True)
        (tmp_path / "nodes" / node / "console.log").write_text(text)
    (tmp_path / "history.jsonl").write_text("")
    v = CHECKERS["crashes"].check(RunFiles.in_folder(tmp_path))
    assert v.valid is False and v.details["nodes"] == 2
    assert [(c["node"], c["line"]) for c in v.details["crashes"]] == [("n1", 3), ("n1", 4)]
    assert "nodes/n1/console.log:4" in v.explanation and "index out of range" in v.explanation


def test_redis_and_zookeeper_deaths_are_named_and_their_warnings_are_not(tmp_path: Path):
    # redis-server's bug report, a JVM's fatal-error banner and ZooKeeper's main giving up
    # each end a member; a Java stack trace under a WARN line (a dropped peer) does not.
    redis = (
        "17:M 07 Dec 2026 00:43:29.959 # WARNING Memory overcommit must be enabled!\n"
        "17:M 07 Dec 2026 00:50:00.000 # === REDIS BUG REPORT START: Cut & paste ===\n"
    )
    zk = (
        "2026-12-07 00:57:56,472 - WARN  [RecvWorker:3:QuorumCnxManager$RecvWorker@1402] - "
        "Connection broken for id 3, my id = 1\n"
        "java.io.EOFException\n"
        "\tat java.base/java.io.DataInputStream.readInt(DataInputStream.java:386)\n"
        "# A fatal error has been detected by the Java Runtime Environment:\n"
        "2026-12-07 00:59:00,000 - ERROR [main:QuorumPeerMain@114] - Unexpected exception, "
        "exiting abnormally\n"
    )
    for node, text in (("n1", redis), ("n2", zk)):
        (tmp_path / "nodes" / node).mkdir(parents=True)
        (tmp_path / "nodes" / node / "console.log").write_text(text)
    (tmp_path / "history.jsonl").write_text("")
    v = CHECKERS["crashes"].check(RunFiles.in_folder(tmp_path))
    assert [(c["node"], c["line"]) for c in v.details["crashes"]] == [
        ("n1", 2),
        ("n2", 4),
        ("n2", 5),
    ]


def test_an_sql_servers_own_log_is_read_for_its_crashes(tmp_path: Path):
    _run(tmp_path, {})  # the history file
    for node, name, text in [
        (
            "n1",
            "postgresql.log",
            "2026-12-07 01:00:00 UTC [18] LOG:  server process (PID 42) "
            "was terminated by signal 11: Segmentation fault\n",
        ),
        (
            "n2",
            "mariadb.err",
            "2026-12-07  1:00:00 0 [Note] InnoDB: Starting crash recovery\n"
            "261207  1:00:01 [ERROR] mariadbd got signal 6 ;\n",
        ),
        (
            "n3",
            "postgresql.log",
            "2026-12-07 01:00:00 UTC [9] LOG:  database system was "
            "interrupted; last known up at 2026-12-07 00:59:58 UTC\n",
        ),  # our kill: no crash
    ]:
        (tmp_path / "nodes" / node).mkdir(parents=True)
        (tmp_path / "nodes" / node / "console.log").write_text("=== node-ctl start\n")
        (tmp_path / "nodes" / node / name).write_text(text)
    v = CHECKERS["crashes"].check(RunFiles.in_folder(tmp_path))
    assert v.valid is False
    assert [(c["node"], c["file"]) for c in v.details["crashes"]] == [
        ("n1", "nodes/n1/postgresql.log"),
        ("n2", "nodes/n2/mariadb.err"),
    ]
