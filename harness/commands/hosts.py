"""`raftquake hosts up --nodes N --inventory FILE` and `raftquake hosts down --inventory
FILE`: sshd hosts made of containers, for the ssh backend (harness/backends/ssh/hosts.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.commands.flags import COUNT

HELP = "make sshd hosts of containers for --backend ssh (up), or remove them (down)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["up", "down"])
    parser.add_argument("--nodes", type=COUNT, default=5, metavar="N", help="hosts to make (5)")
    parser.add_argument(
        "--inventory", required=True, metavar="FILE", help="the inventory to write (up) or read"
    )


def run(args: argparse.Namespace) -> int:
    from harness.backends.ssh.inventory import InventoryError
    from harness.exit_codes import EXIT_ENV, EXIT_OK, EXIT_USAGE
    from harness.runner import docker_available

    why = docker_available()
    if why:
        print(f"raftquake hosts: {why}", file=sys.stderr)
        return EXIT_ENV
    path = Path(args.inventory)
    if args.action == "up":
        from harness.backends.ssh.hosts import hosts_up

        if path.exists():
            print(f"raftquake hosts up: {path} exists; `hosts down` it first", file=sys.stderr)
            return EXIT_USAGE
        try:
            nodes = hosts_up(args.nodes, path, say=lambda m: print(m, file=sys.stderr))
        except Exception as exc:
            print(f"raftquake hosts up: {exc}", file=sys.stderr)
            return EXIT_ENV
        print(f"hosts up: {' '.join(nodes)}; inventory {path}")
        return EXIT_OK
    from harness.backends.ssh.hosts import hosts_down

    try:
        removed = hosts_down(path)
    except (InventoryError, ValueError) as exc:
        print(f"raftquake hosts down: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"hosts down: removed {' '.join(removed) or 'nothing'}")
    return EXIT_OK
