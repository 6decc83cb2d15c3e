"""What a numeric setting accepts, in one place for a schedule's YAML field and the
command-line flag of the same meaning (harness/schedule.py, harness/commands/flags.py):
a value refused in one is refused in the other, with the same words. Standard library
only, so that `raftquake --help` stays quick.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class NumberRule:
    """What a numeric field or flag accepts."""

    minimum: float = 0
    integer: bool = False
    above: bool = False  # strictly greater than minimum
    maximum: float | None = None

    def expected(self) -> str:
        kind = "an integer" if self.integer else "a number"
        if self.maximum is not None:
            return f"{kind} from {self.minimum:g} to {self.maximum:g}"
        return f"{kind} {'>' if self.above else '>='} {self.minimum:g}"

    def accepts(self, value: Any) -> bool:
        ok_type = int if self.integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, ok_type):
            return False
        if not math.isfinite(value):  # YAML's .nan and .inf, float('nan') on the command line
            return False
        if self.maximum is not None and value > self.maximum:
            return False
        return value > self.minimum if self.above else value >= self.minimum


TIME_LIMIT = NumberRule(0, above=True)  # seconds of workload: a run of none checks nothing
SEED = NumberRule(0, integer=True)
