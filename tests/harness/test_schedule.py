"""Schedules: the DESIGN example loads, bad input names its line, plans are reproducible."""

from pathlib import Path

import pytest

from harness.nemesis import make_fault
from harness.schedule import (
    ScheduleError,
    dump_schedule,
    fault_plan,
    load_schedule,
    parse_schedule,
    with_seed,
)

DESIGN_EXAMPLE = """\
name: leader-partition
nodes: 5
time-limit: 60
seed: 7
system:
  name: raftnode
  read-mode: read-index
  bugs: []
workload:
  name: register
  keys: 8
  concurrency: 10
  rate: 200
  mix: {read: 0.5, write: 0.3, cas: 0.2}
nemesis:
  - {at: 5, fault: partition, mode: majorities-ring, for: 10}
  - {start: 10, every: 15, fault: kill, target: leader, for: 3}
  - {at: 30, fault: clock, mode: bump, delta-ms: 4000, target: minority}
final:
  heal: true
  recover: 10
checkers: [linearizable, election-safety, log-agreement, stats]
"""


def test_design_example_loads_and_plans():
    s = parse_schedule(DESIGN_EXAMPLE, "example.yaml")
    assert (s.name, s.nodes, s.time_limit, s.seed) == ("leader-partition", 5, 60.0, 7)
    assert s.workload.mix == {"read": 0.5, "write": 0.3, "cas": 0.2}
    plan = fault_plan(s)
    kills = [(p.start, p.end) for p in plan if p.spec.fault == "kill"]
    assert kills == [(10, 13), (25, 28), (40, 43), (55, 58)]
    assert [p.start for p in plan] == sorted(p.start for p in plan)
    clock = next(p for p in plan if p.spec.fault == "clock")
    assert clock.end is None and clock.spec.options["delta-ms"] == 4000


def test_dumped_schedule_reads_back_the_same(tmp_path: Path):
    s = with_seed(parse_schedule(DESIGN_EXAMPLE.replace("seed: 7\n", "")), 1234)
    path = tmp_path / "schedule.yaml"
    path.write_text(dump_schedule(s))
    again = load_schedule(path)
    assert again.seed == 1234
    assert dump_schedule(again) == dump_schedule(s)
    assert fault_plan(again) == fault_plan(s)


def test_explicit_seed_wins_and_missing_seed_is_filled():
    s = parse_schedule(DESIGN_EXAMPLE)
    assert with_seed(s).seed == 7
    assert with_seed(s, 99).seed == 99
    unseeded = parse_schedule("name: x\n")
    assert isinstance(with_seed(unseeded).seed, int)


@pytest.mark.parametrize(
    "text, line, words",
    [
        ("name: x\nnodez: 3\n", 2, ["unknown field 'nodez'", "nodes"]),
        ("name: x\nnode:\n  read-mode: eventual\n", 3, ["read-mode", "read-index"]),
        ("name: x\nnode:\n  bugs: [typo-bug]\n", 3, ["typo-bug", "stale-read"]),
        ("name: x\nworkload:\n  mix: {read: 1, scan: 2}\n", 3, ["scan"]),
        ("name: x\nworkload:\n  concurrency: 0\n", 3, ["concurrency", ">= 1"]),
        (
            "name: x\nnemesis:\n  - {at: 1, fault: partition, mode: triangle}\n",
            3,
            ["triangle", "majorities-ring"],
        ),
        ("name: x\nnemesis:\n  - fault: kill\n    at: 3\n    target: n9\n", 5, ["n9"]),
        ("name: x\nnemesis:\n  - fault: kill\n    at: 3\n    forr: 2\n", 5, ["forr"]),
        ("name: x\nnemesis:\n  - {fault: quake, at: 1}\n", 3, ["quake", "partition"]),
        ("name: x\nnemesis:\n  - {fault: kill}\n", 3, ["'at'", "'every'"]),
        (
            "name: x\nnemesis:\n  - {fault: clock, at: 1, mode: strobe, delta-ms: 5}\n",
            3,
            ["period-ms"],
        ),
        ("name: x\nnemesis:\n  - {fault: packet, at: 1, loss: 150}\n", 3, ["percentage"]),
        ("name: x\ncheckers: [linearizable, vibes]\n", 2, ["vibes"]),
        ("nodes: 3\n", 1, ["name"]),
        ("name: [x\n", 2, ["not valid YAML"]),
    ],
)
def test_bad_schedules_name_the_line(text, line, words):
    with pytest.raises(ScheduleError) as info:
        parse_schedule(text, "bad.yaml")
    message = str(info.value)
    assert message.startswith(f"bad.yaml:{line}: "), message
    for word in words:
        assert word in message


def test_missing_file_is_a_clear_error(tmp_path: Path):
    with pytest.raises(ScheduleError, match="nope.yaml: cannot read schedule"):
        load_schedule(tmp_path / "nope.yaml")


PACKAGE = """\
name: pkg
nodes: 5
time-limit: 60
seed: 3
nemesis:
  - {package: [partition, kill, pause, clock, packet], interval: 4, for: [1, 6]}
"""


def test_a_package_draws_a_seeded_plan_of_every_family_without_unsafe_overlap():
    from harness.nemesis.package import GROUPS

    s = parse_schedule(PACKAGE, "pkg.yaml")
    plan = fault_plan(s)
    assert plan == fault_plan(s)  # the seed fixes it
    assert plan != fault_plan(with_seed(s, 4))
    assert {p.spec.fault for p in plan} == {"partition", "kill", "pause", "clock", "packet"}
    assert 8 <= len(plan) <= 22  # about one every 4 s over 60 s
    assert all(0 <= p.start < 60 and 1 <= p.end - p.start <= 6 for p in plan)
    # At most one fault of a group at a time: healing a partition clears a packet
    # fault's rules, a paused container cannot be killed.
    for a in plan:
        for b in plan:
            same = GROUPS.get(a.spec.fault, a.spec.fault) == GROUPS.get(b.spec.fault, b.spec.fault)
            if a is not b and same:
                assert a.end <= b.start or b.end <= a.start
    # Every planned fault is one the nemesis builds.
    for p in plan:
        make_fault(p.spec, cluster=None)
    again = parse_schedule(dump_schedule(s))
    assert fault_plan(again) == plan


def test_a_package_draws_partitions_most_often():
    # The fault most consensus bugs need, drawn 2.5 times as often as any other family
    # whose group is free (harness/nemesis/package.py WEIGHTS); drawn evenly, partitions
    # came least, since packet faults hold the same network group.
    from collections import Counter

    every = "[partition, kill, pause, clock, packet, membership], interval: 1.5, for: [1, 4]"
    s = parse_schedule(
        PACKAGE.replace("[partition, kill, pause, clock, packet], interval: 4, for: [1, 6]", every)
    )
    drawn = Counter(p.spec.fault for seed in range(1, 21) for p in fault_plan(with_seed(s, seed)))
    assert drawn.most_common(1)[0][0] == "partition"
    assert drawn["partition"] > 1.5 * drawn["packet"]


def _groups_overlap(plan) -> bool:
    from harness.nemesis.package import GROUPS

    return any(
        a is not b and GROUPS[a[2]] == GROUPS[b[2]] and a[0] < b[1] and b[0] < a[1]
        for a in plan
        for b in plan
    )


def test_one_generator_draws_a_package_and_the_shapes_a_search_asks_for():
    # Schedules' packages, the hunt and the property tests draw through draw_plan; a
    # package is its default shape, the others change only what they need.
    import random

    from harness.nemesis.package import Shape, draw_plan, package_plan

    nodes, families = ["n1", "n2", "n3"], ("partition", "packet", "kill", "pause")
    package = Shape(families, 1.0, (1.0, 6.0))
    for seed in range(5):
        plan = draw_plan(random.Random(seed), nodes, 0.0, 60.0, package)
        assert plan == package_plan(random.Random(seed), list(families), nodes, 0, 60, 1, (1, 6))
        assert not _groups_overlap(plan)
    # Faults of one group overlap only when asked (a safety test wants the worst).
    overlapping = Shape(families, 1.0, (1.0, 6.0), exclusive=False)
    assert all(
        _groups_overlap(draw_plan(random.Random(s), nodes, 0, 60, overlapping)) for s in range(5)
    )
    # At most so many faults, in tenths of a second, options the nemesis builds.
    capped = draw_plan(
        random.Random(1), nodes, 0, 60, Shape(families, 1.0, (1, 6), most=3, decimals=1)
    )
    assert len(capped) == 3
    assert all(round(t, 1) == t for at, end, _, _ in capped for t in (at, end))
    for _, _, family, options in capped:
        make_fault({"fault": family, **options}, cluster=None)


@pytest.mark.parametrize(
    "entry,message",
    [
        ("{package: [partition, flood]}", "4: nemesis[0].package[1] is 'flood'; expected one of"),
        ("{package: [kill], interval: 0}", "4: interval must be > 0 seconds"),
        ("{package: [kill], for: [5, 1]}", "4: for must be 0 < shortest <= longest"),
        ("{package: [kill], colour: red}", "4: unknown field 'colour' in a nemesis package"),
        ("{package: kill}", "4: package must be a list of fault families"),
    ],
)
def test_a_bad_package_names_its_line(entry: str, message: str):
    text = f"name: x\ntime-limit: 10\nnemesis:\n  - {entry}\n"
    with pytest.raises(ScheduleError) as exc:
        parse_schedule(text, "x.yaml")
    assert message in str(exc.value)


def test_workload_client_options_parse_round_trip_and_are_checked():
    s = parse_schedule(
        "name: w\nworkload: {binding: any, timeout: 8, attempt-timeout: 2, ops-per-key: 100}\n"
    )
    w = s.workload
    assert (w.binding, w.timeout, w.attempt_timeout, w.ops_per_key) == ("any", 8.0, 2.0, 100)
    assert parse_schedule(dump_schedule(s)).workload == w
    assert parse_schedule("name: d\n").workload.binding == "node"  # the default
    with pytest.raises(ScheduleError) as exc:
        parse_schedule("name: w\nworkload:\n  binding: sticky\n", "w.yaml")
    assert "w.yaml:3: workload.binding is 'sticky'; expected one of: node, leader, any" in str(
        exc.value
    )


@pytest.mark.parametrize(
    "entry, line, message",
    [
        # The fault's own check, at the line of the option it names.
        ("  - fault: kill\n    at: 3\n    target: [n1, n9]\n", 6, "kill: target[1] is 'n9'"),
        ("  - fault: clock\n    at: 1\n    mode: reset\n    delta-ms: 5\n", 7, "takes no delta-ms"),
        ("  - fault: packet\n    at: 1\n    delay-ms: -3\n", 6, "delay-ms must be a number >= 0"),
        # A required option missing: the entry's line.
        ("  - fault: clock\n    at: 1\n    mode: strobe\n    delta-ms: 5\n", 4, "needs period-ms"),
        # Refused at load now, not when the run gets to it.
        ("  - fault: partition\n    at: 1\n    mode: bridge\n    one-way: true\n", 7, "two-sided"),
        # An impatient operator removes members; it cannot wipe or grow them.
        (
            "  - fault: membership\n    at: 1\n    mode: wipe\n    overlap: true\n",
            7,
            "membership: overlap needs mode remove, not wipe",
        ),
        (
            "  - fault: membership\n    at: 1\n    overlap: often\n",
            6,
            "membership: overlap must be true or false, got 'often'",
        ),
    ],
)
def test_each_fault_checks_its_options_at_the_options_line(entry: str, line: int, message: str):
    with pytest.raises(ScheduleError) as exc:
        parse_schedule(f"name: x\nnodes: 3\nnemesis:\n{entry}", "x.yaml")
    assert str(exc.value).startswith(f"x.yaml:{line}: ")
    assert message in str(exc.value)


def test_a_fault_fills_its_defaults_as_the_schedule_stores_them():
    from harness.nemesis import FAULTS

    assert FAULTS["partition"].validate({}) == {"mode": "halves", "one-way": False}
    assert FAULTS["kill"].validate({}, ["n1"]) == {"target": "one"}
    assert FAULTS["clock"].validate({"delta-ms": -5}) == {
        "target": "one",
        "mode": "bump",
        "delta-ms": -5,
    }
    s = parse_schedule("name: x\nnemesis:\n  - {fault: partition, at: 1}\n")
    assert s.nemesis[0].options == {"mode": "halves", "one-way": False}


def test_adding_a_fault_is_its_class_and_its_registration(monkeypatch):
    from harness.nemesis import FAULTS, Fault
    from harness.nemesis.base import FaultError, check_number

    class Drop(Fault):  # a new fault, known nowhere else
        name = "drop"
        options = ("rate", "target")
        group = "network"

        @classmethod
        def _validate(cls, options):
            if "rate" not in options:
                raise FaultError("drop: needs rate")
            return {"rate": check_number(cls.name, "rate", options["rate"], 0)}

        @classmethod
        def draw(cls, rng, nodes, target):
            return {"rate": rng.choice([1, 2]), "target": target}

    monkeypatch.setitem(FAULTS, "drop", Drop)
    s = parse_schedule("name: x\nnemesis:\n  - {fault: drop, at: 1, rate: 3, target: all}\n")
    assert s.nemesis[0].options == {"target": "all", "rate": 3}
    with pytest.raises(ScheduleError, match=r"x.yaml:5: drop: rate must be a number >= 0"):
        parse_schedule("name: x\nnemesis:\n  - fault: drop\n    at: 1\n    rate: -1\n", "x.yaml")
    assert make_fault(s.nemesis[0], cluster=None).opts == {"target": "all", "rate": 3}
