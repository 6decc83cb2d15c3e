"""The ssh backend's inventory file: what it reads, and bad files named by file and line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.backends.ssh.inventory import InventoryError, load_inventory

GOOD = """\
known_hosts: kh
hosts:
  - {id: n1, address: 10.0.0.1, key: id_key, dir: /srv/rq}
  - {id: n2, address: 10.0.0.2, port: 2222, user: ops, agent: true, dir: /srv/rq}
"""


def write(tmp_path, text: str, known: bool = True):
    if known:
        (tmp_path / "kh").write_text("")
    p = tmp_path / "hosts.yaml"
    p.write_text(text)
    return p


def test_a_good_inventory(tmp_path):
    inv = load_inventory(write(tmp_path, GOOD))
    n1, n2 = inv.hosts
    assert (n1.id, n1.address, n1.port, n1.user, n1.key) == (
        "n1", "10.0.0.1", 22, "root", tmp_path / "id_key",
    )  # fmt: skip
    assert (n2.port, n2.user, n2.key) == (2222, "ops", None)  # the agent
    assert inv.known_hosts == tmp_path / "kh" and inv.hosts_run is None


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("hosts: []\nknown_hosts: kh\n", 1, "hosts must be a list of at least one host"),
        (GOOD.replace("key: id_key, ", ""), 3, "needs one of key: FILE or agent: true"),
        (GOOD.replace("port: 2222", "port: 70000"), 4, "port must be a port"),
        (GOOD.replace("id: n2", "id: db2"), 4, "hosts[1].id must be n2"),
        (GOOD.replace("dir: /srv/rq}", "dri: /srv/rq}", 1), 3, "unknown field 'dri'"),
        (GOOD + "extra: 1\n", 5, "unknown field 'extra' in the inventory"),
        ("hosts: [\n", 2, "not valid YAML"),
    ],
)
def test_a_bad_inventory_names_its_line(tmp_path, text, line, message):
    p = write(tmp_path, text)
    with pytest.raises(InventoryError) as e:
        load_inventory(p)
    assert str(e.value).startswith(f"{p}:{line}: "), str(e.value)
    assert message in str(e.value)


def test_host_keys_are_always_checked_so_known_hosts_must_exist(tmp_path):
    p = write(tmp_path, GOOD, known=False)
    with pytest.raises(InventoryError, match="no known_hosts file at .*host keys are always"):
        load_inventory(p)


def _run(*args: str):
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", *args], capture_output=True, text=True
    )


SCHEDULE = str(Path(__file__).resolve().parents[2] / "schedules" / "kill.yaml")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--backend", "ssh"], "--backend ssh needs --inventory FILE"),
        (["--inventory", "hosts.yaml"], "--inventory is for --backend ssh"),
        (["--backend", "ssh", "--inventory", "INV", "--seeds", "2"], "one schedule and one seed"),
        (["--backend", "ssh", "--inventory", "INV"], "INV:3: hosts[0] needs one of key"),
    ],
)
def test_run_refuses_an_unusable_ssh_request_before_anything_starts(tmp_path, args, message):
    bad = write(tmp_path, GOOD.replace("key: id_key, ", ""))
    args = [str(bad) if a == "INV" else a for a in args]
    r = _run(SCHEDULE, *args, "--store", str(tmp_path / "store"))
    assert r.returncode == 2, r.stderr
    assert message.replace("INV", str(bad)) in r.stderr
    assert not (tmp_path / "store").exists()  # no run folder for a run that cannot happen
