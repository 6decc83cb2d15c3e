"""The node image's content-hash tag: it changes exactly when what goes into the
image changes, so `make image` rebuilds only then (no Docker needed here)."""

from __future__ import annotations

import os

import pytest

from harness.backends.docker import image


def test_tag_follows_content_not_timestamps_or_bytecode(tmp_path):
    root = image.copy_sources(tmp_path)
    tag = image.node_tag(root)
    assert tag.startswith("raftquake-node:") and tag == image.node_tag(image.REPO)

    server = root / "raftnode" / "server.py"
    os.utime(server, (0, 0))
    (root / "raftnode" / "__pycache__").mkdir(exist_ok=True)
    (root / "raftnode" / "__pycache__" / "server.cpython-311.pyc").write_bytes(b"junk")
    assert image.node_tag(root) == tag  # touched, bytecode: same image

    server.write_text(server.read_text() + "\n# an edit\n")
    edited = image.node_tag(root)
    assert edited != tag  # an edit of raftnode/ makes a new node image

    (root / "docker" / "node-ctl.sh").write_text("#!/bin/sh\n")
    assert image.node_tag(root) not in (tag, edited)


def test_base_tag_follows_only_the_base_script(tmp_path):
    root = image.copy_sources(tmp_path)
    base = image.offline_base_tag(root)
    (root / "raftnode" / "server.py").write_text("# changed\n")
    assert image.offline_base_tag(root) == base  # node edits never rebuild the base
    script = root / image.BASE_SCRIPT
    script.write_text(script.read_text() + "\n# changed\n")
    assert image.offline_base_tag(root) != base


def test_missing_sources_are_named(tmp_path):
    root = image.copy_sources(tmp_path)
    (root / "docker" / "Dockerfile").unlink()
    with pytest.raises(image.ImageError, match="Dockerfile: missing"):
        image.node_tag(root)


def test_a_new_base_script_makes_a_new_node_image(tmp_path):
    root = image.copy_sources(tmp_path)
    tag = image.node_tag(root)
    script = root / image.BASE_SCRIPT
    script.write_text(script.read_text() + "\n# another package\n")
    assert image.node_tag(root) != tag


def test_the_base_build_says_each_step_with_its_time(tmp_path):
    # The base takes a minute or more: each of build-base.sh's own step lines is passed on
    # as it comes, with the seconds since the build began; a failure keeps the log's tail.
    root = image.copy_sources(tmp_path)
    (root / image.BASE_SCRIPT).write_text(
        "echo 'build-base: debootstrap bookworm from http://mirror' >&2\n"
        "echo 'some package noise'\n"
        "echo 'build-base: docker import of the root file system' >&2\n"
        "echo 'build-base: imported '$1 >&2\n"
    )
    said: list[str] = []
    image.build_offline_base("raftquake-base:test", root, said.append)
    steps = said[1:]
    assert [s.split(" (")[0] for s in steps] == [
        "debootstrap bookworm from http://mirror",
        "docker import of the root file system",
        "imported raftquake-base:test",
    ]
    assert all(s.endswith(" s)") for s in steps)
    (root / image.BASE_SCRIPT).write_text("echo 'build-base: debootstrap' >&2\necho why; exit 4\n")
    with pytest.raises(image.ImageError, match="(?s)exit 4.*why"):
        image.build_offline_base("raftquake-base:test", root, said.append)
