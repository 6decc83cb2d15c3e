"""A Docker cluster of one system for a chaos test module: started, handed to its tests,
torn down after them, and nothing of it may remain (the module's fixture wraps it)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from harness.backends.docker.cluster import DockerCluster, DockerConfig
from harness.systems.base import System


@contextlib.contextmanager
def system_cluster(system: System, nodes: int = 3) -> Iterator[DockerCluster]:
    # signals off: a module's tests share the cluster, the fixture tears it down
    c = DockerCluster(DockerConfig(nodes=nodes, system=system, signals=False))
    c.start()
    try:
        yield c
    finally:
        c.teardown()
        assert not any(c.leftovers().values())
