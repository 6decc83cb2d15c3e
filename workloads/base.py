"""What every workload's operations and client slots look like."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Operation:
    f: str  # the history's `f`: "read", "write", "cas", ...
    key: Any  # the history's `key` (None: a history without keys)
    value: Any  # the invoke's value: None for a read, the value written, [expected, new]
    label: str | None = None  # names a final read in results.json when it has no key


class Slot(Protocol):
    """One client slot's operation stream. Its process number changes after an `info`;
    the slot, and what it has seen, do not."""

    slot: int

    def next_operation(self) -> Operation: ...

    def observe(self, op: Operation, outcome: str, value: Any) -> None:
        """What the slot's own completed operation showed ("ok", "fail" or "info")."""
        ...
