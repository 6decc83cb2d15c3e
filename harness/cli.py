"""The `raftquake` command line.

Each subcommand lives in its own module under `harness/commands/`, exposing
`HELP` (one line), `add_arguments(parser)` and `run(args) -> int` (the exit
status). Modules import their heavy dependencies inside `run`, so `--help`
stays fast. Exit statuses: harness/exit_codes.py (docs/DESIGN.md).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from harness.exit_codes import EXIT_INTERRUPTED, EXIT_USAGE

# Subcommand name -> module. Add a line here when you add a command.
COMMANDS: dict[str, str] = {
    "kv": "harness.commands.kv",
    "image": "harness.commands.image",
    "clean": "harness.commands.clean",
    "check": "harness.commands.check",
    "run": "harness.commands.run",
    "hunt": "harness.commands.hunt",
    "report": "harness.commands.report",
    "serve": "harness.commands.serve",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="raftquake",
        description="Fault-injection testing for distributed systems: run a Raft cluster "
        "under faults, record a history, check it.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args._run(args))
    except KeyboardInterrupt:
        print("raftquake: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
