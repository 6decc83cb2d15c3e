"""`raftquake clean --backend ssh --inventory FILE`: heal hosts a dead run left faulted.

A run heals and cleans its hosts at its end and on Ctrl-C; a harness killed -9 cannot.
This does for every host in the inventory what a run's teardown does: stop a clock strobe,
remove the netem qdisc and the RAFTQUAKE iptables chain (its DROP rules with it), resume
and kill the node by its pid file, remove the system's folder.
"""

from __future__ import annotations

import shlex

from harness.backends.ssh.inventory import Inventory
from harness.backends.ssh.remote import RemoteError, Remotes
from harness.backends.ssh.shell import undo_all


def clean_hosts(inventory: Inventory, dry_run: bool = False) -> dict[str, str]:
    """host id -> what was found and done ("healed: ..." or "unreachable: ...")."""
    remotes = Remotes(inventory)
    out: dict[str, str] = {}
    try:
        for host in inventory.hosts:
            d = shlex.quote(host.dir)
            look = (
                f"n=$(iptables -w -S RAFTQUAKE 2>/dev/null | grep -c -- '-A RAFTQUAKE'); "
                f"p=$(cat {d}/node.pid 2>/dev/null); "
                f'echo "rules=$n node=${{p:-none}} dir=$([ -d {d} ] && echo yes || echo no)"'
            )
            try:
                found = remotes.run(host.id, look).strip()
                if not dry_run:
                    remotes.run(host.id, undo_all(host.dir))
                out[host.id] = f"{'would heal' if dry_run else 'healed'} ({found})"
            except RemoteError as exc:
                out[host.id] = f"unreachable: {exc}"
    finally:
        remotes.close()
    return out
