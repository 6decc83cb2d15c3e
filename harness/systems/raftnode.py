"""raftnode, this project's own Raft KV node, as a system under test.

Its options are a system's like any other (`system: {name: raftnode, read-mode: lease,
bugs: [stale-read], snapshot-entries: 100}`); a schedule's `node:` section is still read
as the same options (harness/schedule.py), the way schedules wrote them before. It is the
only system the simulation and the local-process backends run (`backends`), since those
step or start raftnode itself, and the only one that offers membership changes.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from harness.image import NODE_IMAGE
from harness.systems.base import (
    DATA_DIR,
    ClientOptions,
    ImageSpec,
    Option,
    Result,
    Status,
    System,
    integer,
    list_of,
    one_of,
)
from raftnode.bugs import OFFERED as BUGS
from raftnode.client import Client
from raftnode.config import SECRET_ENV
from raftnode.config import SNAPSHOT_ENTRIES as NODE_SNAPSHOT_ENTRIES
from raftnode.core import READ_MODES

PORT = 7000

# A test run snapshots every 100 entries unless its schedule says otherwise, as Jepsen's
# etcd tests run etcd (--snapshot-count 100): the node's own default (10000) would never
# compact in a minute's run, and compaction and InstallSnapshot under faults are where
# real systems break (issue 14). 0 turns snapshots off.
SNAPSHOT_ENTRIES = 100


class RaftnodeSystem(System):
    name = "raftnode"
    client_port = PORT
    OPTIONS: ClassVar[dict[str, Option | tuple[Any, ...] | type]] = {
        "read-mode": Option("read-index", one_of(READ_MODES), "how the leader serves reads"),
        "bugs": Option((), list_of(BUGS), "planted bugs (raftnode/bugs.py)"),
        "snapshot-entries": Option(
            SNAPSHOT_ENTRIES,
            integer(0),
            "snapshot and compact every this many applied entries (0: never)",
        ),
    }
    workloads: ClassVar[tuple[str, ...]] = ("register", "list-append", "set", "rw-register", "bank")
    refused_workloads: ClassVar[dict[str, str]] = {
        "lock": "raftnode has no leases to hold a lock by: its state machine has no clock "
        "(the core is pure, and a lease that expires needs time agreed through the log), "
        "and a lock without a lease is a cas on a register, which the register workload "
        "already checks"
    }
    backends: ClassVar[tuple[str, ...]] = ("docker", "sim", "local", "ssh")
    # On a host: Debian's python3 runs the package, copied there (host_files).
    debian_packages: ClassVar[tuple[str, ...]] = ("python3",)
    capabilities: ClassVar[frozenset[str]] = frozenset({"membership"})
    kept_files: ClassVar[tuple[str, ...]] = (f"{DATA_DIR}/.",)  # node.log, events, WAL

    def __init__(self, node_args: Sequence[str] = (), **options: Any):
        """`options`: OPTIONS (read_mode= for read-mode); `node_args`: more `python -m
        raftnode` options, for tests and benchmarks (--tick-ms, ...), not a schedule's."""
        super().__init__(**options)
        self.node_args = tuple(node_args)
        # The cluster secret its peers authenticate each other's frames with (an HMAC,
        # raftnode/wire.py): new for every run, since every run builds its system; given to
        # the nodes in their environment (environment()), never on their command line.
        # The simulation has no wire and does not use it.
        self.secret = secrets.token_hex(32)

    @classmethod
    def with_node_defaults(cls, node_args: Sequence[str] = (), **options: Any) -> RaftnodeSystem:
        """raftnode with the node's own snapshot interval (raftnode/config.py), as clusters
        built outside a schedule (the chaos_cluster fixture, a DockerCluster or
        LocalCluster given no system) have always run it."""
        return cls(node_args, **{"snapshot-entries": NODE_SNAPSHOT_ENTRIES, **options})

    @property
    def read_mode(self) -> str:
        return str(self.options["read-mode"])

    @property
    def bugs(self) -> tuple[str, ...]:
        return tuple(self.options["bugs"])

    @property
    def snapshot_entries(self) -> int:
        return int(self.options["snapshot-entries"])

    def describe(self) -> str:
        bugs = f", bugs: {', '.join(self.bugs)}" if self.bugs else ""
        return f"raftnode (read-mode: {self.read_mode}{bugs})"

    def expected_findings(self, workload: str | None = None) -> tuple[str, ...]:
        from raftnode.bugs import catchers

        return catchers(self.bugs)

    def image(self) -> ImageSpec:
        return NODE_IMAGE

    def environment(self) -> dict[str, str]:
        return {SECRET_ENV: self.secret}

    def host_files(self) -> tuple[Path, ...]:
        from harness.image import REPO

        return (REPO / "raftnode",)

    def command(self, node: str, ips: dict[str, str]) -> list[str]:
        return self.node_command(node, {n: f"{ip}:{PORT}" for n, ip in ips.items()}, DATA_DIR)

    def node_command(
        self, node: str, addrs: dict[str, str], data_dir: str, python: str = "python3"
    ) -> list[str]:
        """`python -m raftnode` for member `node` of the members at `addrs` (node ->
        HOST:PORT): the container's command (command()) and a local process's
        (harness/backends/local/)."""
        args = [
            python, "-m", "raftnode",
            "--id", node,
            "--listen", addrs[node],
            "--peers", ",".join(f"{n}={a}" for n, a in addrs.items()),
            "--data-dir", data_dir,
            "--read-mode", self.read_mode,
        ]  # fmt: skip
        for bug in self.bugs:
            args += ["--bug", bug]
        args += ["--snapshot-entries", str(self.snapshot_entries)]
        return args + list(self.node_args)

    def join_command(self, node: str, ip: str, initial: dict[str, str]) -> list[str]:
        """A new member's command line (the membership fault's `grow`): `--peers` is the
        initial configuration (`initial`: node -> ip), without it, and `--join`."""
        args = self.command(node, {**initial, node: ip})
        args[args.index("--peers") + 1] = ",".join(f"{n}={a}:{PORT}" for n, a in initial.items())
        return [*args, "--join"]

    def member(
        self, addrs: list[str], action: str, node: str | None = None, addr: str = ""
    ) -> Result:
        """A `member` request through any of `addrs` (it follows the leader)."""

        async def go() -> Result:
            async with Client(addrs, timeout=1.5, connect_timeout=0.5, secret=self.secret) as c:
                return await c.member(action, node, addr)

        return asyncio.run(go())

    def statuses(self, addrs: dict[str, str], timeout: float) -> dict[str, Status | None]:
        nodes = list(addrs)
        answers = _ask([addrs[n] for n in nodes], "status", timeout)
        return dict(zip(nodes, answers, strict=True))

    def open_client(
        self,
        addrs: dict[str, str],
        timeout: float,
        options: ClientOptions = ClientOptions(),
    ) -> Client:
        return Client(addrs, timeout=timeout, **options.kwargs())

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

    async def one(addr: str) -> Any:
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

    async def go() -> list[Any]:
        return await asyncio.gather(*(one(a) for a in addrs))

    return list(asyncio.run(go()))
