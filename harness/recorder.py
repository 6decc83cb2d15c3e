"""Writes the history as it happens: one JSON line per event, flushed.

A run that dies (Ctrl-C, a crash of the harness, a kill -9) still leaves every
event it saw on disk; an invoke without a completion reads as `info`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

NEMESIS = "nemesis"


class HistoryRecorder:
    def __init__(
        self,
        path: str | Path | IO[str],
        fsync: bool = False,
        clock: Callable[[], int] | None = None,
    ):
        """`path`: the history file (appended to), or an open text stream (kept open).
        `clock` gives nanoseconds since the run started; the default is the monotonic
        clock, a simulation passes its virtual time."""
        if isinstance(path, str | Path):
            self.path: Path | None = Path(path)
            self._file: IO[str] = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        else:
            self.path, self._file = None, path
        self._fsync = fsync
        self._index = 0
        t0 = time.monotonic_ns()
        self._clock = clock or (lambda: time.monotonic_ns() - t0)
        self._open: dict[int, dict[str, Any]] = {}  # process -> its open invoke

    def now(self) -> int:
        """Nanoseconds since the run started."""
        return self._clock()

    def _write(self, event: dict[str, Any]) -> dict[str, Any]:
        event = {"index": self._index, "time": self.now(), **event}
        self._index += 1
        # json.dumps's defaults (", " and ": "), so it uses its one cached encoder.
        self._file.write(json.dumps(event) + "\n")
        self._file.flush()
        if self._fsync and self.path is not None:
            os.fsync(self._file.fileno())
        return event

    def invoke(self, process: int, f: str, value: Any, key: str | None = None) -> dict[str, Any]:
        if process in self._open:
            raise ValueError(f"process {process} already has an open operation")
        event: dict[str, Any] = {"process": process, "type": "invoke", "f": f}
        if key is not None:
            event["key"] = key
        event["value"] = value
        self._open[process] = event
        return self._write(event)

    def complete(self, process: int, type_: str, value: Any = None, **extra: Any) -> dict[str, Any]:
        """Complete the process's open operation as `ok`, `fail` or `info`."""
        if type_ not in ("ok", "fail", "info"):
            raise ValueError(f"completion type must be ok, fail or info, not {type_!r}")
        invoke = self._open.pop(process, None)
        if invoke is None:
            raise ValueError(f"process {process} has no open operation")
        event: dict[str, Any] = {"process": process, "type": type_, "f": invoke["f"]}
        if "key" in invoke:
            event["key"] = invoke["key"]
        event["value"] = value
        event.update({k: v for k, v in extra.items() if v is not None})
        return self._write(event)

    def nemesis(self, f: str, value: Any = None) -> dict[str, Any]:
        return self._write({"process": NEMESIS, "type": "info", "f": f, "value": value})

    @property
    def open_processes(self) -> list[int]:
        return sorted(self._open)

    def close(self) -> None:
        if self.path is not None and not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()

    def __enter__(self) -> HistoryRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
