"""etcd 3.4 (Debian's etcd-server) as a system under test.

- Image: docker/etcd.Dockerfile on the shared base (the offline base carries
  etcd-server; a registry base installs it from Debian), with node-ctl and netdelay.
- Members: `etcd` with a static initial cluster; a killed member restarts on its data
  directory (etcd then ignores the initial-cluster flags, as it should).
- Client: harness/systems/etcd_client.py, the v3 JSON gateway over httpx: registers,
  transactions (a read, then a Txn guarded by each key's mod_revision), bank transfers, and
  locks (etcd's lock API with leases). Option `reads: linearizable | serializable`: a
  serializable read is answered from the member's own state without a quorum round, so
  stale reads are etcd's documented behaviour there.
- Faults: partition, kill, pause and packet act on the container and the process, as for
  any system. Clock faults are refused: libfaketime works by preloading into libc's clock
  calls, and Go reads the clock through the vDSO and raw system calls, so it would be a
  fault that does nothing while the report said it happened.
- Election safety: etcd's own log (zap JSON) says when a member becomes leader, follower
  or candidate and in which term (harness/systems/etcd_log.py turns it into
  events.jsonl). etcd does not expose its committed log, so log-agreement has nothing to
  read: etcd's shipped schedules do not ask for it.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from harness.systems.base import (
    DATA_DIR,
    ClientOptions,
    ImageSpec,
    Option,
    Status,
    System,
    one_of,
)

if TYPE_CHECKING:
    from harness.systems.etcd_client import EtcdClient

CLIENT_PORT = 2379
PEER_PORT = 2380
IMAGE = ImageSpec("raftquake-etcd", "docker/etcd.Dockerfile", ("docker/etcd.Dockerfile",))


class EtcdSystem(System):
    name = "etcd"
    OPTIONS: ClassVar[dict[str, Option | tuple[Any, ...] | type]] = {
        "reads": Option(
            "linearizable",
            one_of(("linearizable", "serializable")),
            "serializable: a member answers reads from its own state, without a quorum",
        )
    }
    # register through get/put/cas; list-append, rw-register and set through txn (a read,
    # then a Txn guarded by the revisions read); bank through txn and transfer; lock
    # through etcd's lock API with leases (etcd_client.py).
    workloads: ClassVar[tuple[str, ...]] = (
        "register",
        "list-append",
        "rw-register",
        "set",
        "bank",
        "lock",
    )
    client_port = CLIENT_PORT
    unchecked: ClassVar[dict[str, str]] = {
        "log-agreement": "etcd exposes no committed log to compare (its WAL holds uncommitted "
        "entries too, and there is no API that lists committed entries)"
    }

    def __init__(self, **options: Any):
        super().__init__(**options)
        self._member_names: dict[str, str] = {}  # etcd's hex member id -> node id

    def expected_findings(self, workload: str | None = None) -> tuple[str, ...]:
        # Locks: a lease can expire while its holder still acts on the lock (Jepsen's etcd
        # 3.4.3 analysis): the mutex check (linearizable) should find two holders once a
        # holder's member is paused or cut off for longer than the TTL.
        if workload == "lock":
            return ("linearizable",)
        if self.options["reads"] != "serializable":
            return ()  # KV operations and transactions: strict serializable (Jepsen)
        # Serializable reads are allowed to be stale (etcd's API guarantees): a register
        # read, or a read-only transaction, from a member that fell behind. A bank read is
        # one revision's balances, stale or not, so its totals stay right; the set workload
        # judges its final read, made once healed.
        if workload in ("list-append", "rw-register"):
            return ("elle",)
        return () if workload in ("bank", "set") else ("linearizable",)

    def image(self) -> ImageSpec:
        return IMAGE

    def command(self, node: str, ips: dict[str, str]) -> list[str]:
        me = ips[node]
        cluster = ",".join(f"{n}=http://{ip}:{PEER_PORT}" for n, ip in ips.items())
        return [
            "etcd",
            "--name", node,
            "--data-dir", DATA_DIR,
            "--listen-client-urls", f"http://{me}:{CLIENT_PORT}",
            "--advertise-client-urls", f"http://{me}:{CLIENT_PORT}",
            "--listen-peer-urls", f"http://{me}:{PEER_PORT}",
            "--initial-advertise-peer-urls", f"http://{me}:{PEER_PORT}",
            "--initial-cluster", cluster,
            "--initial-cluster-state", "new",
            "--initial-cluster-token", "raftquake",
            # JSON lines: what etcd_log.py reads for election safety.
            "--logger", "zap",
            "--log-outputs", "stderr",
        ]  # fmt: skip

    # On a host: Debian's etcd 3.4, as in its image.
    debian_packages: ClassVar[tuple[str, ...]] = ("etcd-server",)
    peer_ports: ClassVar[tuple[int, ...]] = (PEER_PORT,)
    backends: ClassVar[tuple[str, ...]] = ("docker", "ssh")

    def environment(self) -> dict[str, str]:
        return {"RAFTQUAKE_FAKETIME": "0"}  # see refuses(): nothing to preload for

    def refuses(self, family: str) -> str | None:
        if family == "clock":
            return (
                "etcd is a Go program: libfaketime only reaches clocks read through libc, "
                "and Go reads time through the vDSO, so a clock fault would not move "
                "etcd's clock; refused rather than faked"
            )
        if family == "membership":
            return (
                "the membership fault speaks raftnode's member requests (and starts new "
                "members with raftnode's --join); etcd's member API is not wired in"
            )
        return super().refuses(family)

    def open_client(
        self,
        addrs: dict[str, str],
        timeout: float,
        options: ClientOptions = ClientOptions(),
    ) -> EtcdClient:
        from harness.systems.etcd_client import EtcdClient

        return EtcdClient(
            addrs,
            timeout=timeout,
            serializable=self.options["reads"] == "serializable",
            **options.kwargs(own_retries=True),
        )

    def statuses(self, addrs: dict[str, str], timeout: float) -> dict[str, Status | None]:
        from harness.systems.etcd_client import EtcdClient

        async def every() -> list[Status | None]:
            # One client asks every member at once. The member ids it learns from the
            # member list are kept on the system: the membership is fixed for a run, and
            # the probe runs every second (status line, leader targets).
            client = EtcdClient(addrs, timeout=timeout, member_names=self._member_names)
            try:
                answers = await asyncio.gather(*(client.status(a) for a in addrs.values()))
            finally:
                await client.close()
            return [res.value if res.ok else None for res in answers]

        return dict(zip(addrs, asyncio.run(every()), strict=True))

    def collect(self, node: str, out: Path, addr: str) -> None:
        from harness.systems.etcd_log import events_from_log

        console = out / "console.log"
        if not console.is_file():
            return
        lines = console.read_text(errors="replace").splitlines()
        events = events_from_log(lines, node, None)
        (out / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
