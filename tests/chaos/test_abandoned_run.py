"""A harness killed -9 mid-run leaves its cluster running, and its results.json "running".
On a real engine: the next `raftquake run` says what the dead run left and how to remove
it, the dead run's results.json reads "abandoned", and `raftquake serve`'s index shows
both. The test removes the dead run's resources itself (by its run id only)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.chaos

LONG = """name: doomed
nodes: 3
time-limit: 300
workload: {keys: 3, concurrency: 3, rate: 30}
nemesis:
  - {start: 5, every: 10, fault: kill, target: one, for: 2}
final: {heal: true, recover: 1}
"""
SHORT = """name: next
nodes: 3
time-limit: 2
workload: {keys: 2, concurrency: 2, rate: 20}
final: {heal: true, recover: 1}
"""


def _wait(cond, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"no {what} within {seconds:g} s")


def _under_way(store: Path) -> Path | None:
    for h in store.glob("doomed/2*/history.jsonl"):
        if h.stat().st_size > 0:
            return h.parent
    return None


def test_a_harness_killed_9_is_named_by_the_next_run_and_reads_abandoned(
    docker_engine, node_image, tmp_path: Path
):
    import docker
    from harness.backends.docker.cleanup import clean, leftovers
    from harness.commands.serve import make_server

    client = docker.from_env()
    store = tmp_path / "store"
    (tmp_path / "doomed.yaml").write_text(LONG)
    (tmp_path / "next.yaml").write_text(SHORT)
    cli = [sys.executable, "-m", "harness.cli", "run", "--backend", "docker", "--seed", "1"]
    doomed = subprocess.Popen(
        [*cli, str(tmp_path / "doomed.yaml"), "--store", str(store)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    run_id = None
    try:
        run_dir = _wait(lambda: _under_way(store), 180, "history from the doomed run")
        results = json.loads((run_dir / "results.json").read_text())
        assert results["status"] == "running" and results["owner"].endswith(f":{doomed.pid}")
        run_id = results["run-id"]  # written while it runs, for this very case
        doomed.kill()  # kill -9: no teardown, no results
        doomed.wait()
        assert leftovers(client, run_id)["containers"], "its cluster should still be there"

        after = subprocess.run(
            [*cli, str(tmp_path / "next.yaml"), "--store", str(store)],
            cwd=ROOT, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert after.returncode == 0, after.stderr
        said = [ln for ln in after.stderr.splitlines() if run_id in ln]
        assert said, after.stderr
        assert "3 containers, 1 network, 3 volumes" in said[0] and str(run_dir) in said[0]
        assert "`raftquake clean` removes what dead runs left" in after.stderr
        results = json.loads((run_dir / "results.json").read_text())
        assert results["status"] == "abandoned" and results["valid"] == "unknown"
        assert "died before the end" in results["error"]

        server = make_server(store, "127.0.0.1", 0, client)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            port = server.server_address[1]
            page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30).read()
        finally:
            server.shutdown()
            server.server_close()
        html = page.decode()
        assert run_id in html and "abandoned" in html and "raftquake clean" in html
    finally:
        if doomed.poll() is None:
            doomed.kill()
            doomed.wait()
        # The dead run's resources, found by its owner label (its process's pid), so that
        # nothing is left even when an assertion above failed before its run id was read.
        owner = f"{socket.gethostname()}:{doomed.pid}"
        ours = {
            (c.labels or {}).get("raftquake.run")
            for c in client.containers.list(all=True, filters={"label": f"raftquake.owner={owner}"})
        } | ({run_id} if run_id else set())
        for rid in ours - {None}:
            removed = clean(client, run_id=rid)
            assert not removed.errors, removed.errors
            assert not any(leftovers(client, rid).values())
        client.close()
