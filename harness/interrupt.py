"""Ctrl-C and SIGTERM, one way for every command that runs something (`run`, `hunt`, a
batch's runs): a request to stop, never an exception in the middle of an event loop.

Python's default turns SIGINT into a KeyboardInterrupt raised wherever the main thread
happens to be. Raised inside an asyncio loop's own machinery (the simulation steps its
nodes inside the loop's selector), it leaves the loop's tasks half run: the loop is
closed under them ("Event loop is closed", "Task was destroyed but it is pending!") and
the run's results are never written. So while a signal handler from `handling()` is in
force, the first SIGINT or SIGTERM is handled by the innermost of:

- `on_stop(callback)`: the run driver's stop request (it ends the workload, heals and
  returns what it did, harness/driver.py); the callback only schedules that on the loop;
- `deferred()`: code that must finish (tearing a cluster down, writing results) only
  records the request; the code after it asks `requested()`;
- otherwise (plain code: starting a cluster, checking a history), KeyboardInterrupt is
  raised at once, as Python would, and the caller turns it into an interrupted run.

A signal after the first one says the command is stopping and changes nothing, unless
nothing is deferred or listening (checking a history): then it raises again, so a
second Ctrl-C skips a long check.

`stop_at(deadline)` stops runs the same way when a time limit ends (a hunt's time
budget): the run in progress, through its `on_stop` callback, and any run that starts
after it; the command itself is not interrupted (`requested()` stays None).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass
class _Deadline:
    at: float  # time.monotonic()
    passed: bool = False


@dataclass
class _State:
    installed: int = 0  # nesting depth of handling()
    received: str | None = None  # the first signal's name, once one came
    deferring: int = 0  # depth of deferred()
    stops: list[Callable[[], None]] | None = None  # on_stop() callbacks, innermost last
    said: bool = False  # "already stopping" was said once
    deadline: _Deadline | None = None  # stop_at()'s, innermost


_state = _State(stops=[])


def _handler(signum: int, _frame: object) -> None:
    name = signal.Signals(signum).name
    first = _state.received is None
    if first:
        _state.received = name
    if _state.stops:
        if first:
            _state.stops[-1]()
        else:
            _already()
        return
    if _state.deferring:
        if not first:
            _already()
        return
    raise KeyboardInterrupt


def _already() -> None:
    if not _state.said:
        _state.said = True
        print(
            "raftquake: stopping: healing faults and removing what the run started "
            "(kill -9 would leave it for `raftquake clean`)",
            file=sys.stderr,
            flush=True,
        )


@contextlib.contextmanager
def handling() -> Iterator[None]:
    """SIGINT and SIGTERM handled as above for the block (re-entrant: an inner use, e.g.
    a run inside a hunt, shares the outer one's state). Outside the main thread signals
    cannot be handled, and the block runs without."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if _state.installed:
        _state.installed += 1
        try:
            yield
        finally:
            _state.installed -= 1
        return
    old = {s: signal.getsignal(s) for s in SIGNALS}
    _state.received, _state.said, _state.deferring, _state.stops = None, False, 0, []
    for s in SIGNALS:
        signal.signal(s, _handler)
    _state.installed = 1
    try:
        yield
    finally:
        _state.installed = 0
        for s, h in old.items():
            signal.signal(s, h)


def requested() -> str | None:
    """The name of the signal that asked to stop ("SIGINT", "SIGTERM"), or None."""
    return _state.received


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """A signal in the block is recorded, not raised: the block runs to its end."""
    _state.deferring += 1
    try:
        yield
    finally:
        _state.deferring -= 1


@contextlib.contextmanager
def on_stop(callback: Callable[[], None]) -> Iterator[None]:
    """`callback` is how the block stops on a signal; called at once when one already
    came. It runs inside a signal handler: it should only schedule the stop (e.g.
    `loop.call_soon_threadsafe`)."""
    assert _state.stops is not None
    _state.stops.append(callback)
    try:
        if _state.received is not None or expired():
            callback()
        yield
    finally:
        _state.stops.remove(callback)


@contextlib.contextmanager
def stop_at(deadline: float) -> Iterator[None]:
    """At `deadline` (time.monotonic()), the run in progress in the block stops as on a
    signal (its on_stop callback, called from a timer thread: callbacks only schedule the
    stop, thread-safely), and one that starts later stops at once; `expired()` then says
    so. Nothing else is stopped: code between runs asks `expired()`."""
    d = _Deadline(deadline)
    outer, _state.deadline = _state.deadline, d
    timer = None
    if deadline != float("inf"):
        timer = threading.Timer(max(0.0, deadline - time.monotonic()), _expire, (d,))
        timer.daemon = True
        timer.start()
    try:
        yield
    finally:
        if timer is not None:
            timer.cancel()
        _state.deadline = outer


def _expire(d: _Deadline) -> None:
    d.passed = True
    stops = list(_state.stops or [])
    if _state.deadline is d and stops:
        try:
            stops[-1]()
        except RuntimeError:
            pass  # the run's loop closed as the deadline came: that run ended by itself


def expired() -> bool:
    """Whether the innermost stop_at()'s deadline has passed."""
    return _state.deadline is not None and _state.deadline.passed


def child_reset() -> None:
    """In a forked worker process: forget the parent's signal state (its handlers came
    along with the fork), ignore SIGINT (the parent coordinates a Ctrl-C, which the
    terminal sends to every process of the group) and let SIGTERM stop the worker's run."""
    _state.installed, _state.received, _state.said, _state.deferring = 0, None, False, 0
    _state.stops = []
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _handler)
    _state.installed = 1
