"""The results store keeps DESIGN's layout and a `latest` link to the newest run."""

from harness.store import list_runs, new_run_dir


def test_runs_are_kept_and_latest_follows(tmp_path):
    first = new_run_dir(tmp_path, "demo", now=1_700_000_000)
    second = new_run_dir(tmp_path, "demo", now=1_700_000_000)  # same second
    third = new_run_dir(tmp_path, "other", now=1_700_000_100)
    assert first.path != second.path and first.path.exists() and second.path.exists()
    assert first.path.parent == tmp_path / "demo"
    assert (tmp_path / "latest").resolve() == third.path.resolve()
    assert [r.path for r in list_runs(tmp_path)][0] == third.path
    assert {r.path for r in list_runs(tmp_path)} == {first.path, second.path, third.path}


def test_results_round_trip_and_node_dirs(tmp_path):
    run = new_run_dir(tmp_path, "demo")
    assert run.read_results() is None
    run.write_results({"valid": True, "checkers": {"stats": {"valid": True}}})
    assert run.read_results()["checkers"]["stats"]["valid"] is True
    (run.node_dir("n1") / "events.jsonl").write_text("")
    assert list(run.node_dirs()) == ["n1"]


def test_a_run_killed_9_reads_abandoned_and_the_next_run_says_so(tmp_path):
    # A real `raftquake run` process killed -9 mid-run (its results.json says "running",
    # with its owner's pid), then another run on the same store.
    import json
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    store = tmp_path / "store"
    (tmp_path / "long.yaml").write_text(
        "name: long\nnodes: 3\ntime-limit: 600\nworkload: {keys: 2, concurrency: 2}\n"
    )
    (tmp_path / "short.yaml").write_text("name: short\nnodes: 3\ntime-limit: 1\n")
    cli = [sys.executable, "-m", "harness.cli", "run", "--backend", "sim", "--store", str(store)]
    doomed = subprocess.Popen([*cli, str(tmp_path / "long.yaml")], cwd=root,
                              stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not any(h.stat().st_size for h in store.glob("long/2*/history.jsonl")):
            assert time.monotonic() < deadline, "no history from the doomed run"
            assert doomed.poll() is None
            time.sleep(0.1)
    finally:
        doomed.kill()
        doomed.wait()
    (run,) = list_runs(store)
    assert run.read_results()["status"] == "running"
    after = subprocess.run([*cli, str(tmp_path / "short.yaml")], cwd=root,
                           capture_output=True, text=True, timeout=120)  # fmt: skip
    assert after.returncode == 0, after.stderr
    assert f"1 run of this store died before the end, now marked abandoned: {run.path}" in (
        after.stderr
    )
    results = json.loads(run.results.read_text())
    assert results["status"] == "abandoned" and results["valid"] == "unknown"
    assert f":{doomed.pid})" in results["error"]
    again = subprocess.run([*cli, str(tmp_path / "short.yaml")], cwd=root,
                           capture_output=True, text=True, timeout=120)  # fmt: skip
    assert "abandoned" not in again.stderr  # said once, when it was found
