"""Say where the browser test's screenshots are, at the end of the run."""

from __future__ import annotations

from test_report_browser import SHOTS


def pytest_terminal_summary(terminalreporter):  # type: ignore[no-untyped-def]
    if SHOTS:
        terminalreporter.write_sep("-", "report screenshots")
        for path in SHOTS:
            terminalreporter.write_line(str(path))
