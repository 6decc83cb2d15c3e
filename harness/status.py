"""The live status of a run: one line, kept current while the workload runs.

    run: 23/60 s | 2841 ok 12 fail 3 info | 187 ops/s | partition (n3 | n1 n2 n4 n5) | leader n2

On a terminal it is a rich Live line, redrawn in place (and gone when the run ends); in
CI, where stderr is no terminal, the same line is printed plainly every few seconds, so a
log shows progress without a wall of redraws. The driver (harness/driver.py) feeds it:
each completion, each fault started and healed, and the leader it polls.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import IO, Any

PLAIN_EVERY = 5.0  # seconds between plain lines when there is no terminal


@dataclass
class RunStatus:
    total: float  # seconds of workload
    elapsed: float = 0.0
    counts: dict[str, int] = field(default_factory=lambda: {"ok": 0, "fail": 0, "info": 0})
    faults: dict[int, str] = field(default_factory=dict)  # id(fault) -> what is in force
    leader: str | None = None
    phase: str = "workload"  # then "heal", "recover", "final reads"
    _rate_mark: tuple[float, int] = (0.0, 0)
    rate: float = 0.0

    def completed(self, kind: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def tick(self, elapsed: float) -> None:
        """Called about once a second: the operation rate over the last interval."""
        t0, n0 = self._rate_mark
        done = sum(self.counts.values())
        if elapsed - t0 >= 1.0:
            self.rate = (done - n0) / (elapsed - t0)
            self._rate_mark = (elapsed, done)
        self.elapsed = elapsed

    def line(self) -> str:
        c = self.counts
        faults = ", ".join(self.faults.values()) or "no fault"
        when = f"{min(self.elapsed, self.total):.0f}/{self.total:g} s"
        if self.phase != "workload":
            when = f"{self.phase} ({self.elapsed:.0f} s)"
        return (
            f"run: {when} | {c['ok']} ok {c['fail']} fail {c['info']} info | "
            f"{self.rate:.0f} ops/s | {faults} | leader {self.leader or '-'}"
        )


def describe_fault(name: str, applied: dict[str, Any]) -> str:
    """A few words for a fault in force: "partition (n3 | n1 n2 n4 n5)", "kill n2"."""
    if applied.get("groups"):
        return f"{name} (" + " | ".join(" ".join(g) for g in applied["groups"]) + ")"
    nodes = applied.get("nodes") or applied.get("targets") or []
    return f"{name} {' '.join(nodes)}".strip() if isinstance(nodes, list) else name


class StatusView:
    """Shows RunStatus lines: rich's Live on a terminal, plain lines otherwise."""

    def __init__(self, stream: IO[str] | None = None, live: bool | None = None):
        self.stream = stream or sys.stderr
        self.live_wanted = self.stream.isatty() if live is None else live
        self._live: Any = None
        self._last_plain = 0.0

    def __enter__(self) -> StatusView:
        if self.live_wanted:
            from rich.console import Console
            from rich.live import Live

            console = Console(file=self.stream)
            self._live = Live("", console=console, transient=True, refresh_per_second=4)
            self._live.__enter__()
        return self

    def update(self, line: str) -> None:
        if self._live is not None:
            from rich.text import Text

            self._live.update(Text(line))
            return
        now = time.monotonic()
        if now - self._last_plain >= PLAIN_EVERY:
            self._last_plain = now
            print(line, file=self.stream, flush=True)

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None
