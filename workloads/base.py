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
    parse: Callable[[object], Any]  # the YAML value in, the workload's (or system's) out
    help: str


class ItemError(ValueError):
    """A list option's item that its parse refuses; `index` says which, so a schedule can
    name that item's own line."""

    def __init__(self, index: int, message: str):
        super().__init__(message)
        self.index = index


def integer(minimum: int, maximum: int | None = None) -> Callable[[object], int]:
    """An integer >= minimum (and <= maximum when given; a bool is not one)."""

    def parse(value: object) -> int:
        if type(value) is not int or value < minimum or (maximum is not None and value > maximum):
            bounds = f"in [{minimum}, {maximum}]" if maximum is not None else f">= {minimum}"
            raise ValueError(f"must be an integer {bounds}, got {value!r}")
        return value

    return parse


def one_of(choices: tuple[Any, ...]) -> Callable[[object], Any]:
    """One of `choices`, as written."""

    def parse(value: object) -> Any:
        if value not in choices:
            raise ValueError(f"is {value!r}; expected one of: {', '.join(map(str, choices))}")
        return value

    return parse


def list_of(choices: tuple[Any, ...]) -> Callable[[object], tuple[Any, ...]]:
    """A list of `choices` (empty or absent: none), as a tuple."""

    def parse(value: object) -> tuple[Any, ...]:
        if value is None:
            return ()
        if not isinstance(value, list | tuple):
            raise ValueError(f"must be a list of: {', '.join(map(str, choices))}; got {value!r}")
        for i, item in enumerate(value):
            if item not in choices:
                raise ItemError(
                    i, f"[{i}] is {item!r}; expected one of: {', '.join(map(str, choices))}"
                )
        return tuple(value)

    return parse


def number(minimum: float) -> Callable[[object], float]:
    """A number >= minimum, as a float."""

    def parse(value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            raise ValueError(f"must be a number >= {minimum}, got {value!r}")
        return float(value)

    return parse


def int_range(minimum: int) -> Callable[[object], tuple[int, int]]:
    """`n` (exactly n) or `[fewest, most]`, integers >= minimum, as a pair."""

    def parse(value: object) -> tuple[int, int]:
        given = value if isinstance(value, list) else [value, value]
        pair = [x for x in given if type(x) is int and x >= minimum]
        if len(given) != 2 or len(pair) != 2:
            raise ValueError(
                f"must be an integer >= {minimum}, or [fewest, most] of them, got {value!r}"
            )
        if pair[0] > pair[1]:
            raise ValueError(f"must be [fewest, most] with fewest <= most, got {value!r}")
        return pair[0], pair[1]

    return parse
