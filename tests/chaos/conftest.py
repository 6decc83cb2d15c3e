"""Fixtures for the chaos tests: a real Docker engine, the node image, clusters.

In CI (CI=true) an engine that does not answer is a failure; elsewhere the tests
skip with the reason. The image is built if missing by the same code as
`make image`, so a fresh machine works. Every cluster a test makes is torn down
after it, and the test fails if anything carrying its run label remains.
"""

from __future__ import annotations

import os
import time

import pytest

from harness.backends.docker.cluster import DockerCluster, DockerConfig, docker_available


def pytest_collection_modifyitems(config, items):
    """Whatever here needs the engine is `chaos`, even if its module forgot the mark;
    the pure tests beside them (specs, image tags) stay in `-m "not chaos"` runs."""
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here) and "docker_engine" in getattr(
            item, "fixturenames", ()
        ):
            item.add_marker(pytest.mark.chaos)


@pytest.fixture(scope="session")
def docker_engine():
    ok, why = docker_available()
    if not ok:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and the chaos tests need Docker: {why}", pytrace=False)
        pytest.skip(why)


@pytest.fixture(scope="session")
def node_image(docker_engine):
    from harness.backends.docker import image

    t0 = time.monotonic()
    try:
        result = image.build(log=lambda m: print(f"image: {m}"))
    except image.ImageError as exc:
        pytest.fail(f"cannot build the node image: {exc}", pytrace=False)
    print(f"node image {result.tag} ready in {time.monotonic() - t0:.1f} s")
    return result.tag


@pytest.fixture
def make_cluster(node_image):
    clusters: list[DockerCluster] = []

    def make(nodes: int = 3, **kw) -> DockerCluster:
        c = DockerCluster(DockerConfig(nodes=nodes, image=node_image, **kw))
        clusters.append(c)
        c.start()
        return c

    yield make
    for c in clusters:
        c.teardown()
    for c in clusters:
        left = c.leftovers()
        assert not any(left.values()), f"run {c.run_id} left resources behind: {left}"
