"""The "Test your own system" example of docs/systems.md: tinykv (tinykv_server.py, a one-process
durable key-value server over HTTP) as a raftquake system, defined outside the raftquake
package. A schedule names it by file: `system: tinykv.py:TinyKV` (tinykv.yaml here), and
`pytest -m chaos tests/examples` runs that schedule on Docker.

A system is one class (harness/systems/base.py): its image, the command line of each
member, a status probe, a client, and what to keep at the end.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, ClassVar

import httpx

from harness.systems import DATA_DIR, System
from harness.systems.base import FAIL, OK, UNKNOWN, ClientOptions, ImageSpec, Result

HERE = Path(__file__).resolve().parent
PORT = 8000


class TinyKV(System):
    name = "tinykv"
    client_port = PORT
    kept_files: ClassVar[tuple[str, ...]] = (f"{DATA_DIR}/.",)  # its write log

    def image(self) -> ImageSpec:
        # Built on raftquake's base; tagged by the hash of these files (and node-ctl's).
        return ImageSpec(
            "raftquake-example-tinykv",
            "tinykv.Dockerfile",
            ("tinykv.Dockerfile", "tinykv_server.py"),
            root=HERE,
        )

    def command(self, node: str, ips: dict[str, str]) -> list[str]:
        return ["python3", "/opt/tinykv/server.py", "--id", node,
                "--listen", f"{ips[node]}:{PORT}", "--data-dir", DATA_DIR]  # fmt: skip

    def statuses(self, addrs: dict[str, str], timeout: float) -> dict[str, dict | None]:
        async def one(addr: str) -> dict | None:
            async with httpx.AsyncClient(timeout=timeout, trust_env=False) as http:
                try:
                    return (await http.get(f"http://{addr}/status")).json()
                except httpx.HTTPError:
                    return None

        async def every() -> list[dict | None]:
            return await asyncio.gather(*(one(a) for a in addrs.values()))

        return dict(zip(addrs, asyncio.run(every()), strict=True))

    def open_client(
        self, addrs: dict[str, str], timeout: float, options: ClientOptions = ClientOptions()
    ) -> TinyClient:
        return TinyClient(addrs, timeout, options.home)


class TinyClient:
    """get / put / cas with the history's rules: a request that never left fails; one that
    was sent and not answered may have happened (unknown), unless it was a read."""

    def __init__(self, addrs: dict[str, str], timeout: float, home: str | None):
        self.addr = addrs[home] if home in addrs else next(iter(addrs.values()))
        self.http = httpx.AsyncClient(timeout=timeout, trust_env=False)

    async def _call(self, method: str, path: str, body: dict | None, read: bool) -> Result:
        try:
            res = await self.http.request(method, f"http://{self.addr}{path}", json=body)
        except httpx.ConnectError as exc:  # nothing was sent
            return Result(FAIL, error=f"unreachable: {exc}", node=self.addr)
        except httpx.HTTPError as exc:  # sent; the answer was lost or late
            return Result(FAIL if read else UNKNOWN, error=type(exc).__name__, node=self.addr)
        value = res.json().get("value")
        if res.status_code == 409:
            return Result(FAIL, value, "precondition", self.addr)
        return Result(OK, value, node=self.addr)

    async def get(self, key: str) -> Result:
        return await self._call("GET", f"/kv/{key}", None, read=True)

    async def put(self, key: str, value: Any) -> Result:
        return await self._call("PUT", f"/kv/{key}", {"value": value}, read=False)

    async def cas(self, key: str, expected: Any, new: Any) -> Result:
        body = {"expected": expected, "new": new}
        return await self._call("POST", f"/cas/{key}", body, read=False)

    async def close(self) -> None:
        await self.http.aclose()
