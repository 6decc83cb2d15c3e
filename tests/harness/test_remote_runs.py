"""A remote pytest-xdist worker's runs travel with its reports into the controller's store
(harness/remote_runs.py; the whole path over ssh runners is tests/chaos/test_xdist_ssh.py):
packed off the worker's store, through pytest's report serialization (what xdist sends),
into the controller's store beside its own runs, and the report's paths pointed there."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from _pytest.reports import TestReport

from harness.pytest_plugin import RemoteRuns
from harness.remote_runs import ATTR, pack, relocate, unpack
from harness.report.index import run_rows
from harness.store import adopt_run_dir, list_hunts, list_runs, new_run_dir


def make_run(store: Path, name: str, stamp: str, valid: bool) -> Path:
    d = store / name / stamp
    (d / "nodes" / "n1").mkdir(parents=True)
    (d / "nodes" / "n1" / "node.log").write_text("log\n")
    (d / "history.jsonl").write_text('{"type": "ok"}\n')
    (d / "results.json").write_text(json.dumps({"name": name, "valid": valid}))
    return d


def test_packed_runs_land_in_the_controllers_store_beside_its_own(tmp_path):
    worker, controller = tmp_path / "worker", tmp_path / "controller"
    make_run(worker, "pause", "20261207T101010", True)
    make_run(worker, "pause", "20261207T101010-2", True)  # two in one second there
    make_run(worker, "hunt/package", "20261207T101011", False)
    own = new_run_dir(controller, "pause", now=None)  # the controller's own run
    collide = make_run(controller, "pause", "20261207T101010", True)

    packed = pack(worker)
    assert packed is not None and len(packed["runs"]) == 3
    assert list_runs(worker) == [] and list_hunts(worker) == []  # sent, not kept
    moved = unpack(packed, controller)

    runs = {r.path.name for r in list_runs(controller) if r.path.parent.name == "pause"}
    assert runs == {own.path.name, collide.name, "20261207T101010-2", "20261207T101010-3"}
    assert [h.path.name for h in list_hunts(controller)] == ["20261207T101011"]
    # Each moved run whole, at the path the mapping names.
    for new in moved.values():
        assert (Path(new) / "nodes" / "n1" / "node.log").read_text() == "log\n"
    # serve's index lists them all; latest is the last run unpacked (not the hunt).
    assert len(run_rows(controller)) == 4
    assert (controller / "latest").resolve() == Path(moved[str(worker / "pause/20261207T101010-2")])
    # A path of the worker's that extends another is not mangled by the shorter one.
    text = f"{worker}/pause/20261207T101010-2/results.json"
    assert relocate(text, moved) == f"{moved[str(worker / 'pause/20261207T101010-2')]}/results.json"


def test_nothing_to_pack_is_nothing_sent(tmp_path):
    assert pack(tmp_path) is None


def test_a_run_folder_name_is_checked(tmp_path):
    for bad in ("../x/20261207T101010", "/abs/20261207T101010", "pause/not-a-stamp"):
        with pytest.raises(ValueError):
            adopt_run_dir(tmp_path, bad)


def test_the_runs_survive_the_report_serialization_and_the_paths_follow(tmp_path):
    """What xdist sends of a report is pytest's serialization of it: the packed runs (an
    attribute of the report) come through, and the controller's hook stores them and
    rewrites the JUnit properties and output that named the worker's folders."""
    worker, controller = tmp_path / "worker", tmp_path / "controller"
    run = make_run(worker, "kill", "20261207T101010", True)
    report = TestReport(
        "schedules/kill.yaml::kill", ("schedules/kill.yaml", None, "kill"), {}, "passed",
        None, "teardown", sections=[("Captured stdout call", f"results: {run}")],
        user_properties=[("raftquake.run-dir", str(run)), ("raftquake.seed", "1")],
    )  # fmt: skip
    setattr(report, ATTR, pack(worker))
    sent = TestReport._from_json(report._to_json())

    config = SimpleNamespace(getoption=lambda name: str(controller))
    plugin = RemoteRuns(config)  # type: ignore[arg-type]
    plugin.pytest_runtest_logreport(sent)

    here = controller / "kill" / "20261207T101010"
    assert (here / "results.json").is_file() and plugin.received == 1
    assert dict(sent.user_properties) == {"raftquake.run-dir": str(here), "raftquake.seed": "1"}
    assert sent.sections == [("Captured stdout call", f"results: {here}")]
    assert not hasattr(sent, ATTR)
