"""The system under test as a plug-in (harness/systems/): how a schedule names it, what is
checked before a run, and what each built-in system declares. No Docker needed here; the
real clusters are tests/chaos/test_etcd.py's and tests/examples/'s."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.backends import backend_problem
from harness.pytest_plugin import schedule_catchers
from harness.schedule import ScheduleError, dump_schedule, load_schedule, parse_schedule
from harness.systems import make_system, system_class
from harness.systems.base import Client, ClientOptions, ImageSpec, Status, System
from harness.systems.etcd import EtcdSystem
from harness.systems.raftnode import RaftnodeSystem

ROOT = Path(__file__).resolve().parents[2]


def test_raftnode_is_the_default_and_takes_its_options_from_node():
    s = parse_schedule("name: x\nnode: {read-mode: lease, bugs: [stale-read]}\n")
    assert s.system.name == "raftnode"
    system = make_system(s)
    assert isinstance(system, RaftnodeSystem)
    cmd = system.command("n2", {"n1": "10.0.0.1", "n2": "10.0.0.2"})
    assert cmd[:3] == ["python3", "-m", "raftnode"]
    assert "--bug" in cmd and "stale-read" in cmd and "lease" in cmd
    assert "n1=10.0.0.1:7000,n2=10.0.0.2:7000" in cmd


def test_short_and_long_forms_name_etcd_and_its_options():
    short = parse_schedule("name: x\nsystem: etcd\n")
    long = parse_schedule("name: x\nsystem: {name: etcd, reads: serializable}\n")
    assert isinstance(make_system(short), EtcdSystem)
    assert make_system(short).options == {"reads": "linearizable"}
    assert make_system(long).options == {"reads": "serializable"}
    # The results folder's copy of the schedule replays the same system.
    for s in (short, long):
        assert parse_schedule(dump_schedule(s)).system == s.system


@pytest.mark.parametrize(
    "text, line, words",
    [
        ("name: x\nsystem: cassandra\n", 2, "unknown system 'cassandra'"),
        ("name: x\nsystem:\n  name: etcd\n  reads: sometimes\n", 4, "expected one of"),
        ("name: x\nsystem:\n  name: etcd\n  colour: red\n", 4, "no option 'colour'"),
        ("name: x\nsystem: {reads: serializable}\n", 2, "needs name:"),
        ("name: x\nsystem: etcd\nnode:\n  bugs: [stale-read]\n", 3, "raftnode's options"),
        ("name: x\nsystem: nosuch.module:Thing\n", 2, "cannot import nosuch.module"),
        ("name: x\nsystem: harness.schedule:Schedule\n", 2, "no System subclass"),
    ],
)
def test_bad_system_entries_name_the_line(text, line, words):
    with pytest.raises(ScheduleError) as err:
        parse_schedule(text, "s.yaml")
    assert err.value.line == line and words in str(err.value)


def test_a_system_in_a_file_is_found_from_the_schedules_folder(tmp_path):
    (tmp_path / "mine.py").write_text((ROOT / "tests" / "examples" / "tinykv.py").read_text())
    (tmp_path / "s.yaml").write_text("name: x\nsystem: mine.py:TinyKV\nnodes: 1\n")
    s = load_schedule(tmp_path / "s.yaml")
    # Kept absolute, so the copy in the results folder still finds it.
    assert s.system.name == f"{tmp_path / 'mine.py'}:TinyKV"
    assert system_class(s.system.name).name == "tinykv"


def test_etcd_refuses_clock_faults_and_says_why():
    etcd = EtcdSystem()
    assert etcd.refuses("partition") is None and etcd.refuses("kill") is None
    assert "libfaketime" in etcd.refuses("clock") and "Go" in etcd.refuses("clock")
    cmd = etcd.command("n1", {"n1": "10.0.0.1", "n2": "10.0.0.2"})
    assert cmd[0] == "etcd" and "n1=http://10.0.0.1:2380,n2=http://10.0.0.2:2380" in cmd
    assert "zap" in cmd  # etcd_log.py reads its JSON lines


def test_what_should_catch_a_schedule_comes_from_its_system():
    assert schedule_catchers(load_schedule(ROOT / "schedules" / "etcd.yaml")) == ()
    serial = load_schedule(ROOT / "schedules" / "etcd-serializable.yaml")
    assert schedule_catchers(serial) == ("linearizable",)
    assert "linearizable" in schedule_catchers(
        load_schedule(ROOT / "schedules/bug-stale-read.yaml")
    )


def test_other_systems_run_on_docker_only_or_on_hosts_too():
    etcd = load_schedule(ROOT / "schedules" / "etcd.yaml")
    assert backend_problem("docker", etcd) is None
    assert backend_problem("ssh", etcd) is None  # Debian's etcd-server on the hosts
    for backend in ("sim", "local"):
        assert "docker | ssh only" in backend_problem(backend, etcd)
    zk = load_schedule(ROOT / "schedules" / "zookeeper.yaml")
    assert "docker only" in backend_problem("ssh", zk)
    assert backend_problem("sim", load_schedule(ROOT / "schedules" / "default.yaml")) is None


@pytest.mark.parametrize("command", ["run", "hunt"])
def test_etcd_on_the_simulation_is_a_usage_error(command, tmp_path):
    args = [sys.executable, "-m", "harness.cli", command, str(ROOT / "schedules" / "etcd.yaml")]
    args += ["--backend", "sim"] if command == "run" else ["--runs", "1"]
    proc = subprocess.run(
        [*args, "--store", str(tmp_path)], capture_output=True, text=True, cwd=ROOT
    )
    assert proc.returncode == 2, proc.stderr
    assert "etcd runs on --backend docker | ssh only" in proc.stderr
    assert not any(tmp_path.iterdir())  # no run folder for a run that cannot happen


def test_checkers_with_nothing_to_read_are_left_out_or_marked_not_applicable(tmp_path):
    from harness.store import new_run_dir
    from harness.verdict import check_run

    default = parse_schedule("name: x\nsystem: etcd\n")
    assert "log-agreement" not in default.checkers and "linearizable" in default.checkers
    asked = parse_schedule("name: x\nsystem: etcd\ncheckers: [stats, log-agreement]\n")
    run = new_run_dir(tmp_path, "x")
    op = '{"index": %d, "time": %d, "process": 0, "type": "%s", "f": "write", "value": 1}\n'
    run.history.write_text(op % (0, 10, "invoke") + op % (1, 20, "ok"))
    results = check_run(run, asked)
    entry = results["checkers"]["log-agreement"]
    assert entry["applicable"] is False and "no committed log" in entry["reason"]
    assert results["valid"] is True  # on what stats could look at; the rest said apart
    only = parse_schedule("name: x\nsystem: etcd\ncheckers: [log-agreement]\n")
    assert check_run(run, only)["valid"] == "unknown"  # nothing looked: never valid


@pytest.mark.parametrize(
    "argv, words",
    [
        (["image", "tag", "--system", "cassandra"], "unknown system 'cassandra'"),
        (["kv", "--node", "127.0.0.1:1", "txn", '[["pop", "x", 1]]'], "bad micro-op"),
        (["kv", "--node", "127.0.0.1:1", "txn", "[[not json"], "raftquake kv txn:"),
    ],
)
def test_new_usage_errors_exit_2_saying_why(argv, words, capsys, monkeypatch):
    from harness.cli import main

    monkeypatch.chdir(ROOT)
    assert main(argv) == 2
    assert words in capsys.readouterr().err


def test_a_bad_schedule_among_several_names_its_file_and_line(tmp_path, capsys):
    from harness.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nworkload:\n  colour: red\n")
    good = str(ROOT / "schedules" / "kill.yaml")
    assert main(["run", good, str(bad), "--backend", "sim", "--store", str(tmp_path)]) == 2
    assert f"{bad}:3: unknown field 'colour'" in capsys.readouterr().err
    assert not (tmp_path / "kill").exists()  # nothing ran: every schedule is checked first


# ---- raftnode is a system like any other; `node:` is its older spelling ------------------


def test_raftnode_takes_its_options_in_the_system_long_form_as_etcd_does():
    s = parse_schedule(
        "name: x\nsystem: {name: raftnode, read-mode: lease, bugs: [stale-read], "
        "snapshot-entries: 7}\n"
    )
    system = make_system(s)
    assert type(system) is RaftnodeSystem
    assert system.options == {"read-mode": "lease", "bugs": ("stale-read",), "snapshot-entries": 7}
    cmd = system.command("n1", {"n1": "10.0.0.1"})
    assert cmd[cmd.index("--read-mode") + 1] == "lease"
    assert cmd[cmd.index("--bug") + 1] == "stale-read"
    assert cmd[cmd.index("--snapshot-entries") + 1] == "7"
    assert system.expected_findings() == ("linearizable",)
    # Unset options are the system's defaults: snapshots every 100 entries, as schedules
    # have always run.
    assert make_system(parse_schedule("name: x\n")).options == {
        "read-mode": "read-index",
        "bugs": (),
        "snapshot-entries": 100,
    }


def test_the_node_section_still_reads_as_raftnodes_options():
    old = parse_schedule("name: x\nnode: {read-mode: lease, bugs: [stale-read]}\n")
    new = parse_schedule(
        "name: x\nsystem: {name: raftnode, read-mode: lease, bugs: [stale-read]}\n"
    )
    assert old.system == new.system
    assert make_system(old).command("n1", {"n1": "a"}) == make_system(new).command(
        "n1", {"n1": "a"}
    )
    # Both spellings together, for different options, add up.
    both = parse_schedule(
        "name: x\nsystem: {name: raftnode, read-mode: lease}\nnode:\n  bugs: []\n"
    )
    assert make_system(both).options["read-mode"] == "lease"
    # What a run stores as schedule.yaml is the new form, and replays the same system.
    stored = dump_schedule(old)
    assert "node:" not in stored and parse_schedule(stored).system == old.system


@pytest.mark.parametrize(
    "text, line, words",
    [
        ("name: x\nnode:\n  read-mode: eventual\n", 3, "node.read-mode is 'eventual'; expected"),
        (
            "name: x\nnode:\n  bugs:\n    - stale-read\n    - typo-bug\n",
            5,
            "node.bugs[1] is 'typo-bug'",
        ),
        ("name: x\nnode:\n  bugs: stale-read\n", 3, "node.bugs must be a list of"),
        (
            "name: x\nnode:\n  snapshot-entries: -1\n",
            3,
            "node.snapshot-entries must be an integer >= 0",
        ),
        ("name: x\nnode:\n  colour: red\n", 3, "unknown field 'colour' in node"),
        (
            "name: x\nsystem: {name: raftnode, bugs: []}\nnode:\n  bugs: [stale-read]\n",
            4,
            "bugs is given twice, here and under system: (line 2)",
        ),
        (
            "name: x\nsystem:\n  name: raftnode\n  bugs:\n    - typo-bug\n",
            5,
            "bugs[0] is 'typo-bug'",
        ),
        ("name: x\nsystem:\n  name: raftnode\n  snapshot-entries: 1.5\n", 4, "must be an integer"),
        ("name: x\nsystem:\n  name: raftnode\n  read_mode: lease\n", 4, "no option 'read_mode'"),
    ],
)
def test_raftnode_option_errors_name_the_file_and_line(text, line, words):
    with pytest.raises(ScheduleError) as err:
        parse_schedule(text, "sched.yaml")
    assert err.value.line == line and words in str(err.value)
    assert str(err.value).startswith(f"sched.yaml:{line}: ")


def test_the_shipped_schedules_use_the_system_form():
    for path in sorted((ROOT / "schedules").glob("*.yaml")):
        assert "\nnode:" not in path.read_text(), path.name


def test_system_options_take_lists_of_choices_integer_ranges_and_the_older_forms():
    from harness.systems.base import Option, OptionError, integer, list_of

    class Toy(RaftnodeSystem):
        name = "toy"
        OPTIONS = {
            "colours": Option((), list_of(("red", "blue")), "colours to paint"),
            "coats": Option(1, integer(1, 3), "how many coats"),
            "finish": ("matt", "gloss"),  # before Option: the allowed values...
            "brush": str,  # ...or a type, with DEFAULTS
        }
        DEFAULTS = {"finish": "matt", "brush": "flat"}

    toy = Toy(colours=["red", "red", "blue"], coats=3)
    assert toy.options == {"colours": ("red", "red", "blue"), "coats": 3, "finish": "matt",
                           "brush": "flat"}  # fmt: skip
    for options, option, at, words in [
        ({"colours": ["red", "green"]}, "colours", (1,), "colours[1] is 'green'"),
        ({"coats": 4}, "coats", (), "coats must be an integer in [1, 3], got 4"),
        ({"coats": True}, "coats", (), "must be an integer"),
        ({"finish": "satin"}, "finish", (), "expected one of: matt, gloss"),
        ({"brush": 3}, "brush", (), "brush must be a str, got 3"),
        ({"size": 1}, "size", (), "toy has no option 'size'; its options: colours, coats"),
    ]:
        with pytest.raises(OptionError) as err:
            Toy.validate(options)
        assert (err.value.option, err.value.at) == (option, at) and words in str(err.value)


# ---- optional capabilities are declared, and a system without one is refused, saying why ----


class NoMembership(System):
    """A system that declares nothing beyond Jepsen's DB and Client, nor refuses anything
    of its own (nothing here is ever started)."""

    name = "plain"
    client_port = 1

    def image(self) -> ImageSpec:
        return ImageSpec("plain", "Dockerfile", ())

    def command(self, node: str, ips: dict[str, str]) -> list[str]:
        return ["true"]

    def statuses(self, addrs: dict[str, str], timeout: float) -> dict[str, Status | None]:
        return dict.fromkeys(addrs)

    def open_client(
        self, addrs: dict[str, str], timeout: float, options: ClientOptions = ClientOptions()
    ) -> Client:
        raise AssertionError("no client is opened here")


def test_capabilities_are_declared_not_probed():
    assert RaftnodeSystem.capabilities == {"membership"}
    assert EtcdSystem.capabilities == frozenset()
    # etcd's own reason for membership, and the declared-capability reason for a system
    # that gives none of its own.
    assert "member API is not wired in" in EtcdSystem().refuses("membership")
    why = NoMembership().refuses("membership")
    assert "does not offer membership changes" in why and "capabilities" in why
    assert RaftnodeSystem().refuses("membership") is None


def test_the_membership_fault_on_docker_is_refused_for_a_system_without_it(tmp_path):
    pytest.importorskip("docker")
    import random

    from harness.backends.base import Unsupported
    from harness.backends.docker.cluster import DockerCluster, DockerConfig
    from harness.nemesis import make_fault

    # Nothing is started: the refusal comes before any container is asked anything.
    cluster = DockerCluster(DockerConfig(nodes=3, system=NoMembership()), client=object())
    fault = make_fault({"fault": "membership", "mode": "grow"}, cluster, random.Random(1))
    with pytest.raises(Unsupported, match="does not offer membership changes"):
        fault.start()
    for call in (cluster.spawn, cluster.members):
        with pytest.raises(Unsupported, match="does not offer membership changes"):
            call()


def test_the_backends_a_system_runs_on_are_declared():
    from harness.backends import ClusterSpec, make_backend, system_problem

    assert RaftnodeSystem.backends == ("docker", "sim", "local", "ssh")
    assert EtcdSystem.backends == ("docker", "ssh")
    why = system_problem("sim", EtcdSystem)
    assert why == (
        "system etcd runs on --backend docker | ssh only: the simulation steps raftnode's core"
    )
    # make_backend refuses it too, for a caller that did not ask first.
    with pytest.raises(ValueError, match=r"docker \| ssh only"):
        make_backend("local", ClusterSpec(EtcdSystem(), 3))
