"""The lock workload: how a schedule asks for it, what its slots do (acquire, then release
after the holder's work; a holder finishes when the run stops), which systems run it, and
that the run's linearizable checker judges its histories by a mutex per lock name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checkers.protocol import RunFiles
from checkers.registry import CHECKERS
from harness.schedule import ScheduleError, parse_schedule
from workloads import WORKLOADS


def _spec(text: str, system: str = "etcd"):
    return parse_schedule(f"name: x\nsystem: {system}\nworkload:\n" + text).workload


def test_a_schedule_sets_locks_ttl_and_hold_and_gets_the_linearizable_checker():
    s = parse_schedule(
        "name: x\nsystem: etcd\nworkload: {name: lock, locks: 3, ttl: 5, hold: [2, 6]}\n"
    )
    assert (s.workload.option("locks"), s.workload.option("ttl")) == (3, 5)
    assert s.workload.option("hold") == (2.0, 6.0)
    assert "linearizable" in s.checkers
    default = _spec("  name: lock\n")
    assert (default.option("locks"), default.option("ttl")) == (1, 2)


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("locks", "0", "workload.locks must be an integer >= 1"),
        ("ttl", "1.5", "workload.ttl must be an integer >= 1"),
        ("hold", "[3, 1]", "fewest <= most"),
        ("hold", "soon", "number of seconds"),
    ],
)
def test_a_bad_lock_option_names_its_line(field, value, said):
    text = f"name: x\nsystem: etcd\nworkload:\n  name: lock\n  {field}: {value}\n"
    with pytest.raises(ScheduleError, match=said) as err:
        parse_schedule(text, "lock.yaml")
    assert err.value.line == 5


def test_raftnode_refuses_the_lock_workload_with_the_reason():
    with pytest.raises(ScheduleError, match="raftnode does not run the lock workload") as err:
        parse_schedule("name: x\nworkload: {name: lock}\n", "lock.yaml")
    assert "no leases" in str(err.value)


def test_a_slot_releases_what_it_acquired_after_its_work_and_retries_a_lost_acquire():
    spec = _spec("  name: lock\n  locks: 2\n  ttl: 3\n  hold: [1, 2]\n  concurrency: 2\n")
    slot = WORKLOADS["lock"].slots(spec, 7)[0]
    first = slot.next_operation()
    assert (first.f, first.params) == ("acquire", 3) and first.key in ("lock0", "lock1")
    assert not slot.unfinished()
    slot.observe(first, "info", None)  # unknown: not held, ask again
    again = slot.next_operation()
    assert again.f == "acquire"
    slot.observe(again, "ok", {"lease": "1f"})
    assert slot.unfinished()  # a holder goes on after the stop, to release
    release = slot.next_operation()
    assert (release.f, release.key) == ("release", again.key)
    assert 1.0 <= release.params <= 2.0  # the work before it
    slot.observe(release, "ok", None)
    assert not slot.unfinished() and slot.next_operation().f == "acquire"
    # The same seed gives the same stream.
    twin = WORKLOADS["lock"].slots(spec, 7)[0]
    assert twin.next_operation() == first


def _history(tmp_path: Path, rows: list[tuple]) -> RunFiles:
    lines = []
    for i, (process, typ, f, key) in enumerate(rows):
        lines.append(
            {
                "index": i,
                "time": i * 1000,
                "process": process,
                "type": typ,
                "f": f,
                "key": key,
                "value": None,
            }
        )
    path = tmp_path / "history.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in lines))
    return RunFiles(path)


def test_the_linearizable_checker_finds_two_holders_of_one_lock_but_not_of_two(tmp_path):
    two_names = [
        (0, "invoke", "acquire", "a"), (0, "ok", "acquire", "a"),
        (1, "invoke", "acquire", "b"), (1, "ok", "acquire", "b"),
        (0, "invoke", "release", "a"), (0, "ok", "release", "a"),
    ]  # fmt: skip
    fine = CHECKERS["linearizable"].check(_history(tmp_path, two_names))
    assert fine.valid is True and fine.details["model"] == "mutex"
    one_name = [
        (0, "invoke", "acquire", "a"), (0, "ok", "acquire", "a"),
        (1, "invoke", "acquire", "a"), (1, "ok", "acquire", "a"),  # while 0 holds it
        (0, "invoke", "release", "a"), (0, "ok", "release", "a"),
    ]  # fmt: skip
    caught = CHECKERS["linearizable"].check(_history(tmp_path, one_name))
    assert caught.valid is False
    assert "key 'a'" in (caught.explanation or "")


def test_etcds_shipped_lock_schedule_expects_two_holders_and_its_txn_schedules_valid():
    from harness.pytest_plugin import schedule_catchers
    from harness.schedule import load_schedule
    from harness.systems.etcd import EtcdSystem

    shipped = Path(__file__).parents[2] / "schedules"
    assert schedule_catchers(load_schedule(shipped / "etcd-lock.yaml")) == ("linearizable",)
    for name in ("etcd-txn.yaml", "etcd-bank.yaml"):
        assert schedule_catchers(load_schedule(shipped / name)) == ()
    stale = EtcdSystem(reads="serializable")
    assert stale.expected_findings("list-append") == ("elle",)
    assert stale.expected_findings("bank") == ()  # one revision's balances: the total holds
    assert stale.expected_findings() == ("linearizable",)
