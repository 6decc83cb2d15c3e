"""ZooKeeper 3.8 (Debian's zookeeperd) as a system under test.

- Image: docker/zookeeper.Dockerfile installs zookeeperd (and its OpenJDK 17) on the shared
  base at build time.
- Members: an ensemble of every node (docker/zk-member.sh), each run as Debian's init
  script runs it, with Debian's packaged timing (tickTime 2000 ms, initLimit 10, syncLimit
  5): a follower cut off from its leader notices within syncLimit ticks (10 s), and serves
  reads from what it has until then.
- Client: harness/systems/zookeeper_client.py, kazoo. A znode per key; a write is
  setData (create when absent), a cas setData with the version the read saw, a read
  getData, after sync() with the option `reads: sync` (default `plain`: ZooKeeper's reads
  are sequentially consistent per client, not linearizable, and `sync()` is how its
  documentation says to read up to date).
- Status: each server's `srvr` four-letter word (Mode and the last zxid, whose high 32
  bits are the epoch); the leader is the server in Mode: leader of the highest epoch.
- Election safety: from each server's own log (harness/systems/zookeeper_log.py) as
  events.jsonl: LEADING / FOLLOWING / LOOKING with the epoch of the zxid the leader
  announces once a quorum has followed it.
- Faults: partition, kill, pause and packet act on the box and the JVM; clock faults move
  both the JVM's clocks (libfaketime reaches them: OpenJDK 17 reads currentTimeMillis and
  nanoTime through libc's clock_gettime, checked with a bump of +100 s on each).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from harness.systems.base import ClientOptions, ImageSpec, Option, Status, System, one_of

if TYPE_CHECKING:
    from harness.systems.zookeeper_client import ZooKeeperClient

CLIENT_PORT = 2181
IMAGE = ImageSpec(
    "raftquake-zookeeper",
    "docker/zookeeper.Dockerfile",
    ("docker/zookeeper.Dockerfile", "docker/zk-member.sh"),
)


class ZooKeeperSystem(System):
    name = "zookeeper"
    OPTIONS: ClassVar[dict[str, Option | tuple[Any, ...] | type]] = {
        "reads": Option(
            "plain",
            one_of(("plain", "sync")),
            "sync: every read calls sync() first, through the leader",
        )
    }
    client_port = CLIENT_PORT
    min_nodes = 3
    workloads: ClassVar[tuple[str, ...]] = ("register",)
    unchecked: ClassVar[dict[str, str]] = {
        "log-agreement": "ZooKeeper keeps its transaction log in a binary format of its own and "
        "exposes no committed-log dump to compare"
    }

    def expected_findings(self, workload: str | None = None) -> tuple[str, ...]:
        # A plain read is answered from the server's own state: under a partition a
        # follower cut off from its leader answers stale values until it gives up on the
        # leader (syncLimit ticks), and the clients connected to it see them.
        return ("linearizable",) if self.options["reads"] == "plain" else ()

    def image(self) -> ImageSpec:
        return IMAGE

    def command(self, node: str, ips: dict[str, str]) -> list[str]:
        servers = ",".join(f"{_myid(n)}={ip}" for n, ip in ips.items())
        return ["zk-member", "--id", str(_myid(node)), "--servers", servers]

    kept_files: ClassVar[tuple[str, ...]] = ("/data/node/zoo.cfg",)

    def open_client(
        self,
        addrs: dict[str, str],
        timeout: float,
        options: ClientOptions = ClientOptions(),
    ) -> ZooKeeperClient:
        from harness.systems.zookeeper_client import ZooKeeperClient

        return ZooKeeperClient(
            addrs,
            timeout=timeout,
            sync=self.options["reads"] == "sync",
            **options.kwargs(own_retries=True),
        )

    def statuses(self, addrs: dict[str, str], timeout: float) -> dict[str, Status | None]:
        from harness.systems.zookeeper_client import server_statuses

        return asyncio.run(server_statuses(addrs, timeout))

    def collect(self, node: str, out: Path, addr: str) -> None:
        from harness.systems.zookeeper_log import write_events

        write_events(out / "console.log", node, out / "events.jsonl")


def _myid(node: str) -> int:
    """ZooKeeper's server id of node n<k>: k."""
    return int(node.lstrip("n"))
