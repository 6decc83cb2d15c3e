"""SSH connections to the inventory's hosts (asyncssh), for blocking callers.

The Cluster interface is blocking and its primitives are called from worker threads
(Cluster.run_blocking), so the connections live on an event loop of their own, in a
thread, and each call waits for its coroutine there. Host keys are checked against the
inventory's known_hosts, always.
"""

from __future__ import annotations

import asyncio
import shlex
import threading
import warnings
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from harness.backends.base import ClusterError
from harness.backends.ssh.inventory import Host, Inventory

with warnings.catch_warnings():  # its DSA support warns on import under new cryptography
    warnings.simplefilter("ignore")
    import asyncssh

T = TypeVar("T")


class RemoteError(ClusterError):
    """A command on a host failed, or the host could not be reached."""


class Remotes:
    def __init__(self, inventory: Inventory, connect_timeout: float = 10.0):
        self.inventory = inventory
        self.connect_timeout = connect_timeout
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="ssh", daemon=True)
        self._thread.start()
        self._conns: dict[str, Any] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        """Runs `coro` on the connections' loop; a host that does not answer within
        `timeout` is a RemoteError (a ClusterError: the fault or the run says so)."""
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return fut.result(timeout)
        except TimeoutError:
            fut.cancel()
            raise RemoteError(f"no answer from the host within {timeout:.0f} s") from None

    async def _conn(self, host: Host) -> Any:
        lock = self._locks.setdefault(host.id, asyncio.Lock())
        async with lock:
            conn = self._conns.get(host.id)
            if conn is not None and not conn.is_closed():
                return conn
            kw: dict[str, Any] = {}
            if host.key is not None:
                kw = {"client_keys": [str(host.key)], "agent_path": None}
            try:
                conn = await asyncio.wait_for(
                    asyncssh.connect(
                        host.address,
                        port=host.port,
                        username=host.user,
                        known_hosts=str(self.inventory.known_hosts),
                        **kw,
                    ),
                    self.connect_timeout,
                )
            except (OSError, TimeoutError, asyncssh.Error) as exc:
                raise RemoteError(
                    f"{host.id}: cannot connect to {host.user}@{host.address}:{host.port}: {exc}"
                ) from None
            self._conns[host.id] = conn
            return conn

    async def arun(self, node: str, command: str, check: bool = True) -> tuple[int, str]:
        host = self.inventory.host(node)
        conn = await self._conn(host)
        try:
            res = await conn.run(command, check=False)
        except (OSError, asyncssh.Error) as exc:
            self._conns.pop(node, None)
            raise RemoteError(f"{node}: {command!r} failed: {exc}") from None
        out = str(res.stdout or "") + str(res.stderr or "")
        status = res.exit_status if res.exit_status is not None else 255
        if check and status != 0:
            raise RemoteError(f"{node}: {command!r} exited {status}: {out.strip()[-500:]}")
        return status, out

    def run(self, node: str, command: str, check: bool = True, timeout: float = 60.0) -> str:
        return self._timed(node, command, check, timeout)[1]

    def status_of(self, node: str, command: str, timeout: float = 60.0) -> int:
        return self._timed(node, command, False, timeout)[0]

    def _timed(self, node: str, command: str, check: bool, timeout: float) -> tuple[int, str]:
        try:
            return self.call(self.arun(node, command, check), timeout)
        except RemoteError as exc:
            if str(exc).startswith(f"{node}:"):
                raise
            raise RemoteError(f"{node}: {command!r}: {exc}") from None

    def put_tree(self, node: str, local: Path, remote: str) -> None:
        """Copies folder `local` into folder `remote` (created) over SFTP, as
        `remote/<local's name>`."""

        async def go() -> None:
            conn = await self._conn(self.inventory.host(node))
            await conn.run(f"mkdir -p {shlex.quote(remote)}", check=True)
            async with conn.start_sftp_client() as sftp:
                await sftp.put(str(local), remote, recurse=True)

        self.call(go(), 120.0)

    def write_file(self, node: str, remote: str, data: bytes, mode: int = 0o600) -> None:
        async def go() -> None:
            conn = await self._conn(self.inventory.host(node))
            async with conn.start_sftp_client() as sftp:
                async with sftp.open(remote, "wb", asyncssh.SFTPAttrs(permissions=mode)) as f:
                    await f.write(data)
                await sftp.chmod(remote, mode)

        self.call(go())

    def get_tree(self, node: str, remote: str, local: Path, file: bool = False) -> None:
        """Copies the contents of folder `remote` into `local` over SFTP; with `file`,
        the file `remote` into folder `local` (nothing when it is missing)."""

        async def go() -> None:
            conn = await self._conn(self.inventory.host(node))
            async with conn.start_sftp_client() as sftp:
                if file:
                    if await sftp.isfile(remote):
                        local.mkdir(parents=True, exist_ok=True)
                        await sftp.get(remote, str(local / Path(remote).name))
                    return
                if not await sftp.isdir(remote):
                    return
                local.mkdir(parents=True, exist_ok=True)
                for name in await sftp.listdir(remote):
                    if name in (".", ".."):
                        continue
                    await sftp.get(f"{remote}/{name}", str(local / name), recurse=True)

        self.call(go(), 120.0)

    def close(self) -> None:
        async def go() -> None:
            for conn in self._conns.values():
                conn.close()
            self._conns.clear()

        try:
            self.call(go(), 10.0)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)
