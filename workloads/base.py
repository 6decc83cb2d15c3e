"""What every workload's operations and client slots look like."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Operation:
    f: str  # the history's `f`: "read", "write", "cas", ...
    key: Any  # the history's `key` (None: a history without keys)
    value: Any  # the invoke's value: None for a read, the value written, [expected, new]
    label: str | None = None  # names a final read in results.json when it has no key
    # What carrying it out needs that the history does not record (a bank read's accounts).
    params: Any = None


class Slot(Protocol):
    """One client slot's operation stream. Its process number changes after an `info`;
    the slot, and what it has seen, do not."""

    slot: int

    def next_operation(self) -> Operation: ...

    def observe(self, op: Operation, outcome: str, value: Any) -> None:
        """What the slot's own completed operation showed ("ok", "fail" or "info")."""
        ...


@dataclass(frozen=True)
class Option:
    """One of a workload's own schedule fields (`workload: {txn-length: [1, 4]}`): its
    default, and `parse`, which turns the YAML value into the workload's value or raises
    ValueError saying what was expected (the schedule names the file and line)."""

    default: Any
    parse: Callable[[Any], Any]
    help: str


def integer(minimum: int) -> Callable[[Any], int]:
    """An integer >= minimum (a bool is not one)."""

    def parse(value: Any) -> int:
        if type(value) is not int or value < minimum:
            raise ValueError(f"must be an integer >= {minimum}, got {value!r}")
        return value

    return parse


def number(minimum: float) -> Callable[[Any], float]:
    """A number >= minimum, as a float."""

    def parse(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            raise ValueError(f"must be a number >= {minimum}, got {value!r}")
        return float(value)

    return parse


def int_range(minimum: int) -> Callable[[Any], tuple[int, int]]:
    """`n` (exactly n) or `[fewest, most]`, integers >= minimum, as a pair."""

    def parse(value: Any) -> tuple[int, int]:
        pair = value if isinstance(value, list) else [value, value]
        if len(pair) != 2 or any(type(x) is not int or x < minimum for x in pair):
            raise ValueError(
                f"must be an integer >= {minimum}, or [fewest, most] of them, got {value!r}"
            )
        if pair[0] > pair[1]:
            raise ValueError(f"must be [fewest, most] with fewest <= most, got {value!r}")
        return pair[0], pair[1]

    return parse
