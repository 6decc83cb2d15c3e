"""Runners for pytest-xdist's ssh workers (`raftquake hosts up --runners`): sshd hosts that
also hold the project and a Python environment with its dependencies, so that
`pytest -d --tx ssh=...` can start workers there (docs/parallel-runs.md).

What a remote worker needs for simulated runs is Python 3.11 and the project installed,
nothing else: a sim run is a process. A real runner gets that from a checkout and
`make setup`. These runners are containers that reach no package index, so their
virtualenv (Debian's python3, docker/runner.Dockerfile) is filled with the controller's
own installed distributions: every one the project and pytest-xdist require, file for
file from their RECORDs, the set `make setup` installed. That only works for the same
CPython minor version (compiled extensions), which is checked. The project itself is
copied into each runner when it starts (`copy_project`): its files as git lists them,
as an rsync of the checkout would.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import io
import re
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

from harness.image import REPO

RUNNER_REPO = "raftquake-runner"
RUNNER_DOCKERFILE = "docker/runner.Dockerfile"
RUNNER_PYTHON = "/opt/raftquake/venv/bin/python"  # the `python=` of an xdist --tx spec
RUNNER_PROJECT = "/srv/raftquake"  # the `chdir=`: the project's copy
# Debian bookworm's python3, which the runner's virtualenv is made of.
RUNNER_PYTHON_VERSION = (3, 11)
# What the workers import: the project's own requirements (raftquake's dist), pytest and
# pytest-xdist (the worker loads xdist's plugin; execnet comes with it).
ROOTS = ("raftquake", "pytest", "pytest-xdist")


def tx_spec(host: str, ssh_config: Path) -> str:
    """pytest-xdist's --tx for a runner: execnet runs `ssh -F ssh_config host`, then the
    runner's Python in the project's copy."""
    return f"ssh={host}//ssh_config={ssh_config}//python={RUNNER_PYTHON}//chdir={RUNNER_PROJECT}"


class RunnerError(RuntimeError):
    """A runner image that cannot be made from this controller, and why."""


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def distributions(roots: tuple[str, ...] = ROOTS) -> list[md.Distribution]:
    """The installed distributions `roots` need, their requirements' closure (extras asked
    for, such as psycopg[binary], included; markers evaluated here), sorted by name."""
    from packaging.requirements import Requirement

    found: dict[str, md.Distribution] = {}
    todo: list[tuple[str, frozenset[str]]] = [(r, frozenset()) for r in roots]
    done: set[tuple[str, frozenset[str]]] = set()
    while todo:
        name, extras = todo.pop()
        key = (_norm(name), extras)
        if key in done:
            continue
        done.add(key)
        try:
            dist = found.get(key[0]) or md.distribution(name)
        except md.PackageNotFoundError as exc:
            raise RunnerError(f"{name} is not installed here (make setup installs it)") from exc
        found[key[0]] = dist
        for line in dist.requires or []:
            req = Requirement(line)
            wanted = [""] + sorted(extras)
            if req.marker and not any(req.marker.evaluate({"extra": e}) for e in wanted):
                continue
            todo.append((req.name, frozenset(req.extras)))
    return [found[k] for k in sorted(found)]


def _own_dist_info(dist: md.Distribution) -> dict[str, bytes]:
    """raftquake's dist-info for the runner, as an editable install of RUNNER_PROJECT would
    leave: its metadata and entry points (pytest finds the raftquake plugin through them)
    and a .pth putting the project's copy on the path."""
    info = f"raftquake-{dist.version}.dist-info"
    files = {f"{info}/{n}": (dist.read_text(n) or "").encode() for n in ("METADATA",)}
    files[f"{info}/entry_points.txt"] = (dist.read_text("entry_points.txt") or "").encode()
    files[f"{info}/INSTALLER"] = b"raftquake hosts up --runners\n"
    files["raftquake.pth"] = (RUNNER_PROJECT + "\n").encode()
    return files


def site_packages_tar(dists: list[md.Distribution]) -> bytes:
    """The distributions' installed files (site-packages-relative), as one tar."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for dist in dists:
            if _norm(dist.metadata["Name"]) == "raftquake":
                for name, data in _own_dist_info(dist).items():
                    info = tarfile.TarInfo(name)
                    info.size, info.mode = len(data), 0o644
                    tar.addfile(info, io.BytesIO(data))
                continue
            for f in dist.files or []:
                # Scripts land outside site-packages (../../../bin): the workers need none.
                if f.parts[0] == ".." or "__pycache__" in f.parts:
                    continue
                src = Path(str(f.locate()))
                if src.is_file():
                    tar.add(str(src), arcname=str(f), recursive=False)
    return buf.getvalue()


def _check_python() -> None:
    if sys.version_info[:2] != RUNNER_PYTHON_VERSION:
        want = ".".join(map(str, RUNNER_PYTHON_VERSION))
        raise RunnerError(
            f"the runners' virtualenv is Debian bookworm's Python {want}, filled with this "
            f"controller's packages, and this controller runs Python {sys.version.split()[0]}"
            " (their compiled parts would not load there)"
        )


def runner_tag(sshd_tag: str, dists: list[md.Distribution]) -> str:
    """The runner image's tag: the sshd image under it, this Dockerfile, the packages."""
    h = hashlib.sha256(sshd_tag.encode() + b"\0" + (REPO / RUNNER_DOCKERFILE).read_bytes())
    for d in dists:
        h.update(f"{d.metadata['Name']}=={d.version}\0".encode())
    return f"{RUNNER_REPO}:{h.hexdigest()[:12]}"


def ensure_runner_image(sshd_tag: str, say: Callable[[str], None] = print) -> str:
    """The runner image on `sshd_tag`, built if missing (once per set of packages)."""
    import docker.errors

    import docker

    _check_python()
    dists = distributions()
    tag = runner_tag(sshd_tag, dists)
    client = docker.from_env()
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    say(f"image: building {tag} ({len(dists)} packages copied from this environment)")
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        for name, data in (
            ("Dockerfile", (REPO / RUNNER_DOCKERFILE).read_bytes()),
            ("site-packages.tar", site_packages_tar(dists)),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    context.seek(0)
    out: list[str] = []
    for chunk in client.api.build(
        fileobj=context, custom_context=True, tag=tag, buildargs={"SSHD": sshd_tag},
        rm=True, forcerm=True, decode=True, labels={"raftquake.image": "runner"},
    ):  # fmt: skip
        if "error" in chunk:
            raise RunnerError(f"building {tag}: {chunk['error']}\n" + "".join(out[-20:]))
        out.append(chunk.get("stream", ""))
    _prune_old_runners(client, keep=tag)
    return tag


def _prune_old_runners(client, keep: str) -> None:
    """Each new set of packages (or sshd image) makes a new runner image of a few hundred
    MB: drop the older ones no container uses (the engine refuses the others)."""
    import docker.errors

    for img in client.images.list(name=RUNNER_REPO):
        for t in img.tags:
            if t != keep:
                try:
                    client.images.remove(t, noprune=False)
                except docker.errors.APIError:
                    pass


def project_tar(root: Path = REPO) -> bytes:
    """The project's files as a checkout has them (tracked, and new ones git does not
    ignore: no .venv, no store), under RUNNER_PROJECT."""
    listed = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name in filter(None, listed):
            src = root / name
            if src.is_file():  # listed but deleted in the work tree: not there
                tar.add(str(src), arcname=f"{RUNNER_PROJECT.lstrip('/')}/{name}", recursive=False)
    return buf.getvalue()


def copy_project(container, root: Path = REPO) -> None:
    """Put the project's copy into a started runner container."""
    if not container.put_archive("/", project_tar(root)):
        raise RunnerError(f"could not copy the project into {container.name}")
