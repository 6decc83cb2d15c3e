"""Election safety, log agreement and stats, on node files as a run leaves them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checkers import (
    check_election_safety,
    check_log_agreement,
    check_stats,
    events_files,
    node_logs,
)
from checkers.history import HistoryError, read_jsonl
from checkers.raft.log_agreement import snapshot_digests
from raftnode.wire import log_digest


def node_files(tmp_path: Path, events: dict[str, list[dict]], logs: dict[str, list[dict]]) -> Path:
    for node, evs in events.items():
        d = tmp_path / "nodes" / node
        d.mkdir(parents=True, exist_ok=True)
        (d / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in evs))
    for node, entries in logs.items():
        d = tmp_path / "nodes" / node
        d.mkdir(parents=True, exist_ok=True)
        (d / "log.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries))
    return tmp_path


def ev(node: str, t: int, term: int, role: str) -> dict:
    return {"time": t, "node": node, "term": term, "role": role}


def test_one_leader_per_term_is_safe(tmp_path: Path) -> None:
    d = node_files(
        tmp_path,
        {
            "n1": [
                ev("n1", 1, 1, "candidate"),
                ev("n1", 2, 1, "leader"),
                {"time": 3, "node": "n1", "commit": 1, "term_at": 1},
                ev("n1", 9, 2, "follower"),
            ],
            "n2": [
                ev("n2", 1, 1, "follower"),
                ev("n2", 8, 2, "candidate"),
                ev("n2", 9, 2, "leader"),
            ],
        },
        {},
    )
    r = check_election_safety(events_files(d))
    assert r.valid is True and r.terms == 2 and r.files == 2
    assert r.to_dict()["valid"] is True


def test_two_leaders_in_a_term_named(tmp_path: Path) -> None:
    d = node_files(
        tmp_path,
        {
            "n1": [ev("n1", 2_000_000_000, 3, "leader")],
            "n2": [ev("n2", 1_500_000_000, 3, "leader"), ev("n2", 1_600_000_000, 4, "leader")],
            "n3": [ev("n3", 1_700_000_000, 4, "follower")],
        },
        {},
    )
    r = check_election_safety(events_files(d))
    assert r.valid is False
    (v,) = r.to_dict()["violations"]
    assert v["term"] == 3 and v["nodes"] == ["n1", "n2"]
    claims = [(c["node"], c["time"]) for c in v["claims"]]
    assert claims == [("n2", 1_500_000_000), ("n1", 2_000_000_000)]
    # Seconds, as everywhere else (from the workload's start when the run says where).
    assert "term 3: 2 leaders: n2 at 1.500 s, n1 at 2.000 s" in r.to_text()
    assert "n2 at 1.000 s" in r.to_text(origin_ns=500_000_000)


def vote(node: str, t: int, term: int, candidate: str | None, start: bool = False) -> dict:
    e = {"time": t, "node": node, "term": term, "role": "follower", "voted_for": candidate}
    return {**e, "start": True} if start else e


def test_a_vote_that_survives_restarts_is_safe(tmp_path: Path) -> None:
    # Voted n2 in term 3, restarted in term 3 still voting n2, then a new term and vote,
    # then a restart in term 4 with no vote (a follower that never voted in 4 is fine
    # too: the vote it recorded was in term 3).
    d = node_files(
        tmp_path,
        {
            "n1": [
                vote("n1", 1, 2, None, start=True),
                vote("n1", 2, 3, "n2"),
                vote("n1", 3, 3, "n2", start=True),
                vote("n1", 4, 3, "n2"),  # the same vote again is no second vote
                ev("n1", 5, 4, "follower"),
                vote("n1", 6, 4, None, start=True),
            ]
        },
        {},
    )
    r = check_election_safety(events_files(d))
    assert r.valid is True and r.vote_violations == []


def test_forgotten_vote_double_vote_and_term_named(tmp_path: Path) -> None:
    d = node_files(
        tmp_path,
        {
            "n1": [
                vote("n1", 1, 0, None, start=True),
                vote("n1", 2, 5, "n2"),
                vote("n1", 3, 5, None, start=True),  # line 3: came back without the vote
                vote("n1", 4, 5, "n3"),  # line 4: and voted again in term 5
            ],
            "n2": [
                ev("n2", 1, 7, "candidate"),
                vote("n2", 2, 7, "n2"),
                vote("n2", 3, 6, "n2", start=True),  # line 3: term went back
            ],
        },
        {},
    )
    r = check_election_safety(events_files(d))
    assert r.valid is False and r.violations == []
    got = [(v.node, v.term, v.kind, Path(v.file).parent.name, v.line) for v in r.vote_violations]
    assert got == [
        ("n1", 5, "forgotten-vote", "n1", 3),
        ("n1", 5, "double-vote", "n1", 4),
        ("n2", 6, "forgotten-term", "n2", 3),
    ]
    text = r.to_text()
    assert "n1 voted for n2 in term 5 (line 2), then restarted in term 5 with no vote" in text
    assert "n1 voted for n2 (line 2) and for n3 in term 5" in text
    assert "n2 restarted in term 6 after recording term 7" in text
    assert [v["kind"] for v in r.to_dict()["vote_violations"]] == [
        "forgotten-vote",
        "double-vote",
        "forgotten-term",
    ]


def test_events_without_votes_are_checked_for_leaders_only(tmp_path: Path) -> None:
    # Another implementation's events: role lines only, restarts invisible. Nothing to
    # hold its votes to, so only two leaders in a term could make it invalid.
    d = node_files(
        tmp_path,
        {"n1": [ev("n1", 1, 5, "candidate"), ev("n1", 2, 5, "follower"), ev("n1", 3, 4, "leader")]},
        {},
    )
    r = check_election_safety(events_files(d))
    assert r.valid is True


def test_malformed_vote_field(tmp_path: Path) -> None:
    d = node_files(tmp_path, {"n1": [ev("n1", 1, 1, "follower"), vote("n1", 2, 1, 7)]}, {})  # type: ignore[arg-type]
    with pytest.raises(HistoryError) as e:
        check_election_safety(events_files(d))
    assert "events.jsonl:2" in str(e.value) and '"voted_for" to be a node name or null' in str(
        e.value
    )


def test_malformed_events_line(tmp_path: Path) -> None:
    d = node_files(tmp_path, {"n1": [ev("n1", 1, "x", "leader")]}, {})  # type: ignore[arg-type]
    with pytest.raises(HistoryError) as e:
        check_election_safety(events_files(d))
    assert "events.jsonl:1" in str(e.value) and '"term" to be an integer' in str(e.value)


def entry(i: int, term: int, cmd: object) -> dict:
    return {"index": i, "term": term, "command": cmd}


def test_logs_agree_on_common_prefix(tmp_path: Path) -> None:
    a = [
        entry(1, 1, {"op": "put", "k": "x", "v": 1}),
        entry(2, 1, None),
        entry(3, 2, {"op": "cas"}),
    ]
    d = node_files(tmp_path, {}, {"n1": a, "n2": a[:2], "n3": a})
    r = check_log_agreement(node_logs(d))
    assert r.valid is True and r.nodes == ["n1", "n2", "n3"] and r.compared == 3


def test_diverging_entry_reported(tmp_path: Path) -> None:
    a = [entry(1, 1, "a"), entry(2, 2, "b")]
    b = [entry(1, 1, "a"), entry(2, 3, "c")]
    d = node_files(tmp_path, {}, {"n1": a, "n2": b, "n3": a})
    r = check_log_agreement(node_logs(d))
    assert r.valid is False and r.total_divergences == 1
    div = r.to_dict()["divergences"][0]
    assert div["index"] == 2 and div["entries"]["n2"] == {"term": 3, "command": "c"}
    assert "index 2" in r.to_text()


def test_committed_json_array_is_read_too(tmp_path: Path) -> None:
    for node, cmd in (("n1", "a"), ("n2", "z")):
        p = tmp_path / "nodes" / node
        p.mkdir(parents=True)
        (p / "committed.json").write_text(json.dumps([entry(1, 1, cmd)]))
    assert check_log_agreement(node_logs(tmp_path)).valid is False


def test_log_out_of_order_is_bad_input(tmp_path: Path) -> None:
    d = node_files(tmp_path, {}, {"n1": [entry(2, 1, "a"), entry(1, 1, "b")]})
    with pytest.raises(HistoryError) as e:
        check_log_agreement(node_logs(d))
    assert "log.jsonl:2" in str(e.value) and "index order" in str(e.value)


def snapshot_of(entries: list[dict]) -> dict:
    """The first line of a compacted node's log.jsonl: a snapshot through entries[-1]."""
    digest = log_digest("", [(e["term"], e["command"]) for e in entries])
    return {
        "snapshot": {"index": entries[-1]["index"], "term": entries[-1]["term"], "digest": digest}
    }


def test_snapshots_are_compared_with_the_logs_they_replaced(tmp_path: Path) -> None:
    a = [entry(i, 1, f"v{i}") for i in range(1, 7)]
    # n1 compacted through 3, n2 through 5, n3 kept everything.
    logs = {"n1": [snapshot_of(a[:3]), *a[3:]], "n2": [snapshot_of(a[:5]), a[5]], "n3": a}
    d = node_files(tmp_path, {}, logs)
    r = check_log_agreement(node_logs(d))
    # Indexes 4-6 are held by two nodes or more; 3 and 5 compared by digest.
    assert r.valid is True and r.compared == 3 + 2


def test_a_snapshot_over_a_different_prefix_is_a_divergence(tmp_path: Path) -> None:
    a = [entry(i, 1, f"v{i}") for i in range(1, 7)]
    other = [*a[:1], entry(2, 1, "lost"), *a[2:4]]  # differs at index 2, compacted
    logs = {"n1": [snapshot_of(other), *a[4:]], "n2": a}
    r = check_log_agreement(node_logs(node_files(tmp_path, {}, logs)))
    assert r.valid is False and r.total_divergences == 1
    assert r.divergences[0].index == 4 and "index 4" in r.to_text()


def test_a_malformed_snapshot_line_names_the_file_and_line(tmp_path: Path) -> None:
    d = node_files(tmp_path, {}, {"n1": [{"snapshot": {"index": "3"}}, entry(4, 1, "a")]})
    with pytest.raises(HistoryError) as e:
        check_log_agreement(node_logs(d))
    assert "log.jsonl:1" in str(e.value) and '"snapshot" to be' in str(e.value)


def test_stats_counts(tmp_path: Path) -> None:
    rows = [
        {
            "index": 0,
            "time": 0,
            "process": 0,
            "type": "invoke",
            "f": "write",
            "key": "a",
            "value": 1,
        },
        {
            "index": 1,
            "time": 1,
            "process": 0,
            "type": "ok",
            "f": "write",
            "key": "a",
            "value": 1,
            "node": "n1",
        },
        {
            "index": 2,
            "time": 2,
            "process": 1,
            "type": "invoke",
            "f": "read",
            "key": "b",
            "value": None,
        },
        {
            "index": 3,
            "time": 3,
            "process": 1,
            "type": "info",
            "f": "read",
            "key": "b",
            "value": None,
            "node": "n2",
        },
        {
            "index": 4,
            "time": 4,
            "process": "nemesis",
            "type": "info",
            "f": "start-partition",
            "value": {},
        },
        {
            "index": 5,
            "time": 5,
            "process": 2,
            "type": "invoke",
            "f": "cas",
            "key": "a",
            "value": [2, 3],
        },
        {
            "index": 6,
            "time": 6,
            "process": 2,
            "type": "fail",
            "f": "cas",
            "key": "a",
            "value": [2, 3],
            "node": "n1",
            "error": "precondition",
        },
    ]
    p = tmp_path / "h.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    r = check_stats(read_jsonl(str(p)).events).to_dict()
    assert r["total"] == {"ok": 1, "fail": 1, "info": 1}
    assert r["by_f"]["cas"] == {"ok": 0, "fail": 1, "info": 0}
    assert r["by_node"]["n1"] == {"ok": 1, "fail": 1, "info": 0}
    assert r["by_key"]["b"]["info"] == 1


def test_digests_claimed_in_events_are_compared_after_the_logs_moved_on(tmp_path: Path) -> None:
    # n2 once snapshotted index 4 over a different prefix; a later snapshot from the leader
    # replaced it, so its final dump agrees. Its events.jsonl still holds the claim.
    a = [entry(i, 1, f"v{i}") for i in range(1, 9)]
    bad = [*a[:2], entry(3, 1, "never committed"), a[3]]
    good_4, bad_4 = (snapshot_of(x)["snapshot"]["digest"] for x in (a[:4], bad))
    logs = {"n1": [snapshot_of(a[:8])], "n2": [snapshot_of(a[:8])], "n3": a}
    d = node_files(tmp_path, {}, logs)
    claims = {"n1": [(4, good_4)], "n2": [(4, bad_4)]}
    r = check_log_agreement(node_logs(d), claims)
    assert r.valid is False and r.divergences[0].index == 4
    assert check_log_agreement(node_logs(d), {"n1": [(4, good_4)], "n2": [(4, good_4)]}).valid
    # The run checker reads the claims from each node's events.jsonl.
    for node, h in (("n1", good_4), ("n2", bad_4)):
        line = {"time": 1, "node": node, "snapshot": 4, "term_at": 1, "digest": h}
        (d / "nodes" / node / "events.jsonl").write_text(json.dumps(line) + "\n")
    events = sorted(d.glob("nodes/*/events.jsonl"))
    assert snapshot_digests(events) == claims
