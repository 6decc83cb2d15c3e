"""The shell commands the ssh backend runs on a host, as strings: what a run sets up and
what undoes it. cluster.py runs them during a run; clean.py runs `undo_all` on hosts a
dead run left."""

from __future__ import annotations

import shlex

CHAIN = "RAFTQUAKE"  # partitions
PKT_CHAIN = "RAFTQUAKE_PKT"  # packet loss and delay, on a kernel without netem
DELAY_QUEUE = 7  # the NFQUEUE netdelay binds (docker/netdelay.py, as on Docker)
# Debian's libfaketime (package libfaketime), as in the node image.
LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


def heal_commands() -> str:
    """The run's chains, empty, created and hooked into INPUT if missing."""
    return "; ".join(
        f"iptables -w -N {c} 2>/dev/null; "
        f"iptables -w -C INPUT -j {c} 2>/dev/null || iptables -w -I INPUT -j {c}; "
        f"iptables -w -F {c}"
        # Each inserted at the top of INPUT: CHAIN, last, comes first, so a partition
        # drops a packet before the packet chain could queue it for delay.
        for c in (PKT_CHAIN, CHAIN)
    )


def remove_chain_commands() -> str:
    """Unhooks and deletes the chains: what a host had before a run."""
    return "; ".join(
        f"while iptables -w -D INPUT -j {c} 2>/dev/null; do :; done; "
        f"iptables -w -F {c} 2>/dev/null; iptables -w -X {c} 2>/dev/null; true"
        for c in (CHAIN, PKT_CHAIN)
    )


def unshape_command(d: str) -> str:
    """Removes what a packet fault put on the host: the netem qdisc on the device it
    recorded, the fallback's rules, and netdelay (which accepts what it holds)."""
    dev = shlex.quote(f"{d}/netem.dev")
    pid = shlex.quote(f"{d}/netdelay.pid")
    return (
        f"if [ -f {dev} ]; then tc qdisc del dev $(cat {dev}) root 2>/dev/null; "
        f"rm -f {dev}; fi; iptables -w -F {PKT_CHAIN} 2>/dev/null; "
        f"if [ -f {pid} ]; then p=$(cat {pid}); kill -TERM $p 2>/dev/null; "
        f"while kill -0 $p 2>/dev/null; do sleep 0.02; done; rm -f {pid}; fi; true"
    )


def unstrobe_command(d: str) -> str:
    pid = shlex.quote(f"{d}/strobe.pid")
    return f"if [ -f {pid} ]; then kill $(cat {pid}) 2>/dev/null; rm -f {pid}; fi; true"


def undo_all(d: str) -> str:
    """Everything a run can have left on a host, undone, and its folder removed."""
    return (
        f"{unstrobe_command(d)}; {unshape_command(d)}; {remove_chain_commands()}; "
        f"{stop_command(d)}; rm -rf {shlex.quote(d)}"
    )


def apt_command(packages: tuple[str, ...]) -> str:
    """Installs those of `packages` dpkg does not have, through apt (as Jepsen's
    debian/install does): nothing is fetched when all are there."""
    names = " ".join(shlex.quote(p) for p in packages)
    return (
        f"missing=; for p in {names}; do dpkg -s $p >/dev/null 2>&1 || "
        'missing="$missing $p"; done; [ -z "$missing" ] || { apt-get update -q >/dev/null && '
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "
        "$missing >/dev/null; }"
    )


def stop_command(d: str) -> str:
    pid = shlex.quote(f"{d}/node.pid")
    return (
        f"if [ -f {pid} ]; then p=$(cat {pid}); kill -CONT $p 2>/dev/null; "
        f"kill -9 $p 2>/dev/null; while kill -0 $p 2>/dev/null; do sleep 0.05; done; "
        f"rm -f {pid}; fi"
    )
