"""What an etcd transaction writes and returns, from what it read (harness/systems/
etcd_txn.py): the part of the client's read-then-Txn that needs no server."""

from __future__ import annotations

import pytest

from harness.systems.etcd_txn import Refused, transfer_plan, txn_plan


def test_reads_see_what_was_read_and_the_transactions_own_writes():
    plan = txn_plan([["r", 1, None], ["append", 1, 5], ["r", 1, None], ["w", 2, 7], ["r", 2, None]])
    writes, done = plan({"1": [3], "2": None})
    assert writes == {"1": [3, 5], "2": 7}  # a list appended to is written whole
    assert done == [["r", 1, [3]], ["append", 1, 5], ["r", 1, [3, 5]], ["w", 2, 7], ["r", 2, 7]]


def test_two_appends_to_one_key_make_one_put_and_a_read_only_txn_writes_nothing():
    writes, done = txn_plan([["append", "x", 1], ["append", "x", 2]])({"x": None})
    assert writes == {"x": [1, 2]} and done == [["append", "x", 1], ["append", "x", 2]]
    writes, done = txn_plan([["r", "x", None]])({"x": [1]})
    assert writes == {} and done == [["r", "x", [1]]]


def test_a_read_value_is_not_shared_with_the_caller_state():
    read = {"x": [1]}
    _writes, done = txn_plan([["r", "x", None], ["append", "x", 2]])(read)
    assert done[0][2] == [1] and read == {"x": [1]}


def test_an_append_to_a_register_and_an_unknown_micro_op_are_refused():
    with pytest.raises(Refused, match="holds a register"):
        txn_plan([["append", "k", 1]])({"k": 4})
    with pytest.raises(ValueError, match="unknown micro-op 'inc'"):
        txn_plan([["inc", "k", 1]])


def test_a_transfer_moves_the_amount_or_is_refused_short_of_funds():
    assert transfer_plan(0, 1, 4)({"0": 10, "1": None}) == ({"0": 6, "1": 4}, None)
    with pytest.raises(Refused, match="insufficient"):
        transfer_plan(0, 1, 11)({"0": 10, "1": 0})
    with pytest.raises(Refused, match="insufficient"):
        transfer_plan(0, 1, 1)({"0": None, "1": 0})  # an account never opened
