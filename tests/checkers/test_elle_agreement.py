"""This checker against Elle's own test expectations (elle_cases.py: every assertion of
jepsen-io/elle's rw-register, list-append and consistency-model tests). A comparable case
agrees, or differs in the way its `differs` says (so the documented differences stay true);
a case that cannot be compared says why. The tally: `.venv/bin/python
tests/checkers/elle_agreement.py`."""

from __future__ import annotations

import pytest
from elle_agreement import run, tally
from elle_cases import CASES

COMPARED = [c for c in CASES if not c.skip]


@pytest.mark.parametrize("case", COMPARED, ids=[c.test for c in COMPARED])
def test_agrees_with_elle_or_differs_as_documented(case) -> None:  # type: ignore[no-untyped-def]
    outcome = run(case)
    if case.differs:
        assert not outcome.agrees, f"agrees now; drop its `differs`: {outcome}"
    else:
        assert outcome.agrees, f"ours: {outcome.ours}\nElle: {outcome.elle}"


def test_every_skipped_case_says_why() -> None:
    assert all(len(c.skip) > 20 for c in CASES if c.skip)


def test_the_tally() -> None:
    """The figures docs/checkers.md quotes."""
    t = tally(CASES)
    assert t["asserted"] == 219
    assert t["agree"] == 142 and len(t["differ"]) == 8 and len(t["skipped"]) == 69
