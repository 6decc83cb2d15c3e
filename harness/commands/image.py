"""`raftquake image build [--system NAME]`: a system's image (raftnode's by default),
built only when its sources changed."""

from __future__ import annotations

import argparse
import sys

HELP = "build the node's Docker image (offline base when no registry image is present)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    b = sub.add_parser("build", help="build the node image unless it is up to date")
    b.add_argument(
        "--base",
        help="base image to build on (default: python:3.11-slim when "
        "present locally, else the offline Debian base)",
    )
    b.add_argument(
        "--pull",
        action="store_true",
        help="pull the registry base when it is not present (needs a registry)",
    )
    b.add_argument("--force", action="store_true", help="rebuild the node layer even if up to date")
    t = sub.add_parser("tag", help="print the image tag for the current sources")
    for p in (b, t):
        p.add_argument(
            "--system",
            default="raftnode",
            metavar="NAME",
            help="whose image: raftnode (default), etcd, postgres, mariadb, galera, or "
            "module:Class / file.py:Class",
        )


def run(args: argparse.Namespace) -> int:
    from harness.backends.docker import image
    from harness.exit_codes import EXIT_ENV, EXIT_OK, EXIT_USAGE
    from harness.systems import SystemNotFound, system_class

    try:
        cls = system_class(args.system)
    except SystemNotFound as exc:
        print(f"raftquake image: {exc}", file=sys.stderr)
        return EXIT_USAGE
    spec = cls().image()  # every system's options have defaults
    if args.action == "tag":
        print(image.image_tag(spec))
        return EXIT_OK
    try:
        result = image.build(
            spec=spec,
            base=args.base,
            pull=args.pull,
            force=args.force,
            log=lambda m: print(f"image: {m}", file=sys.stderr),
        )
    except image.ImageError as exc:
        print(f"raftquake image: {exc}", file=sys.stderr)
        return EXIT_ENV
    state = "built" if result.built_node else "up to date"
    print(f"{result.tag} {state} (base {result.base}, {result.seconds:.1f} s)")
    return EXIT_OK
