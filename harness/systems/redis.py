"""Redis 7.0 with Sentinel (Debian's redis-server and redis-sentinel) as a system under test.

- Image: docker/redis.Dockerfile installs both packages on the shared base at build time.
- Members: n1 starts as the primary, the others as its replicas, and a Sentinel runs
  beside each one (docker/redis-member.sh), every Sentinel monitoring the primary with a
  quorum of a majority: Sentinel's documented deployment of three boxes, grown to N.
  Debian's redis.conf is included, then a deployment's changes: listen on the network,
  `appendonly yes` with the option `appendfsync`, `min-replicas-to-write`. Sentinel:
  `down-after-milliseconds` the option `down-after-ms` (default 5000, as deployments that
  want failover in seconds set it and Sentinel's tutorial shows, rather than the packaged
  30000, which would leave a minute's run with one failover at most), `failover-timeout`
  60000 (the tutorial's, beside its 5000; the packaged 180000 would forbid a second
  failover of the same primary for six minutes).
- Client: harness/systems/redis_client.py, redis-py's asyncio client finding the primary
  through the Sentinels as applications do; option `wait: 0 | 1 | 2` sends WAIT for that
  many replicas after each write.
- Status: the primary the Sentinels agree on (a majority of all of them) is the leader, at
  its configuration epoch, so `mode: leader` partitions and `target: leader` faults reach
  it; every member also says what its own server and its own Sentinel believe.
- Faults: partitions and packet faults cut the box (server and Sentinel); kill and pause
  act on redis-server, as a crash or a stall of the data server would, while its Sentinel
  keeps running. Clock faults are refused: libfaketime cannot be preloaded into Debian's
  redis-server at all (jemalloc reads the clock while libfaketime initialises, and
  libfaketime gives up: "Unexpected recursive calls to clock_gettime()"; the server does
  not start).
- What is not checked: Redis replication has no terms, no votes and no committed log to
  hold to a rule; two primaries at once are its documented behaviour under a partition
  ("last failover wins"), and what that costs is what the data's checkers find.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, ClassVar

from harness.systems.base import (
    ClientOptions,
    ImageSpec,
    Option,
    Status,
    System,
    integer,
    one_of,
)

if TYPE_CHECKING:
    from harness.systems.redis_client import RedisClient

PORT = 6379
SENTINEL_PORT = 26379
SERVICE = "mymaster"  # the name the Sentinels monitor the primary under
FAILOVER_TIMEOUT_MS = 60000
IMAGE = ImageSpec(
    "raftquake-redis",
    "docker/redis.Dockerfile",
    ("docker/redis.Dockerfile", "docker/redis-member.sh"),
)


class RedisSystem(System):
    name = "redis"
    OPTIONS: ClassVar[dict[str, Option | tuple[Any, ...] | type]] = {
        "wait": Option(0, one_of((0, 1, 2)), "WAIT for this many replicas after each write"),
        "min-replicas-to-write": Option(
            0, one_of((0, 1, 2)), "the primary refuses writes with fewer good replicas"
        ),
        "appendfsync": Option(
            "everysec", one_of(("everysec", "always")), "the append-only file's fsync policy"
        ),
        "down-after-ms": Option(
            5000, integer(100), "Sentinel's down-after-milliseconds (packaged: 30000)"
        ),
    }
    client_port = PORT
    min_nodes = 3
    workloads: ClassVar[tuple[str, ...]] = ("register", "set")
    unchecked: ClassVar[dict[str, str]] = {
        "election-safety": "Redis replication has no terms or votes to hold to one leader per "
        "term: the primary is whatever Sentinel last configured, and two at once under a "
        "partition is Redis's documented behaviour (the data's checkers find its cost)",
        "log-agreement": "Redis keeps no committed log: replication is asynchronous, and a "
        "demoted primary's data is replaced by a full copy of the new one's",
    }

    def __init__(self, **options: Any):
        super().__init__(**options)
        # Every member's address, from command(): the leader is what a majority of all the
        # Sentinels say, however few members a status probe asks about.
        self.members: dict[str, str] = {}

    def expected_findings(self, workload: str | None = None) -> tuple[str, ...]:
        # Asynchronous replication: a partition that isolates the primary with clients,
        # then a failover, loses the writes it acknowledged meanwhile ("last failover
        # wins", Sentinel's documentation): the set checker's lost elements; the register's
        # linearizable finds them and the stale reads of the deposed primary. WAIT narrows
        # the window for writes but does not close it, and reads never wait.
        found = {"set": ("set",), "register": ("linearizable",)}
        return found.get(workload or "", ("set", "linearizable"))

    def image(self) -> ImageSpec:
        return IMAGE

    def command(self, node: str, ips: dict[str, str]) -> list[str]:
        self.members = dict(ips)
        primary = next(iter(ips.values()))
        return [
            "redis-member",
            "--me", ips[node],
            "--primary", primary,
            "--quorum", str(len(ips) // 2 + 1),
            "--down-after-ms", str(self.options["down-after-ms"]),
            "--failover-timeout-ms", str(FAILOVER_TIMEOUT_MS),
            "--appendfsync", self.options["appendfsync"],
            "--min-replicas-to-write", str(self.options["min-replicas-to-write"]),
        ]  # fmt: skip

    def environment(self) -> dict[str, str]:
        return {"RAFTQUAKE_FAKETIME": "0"}  # see refuses(): it would not even start

    def refuses(self, family: str) -> str | None:
        if family == "clock":
            return (
                "libfaketime cannot be preloaded into Debian's redis-server: jemalloc reads "
                "the clock while libfaketime initialises, libfaketime gives up ('Unexpected "
                "recursive calls to clock_gettime()') and the server does not start; "
                "refused rather than faked"
            )
        return super().refuses(family)  # membership: not a capability it declares

    kept_files: ClassVar[tuple[str, ...]] = (
        "/data/node/sentinel.log",
        "/data/node/sentinel.conf",
        "/data/node/redis.conf",
    )

    def open_client(
        self,
        addrs: dict[str, str],
        timeout: float,
        options: ClientOptions = ClientOptions(),
    ) -> RedisClient:
        from harness.systems.redis_client import RedisClient

        return RedisClient(
            _sentinels(addrs),
            timeout=timeout,
            wait=self.options["wait"],
            **options.kwargs(own_retries=True),
        )

    def statuses(self, addrs: dict[str, str], timeout: float) -> dict[str, Status | None]:
        from harness.systems.redis_client import member_statuses

        everyone = {n: f"{ip}:{PORT}" for n, ip in self.members.items()} or dict(addrs)
        answers = asyncio.run(member_statuses(everyone, SERVICE, SENTINEL_PORT, timeout))
        return {n: answers.get(n) for n in addrs}


def _sentinels(addrs: dict[str, str]) -> dict[str, tuple[str, int]]:
    """node id -> its Sentinel's (host, port), beside its server."""
    return {n: (a.rsplit(":", 1)[0], SENTINEL_PORT) for n, a in addrs.items()}
