"""Numeric command-line flags, checked as their YAML twins are (harness/numeric.py's
rules): argparse calls these as a flag's `type`, so a refused value is a usage error
(exit 2) naming the flag and what was expected, before a command makes anything on disk.

    --time-limit -5   ->  argument --time-limit: expected a number > 0 (seconds), got '-5'
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from harness.numeric import SEED, TIME_LIMIT, NumberRule


def numeric(rule: NumberRule, unit: str = "") -> Callable[[str], Any]:
    """An argparse `type` holding a flag's value to `rule`."""

    def parse(text: str) -> Any:
        try:
            value: Any = int(text) if rule.integer else float(text)
        except ValueError:
            value = None
        if value is None or not rule.accepts(value):
            what = rule.expected() + (f" ({unit})" if unit else "")
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    parse.__name__ = rule.expected()  # argparse names the type in some messages
    return parse


SECONDS = numeric(TIME_LIMIT, "seconds")  # --time-limit, --time-budget, a timeout
SEED_FLAG = numeric(SEED)
COUNT = numeric(NumberRule(1, integer=True))  # --runs, --seeds, --jobs
SECONDS_OR_NONE = numeric(NumberRule(0), "seconds; 0: none")  # check --timeout
PORT = numeric(NumberRule(0, integer=True, maximum=65535), "a TCP port; 0: any free")
