"""harness/systems/etcd_log.py on genuine lines from etcd 3.4.23 (Debian bookworm's
etcd-server), run as member n3 of a 3-member cluster on 127.0.0.1 with
`--logger=zap --log-outputs=stderr`: its first start (it won term 2), then a restart
after a kill, with `--pre-vote` (pre-candidate at 73, leader at 74)."""

# ruff: noqa: E501  (the fixtures are etcd's log lines, verbatim)

from __future__ import annotations

import json

from checkers.raft.election import read_events
from harness.systems.etcd_log import events_from_log, member_names_from_log, wall_ns

N1, N2, N3 = "3cdc66397348b013", "ee833cdcbb0dc17a", "be9e1c7d8c09a344"

# A selection of n3's first start, in order.
FRESH = """\
{"level":"info","ts":"2026-11-29T06:29:08.285Z","caller":"embed/etcd.go:305","msg":"starting an etcd server","etcd-version":"3.4.23","git-sha":"Not provided (use ./build instead of go build)","go-version":"go1.19.8","go-os":"linux","go-arch":"amd64","max-cpu-set":2,"max-cpu-available":2,"member-initialized":false,"name":"n3","data-dir":"/tmp/etcdtest.ZGkj/n3.data","wal-dir":"","wal-dir-dedicated":"","member-dir":"/tmp/etcdtest.ZGkj/n3.data/member","force-new-cluster":false,"heartbeat-interval":"100ms","election-timeout":"1s","initial-election-tick-advance":true,"snapshot-count":100000,"max-wals":5,"max-snapshots":5,"snapshot-catchup-entries":5000,"initial-advertise-peer-urls":["http://127.0.0.1:23803"],"listen-peer-urls":["http://127.0.0.1:23803"],"advertise-client-urls":["http://127.0.0.1:23793"],"listen-client-urls":["http://127.0.0.1:23793"],"listen-metrics-urls":[],"cors":["*"],"host-whitelist":["*"],"initial-cluster":"n1=http://127.0.0.1:23801,n2=http://127.0.0.1:23802,n3=http://127.0.0.1:23803","initial-cluster-state":"new","initial-cluster-token":"rq","quota-backend-bytes":2147483648,"max-request-bytes":1572864,"max-concurrent-streams":4294967295,"pre-vote":false,"initial-corrupt-check":false,"corrupt-check-time-interval":"0s","auto-compaction-mode":"periodic","auto-compaction-retention":"0s","auto-compaction-interval":"0s","discovery-url":"","discovery-proxy":""}
{"level":"info","ts":"2026-11-29T06:29:08.311Z","caller":"etcdserver/raft.go:536","msg":"starting local member","local-member-id":"be9e1c7d8c09a344","cluster-id":"1b7ac5948a81e773"}
{"level":"info","ts":"2026-11-29T06:29:08.311Z","caller":"raft/raft.go:706","msg":"be9e1c7d8c09a344 became follower at term 0"}
{"level":"info","ts":"2026-11-29T06:29:08.311Z","caller":"raft/raft.go:389","msg":"newRaft be9e1c7d8c09a344 [peers: [], term: 0, commit: 0, applied: 0, lastindex: 0, lastterm: 0]"}
{"level":"info","ts":"2026-11-29T06:29:08.311Z","caller":"raft/raft.go:706","msg":"be9e1c7d8c09a344 became follower at term 1"}
{"level":"info","ts":"2026-11-29T06:29:08.327Z","caller":"rafthttp/peer_status.go:51","msg":"peer became active","peer-id":"3cdc66397348b013"}
{"level":"info","ts":"2026-11-29T06:29:08.330Z","caller":"membership/cluster.go:392","msg":"added member","cluster-id":"1b7ac5948a81e773","local-member-id":"be9e1c7d8c09a344","added-peer-id":"3cdc66397348b013","added-peer-peer-urls":["http://127.0.0.1:23801"]}
{"level":"info","ts":"2026-11-29T06:29:08.330Z","caller":"membership/cluster.go:392","msg":"added member","cluster-id":"1b7ac5948a81e773","local-member-id":"be9e1c7d8c09a344","added-peer-id":"be9e1c7d8c09a344","added-peer-peer-urls":["http://127.0.0.1:23803"]}
{"level":"info","ts":"2026-11-29T06:29:08.331Z","caller":"membership/cluster.go:392","msg":"added member","cluster-id":"1b7ac5948a81e773","local-member-id":"be9e1c7d8c09a344","added-peer-id":"ee833cdcbb0dc17a","added-peer-peer-urls":["http://127.0.0.1:23802"]}
{"level":"info","ts":"2026-11-29T06:29:08.512Z","caller":"raft/raft.go:719","msg":"be9e1c7d8c09a344 became candidate at term 2"}
{"level":"info","ts":"2026-11-29T06:29:08.513Z","caller":"raft/raft.go:771","msg":"be9e1c7d8c09a344 became leader at term 2"}
{"level":"info","ts":"2026-11-29T06:29:08.514Z","caller":"raft/node.go:327","msg":"raft.node: be9e1c7d8c09a344 elected leader be9e1c7d8c09a344 at term 2"}
{"level":"info","ts":"2026-11-29T06:29:08.518Z","caller":"etcdserver/server.go:2069","msg":"published local member to cluster through raft","local-member-id":"be9e1c7d8c09a344","local-member-attributes":"{Name:n3 ClientURLs:[http://127.0.0.1:23793]}","request-path":"/0/members/be9e1c7d8c09a344/attributes","cluster-id":"1b7ac5948a81e773","publish-timeout":"7s"}
""".splitlines()

# n3 restarted on its data directory (etcd then ignores the initial cluster: its
# "starting an etcd server" line has "initial-cluster": "").
RESTART = """\
{"level":"info","ts":"2026-11-29T06:35:23.672Z","caller":"embed/etcd.go:305","msg":"starting an etcd server","etcd-version":"3.4.23","git-sha":"Not provided (use ./build instead of go build)","go-version":"go1.19.8","go-os":"linux","go-arch":"amd64","max-cpu-set":2,"max-cpu-available":2,"member-initialized":true,"name":"n3","data-dir":"/tmp/etcdtest.ZGkj/n3.data","wal-dir":"","wal-dir-dedicated":"","member-dir":"/tmp/etcdtest.ZGkj/n3.data/member","force-new-cluster":false,"heartbeat-interval":"100ms","election-timeout":"1s","initial-election-tick-advance":true,"snapshot-count":100000,"max-wals":5,"max-snapshots":5,"snapshot-catchup-entries":5000,"initial-advertise-peer-urls":["http://127.0.0.1:23803"],"listen-peer-urls":["http://127.0.0.1:23803"],"advertise-client-urls":["http://127.0.0.1:23793"],"listen-client-urls":["http://127.0.0.1:23793"],"listen-metrics-urls":[],"cors":["*"],"host-whitelist":["*"],"initial-cluster":"","initial-cluster-state":"new","initial-cluster-token":"","quota-backend-bytes":2147483648,"max-request-bytes":1572864,"max-concurrent-streams":4294967295,"pre-vote":true,"initial-corrupt-check":false,"corrupt-check-time-interval":"0s","auto-compaction-mode":"periodic","auto-compaction-retention":"0s","auto-compaction-interval":"0s","discovery-url":"","discovery-proxy":""}
{"level":"info","ts":"2026-11-29T06:35:23.677Z","caller":"etcdserver/raft.go:586","msg":"restarting local member","cluster-id":"1b7ac5948a81e773","local-member-id":"be9e1c7d8c09a344","commit-index":18}
{"level":"info","ts":"2026-11-29T06:35:23.678Z","caller":"raft/raft.go:706","msg":"be9e1c7d8c09a344 became follower at term 2"}
{"level":"info","ts":"2026-11-29T06:35:24.247Z","caller":"raft/raft.go:865","msg":"be9e1c7d8c09a344 [term: 2] received a MsgVote message with higher term from 3cdc66397348b013 [term: 73]"}
{"level":"info","ts":"2026-11-29T06:35:24.247Z","caller":"raft/raft.go:706","msg":"be9e1c7d8c09a344 became follower at term 73"}
{"level":"info","ts":"2026-11-29T06:35:24.247Z","caller":"raft/raft.go:966","msg":"be9e1c7d8c09a344 [logterm: 2, index: 19, vote: 0] cast MsgVote for 3cdc66397348b013 [logterm: 3, index: 20] at term 73"}
{"level":"info","ts":"2026-11-29T06:35:30.179Z","caller":"raft/raft.go:735","msg":"be9e1c7d8c09a344 became pre-candidate at term 73"}
{"level":"info","ts":"2026-11-29T06:35:30.179Z","caller":"raft/node.go:333","msg":"raft.node: be9e1c7d8c09a344 lost leader 3cdc66397348b013 at term 73"}
{"level":"info","ts":"2026-11-29T06:35:30.180Z","caller":"raft/raft.go:719","msg":"be9e1c7d8c09a344 became candidate at term 74"}
{"level":"info","ts":"2026-11-29T06:35:30.182Z","caller":"raft/raft.go:771","msg":"be9e1c7d8c09a344 became leader at term 74"}
{"level":"info","ts":"2026-11-29T06:35:59.000Z","caller":"raft/raft.go:706","msg":"be9e1c7d8c09a344 became follower at term 75"}
""".splitlines()

# From n1's log: a "became" line about another member.
OTHER = """\
{"level":"info","ts":"2026-11-29T06:35:24.248Z","caller":"raft/raft.go:771","msg":"3cdc66397348b013 became leader at term 73"}
""".splitlines()


def ns(ts: str) -> int:
    return wall_ns(ts)


def brief(events: list[dict]) -> list[tuple]:
    return [(e["term"], e["role"], e.get("start", False)) for e in events]


def test_wall_ns_reads_zap_timestamps():
    assert wall_ns("2026-11-29T06:29:08.513Z") == 1_795_933_748_513_000_000
    assert wall_ns("2026-11-29T07:29:08.513+0100") == 1_795_933_748_513_000_000
    assert wall_ns(1_795_933_748.5) == 1_795_933_748_500_000_000
    assert wall_ns("yesterday") is None and wall_ns(None) is None


def test_first_start():
    events = events_from_log(FRESH, "n3", None)
    assert events[0] == {
        "time": ns("2026-11-29T06:29:08.311Z"),
        "node": "n3",
        "term": 0,
        "role": "follower",
        "start": True,
    }
    assert brief(events) == [
        (0, "follower", True),
        (1, "follower", False),
        (2, "candidate", False),
        (2, "leader", False),
    ]
    assert events[-1]["time"] == ns("2026-11-29T06:29:08.513Z")


def test_restart_and_pre_vote_election():
    events = events_from_log(FRESH + RESTART, "n3", None)
    assert brief(events)[4:] == [
        (2, "follower", True),  # the term it recovered
        (73, "follower", False),
        (73, "pre-candidate", False),  # a pre-candidate keeps its term
        (74, "candidate", False),
        (74, "leader", False),
        (75, "follower", False),
    ]
    assert all(e["node"] == "n3" for e in events)


def test_a_repeat_is_not_a_change_but_a_restart_is():
    lines = RESTART[:3] + RESTART[2:3]  # "became follower at term 2" twice, after a start
    assert brief(events_from_log(lines, "n3", None)) == [(2, "follower", True)]
    again = RESTART[:3] + RESTART[1:3]  # a second start into the same term
    assert brief(events_from_log(again, "n3", None)) == [(2, "follower", True)] * 2


def test_only_this_members_lines():
    lines = FRESH + OTHER + RESTART
    assert 73 not in [
        e["term"] for e in events_from_log(lines, "n3", None) if e["role"] == "leader"
    ]
    # Without local-member-id lines, member_names says which id is n3.
    bare = [line for line in lines if "local-member-id" not in line]
    names = {N1: "n1", N2: "n2", N3: "n3"}
    assert [e["term"] for e in events_from_log(bare, "n3", names) if e["role"] == "leader"] == [
        2,
        74,
    ]
    assert brief(events_from_log(bare, "n1", names)) == [(73, "leader", False)]


def test_member_names():
    assert member_names_from_log(FRESH) == {N1: "n1", N2: "n2", N3: "n3"}
    # After a restart the log only names the member itself (initial-cluster is empty).
    assert member_names_from_log(RESTART) == {N3: "n3"}
    assert member_names_from_log(FRESH + RESTART) == {N1: "n1", N2: "n2", N3: "n3"}


def test_malformed_lines_are_skipped():
    junk = [
        "",
        "panic: runtime error: invalid memory address or nil pointer dereference",
        "goroutine 1 [running]:",
        '{"level":"info","ts":"2026-11-29T06:35:30.182Z","msg":"be9e1c7d8c09a344 became lea',
        "[1, 2]",
        '{"level":"info","msg":"be9e1c7d8c09a344 became leader at term 9"}',  # no ts
        '{"level":"info","ts":"2026-11-29T06:35:30.182Z","msg":42}',
        '{"ts":"2026-11-29T06:35:30.182Z","msg":"be9e1c7d8c09a344 became leader at term x"}',
    ]
    events = events_from_log(FRESH[:5] + junk + FRESH[5:], "n3", None)
    assert events == events_from_log(FRESH, "n3", None)
    assert member_names_from_log(junk) == {}


def test_the_election_checker_reads_the_events(tmp_path):
    path = tmp_path / "events.jsonl"
    events = events_from_log(FRESH + RESTART, "n3", None)
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    got = read_events(path)
    assert [(c.node, c.term) for c in got.claims] == [("n3", 2), ("n3", 74)]
    assert got.votes == []
