"""An asyncio event loop in the simulation's virtual time.

The run driver (harness/driver.py) is asyncio code: clients, the nemesis and the final
reads sleep, time out and wait on answers. On Docker it runs on the ordinary loop in
real time; on the simulated backend it runs here, where `loop.time()` is the
simulation's clock and "waiting" means running the simulation's own events (message
deliveries, ticks, fsyncs) up to the next moment something in the loop can proceed.
So one driver serves both, and a seed still fixes everything: nothing here reads a
real clock or does real I/O, and asyncio itself orders ready callbacks first in, first
out and timers by their time (ties in the order they were set).

How it works: asyncio's loop asks its selector to wait at most `timeout` seconds for
I/O. Our selector instead runs simulation events, in order, until an event has made a
callback ready in the loop (an answer resolved a client's future) or the next event
lies beyond the timeout, in which case the simulated clock moves to the timeout.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

from harness.backends.sim.cluster import SimCluster


class SimulationStalled(RuntimeError):
    """The loop waits for something, yet neither it nor the simulation has anything left
    to run: a driver bug (it would hang forever on a real loop too)."""


class _SimSelector:
    """The loop's "selector": runs the simulation instead of waiting for I/O."""

    def __init__(self, loop: VirtualTimeLoop, sim: SimCluster):
        self._loop = loop
        self._sim = sim
        # VirtualTimeLoop.run_until's condition: asked after every loop turn and every
        # simulation event (None: nobody waits on one, as in a run).
        self.watch: Callable[[], None] | None = None

    def select(self, timeout: float | None) -> list[Any]:
        sim = self._sim
        deadline = math.inf if timeout is None else sim.now + timeout * 1000.0
        ready = self._loop._ready  # asyncio's queue of runnable callbacks
        step, next_time = sim.step_event, sim.next_event_time
        watch = self.watch
        if watch is not None:
            watch()
        while not ready:
            nxt = next_time()
            if nxt is None or nxt > deadline:
                if deadline == math.inf:
                    raise SimulationStalled(
                        f"at {sim.now:.3f} ms the driver waits for something no simulated "
                        "event will ever bring"
                    )
                sim.now = max(sim.now, deadline)
                break
            step()
            if watch is not None:
                watch()
        return []

    def close(self) -> None:
        pass


class VirtualTimeLoop(asyncio.BaseEventLoop):
    """`loop.run_until_complete(drive(...))` runs a coroutine in `sim`'s virtual time.

    Only what a simulated run needs: callbacks, timers, futures and tasks. Sockets,
    subprocesses, threads and signals belong to real backends and are not offered.
    """

    def __init__(self, sim: SimCluster):
        super().__init__()
        self.sim = sim
        self._selector = _SimSelector(self, sim)
        # A virtual clock has no resolution to speak of: a timer is due exactly at its time.
        self._clock_resolution = 1e-9

    def time(self) -> float:
        return self.sim.now / 1000.0

    def _process_events(self, event_list: list[Any]) -> None:
        pass  # no I/O: the selector ran the simulation

    def _write_to_self(self) -> None:
        pass  # single-threaded: nothing to wake up

    def run_in_executor(self, executor, func, *args):  # type: ignore[override]
        raise NotImplementedError("a simulated run calls the cluster directly, not in threads")

    def run_until(self, done: Callable[[], bool], timeout_s: float) -> bool:
        """Run the loop, and with it the simulation, until done() holds or timeout_s of
        virtual time passed; returns done(). done() is asked after every simulation event
        and every loop turn, so a scenario (a test) can act exactly where a condition first
        holds: a vote granted, a write under way, an operation of a task completed."""
        if done():
            return True
        fut = self.create_future()

        def check() -> None:
            if not fut.done() and done():
                fut.set_result(True)

        def expire() -> None:
            if not fut.done():
                fut.set_result(False)

        timer = self.call_later(timeout_s, expire)
        self._selector.watch = check
        try:
            return self.run_until_complete(fut) or done()
        finally:
            self._selector.watch = None
            timer.cancel()


def run_in_virtual_time(sim: SimCluster, coro: Any) -> Any:
    """Run `coro` to completion on a fresh VirtualTimeLoop over `sim`; returns its result.
    As asyncio.run does, tasks still pending at the end are cancelled and run to their
    end before the loop closes: a task left on a closed loop fails when the simulation
    later resolves what it waited for ("Event loop is closed")."""
    loop = VirtualTimeLoop(sim)
    try:
        return loop.run_until_complete(coro)
    finally:
        try:
            _cancel_pending(loop)
        finally:
            loop.close()


def _cancel_pending(loop: VirtualTimeLoop) -> None:
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for t in pending:
        t.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
