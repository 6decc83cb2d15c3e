"""The pytest plugin: its assertions explain failures with the checker's own words, its
options are registered, and schedule YAML files become chaos tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.pytest_plugin import assert_caught, assert_valid, junit_properties
from harness.runner import RunOutcome
from harness.schedule import parse_schedule
from harness.store import new_run_dir
from harness.verdict import check_run

pytest_plugins = ["pytester"]

SCHEDULES = Path(__file__).resolve().parents[2] / "schedules"


def _run_with_history(tmp_path: Path, events: list[dict]) -> RunOutcome:
    """A run folder holding this history, checked by the real checkers."""
    schedule = parse_schedule("name: t\ncheckers: [linearizable, stats]\n")
    run_dir = new_run_dir(tmp_path / "store", "t")
    with run_dir.history.open("w") as f:
        for i, e in enumerate(events):
            f.write(json.dumps({"index": i, "time": i * 1000, **e}) + "\n")
    results = {"name": "t", "backend": "sim", "seed": 3, "status": "complete"}
    results.update(check_run(run_dir, schedule))
    return RunOutcome(run_dir, results)


def _op(p: int, kind: str, f: str, value, key: str = "k") -> dict:
    return {"process": p, "type": kind, "f": f, "key": key, "value": value}


STALE = [
    _op(0, "invoke", "write", 1),
    _op(0, "ok", "write", 1),
    _op(0, "invoke", "write", 2),
    _op(0, "ok", "write", 2),
    _op(1, "invoke", "read", None),
    _op(1, "ok", "read", 1),  # after write 2 was acknowledged: stale
]
FINE = STALE[:4] + [_op(1, "invoke", "read", None), _op(1, "ok", "read", 2)]


def test_assert_valid_fails_with_the_checkers_explanation(tmp_path: Path):
    outcome = _run_with_history(tmp_path, STALE)
    with pytest.raises(pytest.fail.Exception) as failed:
        assert_valid(outcome)
    text = str(failed.value)
    assert "linearizable: invalid" in text
    assert outcome.results["checkers"]["linearizable"]["explanation"].splitlines()[0] in text
    assert str(outcome.run_dir.path) in text  # where to look


def test_assert_caught_names_the_checker_and_fails_when_nothing_was_caught(tmp_path: Path):
    stale = _run_with_history(tmp_path / "a", STALE)
    assert assert_caught(stale, "linearizable") == "linearizable"
    assert assert_caught(stale, ("log-agreement", "linearizable")) == "linearizable"
    with pytest.raises(pytest.fail.Exception, match="did not use election-safety"):
        assert_caught(stale, "election-safety")
    fine = _run_with_history(tmp_path / "b", FINE)
    assert_valid(fine)
    with pytest.raises(pytest.fail.Exception, match="not caught: linearizable"):
        assert_caught(fine, "linearizable")


def test_junit_properties_carry_the_run_folder_and_each_verdict(tmp_path: Path):
    props = junit_properties(_run_with_history(tmp_path, STALE))
    assert props["raftquake.valid"] == "invalid"
    assert props["raftquake.checker.linearizable"] == "invalid"
    assert props["raftquake.checker.stats"] == "valid"
    assert Path(props["raftquake.run-dir"]).is_dir()


def test_options_are_registered(pytester: pytest.Pytester):
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        ["*--chaos-backend={docker,sim,local}*", "*--chaos-time-limit=S*", "*--chaos-seed=N*"]
    )
    result.stdout.fnmatch_lines(["*--chaos-store=DIR*"])


def test_shipped_schedules_collect_as_chaos_tests(pytester: pytest.Pytester):
    result = pytester.runpytest("--collect-only", "-q", str(SCHEDULES))
    names = {p.stem for p in SCHEDULES.glob("*.yaml")}
    for name in names:
        result.stdout.fnmatch_lines([f"*{name}.yaml::{name}"])
    deselected = pytester.runpytest("--collect-only", "-q", "-m", "not chaos", str(SCHEDULES))
    deselected.stdout.fnmatch_lines([f"*{len(names)} deselected*"])


def test_a_broken_schedule_file_fails_naming_its_line(pytester: pytest.Pytester):
    bad = pytester.path / "broken.yaml"
    bad.write_text("name: broken\nworkload:\n  keys: 4\n  colour: red\n")
    result = pytester.runpytest("-m", "chaos", str(bad), f"--junitxml={pytester.path}/j.xml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*broken.yaml:4: unknown field 'colour'*"])
    assert "broken.yaml:4" in (pytester.path / "j.xml").read_text()


HUNTED = """\
name: {name}
nodes: 5
time-limit: 10
node: {{bugs: {bugs}}}
workload: {{keys: 4, concurrency: 8, rate: 200}}
nemesis: [{{at: 1, fault: partition}}, {{at: 1, fault: kill}}]
final: {{heal: true, recover: 2}}
checkers: [linearizable, election-safety, log-agreement, stats]
"""


def test_chaos_hunt_shrinks_a_planted_bug_and_names_the_minimal_schedule(
    pytester: pytest.Pytester,
):
    (pytester.path / "abc.yaml").write_text(HUNTED.format(name="abc", bugs="[ack-before-commit]"))
    (pytester.path / "ok.yaml").write_text(HUNTED.format(name="ok", bugs="[]"))
    store = pytester.path / "store"
    result = pytester.runpytest(
        "-m", "chaos", "--chaos-hunt", "60", "--chaos-hunt-budget", "12", "--chaos-seed", "1",
        "--chaos-store", str(store),
        f"--junitxml={pytester.path}/j.xml", "abc.yaml", "ok.yaml",
    )  # fmt: skip
    result.assert_outcomes(passed=2)  # the bug found; nothing found on the correct node
    junit = (pytester.path / "j.xml").read_text()
    assert 'name="raftquake.minimal-schedule"' in junit
    minimal = list((store / "hunt" / "abc").glob("*/minimal.yaml"))
    assert len(minimal) == 1 and str(minimal[0]) in junit
    assert not (store / "hunt" / "ok").exists()


def test_chaos_hunt_fails_a_correct_schedule_when_it_finds_a_failure(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
):
    # A schedule that says "no bug" of a node that has one: what a nightly hunt would report.
    # (runpytest runs in this process, so the patch reaches it, and monkeypatch undoes it
    # for the tests after this one.)
    from harness.systems.raftnode import RaftnodeSystem

    schedule = pytester.path / "claims-ok.yaml"
    schedule.write_text(HUNTED.format(name="claims-ok", bugs="[ack-before-commit]"))
    monkeypatch.setattr(RaftnodeSystem, "expected_findings", lambda self: ())
    # Bounded by runs, not time: the search at seed 1 finds the bug within its first 30
    # runs, however loaded the machine (a 6 s budget did not always reach it).
    result = pytester.runpytest(
        "-m", "chaos", "--chaos-hunt", "30", "--chaos-hunt-budget", "300", "--chaos-seed", "1",
        "-q",
    )  # fmt: skip
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*found a failing run*minimal schedule:*minimal.yaml*"])


@pytest.mark.processes
def test_chaos_cluster_is_built_by_make_backend_with_the_markers_system(
    pytester: pytest.Pytester,
):
    """The fixture builds its cluster as a run does (make_backend): here local raftnode
    processes with the marker's options, and a system the backend does not run skips."""
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.chaos(nodes=3, read_mode="lease", bugs=["stale-read"])
        def test_local(chaos_cluster):
            from harness.backends.local.cluster import LocalCluster

            assert isinstance(chaos_cluster, LocalCluster)
            assert chaos_cluster.nodes == ["n1", "n2", "n3"]
            cmd = chaos_cluster.command("n1")
            assert cmd[cmd.index("--read-mode") + 1] == "lease" and "stale-read" in cmd
            assert all(chaos_cluster.statuses().values())  # started: every node answers
            chaos_cluster.kill(chaos_cluster.wait_for_leader(10))

        @pytest.mark.chaos(system="etcd")
        def test_etcd(chaos_cluster):
            raise AssertionError("etcd does not run as local processes")
        """
    )
    result = pytester.runpytest("--chaos-backend", "local", "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*system etcd runs on --backend docker | ssh only*"])
