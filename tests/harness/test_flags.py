"""Every numeric flag is held to what its YAML twin accepts (harness/numeric.py): a
refused value is a usage error, exit 2, naming the flag and what was expected, and the
refused command leaves nothing on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from harness.schedule import ScheduleError, parse_schedule

ROOT = Path(__file__).resolve().parents[2]
KILL = str(ROOT / "schedules" / "kill.yaml")

pytest_plugins = ["pytester"]

REFUSED = [
    (["run", KILL, "--backend", "sim", "--time-limit", "-5"], "--time-limit", "a number > 0"),
    (["run", KILL, "--backend", "sim", "--time-limit", "0"], "--time-limit", "a number > 0"),
    (["run", KILL, "--backend", "sim", "--time-limit", "nan"], "--time-limit", "a number > 0"),
    (["run", KILL, "--backend", "sim", "--seed", "-1"], "--seed", "an integer >= 0"),
    (["run", KILL, "--backend", "sim", "--seeds", "0"], "--seeds", "an integer >= 1"),
    (["run", KILL, "--backend", "sim", "--jobs", "-2"], "--jobs", "an integer >= 1"),
    (["run", KILL, "--backend", "sim", "--jobs", "1.5"], "--jobs", "an integer >= 1"),
    (["hunt", KILL, "--time-budget", "-1"], "--time-budget", "a number > 0"),
    (["hunt", KILL, "--time-budget", "0"], "--time-budget", "a number > 0"),
    (["hunt", KILL, "--runs", "-3"], "--runs", "an integer >= 1"),
    (["hunt", KILL, "--runs", "0"], "--runs", "an integer >= 1"),
    (["hunt", KILL, "--seed", "-7"], "--seed", "an integer >= 0"),
    (["hunt", KILL, "--time-limit", "0.5"], "--time-limit", "a number >= 1"),
    (["check", "h.jsonl", "--timeout", "-1"], "--timeout", "a number >= 0"),
    (["kv", "--node", "127.0.0.1:1", "--timeout", "0", "status"], "--timeout", "a number > 0"),
    (["serve", "--port", "70000"], "--port", "an integer from 0 to 65535"),
]


@pytest.mark.parametrize(
    ("argv", "flag", "expected"), REFUSED, ids=[f"{a[0]} {' '.join(a[-2:])}" for a, _, _ in REFUSED]
)
def test_a_refused_number_is_a_usage_error_that_names_the_flag(
    argv: list[str], flag: str, expected: str, tmp_path: Path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # `serve` and `check` would otherwise look at ./store
    store = tmp_path / "store"
    if argv[0] in ("run", "hunt"):
        argv = [*argv, "--store", str(store)]
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}: expected {expected}" in err, err
    assert list(tmp_path.iterdir()) == []  # no store, no hunt folder, nothing


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("time-limit", "-5", "time-limit must be a number > 0, got -5"),
        ("time-limit", "0", "time-limit must be a number > 0, got 0"),
        ("time-limit", ".nan", "time-limit must be a number > 0, got nan"),
        ("seed", "-1", "seed must be an integer >= 0, got -1"),
    ],
)
def test_the_yaml_twins_refuse_the_same_values(field: str, value: str, expected: str):
    with pytest.raises(ScheduleError, match=expected):
        parse_schedule(f"name: x\n{field}: {value}\n", "x.yaml")


def test_the_plugin_options_are_checked_too(pytester: pytest.Pytester):
    result = pytester.runpytest("--chaos-hunt-budget", "-1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--chaos-hunt-budget: expected a number > 0" in result.stderr.str()
