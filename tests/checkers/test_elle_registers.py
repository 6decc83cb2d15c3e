"""rw-register histories (`w` and `r` over registers) in the Elle checker: the version
orders it infers (the initial state, writes following reads, and each key's sequential or
linearizable order when asked), the cycles they expose, cyclic versions, lost updates,
internal reads, dirty updates (list-append), and the explanations. Elle's own test cases
are in test_elle_agreement.py."""

from __future__ import annotations

import pytest
from elle_helpers import concurrent, events_of, failed, info, join, ok, serial
from hypothesis import given, settings
from hypothesis import strategies as st

from checkers.elle import MODELS, check_txn_history
from checkers.elle.registers import DEFAULT_OPTIONS, RegisterOptions
from checkers.elle.synth import rw_register_history

A, R, W = "append", "r", "w"
WFR_OFF = RegisterOptions(wfr=False)
SEQUENTIAL = RegisterOptions(sequential=True)
LINEARIZABLE = RegisterOptions(linearizable=True)


def check(events, consistency="strict-serializable", registers=DEFAULT_OPTIONS):  # type: ignore[no-untyped-def]
    return check_txn_history(events, consistency, registers=registers)


def test_nil_precedes_every_write() -> None:
    """T1 read x's initial nil and y = 1, which T2 wrote along with x = 2: T1 missed T2's
    write of x yet saw its write of y (G-single), from the initial state alone."""
    h = concurrent(ok(1, [R, "x", None], [R, "y", 1]), ok(2, [W, "y", 1], [W, "x", 2]))
    r = check(h, "serializable")
    assert r.valid is False and r.anomalies == ["G-single"] and r.model == "rw-register"
    text = r.cases["G-single"][0]["text"]
    assert '"x" = nil (its initial state), and' in text and "every key starts at nil" in text


def test_a_write_follows_the_read_before_it() -> None:
    """T1 read y = 1 and wrote y = 2, so 1 precedes 2; T2 read x from T1 but y = 1, the
    version before T1's: G-single, seen only with writes following reads (on by default)."""
    h = join(
        serial(ok(0, [W, "y", 1])),
        concurrent(ok(1, [R, "y", 1], [W, "x", 1], [W, "y", 2]), ok(2, [R, "x", 1], [R, "y", 1])),
    )
    assert check(h, "serializable", WFR_OFF).valid is True
    r = check(h, "serializable")
    assert r.valid is False and r.anomalies == ["G-single"]
    assert r.to_dict()["version-orders"] == ["initial-state", "wfr-keys"]
    assert "T2 read 1 before it wrote 2" in r.cases["G-single"][0]["text"]


def test_write_skew_registers() -> None:
    """Both txns read both keys' initial versions, each writes one: G2-item, which snapshot
    isolation allows and repeatable read and serializability do not."""
    h = concurrent(
        ok(1, [R, "x", None], [R, "y", None], [W, "x", 1]),
        ok(2, [R, "x", None], [R, "y", None], [W, "y", 1]),
    )
    assert check(h, "snapshot-isolation").valid is True
    for model in ("repeatable-read", "serializable"):
        r = check(h, model)
        assert r.valid is False and r.prohibited == ["G2-item"], model


def test_lost_update_registers() -> None:
    """Two txns read x = 1 and both wrote x: Elle's lost-update, which read committed
    allows and repeatable read and snapshot isolation do not; writes following reads also
    order 1 before each write, so each missed the other's (G2-item)."""
    h = join(
        serial(ok(0, [W, "x", 1])),
        concurrent(ok(1, [R, "x", 1], [W, "x", 2]), ok(2, [R, "x", 1], [W, "x", 3])),
    )
    assert check(h, "read-committed").valid is True
    rr = check(h, "repeatable-read")
    assert rr.valid is False and {"lost-update", "G2-item"} <= set(rr.prohibited)
    assert "lost-update" in check(h, "snapshot-isolation").prohibited
    text = rr.cases["lost-update"][0]["text"]
    assert 'read key "x" at 1 and then each wrote to it' in text


def test_internal_register_read_after_own_write() -> None:
    r = check(serial(ok(1, [W, "x", 1], [R, "x", None])))
    assert "internal" in r.anomalies and r.valid is False
    assert "internal" not in check(serial(ok(1, [W, "x", 1], [R, "x", 1]))).anomalies


def test_sequential_keys_cyclic_versions() -> None:
    """A process wrote x = 1, then x = 2, then read 1: its own order says 1 < 2 < 1."""
    h = serial(ok(0, [W, "x", 1]), ok(0, [W, "x", 2]), ok(0, [R, "x", 1]))
    assert "cyclic-versions" not in check(h).anomalies
    r = check(h, "read-uncommitted", SEQUENTIAL)
    assert r.valid is False and r.anomalies == ["cyclic-versions"]
    case = r.cases["cyclic-versions"][0]
    assert case["versions"] == [1, 2] and case["sources"] == ["initial-state", "wfr-keys",
                                                              "sequential-keys"]  # fmt: skip
    assert "sequential-keys, the last added, was set aside" in case["text"]
    assert r.to_dict()["version-orders"] == ["initial-state", "wfr-keys"]


def test_sequential_keys_find_g0() -> None:
    """Processes 0 and 1 write x and y in opposite orders; each then reads what it wrote
    last: only each key's sequential order shows the write cycle (Elle's G0 case)."""
    h = serial(
        ok(0, [W, "x", 1], [W, "y", 2]),
        ok(1, [W, "x", 2], [W, "y", 1]),
        ok(0, [R, "x", 2]),
        ok(1, [R, "y", 2]),
    )
    assert "G0" not in check(h, "read-uncommitted").anomalies
    r = check(h, "read-uncommitted", SEQUENTIAL)
    assert r.valid is False and r.prohibited == ["G0"]
    assert "a process met 1 before 2;" in r.cases["G0"][0]["text"]


def test_linearizable_keys_stale_read() -> None:
    """T1 wrote x = 1 and completed; T2, invoked after, read nil: nil < 1 from the initial
    state, 1 < nil from real time: cyclic versions. Without the assumption it is still a
    strict-serializability violation (G-single-realtime), but serializable."""
    h = serial(ok(1, [W, "x", 1]), ok(2, [R, "x", None]))
    plain = check(h)
    assert plain.anomalies == ["G-single-realtime"] and check(h, "serializable").valid is True
    r = check(h, "serializable", LINEARIZABLE)
    assert r.valid is False and r.anomalies == ["cyclic-versions"]


def test_linearizable_keys_order_concurrent_writers() -> None:
    """Real time orders T1's write before T3's read of T2's value, and T2's write was
    concurrent with T1's: 1 < 2 only through T1 completing before T3 met 2."""
    h = events_of(
        [("invoke", 0), ("end", 0), ("invoke", 1), ("invoke", 2), ("end", 1), ("end", 2)],
        [ok(0, [W, "x", 1]), ok(1, [W, "x", 2]), ok(2, [R, "x", 2], [R, "y", None])],
    )
    r = check(h, "serializable", LINEARIZABLE)
    regs_text = str(r.to_dict())
    assert r.valid is True and "cyclic-versions" not in regs_text


def test_failed_and_intermediate_register_reads() -> None:
    h = concurrent(failed(1, [W, "x", 1]), ok(2, [R, "x", 1]))
    assert check(h, "read-committed").anomalies == ["G1a"]
    h = concurrent(ok(1, [W, "x", 1], [W, "x", 2]), ok(2, [R, "x", 1]))
    assert "G1b" in check(h, "read-committed").anomalies


def test_info_register_write_counts_when_read() -> None:
    """An info txn's write that somebody read happened: its other write is ordered too."""
    h = concurrent(
        info(1, [W, "x", 1], [W, "y", 1]),
        ok(2, [R, "x", 1], [R, "y", None]),
    )
    r = check(h, "serializable")
    assert r.valid is False and r.anomalies == ["G-single"]  # saw x from T1, missed its y


def test_dirty_update_list_append() -> None:
    """x's order is [1 2]: 1's append failed, 2's committed on top of it (Elle's dirty
    update), which read committed rules out and read uncommitted allows."""
    h = serial(failed(1, [A, "x", 1]), ok(2, [A, "x", 2]), ok(3, [R, "x", [1, 2]]))
    r = check(h, "read-committed")
    assert "dirty-update" in r.prohibited
    assert check(h, "read-uncommitted").valid is True
    assert "failed, yet" in r.cases["dirty-update"][0]["text"]


def test_empty_graph_is_unknown() -> None:
    """Two blind writes: nothing relates them (Elle's empty-transaction-graph)."""
    r = check(concurrent(ok(1, [W, "x", 1]), ok(2, [W, "x", 2])))
    assert r.valid == "unknown" and r.empty_graph and "no dependency" in (r.reason or "")
    assert r.to_dict()["empty-transaction-graph"] is True


def test_new_models_order() -> None:
    assert list(MODELS)[-3:] == ["repeatable-read", "read-committed", "read-uncommitted"]


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(2, 120),
    keys=st.integers(1, 4),
    clients=st.integers(1, 6),
    per_key=st.integers(1, 8),
    info_rate=st.sampled_from([0.0, 0.1, 0.3]),
    fail_rate=st.sampled_from([0.0, 0.1]),
    seed=st.integers(0, 2**16),
)
def test_serial_register_executions_are_valid_with_every_order(
    n: int, keys: int, clients: int, per_key: int, info_rate: float, fail_rate: float, seed: int
) -> None:
    """Executed one at a time (each txn at a point inside its interval), a history obeys
    every model, and each key is linearizable: no source of version order, alone or
    together, may find an anomaly."""
    events = rw_register_history(
        n, keys=keys, writes_per_key=per_key, clients=clients, info_rate=info_rate,
        fail_rate=fail_rate, seed=seed, max_latency=200_000,
    )  # fmt: skip
    for opts in (RegisterOptions(), RegisterOptions(True, True, True), WFR_OFF):
        for model in MODELS:
            r = check_txn_history(events, model, registers=opts)
            assert r.anomalies == [], (model, opts, r.to_text())
            assert r.valid is True or (r.valid == "unknown" and r.empty_graph)


@pytest.mark.parametrize("model", ["repeatable-read", "read-uncommitted"])
def test_new_models_are_models(model: str) -> None:
    assert check(serial(ok(1, [W, "x", 1]), ok(2, [R, "x", 1])), model).valid is True
