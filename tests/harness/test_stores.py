"""Redis and ZooKeeper as systems, without containers: their schedule options, the node
events read from ZooKeeper's log, its srvr status, and the leader a Redis deployment's
Sentinels agree on. The servers themselves are tests/chaos/test_redis.py's and
test_zookeeper.py's."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.schedule import ScheduleError, parse_schedule
from harness.systems import system_class
from harness.systems.redis_client import combine_statuses
from harness.systems.zookeeper_client import parse_srvr
from harness.systems.zookeeper_log import events_from_log, wall_ns

BASE = """
name: s
system: {system}
nodes: {nodes}
workload: {{name: {workload}}}
"""


def _parse(system: str, nodes: int = 3, workload: str = "register"):
    return parse_schedule(BASE.format(system=system, nodes=nodes, workload=workload), "s.yaml")


def test_redis_options_and_their_defaults():
    s = _parse("{name: redis, wait: 1, min-replicas-to-write: 1, appendfsync: always}", 3, "set")
    system = system_class("redis")(**dict(s.system.options))
    assert system.options == {
        "wait": 1,
        "min-replicas-to-write": 1,
        "appendfsync": "always",
        "down-after-ms": 5000,
    }
    assert system.describe() == "redis (wait: 1, min-replicas-to-write: 1, appendfsync: always)"


@pytest.mark.parametrize(
    "system, message",
    [
        ("{name: redis, wait: 3}", "s.yaml:3: redis option wait is 3; expected one of: 0, 1, 2"),
        ("{name: redis, down-after-ms: 20}", "down-after-ms must be an integer >= 100, got 20"),
        ("{name: redis, down-after-ms: '5s'}", "down-after-ms must be an integer >= 100"),
        ("{name: redis, appendfsync: no}", "expected one of: everysec, always"),
        ("{name: zookeeper, reads: linearizable}", "expected one of: plain, sync"),
    ],
)
def test_bad_options_are_refused_naming_the_line(system, message):
    with pytest.raises(ScheduleError, match=message.replace("(", r"\(")):
        _parse(system)


@pytest.mark.parametrize("system", ["redis", "zookeeper"])
def test_fewer_than_three_nodes_are_refused_at_the_nodes_line(system):
    with pytest.raises(ScheduleError, match=rf"s.yaml:4: {system} needs at least 3 nodes, got 2"):
        _parse(system, nodes=2)


def test_workloads_each_client_carries_out():
    assert _parse("redis", workload="set").workload.name == "set"
    with pytest.raises(ScheduleError, match="zookeeper does not run the set workload"):
        _parse("zookeeper", workload="set")


def test_what_each_setting_is_expected_to_show():
    zk, redis = system_class("zookeeper"), system_class("redis")
    assert zk().expected_findings() == ("linearizable",)  # plain reads: stale
    assert zk(reads="sync").expected_findings() == ()
    assert set(redis().expected_findings()) == {"set", "linearizable"}
    assert redis().refuses("clock") and "jemalloc" in redis().refuses("clock")
    assert zk().refuses("clock") is None  # libfaketime reaches the JVM's clocks


# Lines as Debian's ZooKeeper 3.8 writes them (docker/zk-member.sh): one server's console,
# its start, a kill and a restart.
ZK_LOG = Path(__file__).with_name("zookeeper-console.log")


def test_zookeeper_events_leaders_at_their_quorum_with_the_epoch_of_its_zxid():
    events = events_from_log(ZK_LOG.read_text().splitlines(), "n3")
    assert [(e["role"], e["term"], e.get("start", False)) for e in events] == [
        ("candidate", 0, True),
        ("leader", 1, False),  # "Have quorum of supporters": established in epoch 1
        ("candidate", 1, True),  # after the restart, from its own last zxid
        ("follower", 1, False),
        ("candidate", 2, False),  # the epoch it saw its leader's proposals in
        # the LEADING at 00:58:20 never gathered its quorum: no leader of any epoch
    ]
    assert events[1]["time"] == wall_ns("2026-12-07 00:57:55,940")
    assert all(e["node"] == "n3" for e in events)


def test_zookeeper_log_times_are_utc_nanoseconds():
    assert wall_ns("1970-01-01 00:00:01,250") == 1_250_000_000


def test_srvr_mode_and_epoch():
    leader = (
        "Zookeeper version: 3.8.0\nLatency min/avg/max: 0/0.0/0\nZxid: 0x300000002\nMode: leader\n"
    )
    assert parse_srvr(leader) == {"mode": "leader", "zxid": 0x300000002, "epoch": 3}
    looking = "This ZooKeeper instance is not currently serving requests\n"
    assert parse_srvr(looking)["mode"] == "looking"


def _member(ip: str, primary_ip: str, epoch: int = 0, replica: bool = True):
    info = (
        {"role": "slave", "master_host": primary_ip, "master_link_status": "up"}
        if replica
        else {"role": "master"}
    )
    watched = {"ip": primary_ip, "config-epoch": epoch, "num-other-sentinels": 2, "num-slaves": 2}
    return info, watched


MEMBERS = {"n1": "10.0.0.11:6379", "n2": "10.0.0.12:6379", "n3": "10.0.0.13:6379"}


def test_redis_leader_is_what_a_majority_of_all_sentinels_name():
    # n1 cut off: its Sentinel still names itself; the other two failed over to n2.
    answers = {
        "n1": _member("10.0.0.11", "10.0.0.11", epoch=0, replica=False),
        "n2": _member("10.0.0.12", "10.0.0.12", epoch=1, replica=False),
        "n3": _member("10.0.0.13", "10.0.0.12", epoch=1),
    }
    st = combine_statuses(MEMBERS, answers)
    assert [n for n, s in st.items() if s["role"] == "leader"] == ["n2"]
    assert st["n1"]["server-role"] == "primary" and st["n1"]["role"] == "follower"
    assert st["n1"]["sentinel-primary"] == "n1" and st["n3"]["replicates"] == "n2"
    assert {s["term"] for s in st.values()} == {1}


def test_redis_no_majority_no_leader_and_members_not_yet_joined_are_down():
    answers = {
        "n1": _member("10.0.0.11", "10.0.0.11", replica=False),
        "n2": (None, None),  # not answering
        "n3": _member("10.0.0.13", "10.0.0.12"),
    }
    st = combine_statuses(MEMBERS, answers)
    assert st["n2"] is None and all(s["leader"] is None for s in (st["n1"], st["n3"]))
    young = dict(answers)
    info, watched = _member("10.0.0.13", "10.0.0.11")
    young["n3"] = ({**info, "master_link_down_since_seconds": -1}, watched)  # never linked
    young["n2"] = _member("10.0.0.12", "10.0.0.11")
    young["n2"][1]["num-slaves"] = 1  # its Sentinel has not yet seen every replica
    st = combine_statuses(MEMBERS, young)
    assert st["n2"] is None and st["n3"] is None and st["n1"]["role"] == "leader"


def test_member_command_lines():
    ips = {"n1": "10.0.0.11", "n2": "10.0.0.12", "n3": "10.0.0.13"}
    redis = system_class("redis")(**{"down-after-ms": 2000})
    cmd = redis.command("n2", ips)
    assert cmd[0] == "redis-member"
    said = dict(zip(cmd[1::2], cmd[2::2], strict=True))
    assert said["--me"] == "10.0.0.12" and said["--primary"] == "10.0.0.11"  # n1 starts it
    assert said["--quorum"] == "2" and said["--down-after-ms"] == "2000"
    zk = system_class("zookeeper")().command("n3", ips)
    assert zk == ["zk-member", "--id", "3", "--servers", "1=10.0.0.11,2=10.0.0.12,3=10.0.0.13"]


def test_the_shipped_schedules_expect_what_their_settings_show():
    from harness.pytest_plugin import schedule_catchers
    from harness.schedule import load_schedule

    root = Path(__file__).resolve().parents[2] / "schedules"
    assert "set" in schedule_catchers(load_schedule(root / "redis.yaml"))
    zk = load_schedule(root / "zookeeper.yaml")
    assert schedule_catchers(zk) == ("linearizable",)
    system = system_class("zookeeper")(**{**dict(zk.system.options), "reads": "sync"})
    assert system.expected_findings() == ()
