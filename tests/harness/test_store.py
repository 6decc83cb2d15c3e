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
