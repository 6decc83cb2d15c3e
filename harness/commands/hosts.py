"""`raftquake hosts up --nodes N --inventory FILE` and `raftquake hosts down --inventory
FILE`: sshd hosts made of containers, for the ssh backend (harness/backends/ssh/hosts.py),
or with `--runners`, runners for pytest-xdist's ssh workers (docs/parallel-runs.md)."""

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
    parser.add_argument(
        "--runners",
        action="store_true",
        help="up: runners for pytest-xdist's ssh workers instead (the project and a Python "
        "with its packages, copied from this machine); prints their --tx specs",
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
            nodes = hosts_up(
                args.nodes, path, say=lambda m: print(m, file=sys.stderr), runners=args.runners
            )
        except Exception as exc:
            print(f"raftquake hosts up: {exc}", file=sys.stderr)
            return EXIT_ENV
        print(f"hosts up: {' '.join(nodes)}; inventory {path}")
        if args.runners:
            from harness.backends.ssh.hosts import files_of
            from harness.backends.ssh.runners import tx_spec

            config = files_of(path)[2].resolve()
            print("pytest-xdist workers on them: pytest -d " + " ".join(
                f"--tx {tx_spec(n, config)}" for n in nodes
            ) + " ...")  # fmt: skip
        return EXIT_OK
    from harness.backends.ssh.hosts import hosts_down

    try:
        removed = hosts_down(path)
    except (InventoryError, ValueError) as exc:
        print(f"raftquake hosts down: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"hosts down: removed {' '.join(removed) or 'nothing'}")
    return EXIT_OK
