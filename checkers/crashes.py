"""The crashes checker: did a node process die of its own error? (Jepsen's
unhandled-exceptions.)

A fault kills nodes from outside; that is expected. A node that raises an uncaught
exception, or stops itself on an error it cannot survive (a failed WAL write), is a bug
whatever the other checkers say: it may have taken acknowledged state with it, and it
hides what it would have done next. The node writes both to its log: a Python
traceback, or a CRITICAL line. This checker reads nodes/<id>/node.log of a run folder
(the simulation writes its nodes' errors there in the same shape) and names each. For a
system without one (etcd) it reads the member's console.log, where a Go program dies
with "panic: ..." or "fatal error: ..." and a zap logger writes "level": "fatal" or
"panic" before exiting; redis-server writes its bug report, a JVM its fatal-error banner,
and ZooKeeper's main says it is "exiting abnormally". SQL servers keep a log of their own
beside it (postgresql.log, mariadb.err), also read: PostgreSQL's PANIC lines and its
postmaster's word that a server process was terminated by a signal (a backend that
crashed: every kill of ours takes the postmaster too, so it never writes that), MariaDB's
"got signal" and assertion failures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from checkers.protocol import CheckerBase, RunFiles, Verdict

TRACEBACK = "Traceback (most recent call last):"
GO_DEATH = ("panic: ", "fatal error: ")  # the Go runtime's last words
ZAP_DEATH = ('"level":"fatal"', '"level":"panic"', '"level":"dpanic"')
OTHER_DEATH = (
    "=== REDIS BUG REPORT START",  # redis-server on an assertion or a signal it did not expect
    "# A fatal error has been detected by the Java Runtime Environment",  # a JVM crash
    "Unexpected exception, exiting abnormally",  # ZooKeeper's QuorumPeerMain giving up
)
SERVER_LOGS = ("postgresql.log", "mariadb.err")  # an SQL server's own log, when collected
SQL_DEATH = (" PANIC: ", "was terminated by signal", " got signal ", "Assertion failure")
MAX_SHOWN = 20


def find_crashes(log: Path) -> list[dict[str, Any]]:
    """Each traceback (its last line: the exception) and CRITICAL line of a node log."""
    found: list[dict[str, Any]] = []
    in_traceback_at = 0
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    for number, line in enumerate(lines, start=1):
        if line.startswith(TRACEBACK):
            in_traceback_at = number
        elif in_traceback_at and not line.startswith((" ", "\t")):
            # The first unindented line after the frames names the exception.
            found.append({"line": in_traceback_at, "error": line.strip()})
            in_traceback_at = 0
        elif (
            " CRITICAL " in line
            or line.startswith(GO_DEATH)
            or any(z in line for z in ZAP_DEATH)
            or any(o in line for o in OTHER_DEATH)
            or any(d in line for d in SQL_DEATH)
        ):
            found.append({"line": number, "error": line.strip()[:500]})
    if in_traceback_at:  # cut off at the end of the file
        found.append({"line": in_traceback_at, "error": "traceback (cut off)"})
    return found


class CrashesChecker(CheckerBase):
    name = "crashes"

    def check(self, run: RunFiles) -> Verdict:
        logs = []
        for folder in sorted((run.history.parent / "nodes").glob("*/")):
            own = folder / "node.log"
            logs += [own] if own.is_file() else list(folder.glob("console.log"))
            logs += [folder / name for name in SERVER_LOGS if (folder / name).is_file()]
        if not logs:
            return Verdict.unknown(self.name, "no node.log or console.log was collected")
        crashes = [
            {"node": log.parent.name, "file": f"nodes/{log.parent.name}/{log.name}", **c}
            for log in logs
            for c in find_crashes(log)
        ]
        details = {"nodes": len(logs), "crashes": crashes[:MAX_SHOWN], "total": len(crashes)}
        entry = {"valid": not crashes, **details}
        explanation = None
        if crashes:
            shown = [f"{c['node']} ({c['file']}:{c['line']}): {c['error']}" for c in crashes]
            if len(shown) > MAX_SHOWN:
                shown = shown[:MAX_SHOWN] + [f"... and {len(shown) - MAX_SHOWN} more"]
            explanation = "\n".join(shown)
        return Verdict(entry["valid"], self.summarize(entry), explanation, details)

    def summarize(self, entry: dict[str, Any]) -> str:
        total = entry.get("total", 0)
        if not total:
            return f"no node died of its own error ({entry.get('nodes', 0)} node logs)"
        return f"{total} node error(s), first: {entry['crashes'][0]['error']}"


CHECKER = CrashesChecker()
