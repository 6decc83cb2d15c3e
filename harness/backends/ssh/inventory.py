"""The inventory: which hosts the ssh backend drives, and how to reach them.

    known_hosts: known_hosts        # their host keys; relative paths are to this file
    hosts:
      - id: n1                      # the node's id (n1..nN, in order)
        address: 10.0.0.11          # what the harness connects to, and peers reach
        port: 22                    # default 22
        user: root                  # default root: faults need iptables, tc, kill
        key: id_ed25519             # a private key file, or `agent: true`
        dir: /var/lib/raftquake     # where the system lives there (installed, data, logs)
    hosts-run: 1a2b3c               # only in an inventory `raftquake hosts up` wrote

Host keys are always checked against `known_hosts` (default: ~/.ssh/known_hosts): there
is no way to skip the check. A bad file is an InventoryError naming the file, the line
and what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.schedule import ScheduleError, _Reader, _to_python


class InventoryError(ScheduleError):
    """An inventory file that cannot be used: where, and what was expected."""


class _InventoryReader(_Reader):
    """The schedule reader's typed access and line numbers, with the inventory's error."""

    def error(self, path: tuple, message: str) -> InventoryError:
        e = super().error(path, message)
        return InventoryError(e.source, e.line, e.message)


@dataclass(frozen=True)
class Host:
    id: str
    address: str
    port: int
    user: str
    key: Path | None  # None: the SSH agent
    dir: str


@dataclass(frozen=True)
class Inventory:
    path: Path
    hosts: tuple[Host, ...]
    known_hosts: Path
    hosts_run: str | None = None  # the run id of containers `hosts up` made

    def host(self, node: str) -> Host:
        return next(h for h in self.hosts if h.id == node)


HOST_FIELDS = ("id", "address", "port", "user", "key", "agent", "dir")


def load_inventory(path: str | Path) -> Inventory:
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise InventoryError(str(p), None, f"cannot read the inventory: {exc.strerror}") from None
    return parse_inventory(text, p)


def parse_inventory(text: str, path: Path) -> Inventory:
    source = str(path)
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InventoryError(
            source, mark.line + 1 if mark else None, f"not valid YAML: {exc}"
        ) from None
    lines: dict[tuple, int] = {}
    raw: Any = _to_python(root, lines) if root is not None else None
    r = _InventoryReader(source, lines)
    raw = r.mapping(raw, (), ("hosts", "known_hosts", "hosts-run"), "the inventory")
    base = path.parent
    hosts_raw = raw.get("hosts")
    if not isinstance(hosts_raw, list) or not hosts_raw:
        raise r.error(("hosts",), "hosts must be a list of at least one host")
    hosts: list[Host] = []
    for i, h in enumerate(hosts_raw):
        where = ("hosts", i)
        h = r.mapping(h, where, HOST_FIELDS, f"hosts[{i}]")
        for need in ("id", "address", "dir"):
            if not isinstance(h.get(need), str) or not h[need]:
                raise r.error((*where, need), f"hosts[{i}].{need} must be a non-empty string")
        port = h.get("port", 22)
        if not isinstance(port, int) or not 0 < port < 65536:
            raise r.error((*where, "port"), f"hosts[{i}].port must be a port (1-65535)")
        user = h.get("user", "root")
        if not isinstance(user, str) or not user:
            raise r.error((*where, "user"), f"hosts[{i}].user must be a user name")
        key, agent = h.get("key"), h.get("agent", False)
        if (key is None) == (not agent):
            raise r.error(where, f"hosts[{i}] needs one of key: FILE or agent: true")
        if key is not None and not isinstance(key, str):
            raise r.error((*where, "key"), f"hosts[{i}].key must be a file name")
        if h["id"] != f"n{i + 1}":
            raise r.error((*where, "id"), f"hosts[{i}].id must be n{i + 1} (nodes are n1..nN)")
        hosts.append(Host(h["id"], h["address"], port, user, base / key if key else None, h["dir"]))
    known = raw.get("known_hosts")
    if known is not None and not isinstance(known, str):
        raise r.error(("known_hosts",), "known_hosts must be a file name")
    known_path = base / known if known else Path.home() / ".ssh" / "known_hosts"
    if not known_path.is_file():
        raise r.error(
            ("known_hosts",) if known else (),
            f"no known_hosts file at {known_path}: host keys are always checked",
        )
    run = raw.get("hosts-run")
    return Inventory(path, tuple(hosts), known_path, str(run) if run is not None else None)
