"""`raftquake clean`: remove containers, networks and volumes left by crashed runs."""

from __future__ import annotations

import argparse
import sys

HELP = "remove leftover containers, networks and volumes of raftquake runs (only ours, by label)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", help="only the resources of this run id")
    parser.add_argument(
        "--backend",
        choices=["docker", "ssh"],
        default="docker",
        help="docker: leftover containers, networks, volumes (default); ssh: heal and clean "
        "the hosts of --inventory (faults, node, the system's folder) a dead run left",
    )
    parser.add_argument("--inventory", metavar="FILE", help="the hosts, for --backend ssh")
    parser.add_argument(
        "--images", action="store_true", help="also remove raftquake's images (node and base)"
    )
    parser.add_argument(
        "--live-too",
        action="store_true",
        help="also remove the resources of runs still going on this host",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="list what would be removed, and remove nothing",
    )


def _clean_ssh(args: argparse.Namespace) -> int:
    from harness.backends.ssh.clean import clean_hosts
    from harness.backends.ssh.inventory import InventoryError, load_inventory
    from harness.exit_codes import EXIT_ENV, EXIT_OK, EXIT_USAGE

    if not args.inventory:
        print("raftquake clean: --backend ssh needs --inventory FILE", file=sys.stderr)
        return EXIT_USAGE
    try:
        inventory = load_inventory(args.inventory)
    except InventoryError as exc:
        print(f"raftquake clean: {exc}", file=sys.stderr)
        return EXIT_USAGE
    done = clean_hosts(inventory, dry_run=args.dry_run)
    for host, what in done.items():
        print(f"{host}: {what}")
    return EXIT_ENV if any(w.startswith("unreachable") for w in done.values()) else EXIT_OK


def run(args: argparse.Namespace) -> int:
    if args.backend == "ssh":
        return _clean_ssh(args)
    import docker
    from harness.backends.docker.cleanup import clean
    from harness.exit_codes import EXIT_ENV, EXIT_OK
    from harness.words import plural

    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:
        print(f"raftquake clean: no Docker engine reachable: {exc}", file=sys.stderr)
        return EXIT_ENV
    removed = clean(
        client, run_id=args.run, images=args.images, live_too=args.live_too, dry_run=args.dry_run
    )
    verb = "would remove" if args.dry_run else "removed"
    for kind in ("containers", "networks", "volumes", "images"):
        names = getattr(removed, kind)
        if names:
            print(f"{verb} {plural(len(names), kind[:-1])}: {' '.join(sorted(names))}")
    if not removed.total():
        print("nothing to clean")
    elif args.dry_run:
        print("nothing removed (--dry-run); `raftquake clean` without it removes these")
    if removed.kept:
        print(f"left alone: runs still going on this host: {' '.join(removed.kept)}")
    for err in removed.errors:
        print(f"raftquake clean: {err}", file=sys.stderr)
    return EXIT_ENV if removed.errors else EXIT_OK
