"""Small words the commands and the report share."""

from __future__ import annotations


def plural(n: int, word: str, many: str | None = None) -> str:
    """ "1 fault", "2 faults", "0 faults"; `many` for a word that does not take an s."""
    return f"{n} {word if n == 1 else (many or word + 's')}"
