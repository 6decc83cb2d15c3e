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
