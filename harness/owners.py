"""Which process owns a run: "<hostname>:<pid>", recorded in its results.json and on its
Docker resources (the `raftquake.owner` label), so that anything that finds a run still
marked running can tell a live one from one whose process died (killed -9, a lost CI
runner): the dead one is abandoned (harness/store.py), and what it left in Docker is
for `raftquake clean`."""

from __future__ import annotations

import os
import socket


def owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_alive(value: str | None) -> bool:
    """Whether the run that owns a resource is a live process on this host (a resource
    from another host, or from before owners were recorded, counts as not alive)."""
    host, _, pid = (value or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner_gone(value: str | None) -> bool:
    """Whether the owner was a process of this host that no longer runs. Unlike
    `not owner_alive`, a run of another host (a shared store) or one without an owner
    recorded is not taken for gone: nothing here can tell."""
    host, _, pid = (value or "").rpartition(":")
    return host == socket.gethostname() and pid.isdigit() and not owner_alive(value)
