"""The report and the serve index in a real browser: headless Chromium (Debian's
`chromium`), driven by Playwright. Screenshots are kept under test-artifacts/report/
(or $RAFTQUAKE_ARTIFACTS/report/), and the test prints where.

Without chromium or Playwright the test is skipped with the reason, except under
CI=true, where .ci/run installs chromium and a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from report_runs import make_run

from harness.report import write_run_report

ROOT = Path(__file__).resolve().parents[2]
SHOTS: list[Path] = []  # screenshots written, listed at the end of the run (conftest.py)


def screenshot(page, path: Path, **kw) -> None:  # type: ignore[no-untyped-def]
    page.screenshot(path=str(path), **kw)
    SHOTS.append(path)


def browser_or_skip() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    why = None
    if exe is None:
        why = "no chromium on PATH (apt-get install chromium; .ci/run does it under CI)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            why = "playwright is not installed (pip install -e '.[test]')"
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser test cannot run under CI: {why}")
        pytest.skip(why)
    return exe


@pytest.fixture(scope="module")
def artifacts() -> Path:
    d = Path(os.environ.get("RAFTQUAKE_ARTIFACTS", ROOT / "test-artifacts")) / "report"
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = tmp_path_factory.mktemp("store")
    # Made in the same second, and named so that sorting by name would put the older
    # first: newest first must still hold. No report yet for the valid run: serve
    # writes it on request.
    good = make_run(store, "valid-run", bad=False)
    bad = make_run(store, "stale-read", bad=True)
    write_run_report(bad.path)
    return store, good, bad


@pytest.fixture(scope="module")
def page():
    exe = browser_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        yield pg
        browser.close()


def loaded_images(page) -> list[int]:
    """naturalWidth of every image: 0 means it did not decode."""
    return page.evaluate("Array.from(document.images).map(i => i.complete ? i.naturalWidth : 0)")


def test_report_from_the_file_system(page, store, artifacts):
    _, _, bad = store
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(bad.report.as_uri())
    assert page.locator("#verdict").inner_text().strip().upper() == "INVALID"
    lin = page.locator('[data-checker="linearizable"]')
    assert "INVALID" in lin.inner_text().upper()
    assert page.locator('[data-checker="election-safety"]').is_visible()
    cx = page.locator("#counterexample")
    assert cx.is_visible()
    assert "Not linearizable on key k1" in cx.inner_text()
    assert cx.locator("tr.stuck").count() == 1
    widths = loaded_images(page)
    assert len(widths) == 5 and all(w > 600 for w in widths), widths
    for section in ("#timeline", "#latency", "#throughput", "#elections"):
        assert page.locator(f"{section} img").is_visible()
    # Self-contained: the page asked for nothing but itself (images are data: URIs).
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    screenshot(page, artifacts / "report-invalid.png", full_page=True)
    screenshot(page, artifacts / "report-invalid-top.png")


def test_serve_index_links_to_reports(page, store, artifacts):
    from harness.commands.serve import make_server

    root, good, bad = store
    server = make_server(root, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        assert host == "127.0.0.1"
        page.goto(f"http://127.0.0.1:{port}/")
        rows = page.locator("tr.run")
        assert rows.count() == 2
        # Newest first: the invalid run was made second.
        first, second = rows.nth(0), rows.nth(1)
        assert "stale-read" in first.inner_text() and "INVALID" in first.inner_text().upper()
        assert "linearizable" in first.inner_text()
        assert "valid-run" in second.inner_text() and "VALID" in second.inner_text().upper()
        assert first.get_attribute("data-verdict") == "invalid"
        assert "partition" in second.inner_text() and "kill" in second.inner_text()
        screenshot(page, artifacts / "index.png", full_page=True)
        # The valid run had no report: following its link writes one.
        assert not good.report.exists()
        second.locator("a", has_text="report").click()
        page.wait_for_selector("#verdict")
        assert page.locator("#verdict").inner_text().strip().lower() == "valid"
        assert good.report.exists()
        assert all(w > 600 for w in loaded_images(page))
        screenshot(page, artifacts / "report-valid.png", full_page=True)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
