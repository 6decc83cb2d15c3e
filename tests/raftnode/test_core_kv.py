"""The KV state machine: register semantics and client request deduplication."""

from __future__ import annotations

import pytest

from raftnode.core import Entry
from raftnode.kv import CommandError, KVStateMachine


def run(sm: KVStateMachine, *commands: dict | None) -> list[dict | None]:
    out = []
    for cmd in commands:
        out.append(sm.apply(Entry(1, sm.applied_index + 1, cmd)))
    return out


def test_read_write_cas():
    sm = KVStateMachine()
    res = run(
        sm,
        None,
        {"op": "read", "key": "a"},
        {"op": "write", "key": "a", "value": 1},
        {"op": "cas", "key": "a", "expected": 1, "new": 2},
        {"op": "cas", "key": "a", "expected": 1, "new": 3},
        {"op": "read", "key": "a"},
    )
    assert res == [
        None,
        {"ok": True, "value": None},
        {"ok": True, "value": 1},
        {"ok": True, "value": 2},
        {"ok": False, "error": "precondition", "value": 2},
        {"ok": True, "value": 2},
    ]
    assert sm.read("a") == 2 and sm.read("b") is None


def test_a_retried_command_is_applied_once_and_returns_the_first_result():
    sm = KVStateMachine()
    cas = {"op": "cas", "key": "a", "expected": None, "new": 1, "client": "c1", "seq": 1}
    first, retry = run(sm, cas, dict(cas))
    assert first == retry == {"ok": True, "value": 1}  # not a false precondition failure
    # Another client's write in between, then c1's retry arrives late again: still a no-op.
    run(sm, {"op": "write", "key": "a", "value": 9, "client": "c2", "seq": 1}, dict(cas))
    assert sm.read("a") == 9
    assert run(sm, {"op": "write", "key": "a", "value": 5, "client": "c1", "seq": 2}) == [
        {"ok": True, "value": 5}
    ]
    # A duplicate older than the client's latest changes nothing either.
    run(sm, dict(cas))
    assert sm.read("a") == 5
    assert sm.snapshot_state()["sessions"]["c1"][0] == 2


def test_entries_must_be_applied_in_order_and_commands_well_formed():
    sm = KVStateMachine()
    with pytest.raises(ValueError, match="expected index 1"):
        sm.apply(Entry(1, 2, None))
    with pytest.raises(CommandError, match="bad command"):
        sm.apply(Entry(1, 1, {"op": "drop", "key": "a"}))


def test_a_transfer_moves_money_in_one_step_or_changes_nothing():
    sm = KVStateMachine()
    res = run(
        sm,
        {"op": "txn", "ops": [["w", 0, 10], ["w", 1, 5]]},
        {"op": "transfer", "from": 0, "to": 1, "amount": 4},
        {"op": "transfer", "from": 1, "to": 0, "amount": 20},
        {"op": "transfer", "from": 2, "to": 0, "amount": 1},  # never opened: holds 0
    )
    assert res[1] == {"ok": True, "value": [10, 5]}  # the balances it read
    assert res[2] == {"ok": False, "error": "insufficient", "value": [9, 6]}
    assert res[3] == {"ok": False, "error": "insufficient", "value": [0, 6]}
    assert (sm.read(0), sm.read(1), sm.read(2)) == (6, 9, None)


@pytest.mark.parametrize(
    "cmd",
    [
        {"op": "transfer", "from": 0, "to": 0, "amount": 1},
        {"op": "transfer", "from": 0, "to": 1, "amount": -1},
        {"op": "transfer", "from": 0, "to": 1, "amount": 1.5},
        {"op": "transfer", "from": True, "to": 1, "amount": 1},
        {"op": "transfer", "to": 1, "amount": 1},
    ],
)
def test_a_malformed_transfer_is_refused(cmd):
    with pytest.raises(CommandError, match="bad transfer"):
        run(KVStateMachine(), cmd)
