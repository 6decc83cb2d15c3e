"""Systems under test (harness/systems/base.py): raftnode (the default), etcd, redis,
zookeeper, postgres, mariadb and galera, or a user's own, named in a schedule by an import
path `package.module:Class` or a file `path/to/file.py:Class` (relative to the schedule's
folder)."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

from harness.systems.base import DATA_DIR, OptionError, System

if TYPE_CHECKING:
    from types import ModuleType

    from harness.schedule import Schedule

# Built in, by the name a schedule uses; loaded on demand (their clients' libraries too).
BUILTIN = {
    "raftnode": "harness.systems.raftnode:RaftnodeSystem",
    "etcd": "harness.systems.etcd:EtcdSystem",
    "redis": "harness.systems.redis:RedisSystem",
    "zookeeper": "harness.systems.zookeeper:ZooKeeperSystem",
    "postgres": "harness.systems.postgres:PostgresSystem",
    "mariadb": "harness.systems.mariadb:MariadbSystem",
    "galera": "harness.systems.galera:GaleraSystem",
}


class SystemNotFound(ValueError):
    pass


def system_class(name: str, relative_to: Path | None = None) -> type[System]:
    """The System class a schedule's `system:` names: a built-in name, `module:Class`, or
    `file.py:Class` (a relative file is looked up from `relative_to`)."""
    path = BUILTIN.get(name, name)
    if ":" not in path:
        raise SystemNotFound(
            f"unknown system {name!r}; expected one of: {', '.join(BUILTIN)}, "
            "an import path package.module:Class, or a file path/to/file.py:Class"
        )
    module_name, _, attr = path.rpartition(":")
    try:
        if module_name.endswith(".py"):
            module = _load_file(Path(relative_to or ".") / module_name)
        else:
            module = importlib.import_module(module_name)
    except (ImportError, OSError) as exc:
        raise SystemNotFound(f"system {name!r}: cannot import {module_name}: {exc}") from None
    cls = getattr(module, attr, None)
    if not (isinstance(cls, type) and issubclass(cls, System)):
        raise SystemNotFound(
            f"system {name!r}: {module_name} has no System subclass named {attr!r}"
        )
    return cls


def make_system(schedule: Schedule) -> System:
    """The System a schedule runs (harness/schedule.py's Schedule), with its options."""
    return system_class(schedule.system.name)(**dict(schedule.system.options))


def _load_file(file: Path) -> ModuleType:
    """A module from a file, registered under a name of its own so that it loads once."""
    file = file.resolve()
    name = f"raftquake_system_{zlib.crc32(str(file).encode()):08x}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None or not file.is_file():
        raise ImportError(f"no Python file at {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


__all__ = [
    "BUILTIN",
    "DATA_DIR",
    "OptionError",
    "System",
    "SystemNotFound",
    "make_system",
    "system_class",
]
