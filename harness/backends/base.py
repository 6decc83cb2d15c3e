"""What the runner and the nemesis need from a cluster backend.

A backend runs N nodes and offers the primitives faults are made of. The nemesis
(harness/nemesis/) only talks to this interface, so a fault written once works on
every backend that implements the primitive it uses; a backend that cannot do one
raises `Unsupported` with the reason, and the fault reports it.

`Backend` is what harness/backends/__init__.py's make_backend gives the runner and the
pytest fixtures: a Cluster of a `ClusterSpec` and the event loop its run driver runs on.
"""

from __future__ import annotations

import abc
import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from harness.systems.base import ClientOptions

if TYPE_CHECKING:
    from harness.systems.base import Client, Status, System

T = TypeVar("T")


class ClusterError(RuntimeError):
    """The cluster could not be brought up or driven (exit status 4)."""


class Unsupported(ClusterError):
    """This backend (or this machine) cannot apply the requested fault."""


class Cluster(abc.ABC):
    nodes: list[str]  # node ids, "n1".."nN"; a membership fault's spawn() adds to them
    # node id -> the offset (seconds) its clocks run at from real time, as set_clock last
    # set it; 0.0 for a node never moved. Every backend keeps it (a clock fault reads it to
    # bump from the current offset and to put it back on heal), even one that cannot move
    # clocks, where it stays all zeros.
    clock_offsets: dict[str, float]
    system: System  # the system under test, whose clients open_client makes

    # ---- life cycle ----------------------------------------------------------------

    @abc.abstractmethod
    def start(self) -> None:
        """Brings every node up and waits until each answers `status`."""

    @abc.abstractmethod
    def teardown(self) -> None:
        """Removes everything the cluster created; safe to call twice. Sets `torn_down`."""

    # Set by teardown(): background work (every()) stops.
    torn_down: bool = False

    def __enter__(self) -> Cluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.teardown()

    # ---- observation ---------------------------------------------------------------

    @abc.abstractmethod
    def addrs(self) -> dict[str, str]:
        """node id -> "HOST:PORT" reachable from the harness, for clients."""

    @abc.abstractmethod
    def status(self, node: str, timeout: float = 1.0) -> Status | None:
        """The node's own status, or None when it does not answer."""

    def leader(self) -> str | None:
        """The node that says it leads, in the highest term among those that answer."""
        best: tuple[int, str] | None = None
        for n, st in self.statuses().items():
            if st and st.get("role") == "leader":
                cand = (int(st.get("term", 0)), n)
                best = cand if best is None or cand > best else best
        return best[1] if best else None

    def wait_for_leader(self, timeout: float = 10.0, exclude: set[str] | None = None) -> str:
        """Waits until some node (not in `exclude`) leads; ClusterError after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            lead = self.leader()
            if lead and lead not in (exclude or set()):
                return lead
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"no leader{' other than ' + ', '.join(sorted(exclude)) if exclude else ''} "
                    f"within {timeout:.0f} s; statuses: {self.statuses()}"
                )
            time.sleep(0.1)

    def statuses(self, timeout: float = 1.0) -> dict[str, Status | None]:
        return {n: self.status(n, timeout) for n in self.nodes}

    @abc.abstractmethod
    def collect(self, dest: str | Path) -> None:
        """Copies what the nodes recorded into `dest` (a run folder): for each node,
        nodes/<id>/events.jsonl, its committed log as log.jsonl, and its own log files.
        Called once the run is over, before teardown."""

    # ---- what the run driver uses (harness/driver.py) ------------------------------

    def open_client(self, timeout: float, options: ClientOptions = ClientOptions()) -> Client:
        """A client process of the system under test (System.open_client's, with its
        options), to `addrs()`; a backend that carries requests itself (the simulation)
        overrides it."""
        return self.system.open_client(self.addrs(), timeout, options)

    async def run_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking primitive (a fault, a status probe) from the driver's event loop:
        in a worker thread by default, so clients keep running meanwhile; a backend whose
        primitives return at once in its own time (the simulation) calls them directly."""
        return await asyncio.to_thread(fn, *args)

    # ---- fault primitives ----------------------------------------------------------

    def refuses(self, family: str) -> str | None:
        """Why faults of `family` cannot be applied to the system under test (a Go
        program's clock, say); None when they can. Checked before each fault starts."""
        return None

    def each(self, fn: Callable[[str], object], nodes: list[str]) -> None:
        """fn(node) for every node, raising the first error. In order here; a backend
        whose primitives are slow one by one (Docker execs) runs them in parallel."""
        for node in nodes:
            fn(node)

    @abc.abstractmethod
    def block(self, src: str, dst: str) -> None:
        """Drops what `src` sends to `dst` (one direction)."""

    def block_many(self, pairs: list[tuple[str, str]]) -> None:
        """block(src, dst) for every pair; a backend overrides it to apply them as one batch
        (a partition should start everywhere at once, not link by link)."""
        for src, dst in pairs:
            self.block(src, dst)

    def cut_many(self, pairs: list[tuple[str, str]]) -> None:
        """Both directions of every pair; in one batch where the backend can."""
        self.block_many([p for a, b in pairs for p in ((a, b), (b, a))])

    @abc.abstractmethod
    def heal_network(self) -> None:
        """Removes every block."""

    @abc.abstractmethod
    def kill(self, node: str) -> None:
        """SIGKILL of the node process; its data stays."""

    @abc.abstractmethod
    def restart(self, node: str) -> None:
        """Starts a killed node again on the same data."""

    @abc.abstractmethod
    def pause(self, node: str) -> None: ...

    @abc.abstractmethod
    def resume(self, node: str) -> None: ...

    @abc.abstractmethod
    def set_clock(self, node: str, offset_s: float) -> None:
        """Moves the node's clocks (wall and monotonic) to real time + offset_s."""

    @abc.abstractmethod
    def strobe_clock(self, node: str, delta_s: float, period_s: float) -> None:
        """Flips the node's clock between offset and offset + delta every period."""

    @abc.abstractmethod
    def stop_strobe(self, node: str) -> None: ...

    @abc.abstractmethod
    def set_packet(self, node: str, delay_ms: float = 0.0, loss_pct: float = 0.0) -> None:
        """Delays and/or drops packets the node receives."""

    @abc.abstractmethod
    def clear_packet(self, node: str) -> None: ...

    # ---- membership (harness/nemesis/membership.py) -----------------------------------
    # Unsupported unless a backend offers them: the simulation and Docker do.

    def initial_nodes(self) -> list[str]:
        """The initial configuration (every node's `--peers`); a backend whose membership
        changes overrides it, since `nodes` grows."""
        return list(self.nodes)

    def members(self) -> Status | None:
        """The leader's configuration, committed or not: {"voters", "learners", "addrs",
        "committed", "leader"}; None when no node leads or it does not answer."""
        raise Unsupported("this backend cannot change the membership")

    def member_change(self, action: str, node: str, wait: bool = True) -> None:
        """Ask the leader to "add" (a learner, at its address) or "remove" a member;
        raises when it refuses (another change in flight, no leader). `wait=False`: send
        it and return without waiting for the answer (a backend whose leader answers a
        change only once it commits sends it in the background; errors are dropped)."""
        raise Unsupported("this backend cannot change the membership")

    def wipe(self, node: str) -> None:
        """Stop the node, delete its durable state (its events file stays: the checkers
        read it), start it again empty."""
        raise Unsupported("this backend cannot wipe a node")

    def spawn(self) -> str:
        """Start a fresh node outside the configuration (`--join`); its name."""
        raise Unsupported("this backend cannot add nodes")

    def retire(self, node: str) -> None:
        """Stop and remove a node that spawn() started."""
        raise Unsupported("this backend cannot remove nodes")

    def every(self, period_s: float, poll: Callable[[], bool]) -> None:
        """Call poll() every period_s in the background until it returns True (a thread
        here; the simulation schedules it in virtual time)."""

        def loop() -> None:
            while not self.torn_down:
                try:
                    if poll():
                        return
                except Exception:
                    return
                time.sleep(period_s)

        threading.Thread(target=loop, name="raftquake-every", daemon=True).start()


# ---- what make_backend builds (harness/backends/__init__.py) ----------------------------


class EnvironmentProblem(RuntimeError):
    """The run could not happen here (no Docker engine, image build failed, ...)."""


class Runner(Protocol):
    """Runs a coroutine to completion on the backend's loop (asyncio.run, or the
    simulation's loop in virtual time) and returns its result."""

    def __call__(self, coro: Coroutine[Any, Any, T], /) -> T: ...


@dataclass(frozen=True)
class ClusterSpec:
    """What a backend builds: `nodes` members of `system`."""

    system: System
    nodes: int
    seed: int = 0  # the simulation's (network, timeouts): a seed replays a run
    # Docker: libfaketime re-reads its control file on every clock call, which costs node
    # CPU; only a cluster whose clocks will move pays for it.
    clock_faults: bool = True
    # local: where the nodes keep their data; None: a temporary folder, removed after.
    base_dir: Path | None = None
    name: str = "cluster"  # names that temporary folder
    # ssh: the inventory file naming the hosts (harness/backends/ssh/inventory.py).
    inventory: Path | None = None


@dataclass
class Backend:
    cluster: Cluster
    run: Runner  # runs the driver to completion
    announce: str  # said once the cluster is up ("run: raftnode (read-mode: ...) up")
    clock: Callable[[], int] | None = None  # the history's ns clock; None: monotonic
    details: Callable[[], dict[str, Any]] = field(default=lambda: {})  # for results.json
    cleanup: Callable[[], None] = field(default=lambda: None)  # after teardown
    # In real time: the cluster moves on its own, and a live status line means something.
    # False (the simulation): nothing happens unless `run` runs its loop.
    live: bool = True
