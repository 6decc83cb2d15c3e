"""The host's policy around the core (raftnode/host.py), one step at a time: the test is
the disk, the network and the event loop, so it sees what leaves the node before and
after each synced write."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from raftnode.core import (
    APPEND,
    APPEND_RESP,
    HEARTBEAT,
    HEARTBEAT_RESP,
    LEADER,
    VOTE,
    VOTE_RESP,
    Config,
    HardState,
    Message,
    RaftCore,
)
from raftnode.host import Host, HostConfig, Ports

IDS = ["n1", "n2", "n3"]


@dataclass
class Conn:
    answers: list[dict] = field(default_factory=list)

    def send(self, answer: dict) -> None:
        self.answers.append(answer)


@dataclass
class Rig:
    """Ports the test drives by hand: synced writes complete when the test says so."""

    sent: list[Message] = field(default_factory=list)
    syncing: list = field(default_factory=list)  # (hard state, entries, done)
    now: float = 0.0
    events: list[dict] = field(default_factory=list)
    host: Host | None = None

    def start(self, bugs: frozenset[str] = frozenset(), read_mode: str = "read-index") -> Host:
        core = RaftCore(
            "n1",
            IDS,
            Config(pre_vote=False, read_mode=read_mode, bugs=bugs),
            random.Random(1),
            HardState(),
            [],
        )
        ports = Ports(
            save=lambda hs, entries: None,
            save_synced=lambda hs, entries, snap, done: self.syncing.append(
                (hs, list(entries), done)
            ),
            send=self.sent.extend,
            flush_soon=lambda: None,  # the test is the event loop: it calls flush()
            monotonic=lambda: self.now,
            event=self.events.append,
        )
        config = HostConfig(
            read_mode=read_mode, bugs=bugs, request_timeout=5.0, peers={"n2": "h2:7002"}
        )
        self.host = Host(core, ports, config)
        return self.host

    def sync(self) -> None:
        """The oldest synced write completes."""
        _hs, _entries, done = self.syncing.pop(0)
        done()

    def take(self, type_: str) -> list[Message]:
        out = [m for m in self.sent if m.type == type_]
        self.sent[:] = [m for m in self.sent if m.type != type_]  # the port holds this list
        return out

    def elect(self) -> Host:
        h = self.host
        while h.core.role != "candidate":
            h.tick()
            h.flush()
        for src in ("n2", "n3"):
            h.step(Message(VOTE_RESP, src, "n1", h.core.term))
        h.flush()
        while self.syncing:
            self.sync()
        assert h.core.role == LEADER
        # The followers take the leader's no-op, so later entries can commit.
        self.ack_appends()
        self.sent.clear()
        return h

    def ack_appends(self) -> None:
        h = self.host
        for m in self.take(APPEND):
            last = m.entries[-1].index if m.entries else m.index
            h.step(Message(APPEND_RESP, m.dst, "n1", m.term, index=last, context=m.context))
        h.flush()


def test_a_new_vote_is_durable_before_the_vote_requests_leave():
    rig = Rig()
    h = rig.start()
    while h.core.role != "candidate":
        h.tick()
        h.flush()
    assert rig.syncing and rig.syncing[0][0][:2] == (h.core.term, "n1")
    assert rig.take(VOTE) == []  # nothing leaves before the vote is on disk
    rig.sync()
    assert {m.dst for m in rig.take(VOTE)} == {"n2", "n3"}


def test_a_leader_sends_appends_before_its_own_write_and_answers_after_the_quorum():
    rig = Rig()
    rig.start()
    h = rig.elect()
    conn = Conn()
    h.on_request(conn, {"id": 1, "op": "put", "key": "k", "value": 7, "client": "c", "seq": 1})
    h.flush()
    # Thesis 10.2.1: the append leaves while the leader's own write is under way.
    assert len(rig.syncing) == 1
    appends = [m for m in rig.sent if m.type == APPEND]
    assert {m.dst for m in appends} == {"n2", "n3"}
    rig.sync()
    assert conn.answers == []  # durable on the leader alone is not committed
    rig.ack_appends()
    while rig.syncing:
        rig.sync()
    [answer] = conn.answers
    assert answer["ok"] is True and answer["id"] == 1 and answer["index"] == 2


def test_ack_before_commit_answers_once_the_leaders_own_write_is_durable():
    rig = Rig()
    rig.start(bugs=frozenset({"ack-before-commit"}))
    h = rig.elect()
    conn = Conn()
    h.on_request(conn, {"id": 1, "op": "put", "key": "k", "value": 7, "client": "c", "seq": 1})
    h.flush()
    assert conn.answers == []
    rig.sync()  # no follower has it yet
    assert [a["ok"] for a in conn.answers] == [True]


def test_a_follower_refuses_with_the_leaders_id_and_address():
    rig = Rig()
    h = rig.start()
    h.step(Message(HEARTBEAT, "n2", "n1", 1))
    h.flush()
    while rig.syncing:
        rig.sync()
    conn = Conn()
    h.on_request(conn, {"id": 9, "op": "put", "key": "k", "value": 1})
    h.on_request(conn, {"id": 10, "op": "get", "key": "k"})
    for a in conn.answers:
        assert a["error"] == "not-leader" and a["definite"] is True
        assert a["leader"] == "n2" and a["leader_addr"] == "h2:7002"
    assert [a["id"] for a in conn.answers] == [9, 10]


def test_a_read_index_read_is_answered_once_confirmed_and_applied_with_read_at():
    rig = Rig()
    rig.start()
    h = rig.elect()
    conn = Conn()
    h.on_request(conn, {"id": 3, "op": "get", "key": "k"})
    h.flush()
    assert conn.answers == []  # leadership not yet confirmed by a quorum
    for m in rig.take(HEARTBEAT):
        h.step(Message(HEARTBEAT_RESP, m.dst, "n1", m.term, context=m.context))
    h.flush()
    [answer] = conn.answers
    assert answer == {"id": 3, "ok": True, "value": None, "read_at": h.applied}


def test_losing_leadership_makes_writes_unknown_and_reads_not_leader():
    rig = Rig()
    rig.start()
    h = rig.elect()
    w, r = Conn(), Conn()
    h.on_request(w, {"id": 1, "op": "put", "key": "k", "value": 1, "client": "c", "seq": 1})
    h.on_request(r, {"id": 2, "op": "get", "key": "k"})
    h.flush()
    rig.sync()
    h.step(Message(HEARTBEAT, "n3", "n1", h.core.term + 1))  # a newer leader
    h.flush()
    while rig.syncing:
        rig.sync()
    assert w.answers[0]["error"] == "unknown" and w.answers[0]["definite"] is False
    assert r.answers[0]["error"] == "not-leader" and r.answers[0]["leader"] == "n3"


def test_the_sweep_answers_requests_older_than_the_request_timeout():
    rig = Rig()
    rig.start()
    h = rig.elect()
    conn = Conn()
    h.on_request(conn, {"id": 1, "op": "put", "key": "k", "value": 1, "client": "c", "seq": 1})
    h.flush()
    rig.now += 4.0
    h.sweep()
    assert conn.answers == []
    rig.now += 2.0
    h.sweep()
    assert conn.answers[0]["reason"] == "timed out waiting for commit"


def test_a_snapshot_installed_while_older_commits_are_written_replaces_them_without_a_crash():
    # A follower's Ready holds entries 1-6 and commits them; before its write is durable,
    # the leader's InstallSnapshot at 9 arrives (the follower had fallen behind a
    # compaction) and the core installs it. When the older write completes, the host
    # applies 1-6: at 3 and 6 (snapshot every 3) it used to snapshot a log the core had
    # already compacted to 9 (the simulation found it: "entry 327 is compacted (snapshot
    # at 333)", a crash of the correct node). The leader's snapshot covers those.
    from raftnode.core import SNAPSHOT, Entry
    from raftnode.kv import KVStateMachine
    from raftnode.wire import compact_json, log_digest

    rig = Rig()
    h = rig.start()
    h.config.snapshot_entries = 3
    log = [Entry(1, i, {"op": "write", "key": "k", "value": i}) for i in range(1, 10)]
    h.step(Message(APPEND, "n2", "n1", 1, index=0, log_term=0, entries=log[:6], commit=6))
    h.flush()
    assert len(rig.syncing) == 1 and h.applied == 0  # entries 1-6 being written
    leader_kv = KVStateMachine()
    for e in log:
        leader_kv.apply(e)
    digest = log_digest("", ((e.term, e.command) for e in log))
    data = compact_json({"kv": leader_kv.snapshot_state(), "digest": digest})
    config = {"voters": IDS, "learners": [], "addrs": {}}
    h.step(Message(SNAPSHOT, "n2", "n1", 1, index=9, log_term=1, data=data, done=True,
                   config=config))  # fmt: skip
    assert h.core.snapshot_index == 9
    rig.sync()  # the older write completes: 1-6 applied, no local snapshot under 9
    h.flush()
    while rig.syncing:
        rig.sync()
    assert h.applied == 9 and h.kv.read("k") == 9
    assert [e["snapshot"] for e in rig.events if "snapshot" in e] == [9]
