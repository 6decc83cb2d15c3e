"""The Docker backend: one network, N containers, one volume per node, per run.

What runs in the containers is the run's system under test (harness/systems/: raftnode by
default, etcd, or a user's own): its image, its members' command lines, its status probe,
its client and what is collected all come from the System; nothing here knows raftnode.

Why the node is a supervised process inside an idle container (and not the
container's main process): a crash is then `SIGKILL` of the node process and a
restart is `node-ctl start` in the same container, so the node keeps its address,
its volume, its libfaketime control file and the iptables rules of a partition
that may be in force at the same time; nothing has to be re-applied after a
restart, and a kill cannot race with a partition's rules. The container's own
main process is `sleep infinity` under docker-init (`init=True`), which reaps the
killed node so `node-ctl` sees it gone. `docker pause` freezes the whole
container, node included.

Addresses: each run gets its own bridge network with a fixed /24 (10.213.K.0/24,
K picked per run, the next one when Docker says the pool overlaps) and static
addresses .11, .12, ... for n1, n2, ..., so a restarted node is where it was.
The harness talks to the nodes at those addresses directly (Linux bridge), and
traffic only ever goes to our own containers.

Everything carries the label raftquake.run=<run id>; teardown removes by that
label, and `raftquake clean` removes every run's leftovers the same way.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import ipaddress
import os
import signal
import tarfile
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.backends.base import Cluster, ClusterError, Unsupported
from harness.backends.docker.cleanup import OWNER_LABEL, RUN_LABEL, clean, leftovers, owner
from harness.systems.base import Result, Status, System

SUBNET_PREFIX = "10.213"  # private, outside Docker's default pools (172.17-31, 192.168)
DATA = "/data"
CHAIN = "RAFTQUAKE"  # partitions: rules in this chain, jumped to from INPUT (node-ctl boot)
PKT_CHAIN = "RAFTQUAKE_PKT"  # packet loss and delay fallback when netem is missing
DELAY_QUEUE = 7  # the NFQUEUE of packet delay without netem (docker/netdelay.py binds it)
LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
FAKETIME_ENV = {
    "LD_PRELOAD": LIBFAKETIME,
    "FAKETIME_TIMESTAMP_FILE": "/run/raftquake/faketime",
    "FAKETIME_NO_CACHE": "1",
}

_live: set[DockerCluster] = set()
_live_lock = threading.Lock()


def _teardown_all() -> None:
    with _live_lock:
        clusters = list(_live)
    for c in clusters:
        with contextlib.suppress(Exception):
            c.teardown()


atexit.register(_teardown_all)


@dataclass
class DockerConfig:
    nodes: int = 5
    image: str | None = None  # None: the system's image for its current sources, built if missing
    run_id: str | None = None
    # The system under test, with its options; by default raftnode as clusters built
    # outside a schedule have always run it (RaftnodeSystem.with_node_defaults).
    system: System = field(default_factory=lambda: _default_system())
    ready_timeout: float = 30.0
    # Clock faults need libfaketime to re-read its control file on every clock call
    # (~50 us each; measured ~2.5x the node's CPU per write). A run whose schedule
    # has no clock fault should pass False: the clock then stays real and cheap.
    clock_faults: bool = True
    signals: bool = True  # SIGINT/SIGTERM tear the cluster down (main thread only)
    log: Callable[[str], None] | None = None  # progress of an image build on first use


def _default_system() -> System:
    from harness.systems.raftnode import RaftnodeSystem

    return RaftnodeSystem.with_node_defaults()


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:6]


class DockerCluster(Cluster):
    def __init__(self, config: DockerConfig | None = None, client=None):
        import docker

        self.config = config or DockerConfig()
        if not 1 <= self.config.nodes <= 200:  # addresses .11 .. .210 of one /24
            raise ClusterError(f"a cluster has 1 to 200 nodes, not {self.config.nodes}")
        self.client = client or docker.from_env()
        self.system: System = self.config.system
        self.run_id = self.config.run_id or new_run_id()
        self._owner = owner()  # `raftquake clean` leaves a live run's resources alone
        self.nodes = [f"n{i}" for i in range(1, self.config.nodes + 1)]
        self.initial = list(self.nodes)  # the initial configuration; spawn() adds to nodes
        self.retired: list[str] = []  # spawned, then stopped: collected, removed at teardown
        self.wiped: set[str] = set()  # initial members wiped: they come back as new servers
        # Membership changes sent without waiting (member_change(wait=False)), in flight.
        self._member_lock = threading.Lock()
        self._member_sent: set[tuple[str, str]] = set()
        self.ips: dict[str, str] = {}
        self.network = None
        self.containers: dict[str, Any] = {}
        self.clock_offsets: dict[str, float] = dict.fromkeys(self.nodes, 0.0)
        self.paused: set[str] = set()
        # What the faults hold now, for a system's own recovery (System.recover): members
        # killed and not yet restarted, and whether a partition's rules are in force.
        self.killed: set[str] = set()
        self.blocked = False
        self.iptables = "rq-iptables"  # the container's choice of legacy or nft (node-ctl)
        self.netem: bool | None = None  # probed on first use
        self._old_handlers: dict[int, Any] = {}

    # ---- names -----------------------------------------------------------------------

    @property
    def labels(self) -> dict[str, str]:
        return {RUN_LABEL: self.run_id, OWNER_LABEL: self._owner}

    def name(self, node: str) -> str:
        return f"raftquake-{self.run_id}-{node}"

    def addrs(self) -> dict[str, str]:
        return {n: f"{self.ips[n]}:{self.system.client_port}" for n in self.nodes}

    def command(self, node: str) -> list[str]:
        """The member's command line, as its system gives it: `--peers` is always the
        initial configuration; a member the membership fault added has its own (--join)."""
        initial = {n: self.ips[n] for n in self.initial}
        if node in initial and node not in self.wiped:
            return self.system.command(node, initial)
        # A wiped member comes back as DESIGN tells an operator to: a new server under its
        # old name (--join), outside its own base configuration until the leader adds it.
        others = {n: ip for n, ip in initial.items() if n != node}
        return self._membership().join_command(node, self.ips[node], others)

    def refuses(self, family: str) -> str | None:
        return self.system.refuses(family)

    # ---- life cycle ------------------------------------------------------------------

    def start(self) -> None:
        from harness.backends.docker import image

        with _live_lock:
            _live.add(self)
        self._install_signal_handlers()
        try:
            say = self.config.log or (lambda _m: None)
            tag = self._tag = self.config.image or image.ensure(
                log=lambda m: say(f"image: {m}"), spec=self.system.image()
            )
            self._create_network()
            # In parallel: each node's container start is mostly waiting on the engine.
            with ThreadPoolExecutor(max_workers=len(self.nodes)) as pool:
                list(pool.map(lambda n: self._bring_up(n, tag), self.nodes))
            self.wait_ready(max(self.config.ready_timeout, self.system.ready_timeout))
            if self.system.recover_every is not None:
                self._start_recovery(self.system.recover_every)
        except BaseException:
            self.teardown()
            raise

    def _start_recovery(self, period: float) -> None:
        """The system's own recovery (System.recover), every `period` s until teardown,
        in a thread of its own: it may wait for its members for a while."""
        members = _Members(self)

        def loop() -> None:
            while not self.torn_down:
                try:
                    self.system.recover(members)
                except Exception as exc:  # reported; a probe that failed proves nothing
                    if not self.torn_down:
                        members.say(f"{self.system.name} recovery: {exc!r}", nodes=[])
                time.sleep(period)

        threading.Thread(target=loop, name="raftquake-recovery", daemon=True).start()

    def _bring_up(self, node: str, tag: str) -> None:
        # The container's own command sets up netfilter and starts the node
        # (`node-ctl boot`): no exec on the way up, the slow part under load.
        self._create_container(node, tag)

    def _create_network(self) -> None:
        import docker.errors

        start = zlib.crc32(self.run_id.encode()) % 200 + 20
        last: Exception | None = None
        for k in range(40):
            third = 20 + (start - 20 + k) % 200
            subnet = f"{SUBNET_PREFIX}.{third}.0/24"
            ipam = docker.types.IPAMConfig(
                pool_configs=[docker.types.IPAMPool(subnet=subnet, gateway=_host(subnet, 1))]
            )
            try:
                self.network = self.client.networks.create(
                    f"raftquake-{self.run_id}", driver="bridge", ipam=ipam, labels=self.labels
                )
            except docker.errors.APIError as exc:
                if "overlap" in str(exc).lower():
                    last = exc
                    continue
                raise ClusterError(f"cannot create the run's network: {exc}") from exc
            self.subnet = subnet
            self.ips = {n: _host(subnet, 10 + i) for i, n in enumerate(self.nodes, start=1)}
            return
        raise ClusterError(f"no free {SUBNET_PREFIX}.K.0/24 subnet for the run's network: {last}")

    def _create_container(self, node: str, tag: str) -> None:
        import docker

        volume = self.client.volumes.create(name=self.name(node), labels=self.labels)
        networking = self.client.api.create_networking_config(
            {self.network.name: self.client.api.create_endpoint_config(ipv4_address=self.ips[node])}
        )
        host_config = self.client.api.create_host_config(
            cap_add=["NET_ADMIN"],
            binds={volume.name: {"bind": DATA, "mode": "rw"}},
            # libfaketime's control file and node-ctl's pid files: under clock faults the
            # node re-reads the control file on every clock call, which costs ~70 us on
            # the container's overlay filesystem and a few on a tmpfs.
            tmpfs={"/run/raftquake": "size=1m,mode=0755"},
            init=True,
        )
        try:
            cid = self.client.api.create_container(
                tag,
                name=self.name(node),
                hostname=node,
                command=["node-ctl", "boot", *self.command(node)],
                environment=self._node_env(),
                labels={**self.labels, "raftquake.node": node},
                host_config=host_config,
                networking_config=networking,
            )["Id"]
            self.client.api.start(cid)
        except docker.errors.APIError as exc:
            raise ClusterError(f"cannot start the container of {node}: {exc}") from exc
        self.containers[node] = self.client.containers.get(cid)

    def wait_ready(self, timeout: float) -> None:
        """Every node answers status and is ready (a status may say `"ready": False`: a
        Galera member still joining); a node whose process died is an error at once."""
        deadline = time.monotonic() + timeout
        pending = set(self.nodes)
        next_liveness = time.monotonic() + 1.0
        while True:
            answers = self.statuses(timeout=0.5, nodes=sorted(pending))
            pending -= {n for n, st in answers.items() if st is not None and st.get("ready", True)}
            if not pending:
                return
            # Liveness by exec only now and then: under load an exec takes ~0.5 s,
            # and polling it every round would delay noticing that a node is up.
            if time.monotonic() > next_liveness:
                for node in sorted(pending):
                    if not self.running(node):
                        raise ClusterError(
                            f"{node} exited during start-up; last lines of its log:\n"
                            + self.log_tail(node)
                        )
                next_liveness = time.monotonic() + 1.0
            if time.monotonic() > deadline:
                node = sorted(pending)[0]
                raise ClusterError(
                    f"{', '.join(sorted(pending))} not answering status after {timeout:.0f} s; "
                    f"last lines of {node}'s log:\n{self.log_tail(node)}"
                )
            time.sleep(0.05)

    def teardown(self) -> None:
        if self.torn_down:
            return
        self.torn_down = True
        try:
            # Resume first, so the node's process ends like any other on removal.
            for node in list(self.paused):
                with contextlib.suppress(Exception):
                    self.resume(node)
            self.paused.clear()
            removed = clean(self.client, run_id=self.run_id)
            if removed.errors:
                raise ClusterError("teardown left resources: " + "; ".join(removed.errors))
        finally:
            with _live_lock:
                _live.discard(self)
            self._restore_signal_handlers()

    def leftovers(self) -> dict[str, list[str]]:
        return leftovers(self.client, self.run_id)

    def _install_signal_handlers(self) -> None:
        if not self.config.signals or threading.current_thread() is not threading.main_thread():
            return

        def handler(signum, frame):
            self.teardown()
            old = self._old_handlers.get(signum)
            if callable(old):
                old(signum, frame)
            elif signum == signal.SIGINT:
                raise KeyboardInterrupt
            else:
                raise SystemExit(128 + signum)

        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old_handlers[sig] = signal.getsignal(sig)
            signal.signal(sig, handler)

    def _restore_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig, old in self._old_handlers.items():
            with contextlib.suppress(Exception):
                signal.signal(sig, old)
        self._old_handlers.clear()

    # ---- exec ------------------------------------------------------------------------

    def _exec(
        self,
        node: str,
        cmd: list[str],
        check: bool = True,
        env: dict[str, str] | None = None,
        detach: bool = False,
    ) -> tuple[int, str]:
        import docker.errors

        try:
            res = self.containers[node].exec_run(cmd, environment=env, detach=detach)
        except docker.errors.APIError as exc:  # e.g. the container is not running
            if check and node not in self.retired:
                raise ClusterError(f"{node}: {' '.join(cmd)}: {exc}") from exc
            return 126, str(exc)
        if detach:
            return 0, ""
        out = (res.output or b"").decode(errors="replace")
        # A member the membership fault stopped for good (before this call or during it:
        # its container's stop kills the exec, 137) has nothing left to fault or heal.
        if check and res.exit_code != 0 and node not in self.retired:
            raise ClusterError(f"{node}: {' '.join(cmd)} failed ({res.exit_code}): {out.strip()}")
        return res.exit_code, out

    def exec(self, node: str, cmd: list[str], check: bool = True) -> tuple[int, str]:
        return self._exec(node, cmd, check=check)

    def running(self, node: str) -> bool:
        if node in self.paused:
            return True
        code, _ = self._exec(node, ["node-ctl", "running"], check=False)
        return code == 0

    def log_tail(self, node: str, lines: int = 30) -> str:
        code, out = self._exec(node, ["tail", "-n", str(lines), f"{DATA}/node.log"], check=False)
        if code == 0:
            return out
        # The container itself stopped (e.g. `node-ctl boot` failed): its own output.
        logs = self.containers[node].logs(tail=lines).decode(errors="replace")
        return logs or f"(no log: {out.strip()})"

    # ---- observation -----------------------------------------------------------------

    def status(self, node: str, timeout: float = 1.0) -> Status | None:
        return self.statuses(timeout, [node])[node]

    def statuses(
        self, timeout: float = 1.0, nodes: list[str] | None = None
    ) -> dict[str, Status | None]:
        """All at once: a paused or cut-off node costs one timeout, not one each."""
        nodes = list(self.nodes if nodes is None else nodes)
        addrs = self.addrs()
        return self.system.statuses({n: addrs[n] for n in nodes}, timeout)

    def clock_reading(self, node: str) -> dict[str, float]:
        """Reads the clock inside the container two ways: with libfaketime preloaded
        (what the node sees) and without (the kernel's clock, which is the host's);
        each minus the host's own time.time() at the middle of the exec."""
        probe = "import time; print(time.time())"
        t0 = time.time()
        _, faked = self._exec(node, ["python3", "-c", probe], env=FAKETIME_ENV)
        t1 = time.time()
        _, real = self._exec(node, ["python3", "-c", probe])
        t2 = time.time()
        return {
            "faked_skew": float(faked.strip()) - (t0 + t1) / 2,
            "real_skew": float(real.strip()) - (t1 + t2) / 2,
        }

    # ---- fault primitives ------------------------------------------------------------

    def block(self, src: str, dst: str) -> None:
        """`dst` drops what `src` sends on connections (and flows) `src` opened.

        One direction only, at the level of messages: the conntrack ORIGINAL match
        drops src's connection attempts and data, while the transport's own
        acknowledgements of connections dst opened still reach dst, so dst keeps
        sending to src over TCP. (A plain source DROP would also eat those ACKs and
        stall TCP both ways within a retransmit timeout.)
        """
        self.block_many([(src, dst)])

    def block_many(self, pairs: list[tuple[str, str]]) -> None:
        self._add_rules(
            (dst, f"-s {self.ips[src]} -m conntrack --ctdir ORIGINAL -j DROP") for src, dst in pairs
        )

    def cut(self, a: str, b: str) -> None:
        """Both directions: every packet between a and b is dropped."""
        self.cut_many([(a, b)])

    def cut_many(self, pairs: list[tuple[str, str]]) -> None:
        rules = []
        for a, b in pairs:
            rules += [(b, f"-s {self.ips[a]} -j DROP"), (a, f"-s {self.ips[b]} -j DROP")]
        self._add_rules(rules)

    def _add_rules(self, rules) -> None:
        """All of a container's rules in one exec, containers in parallel."""
        per_node: dict[str, list[str]] = {}
        self.blocked = True
        for node, rule in rules:
            per_node.setdefault(node, []).append(f"{self.iptables} -A {CHAIN} {rule}")
        self.each(lambda n: self._exec(n, ["sh", "-c", " && ".join(per_node[n])]), per_node)

    def each(self, fn: Callable[[str], object], nodes: Iterable[str]) -> None:
        """In parallel: a docker exec takes ~0.1-0.5 s, so one by one a fault on five
        nodes would start over seconds."""
        nodes = list(nodes)
        if len(nodes) <= 1:
            for n in nodes:
                fn(n)
            return
        with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
            list(pool.map(fn, nodes))  # list(): re-raises the first error

    def heal_network(self) -> None:
        self.each(lambda n: self._exec(n, [self.iptables, "-F", CHAIN]), self.nodes)
        self.blocked = False

    def rules(self, node: str) -> str:
        return self._exec(node, [self.iptables, "-S", CHAIN])[1]

    def kill(self, node: str) -> None:
        self.killed.add(node)
        self._exec(node, ["node-ctl", "kill"])

    def restart(self, node: str) -> None:
        if node in self.retired:
            return  # stopped for good by the membership fault
        self._exec(node, ["node-ctl", "start", *self.command(node)], env=self._node_env())
        self.killed.discard(node)

    def _node_env(self) -> dict[str, str]:
        return {
            "RAFTQUAKE_FAKETIME_NO_CACHE": "1" if self.config.clock_faults else "0",
            **self.system.environment(),
        }

    def pause(self, node: str) -> None:
        # SIGSTOP of the node process, as Jepsen pauses, rather than `docker pause`: a
        # frozen container refuses every exec, so a partition, packet or clock fault that
        # overlaps the pause (a nemesis package draws such mixes) could not be applied to
        # it, nor healed. The kernel still queues what the stopped process is sent.
        self._exec(node, ["node-ctl", "pause"])
        self.paused.add(node)

    def resume(self, node: str) -> None:
        self._exec(node, ["node-ctl", "resume"])
        self.paused.discard(node)

    def set_clock(self, node: str, offset_s: float) -> None:
        self._need_clock()
        self._exec(node, ["node-ctl", "clock", _faketime_spec(offset_s)])
        self.clock_offsets[node] = offset_s

    def _need_clock(self) -> None:
        why = self.system.refuses("clock")
        if why:
            raise Unsupported(why)
        if not self.config.clock_faults:
            raise Unsupported(
                "clock faults need the cluster started with DockerConfig(clock_faults=True): "
                "without it libfaketime caches the clock for 10 s"
            )

    def strobe_clock(self, node: str, delta_s: float, period_s: float) -> None:
        self._need_clock()
        base = self.clock_offsets[node]
        a, b = _faketime_spec(base), _faketime_spec(base + delta_s)
        loop = (
            "echo $$ > /run/raftquake/strobe.pid; "
            f"while :; do node-ctl clock {b}; sleep {period_s:.3f}; "
            f"node-ctl clock {a}; sleep {period_s:.3f}; done"
        )
        self._exec(node, ["sh", "-c", loop], detach=True)

    def stop_strobe(self, node: str) -> None:
        # Killing the loop's shell leaves a flip already under way (its `node-ctl clock`)
        # running: wait for it, or it could land after the heal's own write and leave the
        # clock skewed. ("[c]lock" so that the pattern does not match this shell itself.)
        script = (
            "[ -f /run/raftquake/strobe.pid ] && kill $(cat /run/raftquake/strobe.pid) "
            "2>/dev/null; rm -f /run/raftquake/strobe.pid; "
            "i=0; while pgrep -f 'node-ctl [c]lock' >/dev/null && [ $i -lt 250 ]; do "
            "i=$((i + 1)); sleep 0.02; done; true"
        )
        self._exec(node, ["sh", "-c", script])
        self.set_clock(node, self.clock_offsets[node])

    def set_packet(self, node: str, delay_ms: float = 0.0, loss_pct: float = 0.0) -> None:
        if self.netem is None:
            code, out = self._exec(
                node, ["tc", "qdisc", "add", "dev", "eth0", "root", "netem", "delay", "0ms"],
                check=False,
            )  # fmt: skip
            self.netem = code == 0
            if self.netem:
                self._exec(node, ["tc", "qdisc", "del", "dev", "eth0", "root"])
        if self.netem:
            args = ["tc", "qdisc", "replace", "dev", "eth0", "root", "netem"]
            if delay_ms:
                args += ["delay", f"{delay_ms:g}ms"]
            if loss_pct:
                args += ["loss", f"{loss_pct:g}%"]
            self._exec(node, args)
            return
        # Without netem: loss is an iptables `statistic` rule dropping that share of what
        # the node receives on eth0; delay sends what is left to an NFQUEUE where the
        # node's netdelay (docker/netdelay.py, started first so the queue is bound)
        # holds each packet delay-ms. --queue-bypass: should netdelay die, packets pass.
        self._exec(node, [self.iptables, "-F", PKT_CHAIN])
        if delay_ms:
            self._exec(node, ["node-ctl", "delay", str(DELAY_QUEUE), f"{delay_ms:g}"])
        if loss_pct:
            self._exec(
                node,
                [self.iptables, "-A", PKT_CHAIN, "-i", "eth0", "-m", "statistic",
                 "--mode", "random", "--probability", f"{loss_pct / 100:.4f}", "-j", "DROP"],
            )  # fmt: skip
        if delay_ms:
            self._exec(
                node,
                [self.iptables, "-A", PKT_CHAIN, "-i", "eth0", "-j", "NFQUEUE",
                 "--queue-num", str(DELAY_QUEUE), "--queue-bypass"],
            )  # fmt: skip

    def clear_packet(self, node: str) -> None:
        if self.netem:
            self._exec(node, ["tc", "qdisc", "del", "dev", "eth0", "root"], check=False)
        self._exec(node, [self.iptables, "-F", PKT_CHAIN])
        self._exec(node, ["node-ctl", "undelay"], check=False)  # after the rule is gone

    # ---- membership (harness/nemesis/membership.py) ------------------------------------

    def initial_nodes(self) -> list[str]:
        return list(self.initial)

    def _membership(self) -> System:
        """The system, when it declares membership changes; Unsupported, saying why, if not
        (the membership fault is refused before it gets here: refuses())."""
        if "membership" not in self.system.capabilities:
            raise Unsupported(
                self.system.refuses("membership")
                or f"{self.system.name} does not declare membership changes"
            )
        return self.system

    def _member(self, action: str, node: str | None = None, addr: str = "") -> Result:
        return self._membership().member(list(self.addrs().values()), action, node, addr)

    def members(self) -> Status | None:
        res = self._member("list")
        return res.value if res.ok else None

    def member_change(self, action: str, node: str, wait: bool = True) -> None:
        addr = f"{self.ips[node]}:{self.system.client_port}" if action == "add" else ""
        if not wait:
            # raftnode answers a change once it commits: an impatient operator's change
            # goes in a thread of its own, one at a time per change (a change sent again
            # while its request still waits would only add a thread).
            key = (action, node)
            with self._member_lock:
                if key in self._member_sent:
                    return
                self._member_sent.add(key)

            def send() -> None:
                try:
                    self._member(action, node, addr)
                except Exception:
                    pass  # refused or unanswered: the fault sends it again if it must
                finally:
                    with self._member_lock:
                        self._member_sent.discard(key)

            threading.Thread(target=send, name="raftquake-member", daemon=True).start()
            return
        res = self._member(action, node, addr)
        if not res.ok:
            raise ClusterError(f"member {action} {node}: {res.error}")

    def wipe(self, node: str) -> None:
        # The node's durable state goes; its events file and log stay (the checkers read
        # the events; the node marks its empty start there).
        self.kill(node)
        self._exec(node, ["sh", "-c", f"cd {DATA}/node && "
                          "find . -mindepth 1 -maxdepth 1 ! -name events.jsonl "
                          "! -name node.log -exec rm -rf {} +"])  # fmt: skip
        self.wiped.add(node)
        self.restart(node)

    def spawn(self) -> str:
        self._membership()
        k = len(self.nodes) + len(self.retired) + 1
        if k > 200:
            raise ClusterError("no address left in the run's /24 for another node")
        node = f"n{k}"
        self.ips[node] = _host(self.subnet, 10 + k)
        self.clock_offsets[node] = 0.0
        self._create_container(node, self._tag)
        self.nodes.append(node)
        deadline = time.monotonic() + 20
        while self.status(node, timeout=0.5) is None:
            if time.monotonic() > deadline:
                raise ClusterError(f"{node} not answering status; its log:\n{self.log_tail(node)}")
            time.sleep(0.1)
        return node

    def retire(self, node: str) -> None:
        if node not in self.nodes or node in self.initial:
            return
        self.nodes.remove(node)
        self.retired.append(node)
        with contextlib.suppress(Exception):
            self.containers[node].stop(timeout=2)

    # ---- collection ------------------------------------------------------------------

    def collect(self, dest: str | Path) -> None:
        """For each node, into dest/nodes/<id>/ as DESIGN lays it out: node-ctl's console
        output (every start, and what the member printed) as console.log, the files its
        system keeps (raftnode: its data directory: node.log, events.jsonl, WAL), then
        what the system derives from them (raftnode: its committed log as log.jsonl, as
        the node reports it; etcd: events.jsonl from its own log), the same layout the
        simulated backend writes."""
        dest = Path(dest)
        for node in [*self.nodes, *self.retired]:
            out = dest / "nodes" / node
            out.mkdir(parents=True, exist_ok=True)
            errors = []
            # Each file on its own: one missing (a state file the member had not written
            # yet) must not cost the others; a collection error must not hide the result.
            for src, rename in [(f"{DATA}/node.log", "console.log")] + [
                (f, None) for f in self.system.kept_files
            ]:
                try:
                    self._copy_out(node, src, out, rename=rename)
                except Exception as exc:
                    errors.append(f"{src}: {exc}")
            if errors:
                (out / "collect-error.txt").write_text("".join(e + "\n" for e in errors))
            try:
                self.system.collect(node, out, self.addrs()[node])
            except Exception as exc:
                with open(out / "collect-error.txt", "a") as fh:
                    fh.write(f"{self.system.name} collect: {exc}\n")

    def _copy_out(self, node: str, src: str, out: Path, rename: str | None = None) -> None:
        stream, _ = self.containers[node].get_archive(src)
        buf = io.BytesIO(b"".join(stream))
        with tarfile.open(fileobj=buf) as tar:
            if rename:
                member = tar.getmembers()[0]
                (out / rename).write_bytes(tar.extractfile(member).read())
            else:
                tar.extractall(out, filter="data")


class _Members:
    """The cluster as a system's own recovery sees it (harness/systems/base.py Members)."""

    def __init__(self, cluster: DockerCluster):
        self.cluster = cluster

    @property
    def nodes(self) -> list[str]:
        return list(self.cluster.nodes)

    def statuses(self, timeout: float = 1.0) -> dict[str, Status | None]:
        return self.cluster.statuses(timeout)

    def faulted(self) -> str | None:
        c = self.cluster
        if c.killed:
            return f"killed by a fault: {', '.join(sorted(c.killed))}"
        if c.paused:
            return f"paused by a fault: {', '.join(sorted(c.paused))}"
        if c.blocked:
            return "a partition is in force"
        return None

    def running(self, node: str) -> bool:
        return self.cluster.running(node)

    def command(self, node: str) -> list[str]:
        return self.cluster.command(node)

    def exec(self, node: str, cmd: list[str]) -> tuple[int, str]:
        return self.cluster.exec(node, cmd, check=False)

    def stop(self, node: str) -> None:
        self.cluster.exec(node, ["node-ctl", "kill"])

    def start(self, node: str, command: list[str]) -> None:
        c = self.cluster
        if node in c.killed or node in c.retired:
            return  # a fault holds it down; its heal starts it
        c._exec(node, ["node-ctl", "start", *command], env=c._node_env())

    def say(self, message: str, nodes: list[str] | None = None) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        line = f"=== {self.cluster.system.name} recovery {stamp}: {message}"
        for node in self.cluster.nodes if nodes is None else nodes:
            self.cluster._exec(
                node,
                ["sh", "-c", 'printf "%s\\n" "$1" >> /data/node.log', "say", line],
                check=False,
            )
        if self.cluster.config.log is not None:
            self.cluster.config.log(f"{self.cluster.system.name} recovery: {message}")


def _host(subnet: str, n: int) -> str:
    return str(ipaddress.ip_network(subnet)[n])


def _faketime_spec(offset_s: float) -> str:
    return f"{offset_s:+.3f}s"


def docker_available() -> tuple[bool, str]:
    """(True, "") when a Docker engine answers, else (False, why)."""
    try:
        import docker

        client = docker.from_env()
        client.ping()
        return True, ""
    except Exception as exc:
        return False, f"no Docker engine: {exc}"


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes")
