"""The shipped schedules: each loads, the set covers every fault family and every planted
bug, and each bug schedule asks for the checkers its bug declares (raftnode/bugs.py) and
applies a fault that exposes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.nemesis import FAULTS
from harness.pytest_plugin import expected_catchers
from harness.schedule import (
    FaultSpec,
    dump_schedule,
    fault_families,
    fault_plan,
    load_schedule,
    parse_schedule,
    with_seed,
)
from harness.systems import make_system
from raftnode.bugs import BY_NAME
from raftnode.bugs import OFFERED as BUGS

SCHEDULES = Path(__file__).resolve().parents[2] / "schedules"
SHIPPED = sorted(SCHEDULES.glob("*.yaml"))
FAMILIES = {"partition": "partitions", "kill": "kill", "pause": "pause", "clock": "clock"}
FAMILIES["packet"] = "packet"


def test_the_expected_files_are_shipped():
    names = {p.stem for p in SHIPPED}
    assert "default" in names
    assert set(FAMILIES.values()) <= names
    assert {f"bug-{b}" for b in BUGS} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_schedule_loads_and_plans(path: Path):
    s = load_schedule(path)
    assert s.name == path.stem  # the results folder is named after the file
    plan = fault_plan(with_seed(s, 1))
    assert plan, "a chaos schedule with no faults"
    assert all(p.start < s.time_limit for p in plan)
    # The schedule round-trips through what the run stores as schedule.yaml.
    again = parse_schedule(dump_schedule(with_seed(s, 1)))
    assert fault_plan(again) == plan


@pytest.mark.parametrize("fault,name", sorted(FAMILIES.items()))
def test_each_fault_family_schedule_is_about_that_family(fault: str, name: str):
    s = load_schedule(SCHEDULES / f"{name}.yaml")
    assert {f.fault for f in s.nemesis} == {fault}
    assert not make_system(s).bugs


def test_default_has_a_bit_of_everything_and_no_bug():
    s = load_schedule(SCHEDULES / "default.yaml")
    tour = [f for f in s.nemesis if isinstance(f, FaultSpec)]
    assert {f.fault for f in tour} == set(FAULTS)  # one of each family, by hand
    assert fault_families(s) == set(FAULTS)  # and a package of them all
    assert not make_system(s).bugs and s.time_limit == 90


@pytest.mark.parametrize("bug", BUGS)
def test_each_bug_schedule_plants_its_bug_and_runs_its_checker(bug: str):
    s = load_schedule(SCHEDULES / f"bug-{bug}.yaml")
    system = make_system(s)
    assert system.bugs == (bug,)
    declared = BY_NAME[bug]
    assert set(declared.caught_by) <= set(s.checkers)
    assert expected_catchers(system.bugs) == declared.caught_by
    assert set(declared.under) & fault_families(s), "none of the faults that expose it"
    if bug == "lease-no-quorum":
        assert system.read_mode == "lease"  # the bug only exists in lease mode


def test_the_nightly_package_is_generic_and_draws_a_fault_every_second_and_a_half():
    s = load_schedule(SCHEDULES / "package.yaml")
    [package] = s.nemesis
    assert set(package.families) == set(FAULTS) and not make_system(s).bugs  # nothing aimed
    assert (package.interval, package.duration) == (1.5, (1.0, 4.0))
    # Many short faults: each is another leader change, another chance for a bug to show.
    assert all(len(fault_plan(with_seed(s, seed))) >= 30 for seed in range(1, 6))
