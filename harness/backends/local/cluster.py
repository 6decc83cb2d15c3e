"""A raftnode cluster of real local processes on 127.0.0.1: the `Cluster` interface over
plain subprocesses, for tests, benchmarks and runs without Docker.

Crash is SIGKILL of the process, pause is SIGSTOP (resume SIGCONT), restart starts the
process again on the same data directory. Faults that need a network or clock of the
node's own (partitions, packet delay and loss, clock offsets) raise `Unsupported` with
the reason: every process here shares the host's network namespace and clock.

Besides the blocking `Cluster` methods, async helpers for callers already inside an
event loop (tests and benchmarks driving clients): `astatus`, `astatuses`, `wait_for`,
`wait_leader`, `committed_log`, `client`. They wait with deadlines, never sleep-and-hope.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from harness.backends.base import Cluster, ClusterError, Unsupported
from harness.systems.base import Status
from harness.systems.raftnode import RaftnodeSystem
from raftnode.client import Client

NO_NETNS = "local processes share one network namespace: no per-node iptables"
NO_CLOCK = "local processes share the host's clock: no per-node libfaketime"
NO_NETEM = "local processes share one network interface: no per-node netem or iptables"


def free_ports(n: int) -> list[int]:
    """n distinct ports that are free now (bound together, so they differ)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class LocalCluster(Cluster):
    def __init__(
        self,
        size: int,
        base_dir: str | Path,
        system: RaftnodeSystem | None = None,
        ready_timeout: float = 15.0,
    ):
        """`system`: what the nodes run; None: raftnode as clusters built outside a
        schedule have always run it (RaftnodeSystem.with_node_defaults)."""
        self.base_dir = Path(base_dir)
        self.system = system or RaftnodeSystem.with_node_defaults()
        self.ready_timeout = ready_timeout
        self.nodes = [f"n{i}" for i in range(1, size + 1)]
        self.ports = dict(zip(self.nodes, free_ports(size), strict=True))
        self.procs: dict[str, subprocess.Popen] = {}
        self.paused: set[str] = set()
        self.clock_offsets = dict.fromkeys(self.nodes, 0.0)  # never moves: see NO_CLOCK

    # ---- processes -----------------------------------------------------------------

    def addrs(self) -> dict[str, str]:
        return {n: f"127.0.0.1:{p}" for n, p in self.ports.items()}

    def data_dir(self, node: str) -> Path:
        return self.base_dir / node

    def stderr_path(self, node: str) -> Path:
        return self.base_dir / f"{node}.stderr"

    def command(self, node: str) -> list[str]:
        return self.system.node_command(
            node, self.addrs(), str(self.data_dir(node)), python=sys.executable
        )

    def env(self) -> dict[str, str]:
        """A node process's environment: ours, and the system's (raftnode's cluster
        secret): a process a test starts by hand beside the cluster needs it too."""
        return {**os.environ, **self.system.environment(), "PYTHONUNBUFFERED": "1"}

    def _spawn(self, node: str) -> None:
        if self.is_running(node):
            raise ClusterError(f"{node} is already running")
        self.data_dir(node).mkdir(parents=True, exist_ok=True)
        with open(self.stderr_path(node), "ab") as err:
            self.procs[node] = subprocess.Popen(
                self.command(node), stdout=subprocess.DEVNULL, stderr=err,
                env=self.env(),
            )  # fmt: skip
        self.paused.discard(node)

    def is_running(self, node: str) -> bool:
        p = self.procs.get(node)
        return p is not None and p.poll() is None

    def running(self) -> list[str]:
        return [n for n in self.nodes if self.is_running(n)]

    def live(self) -> list[str]:
        """Running and not paused."""
        return [n for n in self.running() if n not in self.paused]

    # ---- life cycle (Cluster) --------------------------------------------------------

    def start(self) -> None:
        """Starts every node that is not running and waits until each answers status;
        ClusterError (with the end of its stderr) when one exits or stays silent."""
        for node in self.nodes:
            if not self.is_running(node):
                self._spawn(node)
        self.wait_ready(self.ready_timeout)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pending = set(self.nodes)
        while True:
            answers = self.statuses(timeout=0.5, nodes=sorted(pending))
            pending -= {n for n, st in answers.items() if st is not None}
            if not pending:
                return
            for node in sorted(pending):
                if not self.is_running(node):
                    raise ClusterError(
                        f"{node} exited during start-up; end of its stderr:\n"
                        + self.stderr_tail(node)
                    )
            if time.monotonic() > deadline:
                node = sorted(pending)[0]
                raise ClusterError(
                    f"{', '.join(sorted(pending))} not answering status after {timeout:.0f} s; "
                    f"end of {node}'s stderr:\n{self.stderr_tail(node)}"
                )
            time.sleep(0.05)

    def stderr_tail(self, node: str, lines: int = 30) -> str:
        try:
            text = self.stderr_path(node).read_text(errors="replace")
        except OSError as exc:
            return f"(no stderr: {exc.strerror})"
        return "\n".join(text.splitlines()[-lines:])

    def teardown(self) -> None:
        """Kills every process this cluster started; their data directories stay (the
        caller owns base_dir). Safe to call twice."""
        self.torn_down = True
        for node, p in self.procs.items():
            if p.poll() is None:
                try:
                    p.send_signal(signal.SIGCONT)  # a stopped process would not die at once
                    p.send_signal(signal.SIGKILL)
                    p.wait(10)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    pass
            self.paused.discard(node)

    # ---- observation (Cluster) ---------------------------------------------------------

    def status(self, node: str, timeout: float = 1.0) -> Status | None:
        """Blocking; from inside an event loop, await `astatus` instead."""
        return asyncio.run(self.astatus(node, timeout))

    def statuses(
        self, timeout: float = 1.0, nodes: list[str] | None = None
    ) -> dict[str, Status | None]:
        """Every node (or `nodes`), asked at once: a paused node costs one timeout in all."""
        nodes = list(self.nodes if nodes is None else nodes)

        async def ask() -> list[Status | None]:
            return await asyncio.gather(*(self.astatus(n, timeout) for n in nodes))

        return dict(zip(nodes, asyncio.run(ask()), strict=True))

    def collect(self, dest: str | Path) -> None:
        """Each node's data directory (node.log, events.jsonl, WAL) into dest/nodes/<id>/,
        its stderr as console.log and its committed log as log.jsonl: Docker's layout."""
        for node in self.nodes:
            out = Path(dest) / "nodes" / node
            out.mkdir(parents=True, exist_ok=True)
            try:
                if self.data_dir(node).is_dir():
                    shutil.copytree(self.data_dir(node), out, dirs_exist_ok=True)
                if self.stderr_path(node).is_file():
                    shutil.copyfile(self.stderr_path(node), out / "console.log")
            except OSError as exc:  # a collection error must not hide the run's result
                (out / "collect-error.txt").write_text(f"{exc}\n")
            try:
                log = asyncio.run(self.committed_log(node))
            except (OSError, RuntimeError):
                continue  # not answering: log agreement says it lacks this node's log
            (out / "log.jsonl").write_text("".join(json.dumps(e) + "\n" for e in log))

    # ---- what the run driver uses (Cluster) ----------------------------------------------

    # ---- fault primitives (Cluster) ------------------------------------------------------

    def kill(self, node: str) -> None:
        """kill -9 and reap."""
        p = self.procs[node]
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait(10)
        self.paused.discard(node)

    def restart(self, node: str) -> None:
        """Starts a killed node again on its data directory (it does not wait for it)."""
        self._spawn(node)

    def pause(self, node: str) -> None:
        self.procs[node].send_signal(signal.SIGSTOP)
        self.paused.add(node)

    def resume(self, node: str) -> None:
        self.procs[node].send_signal(signal.SIGCONT)
        self.paused.discard(node)

    def block(self, src: str, dst: str) -> None:
        raise Unsupported(f"partition: {NO_NETNS}")

    def set_clock(self, node: str, offset_s: float) -> None:
        raise Unsupported(f"clock: {NO_CLOCK}")

    def strobe_clock(self, node: str, delta_s: float, period_s: float) -> None:
        raise Unsupported(f"clock: {NO_CLOCK}")

    def set_packet(self, node: str, delay_ms: float = 0.0, loss_pct: float = 0.0) -> None:
        raise Unsupported(f"packet: {NO_NETEM}")

    # Undoing: nothing above can have been applied, so there is nothing to undo (and a
    # final "heal everything" must not fail on a backend that offers no such fault).
    def heal_network(self) -> None:
        pass

    def stop_strobe(self, node: str) -> None:
        pass

    def clear_packet(self, node: str) -> None:
        pass

    # ---- beyond the interface: what the process tests use --------------------------------

    def kill_all(self) -> None:
        """kill -9 every running node at (nearly) the same instant, then reap them."""
        running = self.running()
        for n in running:
            self.procs[n].send_signal(signal.SIGKILL)
        for n in running:
            self.procs[n].wait(10)
            self.paused.discard(n)

    def terminate(self, node: str, timeout: float = 10.0) -> int:
        """SIGTERM (a clean stop); returns the exit status."""
        p = self.procs[node]
        if node in self.paused:
            self.resume(node)
        p.send_signal(signal.SIGTERM)
        return p.wait(timeout)

    # ---- async helpers, for callers inside an event loop -----------------------------------

    def client(self, timeout: float = 3.0, **kw: Any) -> Client:
        return Client(self.addrs(), timeout=timeout, **kw)

    async def astatus(self, node: str, timeout: float = 0.5) -> dict[str, Any] | None:
        c = Client([self.addrs()[node]], timeout=timeout, connect_timeout=timeout)
        try:
            r = await c.status()
            return r.value if r.ok else None
        except OSError:
            return None
        finally:
            await c.close()

    async def astatuses(self, nodes: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """The live nodes' (or `nodes`') statuses, only of those that answer."""
        nodes = list(self.live() if nodes is None else nodes)
        got = await asyncio.gather(*(self.astatus(n) for n in nodes))
        return {n: s for n, s in zip(nodes, got, strict=True) if s is not None}

    async def wait_for(
        self, what: str, check: Callable[[dict[str, dict]], object], deadline: float = 15.0
    ) -> Any:
        """Poll the live nodes' statuses until check(statuses) is truthy; return its value."""
        end = time.monotonic() + deadline
        last: dict[str, dict] = {}
        while time.monotonic() < end:
            last = await self.astatuses()
            got = check(last)
            if got:
                return got
            await asyncio.sleep(0.05)
        raise TimeoutError(f"gave up after {deadline:.0f} s waiting for {what}; statuses: {last}")

    async def wait_leader(self, exclude: Iterable[str] = (), deadline: float = 15.0) -> str:
        """A leader every live node agrees on (same leader, same term)."""
        excluded = set(exclude)

        def agreed(st: dict[str, dict]) -> str | None:
            leaders = {(s["leader"], s["term"]) for s in st.values()}
            if len(st) < len(self.live()) or len(leaders) != 1:
                return None
            leader, _term = leaders.pop()
            if leader is None or leader in excluded or leader not in st:
                return None
            return leader if st[leader]["role"] == "leader" else None

        return await self.wait_for("an agreed leader", agreed, deadline)

    async def committed_log(self, node: str) -> list[dict]:
        addr = self.addrs()[node]
        c = Client([addr], timeout=5.0)
        try:
            r = await c.committed_log(addr)
            if not r.ok:
                raise RuntimeError(f"{node}: log request failed: {r.error}")
            return r.value
        finally:
            await c.close()
