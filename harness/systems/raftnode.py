"""raftnode, this project's own Raft KV node, as a system under test.

Its options live under the schedule's `node:` (read-mode, planted bugs), as they always
have; it is the only system the simulation and the local-process backends run, since
those step or start raftnode itself.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, ClassVar

from harness.systems.base import DATA_DIR, System

PORT = 7000


class RaftnodeSystem(System):
    name = "raftnode"
    client_port = PORT
    simulated = True
    workloads: ClassVar[tuple[str, ...]] = ("register", "list-append", "set", "rw-register", "bank")
    kept_files: ClassVar[tuple[str, ...]] = (f"{DATA_DIR}/.",)  # node.log, events, WAL

    def __init__(
        self,
        read_mode: str = "read-index",
        bugs: tuple[str, ...] | list[str] = (),
        node_args: tuple[str, ...] | list[str] = (),
        snapshot_entries: int | None = None,
    ):
        super().__init__()
        self.read_mode = read_mode
        self.snapshot_entries = snapshot_entries  # None: the node's default
        self.bugs = tuple(bugs)
        self.node_args = tuple(node_args)  # extra `python -m raftnode` options

    def describe(self) -> str:
        bugs = f", bugs: {', '.join(self.bugs)}" if self.bugs else ""
        return f"raftnode (read-mode: {self.read_mode}{bugs})"

    def expected_findings(self) -> tuple[str, ...]:
        from raftnode.bugs import catchers

        return catchers(self.bugs)

    def image(self):
        from harness.backends.docker.image import NODE_IMAGE

        return NODE_IMAGE

    def command(self, node: str, ips: dict[str, str]) -> list[str]:
        peers = ",".join(f"{n}={ip}:{PORT}" for n, ip in ips.items())
        args = [
            "python3", "-m", "raftnode",
            "--id", node,
            "--listen", f"{ips[node]}:{PORT}",
            "--peers", peers,
            "--data-dir", DATA_DIR,
            "--read-mode", self.read_mode,
        ]  # fmt: skip
        for bug in self.bugs:
            args += ["--bug", bug]
        if self.snapshot_entries is not None:
            args += ["--snapshot-entries", str(self.snapshot_entries)]
        return args + list(self.node_args)

    def join_command(self, node: str, ip: str, initial: dict[str, str]) -> list[str]:
        """A new member's command line (the membership fault's `grow`): `--peers` is the
        initial configuration (`initial`: node -> ip), without it, and `--join`."""
        args = self.command(node, {**initial, node: ip})
        args[args.index("--peers") + 1] = ",".join(f"{n}={a}:{PORT}" for n, a in initial.items())
        return [*args, "--join"]

    def member(self, addrs: list[str], action: str, node: str | None = None, addr: str = ""):
        """A `member` request through any of `addrs` (it follows the leader): a Result."""
        from raftnode.client import Client

        async def go():
            async with Client(addrs, timeout=1.5, connect_timeout=0.5) as c:
                return await c.member(action, node, addr)

        return asyncio.run(go())

    def statuses(self, addrs: dict[str, str], timeout: float) -> dict[str, dict[str, Any] | None]:
        nodes = list(addrs)
        answers = _ask([addrs[n] for n in nodes], "status", timeout)
        return dict(zip(nodes, answers, strict=True))

    def open_client(self, addrs: dict[str, str], timeout: float, **options: Any) -> Any:
        from raftnode.client import Client

        return Client(addrs, timeout=timeout, **options)

    def collect(self, node: str, out: Path, addr: str) -> None:
        """Its committed log, as the node reports it, into log.jsonl (one committed entry
        a line, in index order) for the log-agreement checker."""
        log = _ask([addr], "log", 3.0, connect_timeout=1.0)[0]
        if log is not None:
            (out / "log.jsonl").write_text("".join(json.dumps(e) + "\n" for e in log))


def _ask(
    addrs: list[str], request: str, timeout: float, connect_timeout: float | None = None
) -> list[Any]:
    """Ask each node, in parallel, for its `status` or its committed `log`; None for a
    node that does not answer."""
    from raftnode.client import Client

    async def one(addr: str):
        client = Client([addr], timeout=timeout, connect_timeout=connect_timeout or timeout)
        try:
            if request == "status":
                res = await client.status(addr)
            else:
                res = await client.committed_log(addr)
        except OSError:
            return None
        finally:
            await client.close()
        return res.value if res.ok else None

    async def go():
        return await asyncio.gather(*(one(a) for a in addrs))

    return list(asyncio.run(go()))
