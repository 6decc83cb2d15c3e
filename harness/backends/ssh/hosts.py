"""`raftquake hosts up/down`: sshd hosts made of containers, for the ssh backend's tests
and for trying it without machines of one's own.

`up` makes N containers of docker/sshd.Dockerfile (Debian's openssh-server on the offline
base) on a network of their own, with a host key and a client key generated for this
set of hosts, and writes the inventory (harness/backends/ssh/inventory.py) with its
known_hosts, the client key and an OpenSSH client configuration beside it (`ssh -F
hosts.ssh_config n1`: the key, the known_hosts, host keys checked). With `runners`, the
hosts are runners for pytest-xdist's ssh workers instead (harness/backends/ssh/runners.py:
the project and a Python environment for it). `down` removes the containers and network
the inventory's `hosts-run` names, and the files `up` wrote.
"""

from __future__ import annotations

import io
import tarfile
import time
import warnings
from pathlib import Path

import yaml

from harness.backends.ssh.inventory import load_inventory
from harness.image import ImageSpec

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import asyncssh

SSHD_IMAGE = ImageSpec("raftquake-sshd", "docker/sshd.Dockerfile", ("docker/sshd.Dockerfile",))
HOST_DIR = "/var/lib/raftquake"
# Not a run's label (raftquake.run): hosts outlive the `hosts up` that made them, and
# `raftquake clean` would take them for a dead run's leftovers. `hosts down` removes them.
HOSTS_LABEL = "raftquake.hosts"


def _tar(files: dict[str, tuple[bytes, int]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, (data, mode) in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def files_of(inventory: Path) -> tuple[Path, Path, Path]:
    """The client key, the known_hosts file and the ssh client configuration `up` writes
    beside the inventory."""
    return (
        inventory.with_suffix(".key"),
        inventory.with_suffix(".known_hosts"),
        inventory.with_suffix(".ssh_config"),
    )


def ssh_config(hosts: list[dict], key: Path, known_hosts: Path) -> str:
    """An OpenSSH client configuration naming each host by its id (`ssh -F FILE n1`, and
    execnet's `--tx ssh=n1//ssh_config=FILE`): this set's key only, and its host keys
    checked against its known_hosts, never asked about or skipped."""
    lines = ["# written by `raftquake hosts up`"]
    for h in hosts:
        lines += [
            f"Host {h['id']}",
            f"  HostName {h['address']}",
            f"  Port {h['port']}",
            f"  User {h['user']}",
            f"  IdentityFile {key.resolve()}",
            "  IdentitiesOnly yes",
            f"  UserKnownHostsFile {known_hosts.resolve()}",
            "  GlobalKnownHostsFile /dev/null",
            "  StrictHostKeyChecking yes",
            "  BatchMode yes",
        ]
    return "\n".join(lines) + "\n"


def hosts_up(nodes: int, inventory: Path, say=print, runners: bool = False) -> list[str]:
    """N hosts and their inventory; `runners`: runners for pytest-xdist's ssh workers
    (the project copied to RUNNER_PROJECT, its environment at RUNNER_PYTHON)."""
    import docker
    from harness.backends.docker import image

    client = docker.from_env()
    tag = image.ensure(log=lambda m: say(f"image: {m}"), spec=SSHD_IMAGE)
    if runners:
        from harness.backends.ssh.runners import ensure_runner_image

        tag = ensure_runner_image(tag, say)
    run_id = "hosts-" + time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    labels = {HOSTS_LABEL: run_id}
    user_key = asyncssh.generate_private_key("ssh-ed25519")
    authorized = user_key.export_public_key()
    network = client.networks.create(f"raftquake-{run_id}", driver="bridge", labels=labels)
    known: list[str] = []
    hosts = []
    try:
        for i in range(1, nodes + 1):
            node = f"n{i}"
            host_key = asyncssh.generate_private_key("ssh-ed25519")
            c = client.containers.create(
                tag, name=f"raftquake-{run_id}-{node}", hostname=node, labels=labels,
                cap_add=["NET_ADMIN"], init=True, network=network.name,
            )  # fmt: skip
            c.put_archive("/", _tar({
                "etc/ssh/ssh_host_ed25519_key": (host_key.export_private_key(), 0o600),
                "root/.ssh/authorized_keys": (authorized, 0o600),
            }))  # fmt: skip
            c.start()
            if runners:
                from harness.backends.ssh.runners import copy_project

                copy_project(c)
            code, out = c.exec_run(["/usr/sbin/sshd", "-o", "PermitRootLogin=prohibit-password"])
            if code != 0:
                raise RuntimeError(f"sshd did not start on {node}: {out.decode(errors='replace')}")
            c.reload()
            ip = c.attrs["NetworkSettings"]["Networks"][network.name]["IPAddress"]
            known.append(f"{ip} {host_key.export_public_key().decode().strip()}")
            hosts.append({"id": node, "address": ip, "port": 22, "user": "root",
                          "key": files_of(inventory)[0].name, "dir": HOST_DIR})  # fmt: skip
    except BaseException:
        _remove(client, run_id)
        raise
    key_file, known_file, config_file = files_of(inventory)
    key_file.write_bytes(user_key.export_private_key())
    key_file.chmod(0o600)
    known_file.write_text("\n".join(known) + "\n")
    config_file.write_text(ssh_config(hosts, key_file, known_file))
    inventory.write_text(
        "# written by `raftquake hosts up`; `raftquake hosts down --inventory "
        f"{inventory.name}` removes these hosts\n"
        + yaml.safe_dump(
            {"known_hosts": known_file.name, "hosts-run": run_id, "hosts": hosts},
            sort_keys=False,
        )
    )
    return [h["id"] for h in hosts]


def _remove(client, run_id: str) -> list[str]:
    import docker.errors

    removed = []
    flt = {"label": f"{HOSTS_LABEL}={run_id}"}
    for c in client.containers.list(all=True, filters=flt):
        c.remove(force=True)
        removed.append(c.name)
    for n in client.networks.list(filters=flt):
        try:
            n.remove()
            removed.append(n.name)
        except docker.errors.APIError:
            pass
    return removed


def hosts_down(inventory: Path) -> list[str]:
    import docker

    inv = load_inventory(inventory)
    if not inv.hosts_run:
        raise ValueError(f"{inventory}: no hosts-run: not an inventory `raftquake hosts up` wrote")
    removed = _remove(docker.from_env(), inv.hosts_run)
    for f in (*files_of(inventory), inventory):
        f.unlink(missing_ok=True)
    return removed
