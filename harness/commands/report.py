"""`raftquake report RUN_DIR...`: (re)write a run's report.html from what it stored."""

from __future__ import annotations

import argparse
import sys

from harness.exit_codes import EXIT_BAD_INPUT, EXIT_OK

HELP = "write (or rewrite) report.html of run folders from their history and results.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "run_dirs",
        nargs="+",
        metavar="RUN_DIR",
        help="a run folder (store/<name>/<stamp>, or store/latest)",
    )


def run(args: argparse.Namespace) -> int:
    from checkers.history import HistoryError
    from harness.report import write_run_report

    status = EXIT_OK
    for d in args.run_dirs:
        try:
            path = write_run_report(d)
        except (OSError, ValueError, HistoryError) as exc:
            # HistoryError already names the file and line; OSError names the path.
            print(f"raftquake report: {d}: {exc}", file=sys.stderr)
            status = EXIT_BAD_INPUT
            continue
        print(path)
    return status
