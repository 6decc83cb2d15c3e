"""Exit statuses of the `raftquake` commands (docs/DESIGN.md "Commands"), in one place.

`run` and `check`: 0 valid, 1 invalid, 2 bad input or usage, 3 unknown, 4 environment.
`kv` reads the same numbers as an operation's outcome: 0 done, 1 definitely not done,
3 unknown. Commands that judge nothing: 0 done, 2 bad input, 4 environment. Ctrl-C
outside a run: 130, as a shell reports SIGINT.
"""

from __future__ import annotations

import signal

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_BAD_INPUT = 2  # a malformed history or schedule, or a usage error
EXIT_UNKNOWN = 3  # a checker could not tell (e.g. its time limit), or the run was cut short
EXIT_ENV = 4  # no Docker engine, image build failed

EXIT_USAGE = EXIT_BAD_INPUT
EXIT_OK = EXIT_VALID  # a command that judges nothing (image, clean, serve, report): done
EXIT_DONE = EXIT_VALID  # kv: the operation happened
EXIT_NOT_DONE = EXIT_INVALID  # kv: it certainly did not (e.g. a cas precondition)
EXIT_INTERRUPTED = 128 + signal.SIGINT

# Which of several statuses a command that ran many things reports: the worst one.
_RANK = {EXIT_VALID: 0, EXIT_UNKNOWN: 1, EXIT_INVALID: 2, EXIT_BAD_INPUT: 3, EXIT_ENV: 4}


def worst(statuses: list[int]) -> int:
    """The worst of several exit statuses: environment error, then bad input, invalid,
    unknown, valid (0 for none)."""
    return max(statuses, key=lambda s: _RANK.get(s, 5)) if statuses else EXIT_VALID
