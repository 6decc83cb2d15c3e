"""The list-append and set workloads: what their operation streams promise (unique values,
bounded transactions, rolling hot keys, reproducible per seed) and how a schedule asks
for them."""

from __future__ import annotations

import pytest

from harness.schedule import ScheduleError, parse_schedule
from workloads import WORKLOADS


def _spec(text: str):
    return parse_schedule("name: x\nworkload:\n" + text).workload


def _stream(spec, seed: int = 1, per_slot: int = 200):
    slots = WORKLOADS[spec.name].slots(spec, seed)
    return slots, [[s.next_operation() for _ in range(per_slot)] for s in slots]


def test_list_append_transactions_are_bounded_and_appends_unique_per_key():
    spec = _spec("  name: list-append\n  txn-length: [2, 3]\n  concurrency: 5\n")
    assert spec.keys == 3 and spec.mix == {"append": 0.5, "r": 0.5}
    slots, streams = _stream(spec)
    seen: dict[object, set] = {}
    for op in (op for stream in streams for op in stream):
        assert op.f == "txn" and 2 <= len(op.value) <= 3
        for f, key, value in op.value:
            assert f in ("append", "r")
            if f == "r":
                assert value is None  # an invoke's read carries nothing
            else:
                assert value not in seen.setdefault(key, set())
                seen[key].add(value)
    # Hot keys roll: about ops-per-key (32) appends each, then fresh keys.
    appends = sorted(len(v) for v in seen.values())
    assert len(seen) > spec.keys and appends[len(appends) // 2] <= 64
    # The final reads cover every key used.
    finals = WORKLOADS["list-append"].final_operations(spec, slots)
    assert {op.value[0][1] for op in finals} >= set(seen)


def test_list_append_takes_the_mix_as_written():
    # {append: 1} means appends only: the default's reads are not mixed back in.
    _, streams = _stream(_spec("  name: list-append\n  mix: {append: 1}\n"))
    assert {m[0] for stream in streams for op in stream for m in op.value} == {"append"}


def test_list_append_streams_depend_on_the_seed_only():
    spec = _spec("  name: list-append\n")
    assert _stream(spec, 7)[1] == _stream(spec, 7)[1] != _stream(spec, 8)[1]


def test_set_adds_are_unique_and_end_with_a_read():
    spec = _spec("  name: set\n  concurrency: 4\n  mix: {add: 0.9, read: 0.1}\n")
    slots, streams = _stream(spec)
    adds = [op.value for stream in streams for op in stream if op.f == "add"]
    assert len(adds) == len(set(adds)) > 600
    assert {op.f for stream in streams for op in stream} == {"add", "read"}
    assert [op.f for op in WORKLOADS["set"].final_operations(spec, slots)] == ["read"]


@pytest.mark.parametrize(
    "text, words",
    [
        ("  name: list-append\n  mix: {read: 1}\n", "expected one of: append, r"),
        ("  name: list-append\n  txn-length: [3, 1]\n", "fewest <= most"),
        ("  name: list-append\n  txn-length: [0, 2]\n", ">= 1"),
        ("  name: set\n  mix: {write: 1}\n", "expected one of: add, read"),
    ],
)
def test_bad_workload_options_name_the_line(text, words):
    with pytest.raises(ScheduleError, match=words) as err:
        parse_schedule("name: x\nworkload:\n" + text, "s.yaml")
    assert err.value.line is not None


def test_each_workload_gets_its_own_history_checker_by_default():
    assert parse_schedule("name: x\n").checkers[0] == "linearizable"
    la = parse_schedule("name: x\nworkload: {name: list-append}\n").checkers
    assert "elle" in la and "linearizable" not in la and "set" not in la
    assert "set" in parse_schedule("name: x\nworkload: {name: set}\n").checkers
    with pytest.raises(ScheduleError, match="zookeeper does not run the list-append workload"):
        parse_schedule("name: x\nsystem: zookeeper\nworkload: {name: list-append}\n")
    for name in ("list-append", "rw-register", "bank", "set"):
        etcd = parse_schedule(f"name: x\nsystem: etcd\nworkload: {{name: {name}}}\n")
        assert etcd.workload.name == name


def test_rw_register_writes_unique_values_per_key_over_rolling_keys():
    spec = _spec("  name: rw-register\n  txn-length: 3\n  concurrency: 4\n")
    assert spec.keys == 3 and spec.mix == {"w": 0.5, "r": 0.5}
    assert spec.option("txn-length") == (3, 3)
    slots, streams = _stream(spec)
    written: dict[object, list] = {}
    for op in (op for stream in streams for op in stream):
        assert op.f == "txn" and len(op.value) == 3
        for f, key, value in op.value:
            assert f in ("w", "r") and isinstance(key, int)
            if f == "w":
                written.setdefault(key, []).append(value)
    assert all(len(vs) == len(set(vs)) for vs in written.values())
    assert len(written) > spec.keys  # keys roll
    finals = WORKLOADS["rw-register"].final_operations(spec, slots)
    assert {op.value[0][1] for op in finals} >= set(written)


def test_bank_opens_the_total_then_transfers_and_reads_every_account():
    spec = _spec("  name: bank\n  accounts: 3\n  total: 10\n  max-transfer: 4\n")
    w = WORKLOADS["bank"]
    (init,) = w.initial_operations(spec)
    assert init.f == "init" and init.value == {"0": 4, "1": 3, "2": 3}
    slots, streams = _stream(spec)
    ops = [op for stream in streams for op in stream]
    transfers = [op.value for op in ops if op.f == "transfer"]
    assert transfers and all(
        t["from"] != t["to"] and {t["from"], t["to"]} <= {0, 1, 2} and 1 <= t["amount"] <= 4
        for t in transfers
    )
    reads = [op for op in ops if op.f == "read"]
    assert reads and all(op.value is None and op.params == 3 for op in reads)
    assert [op.params for op in w.final_operations(spec, slots)] == [3]


@pytest.mark.parametrize(
    "text, words",
    [
        ("  name: bank\n  accounts: 1\n", "workload.accounts must be an integer >= 2"),
        ("  name: bank\n  total: -5\n", "workload.total must be an integer >= 0"),
        ("  name: register\n  txn-length: 2\n", "unknown field 'txn-length' in workload"),
        ("  name: bank\n  txn-length: 2\n", "unknown field 'txn-length' in workload"),
        ("  name: rw-register\n  mix: {append: 1}\n", "expected one of: w, r"),
    ],
)
def test_a_workload_takes_only_its_own_options(text, words):
    with pytest.raises(ScheduleError, match=words) as err:
        parse_schedule("name: x\nworkload:\n  concurrency: 2\n" + text, "s.yaml")
    assert err.value.source == "s.yaml" and err.value.line >= 4


def test_a_schedule_as_run_keeps_the_workloads_own_options():
    from harness.schedule import dump_schedule

    s = parse_schedule("name: x\nworkload:\n  name: bank\n  accounts: 4\n")
    again = parse_schedule(dump_schedule(s))
    assert again.workload == s.workload
    assert again.workload.option("accounts") == 4 and again.workload.option("total") == 100
