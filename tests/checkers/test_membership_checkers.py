"""election-safety and log-agreement when the membership changes during a run: a node that
joined late, or was removed, wiped and added back, starts with an empty log and term 0;
that is neither a disagreement nor a forgotten term or vote."""

from __future__ import annotations

from pathlib import Path

from checkers import check_election_safety, check_log_agreement, events_files, node_logs
from tests.checkers.test_check_safety import entry, ev, node_files, vote


def test_a_wiped_member_restarting_empty_forgets_nothing_it_was_bound_to(tmp_path: Path):
    d = node_files(
        tmp_path,
        {
            "n3": [
                vote("n3", 1, 0, None, start=True),
                vote("n3", 2, 5, "n1"),
                ev("n3", 3, 6, "leader"),
                # removed, wiped, restarted with nothing durable: a new server
                {**vote("n3", 4, 0, None, start=True), "empty": True},
                vote("n3", 5, 7, "n2"),
            ],
            "n2": [ev("n2", 1, 7, "leader")],
        },
        {},
    )
    r = check_election_safety(events_files(d))
    assert r.valid is True, r.to_text()


def test_an_empty_start_keeps_the_leader_claims_from_before(tmp_path: Path):
    d = node_files(
        tmp_path,
        {
            "n3": [ev("n3", 3, 6, "leader"), {**vote("n3", 4, 0, None, start=True), "empty": True}],
            "n1": [ev("n1", 5, 6, "leader")],
        },
        {},
    )
    assert check_election_safety(events_files(d)).valid is False


def test_without_the_empty_mark_a_restart_at_term_zero_is_a_forgotten_term(tmp_path: Path):
    d = node_files(
        tmp_path,
        {"n3": [vote("n3", 2, 5, "n1"), vote("n3", 4, 0, None, start=True)]},
        {},
    )
    r = check_election_safety(events_files(d))
    assert r.valid is False and r.vote_violations[0].kind == "forgotten-term"


def test_late_joiners_and_wiped_members_agree_on_what_they_hold(tmp_path: Path):
    full = [entry(i, 1, {"op": "write", "key": "k", "value": i}) for i in range(1, 9)]
    d = node_files(
        tmp_path,
        {},
        {
            "n1": full,
            "n2": full[:5],  # removed early: a shorter committed log
            "n4": full,  # joined late, caught up from index 1
            "n5": full[4:],  # a log that starts later (after a snapshot)
            "n6": [],  # added, wiped, nothing committed yet
        },
    )
    r = check_log_agreement(node_logs(d))
    assert r.valid is True, r.to_text()
    bad = [*full[:6], entry(7, 2, "x")]
    d2 = node_files(tmp_path / "b", {}, {"n1": full, "n4": bad})
    assert check_log_agreement(node_logs(d2)).valid is False
