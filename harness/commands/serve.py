"""`raftquake serve [--store DIR] [--port P]`: browse the store's runs and reports.

The index (/) lists every run, newest first. A run's files are served read-only from
the store; a run without report.html (older runs, or a report that failed) gets one
written on first request. Binds 127.0.0.1 unless told otherwise: results can hold
anything a workload wrote.
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path
from typing import Any

from harness.commands.flags import PORT
from harness.exit_codes import EXIT_BAD_INPUT, EXIT_ENV, EXIT_OK

HELP = "browse the results store: an index of every run, each linking to its report"

DEFAULT_PORT = 8080


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store", default="store", metavar="DIR", help="results store (default: store)"
    )
    parser.add_argument(
        "--port",
        type=PORT,
        default=DEFAULT_PORT,
        metavar="P",
        help=f"port (default {DEFAULT_PORT}; 0: any free)",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )


def make_server(store: Path, host: str, port: int, docker: Any = None):  # type: ignore[no-untyped-def]
    """`docker`: a client of the engine runs use, to say in the index what dead runs left
    there (None: the store's abandoned runs only)."""
    from http import HTTPStatus
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import unquote, urlsplit

    from harness.leftovers import find_leftovers
    from harness.report.index import render_index
    from harness.report.page import write_run_report

    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            path = unquote(urlsplit(self.path).path)
            if path in ("/", "/index.html"):
                # Runs killed -9 read "abandoned", and what they left is named, each time.
                notes = find_leftovers(store, docker).lines()
                self._send_html(render_index(store, live=True, notes=notes))
                return
            if path.endswith("/report.html"):
                run_dir = (store / path.lstrip("/")).parent.resolve()
                inside = store.resolve() in run_dir.parents
                if (
                    inside
                    and (run_dir / "history.jsonl").is_file()
                    and not (run_dir / "report.html").exists()
                ):
                    try:
                        write_run_report(run_dir)
                    except Exception as exc:  # show why, rather than a bare 404
                        self.send_error(
                            HTTPStatus.INTERNAL_SERVER_ERROR,
                            f"cannot write the report: {type(exc).__name__}: {exc}",
                        )
                        return
            super().do_GET()

        def do_POST(self) -> None:  # noqa: N802
            self.send_error(HTTPStatus.METHOD_NOT_ALLOWED)

        def _send_html(self, text: str) -> None:
            body = text.encode("utf-8")
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args) -> None:  # noqa: A002
            sys.stderr.write(f"serve: {self.address_string()} {format % args}\n")

    SimpleHTTPRequestHandler.extensions_map.update({".jsonl": "text/plain", ".yaml": "text/plain"})
    return ThreadingHTTPServer((host, port), partial(Handler, directory=str(store)))


def run(args: argparse.Namespace) -> int:
    store = Path(args.store)
    if not store.is_dir():
        print(
            f"raftquake serve: {store}: no such store (run something first, or pass --store)",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    from harness.leftovers import docker_client

    try:
        server = make_server(store, args.host, args.port, docker_client(timeout=2))
    except OSError as exc:
        print(f"raftquake serve: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return EXIT_ENV
    host, port = server.server_address[:2]
    print(f"serving {store} at http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return EXIT_OK
