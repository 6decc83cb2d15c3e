"""benchmarks/bench_detection.py --system: every row's schedule, as the benchmark runs it
(no bug planted, the row's system options), makes its system (a row that cannot would
fail the whole table at its first run, after waiting for the measure lock)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_detection  # noqa: E402

from harness.schedule import load_schedule  # noqa: E402
from harness.systems import make_system  # noqa: E402


@pytest.mark.parametrize("name", sorted(bench_detection.SYSTEM_ROWS))
def test_every_system_row_makes_its_system_as_the_benchmark_runs_it(name):
    for file, options in bench_detection.SYSTEM_ROWS[name]:
        schedule = load_schedule(bench_detection.SCHEDULES / file)
        run = bench_detection.with_system_options(bench_detection.planted(schedule, ""), options)
        system = make_system(run)
        assert system.name == schedule.system.name
        assert all(system.options[k] == v for k, v in options.items())


def test_the_stores_rows_are_issue_26s_table():
    files = [file for file, _options in bench_detection.SYSTEM_ROWS["stores"]]
    assert files.count("redis.yaml") == 2 and files.count("zookeeper.yaml") == 2
    assert {"etcd-txn.yaml", "etcd-bank.yaml", "etcd-lock.yaml"} <= set(files)
