"""raftnode on the inventory's hosts, over SSH: the `Cluster` interface as Jepsen's DB
protocol has it for hosts.

- install: raftnode's package copied over SFTP into `<dir>/pkg` and run by the host's own
  python3 (raftnode is standard library only); the run's cluster secret written to
  `<dir>/secret` (mode 600) and given as --secret-file, never argv; an iptables chain
  RAFTQUAKE hooked into INPUT, for partitions.
- start, stop (kill -9 by the pid in `<dir>/node.pid`), pause and resume (SIGSTOP and
  SIGCONT by pid), wipe (the data directory), collect (SFTP: the data directory and the
  console log into the run folder).
- faults: partitions by iptables on the receiving host (DROP what comes from the other
  host's address), kills and pauses by pid. Clock and packet faults are not offered yet
  (Unsupported: the fault reports it).
- teardown heals (removes the chain, resumes, kills) and removes `<dir>`: nothing is left
  on a host after a run; `raftquake clean --backend ssh --inventory FILE` does the same
  for hosts a dead run left (harness/backends/ssh/clean.py).
"""

from __future__ import annotations

import random
import shlex
import time
from pathlib import Path

from harness.backends.base import Cluster, ClusterError, Unsupported
from harness.backends.ssh.inventory import Inventory
from harness.backends.ssh.remote import RemoteError, Remotes
from harness.image import REPO
from harness.systems.base import Client, Status
from harness.systems.raftnode import PORT, RaftnodeSystem

CHAIN = "RAFTQUAKE"
NO_CLOCK = "the ssh backend does not move clocks yet (libfaketime on hosts is to come)"
NO_PACKET = "the ssh backend does not shape packets yet (tc on hosts is to come)"


def heal_commands() -> str:
    """What heals a host whatever a run left on it: its chain flushed (created and hooked
    if missing), its node resumed (a paused one would not die) and killed."""
    return (
        f"iptables -w -N {CHAIN} 2>/dev/null; "
        f"iptables -w -C INPUT -j {CHAIN} 2>/dev/null || iptables -w -I INPUT -j {CHAIN}; "
        f"iptables -w -F {CHAIN}"
    )


def remove_chain_commands() -> str:
    """Unhooks and deletes the chain: what a host had before a run."""
    return (
        f"while iptables -w -D INPUT -j {CHAIN} 2>/dev/null; do :; done; "
        f"iptables -w -F {CHAIN} 2>/dev/null; iptables -w -X {CHAIN} 2>/dev/null; true"
    )


def stop_command(d: str) -> str:
    pid = shlex.quote(f"{d}/node.pid")
    return (
        f"if [ -f {pid} ]; then p=$(cat {pid}); kill -CONT $p 2>/dev/null; "
        f"kill -9 $p 2>/dev/null; while kill -0 $p 2>/dev/null; do sleep 0.05; done; "
        f"rm -f {pid}; fi"
    )


class SshCluster(Cluster):
    def __init__(self, inventory: Inventory, size: int, system: RaftnodeSystem):
        if size > len(inventory.hosts):
            raise ClusterError(
                f"{inventory.path}: the schedule needs {size} nodes, the inventory has "
                f"{len(inventory.hosts)} hosts"
            )
        self.inventory = inventory
        self.system = system
        self.nodes = [h.id for h in inventory.hosts[:size]]
        self.clock_offsets = dict.fromkeys(self.nodes, 0.0)
        self.remotes = Remotes(inventory)
        self.paused: set[str] = set()

    # ---- where things are on a host ----------------------------------------------------

    def dir(self, node: str) -> str:
        return self.inventory.host(node).dir

    def addrs(self) -> dict[str, str]:
        return {n: f"{self.inventory.host(n).address}:{PORT}" for n in self.nodes}

    def command(self, node: str) -> str:
        d = self.dir(node)
        args = self.system.node_command(node, self.addrs(), f"{d}/data")
        args += ["--secret-file", f"{d}/secret"]
        # setsid: the node outlives this SSH session; its pid goes to node.pid.
        return (
            f"cd {shlex.quote(d)} || exit 1; PYTHONPATH={shlex.quote(d + '/pkg')} "
            f"PYTHONUNBUFFERED=1 setsid {shlex.join(args)} >> console.log 2>&1 < /dev/null & "
            "echo $! > node.pid"
        )

    # ---- Jepsen's DB: install, start, stop, wipe, collect --------------------------------

    def install(self, node: str) -> None:
        d = self.dir(node)
        r = self.remotes
        r.run(node, f"{stop_command(d)}; rm -rf {shlex.quote(d)} && mkdir -p {shlex.quote(d)}")
        r.put_tree(node, REPO / "raftnode", f"{d}/pkg")
        r.write_file(node, f"{d}/secret", self.system.secret.encode(), 0o600)
        r.run(node, heal_commands())

    def start(self) -> None:
        try:
            self.each(self.install, self.nodes)
            self.each(self._launch, self.nodes)
            self.wait_ready(30.0)
        except BaseException:
            self.teardown()
            raise

    def _launch(self, node: str) -> None:
        self.remotes.run(node, self.command(node))
        self.paused.discard(node)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            st = self.statuses(timeout=1.0)
            missing = [n for n, s in st.items() if s is None]
            if not missing:
                return
            if time.monotonic() > deadline:
                tails = {n: self.remotes.run(n, f"tail -n 20 {self.dir(n)}/console.log", False)
                         for n in missing}  # fmt: skip
                raise ClusterError(
                    f"{', '.join(missing)} not answering status after {timeout:.0f} s; "
                    + "; ".join(f"{n}'s console: {t.strip()}" for n, t in tails.items())
                )
            time.sleep(0.2)

    def teardown(self) -> None:
        if self.torn_down:
            return
        self.torn_down = True
        try:
            for node in self.nodes:
                try:
                    d = self.dir(node)
                    self.remotes.run(
                        node,
                        f"{remove_chain_commands()}; {stop_command(d)}; rm -rf {shlex.quote(d)}",
                    )
                except RemoteError:
                    pass  # `raftquake clean --backend ssh` heals a host we could not reach
        finally:
            self.remotes.close()

    def collect(self, dest: str | Path) -> None:
        for node in self.nodes:
            out = Path(dest) / "nodes" / node
            out.mkdir(parents=True, exist_ok=True)
            d = self.dir(node)
            try:
                self.remotes.get_tree(node, f"{d}/data", out)
                text = self.remotes.run(node, f"cat {d}/console.log", check=False)
                (out / "console.log").write_text(text)
            except (RemoteError, OSError) as exc:
                (out / "collect-error.txt").write_text(f"{exc}\n")
            self.system.collect(node, out, self.addrs()[node])

    # ---- observation ---------------------------------------------------------------------

    def status(self, node: str, timeout: float = 1.0) -> Status | None:
        return self.system.statuses({node: self.addrs()[node]}, timeout)[node]

    def statuses(self, timeout: float = 1.0) -> dict[str, Status | None]:
        return self.system.statuses(self.addrs(), timeout)

    def open_client(
        self,
        timeout: float,
        *,
        client_id: str | None = None,
        rng: random.Random | None = None,
        home: str | None = None,
        spread: bool = False,
        attempt_timeout: float | None = None,
    ) -> Client:
        return self.system.open_client(
            self.addrs(),
            timeout,
            client_id=client_id,
            rng=rng,
            home=home,
            spread=spread,
            attempt_timeout=attempt_timeout,
        )

    # ---- faults ----------------------------------------------------------------------------

    def each(self, fn, nodes: list[str]) -> None:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=max(1, len(nodes))) as pool:
            list(pool.map(fn, nodes))

    def _signal(self, node: str, sig: str) -> None:
        pid = f"{self.dir(node)}/node.pid"
        self.remotes.run(node, f"kill -{sig} $(cat {shlex.quote(pid)})")

    def kill(self, node: str) -> None:
        self.remotes.run(node, stop_command(self.dir(node)))
        self.paused.discard(node)

    def restart(self, node: str) -> None:
        self._launch(node)

    def pause(self, node: str) -> None:
        self._signal(node, "STOP")
        self.paused.add(node)

    def resume(self, node: str) -> None:
        self._signal(node, "CONT")
        self.paused.discard(node)

    def block(self, src: str, dst: str) -> None:
        self.block_many([(src, dst)])

    def block_many(self, pairs: list[tuple[str, str]]) -> None:
        by_dst: dict[str, list[str]] = {}
        for src, dst in pairs:
            by_dst.setdefault(dst, []).append(self.inventory.host(src).address)
        cmds = {
            dst: "; ".join(f"iptables -w -A {CHAIN} -s {shlex.quote(a)} -j DROP" for a in srcs)
            for dst, srcs in by_dst.items()
        }
        self.each(lambda d: self.remotes.run(d, cmds[d]), list(cmds))

    def heal_network(self) -> None:
        self.each(lambda n: self.remotes.run(n, f"iptables -w -F {CHAIN}"), self.nodes)

    def set_clock(self, node: str, offset_s: float) -> None:
        raise Unsupported(f"clock: {NO_CLOCK}")

    def strobe_clock(self, node: str, delta_s: float, period_s: float) -> None:
        raise Unsupported(f"clock: {NO_CLOCK}")

    def stop_strobe(self, node: str) -> None:
        pass

    def set_packet(self, node: str, delay_ms: float = 0.0, loss_pct: float = 0.0) -> None:
        raise Unsupported(f"packet: {NO_PACKET}")

    def clear_packet(self, node: str) -> None:
        pass
