"""Exit statuses live in harness/exit_codes.py; what still spells its own must agree."""

from __future__ import annotations

from harness import exit_codes


def test_the_numbers_are_the_contracts():
    # docs/DESIGN.md "Commands": 0 valid, 1 invalid, 2 bad input or usage, 3 unknown, 4 env.
    e = exit_codes
    assert (e.EXIT_VALID, e.EXIT_INVALID, e.EXIT_BAD_INPUT, e.EXIT_UNKNOWN, e.EXIT_ENV) == (
        0, 1, 2, 3, 4,
    )  # fmt: skip
    assert (e.EXIT_DONE, e.EXIT_NOT_DONE, e.EXIT_USAGE, e.EXIT_INTERRUPTED) == (0, 1, 2, 130)
