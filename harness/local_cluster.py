"""A raftnode cluster of real local processes on 127.0.0.1, for the smoke run, tests and
benchmarks: start, kill -9, pause (SIGSTOP) and resume nodes, and wait for conditions
with deadlines (never sleep-and-hope)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from raftnode.client import Client


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


@dataclass
class LocalCluster:
    size: int
    base_dir: Path
    read_mode: str = "read-index"
    bugs: tuple[str, ...] = ()
    tick_ms: float = 50.0
    election_ticks: int = 10
    fsync: bool = True
    extra_args: tuple[str, ...] = ()
    ids: list[str] = field(init=False)
    ports: dict[str, int] = field(init=False)
    procs: dict[str, subprocess.Popen] = field(init=False, default_factory=dict)
    paused: set[str] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        self.base_dir = Path(self.base_dir)
        self.ids = [f"n{i}" for i in range(1, self.size + 1)]
        self.ports = dict(zip(self.ids, free_ports(self.size), strict=True))

    # ---- processes -----------------------------------------------------------------

    @property
    def addrs(self) -> dict[str, str]:
        return {i: f"127.0.0.1:{p}" for i, p in self.ports.items()}

    def data_dir(self, node: str) -> Path:
        return self.base_dir / node

    def command(self, node: str) -> list[str]:
        peers = ",".join(f"{i}={a}" for i, a in self.addrs.items())
        cmd = [
            sys.executable, "-m", "raftnode",
            "--id", node,
            "--listen", self.addrs[node],
            "--peers", peers,
            "--data-dir", str(self.data_dir(node)),
            "--read-mode", self.read_mode,
            "--tick-ms", str(self.tick_ms),
            "--election-ticks", str(self.election_ticks),
        ]  # fmt: skip
        for b in self.bugs:
            cmd += ["--bug", b]
        if not self.fsync:
            cmd.append("--no-fsync")
        return cmd + list(self.extra_args)

    def start(self, node: str) -> None:
        if node in self.procs and self.procs[node].poll() is None:
            raise RuntimeError(f"{node} is already running")
        self.data_dir(node).mkdir(parents=True, exist_ok=True)
        err = open(self.base_dir / f"{node}.stderr", "ab")  # noqa: SIM115
        try:
            self.procs[node] = subprocess.Popen(
                self.command(node), stdout=subprocess.DEVNULL, stderr=err,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
        finally:
            err.close()
        self.paused.discard(node)

    def start_all(self) -> None:
        for n in self.ids:
            self.start(n)

    def running(self) -> list[str]:
        return [n for n, p in self.procs.items() if p.poll() is None]

    def live(self) -> list[str]:
        """Running and not paused."""
        return [n for n in self.running() if n not in self.paused]

    def kill(self, node: str) -> None:
        """kill -9 and reap."""
        p = self.procs[node]
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait(10)
        self.paused.discard(node)

    def kill_all(self) -> None:
        """kill -9 every running node at (nearly) the same instant, then reap them."""
        running = [n for n in self.running()]
        for n in running:
            self.procs[n].send_signal(signal.SIGKILL)
        for n in running:
            self.procs[n].wait(10)
            self.paused.discard(n)

    def terminate(self, node: str, timeout: float = 10.0) -> int:
        p = self.procs[node]
        if node in self.paused:
            self.resume(node)
        p.send_signal(signal.SIGTERM)
        return p.wait(timeout)

    def pause(self, node: str) -> None:
        self.procs[node].send_signal(signal.SIGSTOP)
        self.paused.add(node)

    def resume(self, node: str) -> None:
        self.procs[node].send_signal(signal.SIGCONT)
        self.paused.discard(node)

    def close(self) -> None:
        """Kill every process this cluster started (always call, e.g. in teardown)."""
        for n, p in self.procs.items():
            if p.poll() is None:
                try:
                    p.send_signal(signal.SIGCONT)
                    p.send_signal(signal.SIGKILL)
                    p.wait(10)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    pass
            self.paused.discard(n)

    def __enter__(self) -> LocalCluster:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- observing -----------------------------------------------------------------

    def client(self, timeout: float = 3.0, **kw) -> Client:
        return Client(self.addrs, timeout=timeout, **kw)

    async def status(self, node: str, timeout: float = 0.5) -> dict | None:
        c = Client([self.addrs[node]], timeout=timeout)
        try:
            r = await c.status()
            return r.value if r.ok else None
        finally:
            await c.close()

    async def statuses(self, nodes: Iterable[str] | None = None) -> dict[str, dict]:
        nodes = list(self.live() if nodes is None else nodes)
        got = await asyncio.gather(*(self.status(n) for n in nodes))
        return {n: s for n, s in zip(nodes, got, strict=True) if s is not None}

    async def wait_for(
        self, what: str, check: Callable[[dict[str, dict]], object], deadline: float = 15.0
    ):
        """Poll the live nodes' statuses until check(statuses) is truthy; return its value."""
        end = time.monotonic() + deadline
        last: dict[str, dict] = {}
        while time.monotonic() < end:
            last = await self.statuses()
            got = check(last)
            if got:
                return got
            await asyncio.sleep(0.05)
        raise TimeoutError(f"gave up after {deadline:.0f} s waiting for {what}; statuses: {last}")

    async def wait_leader(self, exclude: Iterable[str] = (), deadline: float = 15.0) -> str:
        """A leader every live node agrees on (same leader, same term)."""
        excluded = set(exclude)

        def agreed(st: dict[str, dict]):
            leaders = {(s["leader"], s["term"]) for s in st.values()}
            if len(st) < len(self.live()) or len(leaders) != 1:
                return None
            leader, _term = leaders.pop()
            if leader is None or leader in excluded or leader not in st:
                return None
            return leader if st[leader]["role"] == "leader" else None

        return await self.wait_for("an agreed leader", agreed, deadline)

    async def committed_log(self, node: str) -> list[dict]:
        c = Client([self.addrs[node]], timeout=5.0)
        try:
            r = await c.committed_log(self.addrs[node])
            if not r.ok:
                raise RuntimeError(f"{node}: log request failed: {r.error}")
            return r.value
        finally:
            await c.close()
