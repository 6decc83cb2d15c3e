"""Runs spread over machines with pytest-xdist's ssh workers (docs/parallel-runs.md, the
recipe this proves): two runners made of containers (`raftquake hosts up --runners`:
sshd, Debian's python3 with the project's packages, the project copied in), keys made
for them and host keys checked against their known_hosts, and `pytest -d --tx ssh=...`
from this machine running schedules on the simulation there. Every run comes back into
the controller's one store, where `raftquake serve`'s index lists them, and the JUnit XML
points at the copies there."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.backends.ssh.hosts import HOSTS_LABEL, files_of, hosts_down, hosts_up
from harness.backends.ssh.inventory import load_inventory
from harness.backends.ssh.runners import RunnerError, tx_spec
from harness.report.index import run_rows

ROOT = Path(__file__).resolve().parents[2]
# Two valid schedules and one whose planted bug must be caught, and a fourth so that each
# runner gets two (xdist's load scheduling hands out two per worker first).
SCHEDULES = ("pause", "kill", "bug-lease-no-quorum", "partitions")


@pytest.fixture(scope="module")
def runners(docker_engine, tmp_path_factory):
    """Two runners and their inventory; removed after the module, whatever happened."""
    import docker

    def cannot(why: str) -> None:
        if os.environ.get("CI", "").lower() == "true":  # CI never passes by running nothing
            pytest.fail(why, pytrace=False)
        pytest.skip(why)

    if shutil.which("ssh") is None:
        cannot("no OpenSSH client (ssh): execnet starts the remote workers with it")
    path = tmp_path_factory.mktemp("runners") / "runners.yaml"
    try:
        hosts_up(2, path, runners=True)
    except RunnerError as exc:  # a controller whose Python the runners cannot take
        cannot(str(exc))
    run = load_inventory(path).hosts_run
    try:
        yield path
    finally:
        hosts_down(path)
        left = docker.from_env().containers.list(
            all=True, filters={"label": f"{HOSTS_LABEL}={run}"}
        )
        assert not left, f"runners left: {[c.name for c in left]}"


def xdist(ssh_config: Path, store: Path, xml: Path, schedules=SCHEDULES, hosts=("n1", "n2")):
    # Paths are one word each (--opt=PATH) and the schedules go through testpaths: xdist 3
    # refuses an argument naming a path of this machine outside an --rsyncdir (deprecated)
    # for a remote worker; testpaths are read by each worker in its own copy.
    paths = " ".join(f"schedules/{s}.yaml" for s in schedules)
    txs = [a for h in hosts for a in ("--tx", tx_spec(h, ssh_config))]
    cmd = [sys.executable, "-m", "pytest", "-d", *txs,
           "-p", "no:cacheprovider", "-m", "chaos", "-o", f"testpaths={paths}",
           "--chaos-backend", "sim", "--chaos-seed", "1", "--chaos-time-limit", "20",
           f"--chaos-store={store}", f"--junitxml={xml}", "-q"]  # fmt: skip
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)


def runs_left_on(runner: str, ssh_config: Path) -> str:
    """The run folders (results.json) in the runner's pytest temporary folders."""
    r = subprocess.run(
        ["ssh", "-F", str(ssh_config), runner,
         "find /tmp/pytest-of-* -name results.json 2>/dev/null; true"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_runs_on_two_ssh_runners_come_back_into_one_store(runners, tmp_path):
    ssh_config = files_of(runners)[2]
    store, xml = tmp_path / "store", tmp_path / "chaos.xml"
    r = xdist(ssh_config, store, xml)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    assert "4 passed" in r.stdout
    assert f"raftquake: 4 runs from remote workers, in {store}" in r.stdout

    # One store on this machine holds every run, and serve's index lists them.
    rows = {row.name: row for row in run_rows(store)}
    assert set(rows) == set(SCHEDULES)
    assert rows["pause"].valid is True and rows["bug-lease-no-quorum"].valid is False
    assert all(row.has_report and row.has_history for row in rows.values())
    # They were made on the runners, both of them (a run's owner is host:pid).
    owners = {
        json.loads(p.read_text())["owner"].split(":")[0] for p in store.glob("*/*/results.json")
    }
    assert owners == {"n1", "n2"}
    # The JUnit XML names each run's folder here, not the runner's.
    cases = {c.get("name"): c for c in ET.parse(xml).getroot().iter("testcase")}
    assert set(cases) == set(SCHEDULES)
    for name, case in cases.items():
        run_dir = Path(props_of(case)["raftquake.run-dir"])
        assert run_dir.parent == store / name and (run_dir / "results.json").is_file()
    assert props_of(cases["bug-lease-no-quorum"])["raftquake.checker.linearizable"] == "invalid"
    # Nothing stays behind on the runners: each run left with its test's report.
    assert runs_left_on("n1", ssh_config) == runs_left_on("n2", ssh_config) == ""


def props_of(case: ET.Element) -> dict[str, str | None]:
    return {p.get("name"): p.get("value") for p in case.iter("property")}


def test_a_runner_whose_host_key_is_not_known_is_refused(runners, tmp_path):
    """Host keys are checked, not skipped: with a known_hosts that lacks the runner's key,
    ssh refuses it, and the session fails saying so instead of running anything."""
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    config = tmp_path / "ssh_config"
    lines = files_of(runners)[2].read_text().splitlines()
    config.write_text(
        "\n".join(
            f"  UserKnownHostsFile {empty}" if ln.strip().startswith("UserKnownHostsFile") else ln
            for ln in lines
        )
        + "\n"
    )
    r = xdist(config, tmp_path / "store", tmp_path / "chaos.xml", ("pause",), ("n1",))
    assert r.returncode != 0
    assert "Host key verification failed" in r.stdout + r.stderr
    assert not (tmp_path / "store").exists()
