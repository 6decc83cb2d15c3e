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
import time

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
    "hosts": "harness.commands.hosts",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line; with `only`, the named command's options alone are added (the
    others are listed with their one line of help): a command then imports nothing the
    other commands need, e.g. `check` no Docker client and `--help` no checker."""
    parser = argparse.ArgumentParser(
        prog="raftquake",
        description="Fault-injection testing for distributed systems: run a Raft cluster "
        "under faults, record a history, check it.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        if only is None or name == only:
            module.add_arguments(p)
            p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    # When the command started, for a limit in seconds a user times from there (`hunt
    # --time-budget`): the process's start when this is the process's command line.
    started = _process_start() if argv is None else time.monotonic()
    parser = build_parser(_command(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(argv)
    args.started = started
    if not getattr(args, "_run", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args._run(args))
    except KeyboardInterrupt:
        print("raftquake: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _process_start() -> float:
    """When this process started, on time.monotonic()'s clock: starting Python and
    importing take a second on a loaded machine. Linux's /proc says when; elsewhere, now."""
    import os
    from pathlib import Path

    now = time.monotonic()
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        since_boot = float(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: starttime
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return now
    return now - min(max(uptime - since_boot, 0.0), 60.0)


def _command(argv: list[str]) -> str:
    """The subcommand named on the line ("" for none: `raftquake --help`); the top level
    takes no option but -h, so it is the first word that is not an option."""
    return next((a for a in argv if not a.startswith("-")), "")


if __name__ == "__main__":
    sys.exit(main())
