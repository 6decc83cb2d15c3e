"""A system on the inventory's hosts, over SSH: the `Cluster` interface as Jepsen's DB
protocol has it for hosts (a System's `debian_packages`, `host_files`, `host_command`).

- install: the system's Debian packages through apt where dpkg lacks them (etcd-server
  for etcd; python3 for raftnode), its `host_files` copied over SFTP into `<dir>/pkg`
  (raftnode's package: it is standard library only); its environment (raftnode's cluster
  secret) written to `<dir>/env`, mode 600, and sourced by the start command, never
  argv; iptables chains hooked into INPUT, for partitions and packet faults.
- start, stop (kill -9 by the pid in `<dir>/node.pid`), pause and resume (SIGSTOP and
  SIGCONT by pid), collect (SFTP: the console log and the system's `kept_files`, read
  from `<dir>/data` where the container has DATA_DIR, into the run folder).
- faults: partitions by iptables on the receiving host (DROP what comes from the other
  host's address), kills and pauses by pid, packet delay and loss by tc netem on the
  interface the host reaches its peers by (its egress, as on Docker), clocks by
  libfaketime: the node runs with it preloaded, reading `<dir>/faketime` ("+2.000s"), as
  node-ctl runs it in a container; the host's own clock is never changed. A host without
  libfaketime refuses clock faults (Unsupported, saying so).
- teardown heals (removes the chains and the netem qdisc, stops a strobe, resumes and
  kills the node) and removes `<dir>`: nothing is left on a host after a run; `raftquake
  clean --backend ssh --inventory FILE` does the same for hosts a dead run left
  (clean.py). The commands themselves are shell.py's.
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path

from harness.backends.base import Cluster, ClusterError, Unsupported
from harness.backends.ssh.inventory import Inventory
from harness.backends.ssh.remote import RemoteError, Remotes
from harness.backends.ssh.shell import (
    CHAIN,
    DELAY_QUEUE,
    LIBFAKETIME,
    PKT_CHAIN,
    apt_command,
    heal_commands,
    stop_command,
    undo_all,
    unshape_command,
    unstrobe_command,
)
from harness.image import REPO
from harness.systems.base import DATA_DIR, Status, System


class SshCluster(Cluster):
    def __init__(
        self,
        inventory: Inventory,
        size: int,
        system: System,
        clock_faults: bool = True,
    ):
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
        # libfaketime re-reads its file on every clock call only when clocks will move
        # (it costs node CPU), as on Docker; None until install() looked for it.
        self.clock_faults = clock_faults
        self.faketime: dict[str, bool] = {}

    # ---- where things are on a host ----------------------------------------------------

    def dir(self, node: str) -> str:
        return self.inventory.host(node).dir

    def addrs(self) -> dict[str, str]:
        port = self.system.client_port
        return {n: f"{self.inventory.host(n).address}:{port}" for n in self.nodes}

    def command(self, node: str) -> str:
        d = self.dir(node)
        ips = {n: self.inventory.host(n).address for n in self.nodes}
        args = self.system.host_command(node, ips, f"{d}/data")
        # The system's environment from <dir>/env (mode 600): a secret never shows in ps.
        env = f"set -a; . {shlex.quote(d)}/env; set +a; PYTHONPATH={shlex.quote(d + '/pkg')}"
        preload = self.system.environment().get("RAFTQUAKE_FAKETIME", "1") != "0"
        if self.faketime.get(node) and preload:
            no_cache = "1" if self.clock_faults else "0"
            env += (
                f" LD_PRELOAD={LIBFAKETIME} FAKETIME_TIMESTAMP_FILE={shlex.quote(d)}/faketime"
                f" FAKETIME_NO_CACHE={no_cache}"
            )
        # setsid: the node outlives this SSH session; its pid goes to node.pid.
        return (
            f"cd {shlex.quote(d)} || exit 1; {env} setsid {shlex.join(args)} >> console.log "
            "2>&1 < /dev/null & echo $! > node.pid"
        )

    # ---- Jepsen's DB: install, start, stop, wipe, collect --------------------------------

    def install(self, node: str) -> None:
        d = self.dir(node)
        r = self.remotes
        r.run(node, f"{undo_all(d)}; mkdir -p {shlex.quote(d)}/pkg {shlex.quote(d)}/data")
        if self.system.debian_packages:
            r.run(node, apt_command(self.system.debian_packages), timeout=600)
        for path in self.system.host_files():
            r.put_tree(node, path, f"{d}/pkg")
        r.write_file(node, f"{d}/netdelay.py", (REPO / "docker" / "netdelay.py").read_bytes())
        env = {**self.system.environment(), "PYTHONUNBUFFERED": "1"}
        text = "".join(f"{k}={shlex.quote(v)}\n" for k, v in env.items())
        r.write_file(node, f"{d}/env", text.encode(), 0o600)
        r.run(node, f"{heal_commands()}; echo +0 > {shlex.quote(d)}/faketime")
        self.faketime[node] = r.status_of(node, f"[ -e {LIBFAKETIME} ]") == 0

    def start(self) -> None:
        try:
            self.each(self.install, self.nodes)
            self.each(self._launch, self.nodes)
            self.wait_ready(max(30.0, self.system.ready_timeout))
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
                    self.remotes.run(node, undo_all(d))
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
                text = self.remotes.run(node, f"cat {d}/console.log", check=False)
                (out / "console.log").write_text(text)
                for kept in self.system.kept_files:
                    remote = kept.replace(DATA_DIR, f"{d}/data")
                    if remote.endswith("/."):
                        self.remotes.get_tree(node, remote[:-2], out)
                    else:
                        self.remotes.get_tree(node, remote, out, file=True)
            except (RemoteError, OSError) as exc:
                (out / "collect-error.txt").write_text(f"{exc}\n")
            self.system.collect(node, out, self.addrs()[node])

    # ---- observation ---------------------------------------------------------------------

    def status(self, node: str, timeout: float = 1.0) -> Status | None:
        return self.system.statuses({node: self.addrs()[node]}, timeout)[node]

    def statuses(self, timeout: float = 1.0) -> dict[str, Status | None]:
        return self.system.statuses(self.addrs(), timeout)

    # ---- faults ----------------------------------------------------------------------------

    def refuses(self, family: str) -> str | None:
        if family == "membership":
            return "the ssh backend does not change the membership (Docker and sim do)"
        return self.system.refuses(family)

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

    def _need_clock(self, node: str) -> None:
        if not self.faketime.get(node):
            raise Unsupported(
                f"clock: {node} has no libfaketime at {LIBFAKETIME} (Debian's libfaketime "
                "package): the ssh backend moves raftnode's clock with it, never the host's"
            )

    def set_clock(self, node: str, offset_s: float) -> None:
        self._need_clock(node)
        f = shlex.quote(f"{self.dir(node)}/faketime")
        self.remotes.run(node, f"echo {offset_s:+.3f}s > {f}.new && mv {f}.new {f}")
        self.clock_offsets[node] = offset_s

    def strobe_clock(self, node: str, delta_s: float, period_s: float) -> None:
        self._need_clock(node)
        d = shlex.quote(self.dir(node))
        base = self.clock_offsets[node]
        a, b = f"{base:+.3f}s", f"{base + delta_s:+.3f}s"
        loop = (
            f"while :; do echo {b} > {d}/faketime; sleep {period_s:.3f}; "
            f"echo {a} > {d}/faketime; sleep {period_s:.3f}; done"
        )
        self.remotes.run(
            node,
            f"setsid sh -c {shlex.quote(loop)} > /dev/null 2>&1 < /dev/null & "
            f"echo $! > {d}/strobe.pid",
        )

    def stop_strobe(self, node: str) -> None:
        self.remotes.run(node, unstrobe_command(self.dir(node)))
        if self.faketime.get(node):
            self.set_clock(node, self.clock_offsets[node])

    def set_packet(self, node: str, delay_ms: float = 0.0, loss_pct: float = 0.0) -> None:
        """tc netem on the device the host reaches its peers by (egress, as on Docker);
        on a kernel without netem, Docker's fallback: loss by an iptables `statistic`
        rule and delay by netdelay on an NFQUEUE, both on what the node's port receives
        (so the harness's own SSH session is spared)."""
        d = shlex.quote(self.dir(node))
        self.clear_packet(node)
        peer = next(self.inventory.host(n).address for n in self.nodes if n != node)
        dev = f"$(ip -o route get {shlex.quote(peer)} | sed -n 's/.* dev \\([^ ]*\\).*/\\1/p')"
        netem = (f" delay {delay_ms:g}ms" if delay_ms else "") + (
            f" loss {loss_pct:g}%" if loss_pct else ""
        )
        # The device is recorded first, so that a heal (or `raftquake clean`) removes the
        # qdisc from the one it went on.
        shaped = self.remotes.status_of(
            node,
            f'dev={dev}; [ -n "$dev" ] && echo $dev > {d}/netem.dev && '
            f"tc qdisc replace dev $dev root netem{netem}",
        )
        if shaped == 0:
            return
        ports = sorted({self.system.client_port, *self.system.peer_ports})
        ours = f"-p tcp -m multiport --ports {','.join(map(str, ports))}"
        if delay_ms:
            ready = f"{d}/netdelay.ready"
            self.remotes.run(
                node,
                f"rm -f {ready}; setsid python3 {d}/netdelay.py --queue {DELAY_QUEUE} "
                f"--delay-ms {delay_ms:g} --ready {ready} >> {d}/netdelay.log 2>&1 "
                f"< /dev/null & echo $! > {d}/netdelay.pid; i=0; "
                f"while [ ! -f {ready} ]; do i=$((i+1)); [ $i -gt 250 ] && "
                f"{{ tail -n 5 {d}/netdelay.log >&2; exit 1; }}; sleep 0.02; done",
            )
        rules = []
        if loss_pct:
            rules.append(
                f"iptables -w -A {PKT_CHAIN} {ours} -m statistic --mode random "
                f"--probability {loss_pct / 100:.4f} -j DROP"
            )
        if delay_ms:
            rules.append(
                f"iptables -w -A {PKT_CHAIN} {ours} -j NFQUEUE --queue-num {DELAY_QUEUE} "
                "--queue-bypass"
            )
        self.remotes.run(node, " && ".join(rules))

    def clear_packet(self, node: str) -> None:
        self.remotes.run(node, unshape_command(self.dir(node)))
