"""Builds the node image, picking a base that works on this machine, with caching.

Two layers, cached separately:

- the base: a registry image (``python:3.11-slim`` by default) when it is already
  present locally, otherwise an offline base built from Debian's packages by
  ``docker/build-base.sh`` (debootstrap + ``docker import``), tagged with a hash of
  that script so it is rebuilt only when the script changes;
- the node: ``docker/Dockerfile`` on top of the base, tagged
  ``raftquake-node:<hash>`` where the hash covers ``raftnode/`` and the files the
  Dockerfile copies, so the node layer is rebuilt only when they change.

We never pull by default: a machine without a registry (ours) would only learn
that by trying, and traffic to a registry is not ours to send. ``pull=True``
(``raftquake image build --pull``) asks for the registry base explicitly.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.image import NODE_IMAGE, REPO, ImageSpec

BASE_REPO = "raftquake-base"
REGISTRY_BASE = "python:3.11-slim"
# The process supervisor and the packet delayer every system's image carries
# (harness/backends/docker/cluster.py drives the member through node-ctl), from this repository.
TOOLS = ("docker/node-ctl.sh", "docker/netdelay.py")
BASE_SCRIPT = "docker/build-base.sh"
IMAGE_LABEL = "raftquake.image"

# What goes into the node image, relative to the repository root.
NODE_SOURCES = (*TOOLS, *NODE_IMAGE.files)


class ImageError(RuntimeError):
    """The image could not be built (exit status 4: environment error)."""


@dataclass
class BuildResult:
    tag: str
    base: str
    built_base: bool  # the offline base was built in this call
    built_node: bool  # the node layer was built in this call
    seconds: float


def copy_sources(dst: Path, root: Path = REPO) -> Path:
    """Copy everything the image tags hash (node sources and the base script) into dst,
    so a test or a benchmark can edit a copy and see which tag moves."""
    for name in (*NODE_SOURCES, BASE_SCRIPT):
        src = root / name
        if src.is_dir():
            shutil.copytree(src, dst / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / name)
    return dst


def _source_files(spec: ImageSpec, root: Path | None = None) -> list[tuple[str, Path]]:
    """(name in the build context, file) for everything the image is built from. `root`
    re-roots the whole context (a test's edited copy of the repository)."""
    files: list[tuple[str, Path]] = []
    wanted = [(name, (root or REPO) / name) for name in TOOLS]
    wanted += [(name, (root or spec.root) / name) for name in spec.files]
    for name, p in sorted(dict(wanted).items()):
        if p.is_dir():
            files += [
                (str(Path(name) / f.relative_to(p)), f)
                for f in sorted(p.rglob("*"))
                if f.is_file() and "__pycache__" not in f.parts and f.suffix != ".pyc"
            ]
        elif p.is_file():
            files.append((name, p))
        else:
            raise ImageError(f"{p}: missing; the {spec.repo} image needs it")
    return files


def _hash_files(files: list[tuple[str, Path]]) -> str:
    h = hashlib.sha256()
    for name, f in files:
        h.update(name.encode() + b"\0")
        h.update(f.read_bytes() + b"\0")
    return h.hexdigest()[:12]


def image_tag(spec: ImageSpec, root: Path | None = None) -> str:
    """The tag of a system's image for its sources as they are now. The base script counts
    too (hashed, not copied): a new offline base must make a new image."""
    base = (BASE_SCRIPT, (root or REPO) / BASE_SCRIPT)
    return f"{spec.repo}:{_hash_files([*_source_files(spec, root), base])}"


def node_tag(root: Path = REPO) -> str:
    """The tag of raftnode's image for the sources under `root`."""
    return image_tag(NODE_IMAGE, root)


def offline_base_tag(root: Path = REPO) -> str:
    return f"{BASE_REPO}:bookworm-{_hash_files([(BASE_SCRIPT, root / BASE_SCRIPT)])}"


def _client():
    import docker

    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:  # docker raises several unrelated types here
        raise ImageError(f"no Docker engine reachable: {exc}") from exc
    return client


def _has_image(client, tag: str) -> bool:
    import docker.errors

    try:
        client.images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


def build_offline_base(tag: str, root: Path = REPO, log: Callable[[str], None] = print) -> None:
    """Runs docker/build-base.sh, saying each of its steps (debootstrap, import) as it
    starts, with the seconds since the build began: the base takes a minute or more."""
    script = root / BASE_SCRIPT
    log(f"building the offline base {tag} with {BASE_SCRIPT} (debootstrap, about a minute)")
    t0 = time.monotonic()
    proc = subprocess.Popen(
        ["bash", str(script), tag], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line.rstrip())
        if line.startswith("build-base:"):  # the script's own step lines
            log(f"{line.strip().removeprefix('build-base: ')} ({time.monotonic() - t0:.0f} s)")
    if proc.wait() != 0:
        tail = "\n".join(lines[-20:])
        raise ImageError(f"{BASE_SCRIPT} failed (exit {proc.returncode}):\n{tail}")


def choose_base(
    client, root: Path, base: str | None, pull: bool, log: Callable[[str], None]
) -> tuple[str, bool]:
    """Returns (base image, whether the offline base was built now)."""
    if base:  # the user named one: use it or fail, never silently substitute
        if not _has_image(client, base):
            if not pull:
                raise ImageError(f"base image {base} is not present locally (--pull pulls it)")
            _pull(client, base)
        return base, False
    if _has_image(client, REGISTRY_BASE):
        return REGISTRY_BASE, False
    if pull:
        try:
            _pull(client, REGISTRY_BASE)
            return REGISTRY_BASE, False
        except ImageError as exc:
            log(f"{exc}; falling back to the offline base")
    tag = offline_base_tag(root)
    if _has_image(client, tag):
        return tag, False
    build_offline_base(tag, root, log)
    _prune_old_bases(client, keep=tag)
    return tag, True


def _pull(client, ref: str) -> None:
    try:
        client.images.pull(ref)
    except Exception as exc:
        raise ImageError(f"cannot pull {ref}: {exc}") from exc


def _context_tar(spec: ImageSpec, root: Path | None) -> io.BytesIO:
    """Only the files the Dockerfile uses: the repository holds .venv and results."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, f in _source_files(spec, root):
            info = tar.gettarinfo(str(f), arcname=name)
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mtime = 0  # content, not timestamps, decides the cache
            with open(f, "rb") as fh:
                tar.addfile(info, fh)
    buf.seek(0)
    return buf


def build(
    root: Path | None = None,
    base: str | None = None,
    pull: bool = False,
    force: bool = False,
    log: Callable[[str], None] = lambda _m: None,
    tag: str | None = None,
    spec: ImageSpec = NODE_IMAGE,
    nocache: bool = False,
) -> BuildResult:
    """Builds a system's image (raftnode's by default) unless the one for the current
    sources exists. `root` re-roots the sources (a benchmark's edited copy); `tag`
    overrides the content-hash tag (the benchmark builds beside the real one)."""
    t0 = time.monotonic()
    client = _client()
    custom = tag is not None
    tag = tag or image_tag(spec, root)
    if not force and _has_image(client, tag):  # built: no need to wait for other builds
        return _build_locked(client, spec, root, base, pull, force, log, tag, custom, t0, nocache)
    # One build at a time on this machine: a second caller (another test run, a
    # parallel worker) waits, then finds the image built instead of building it too.
    with _build_lock(tag, log):
        return _build_locked(client, spec, root, base, pull, force, log, tag, custom, t0, nocache)


BUILD_LOCK = Path(tempfile.gettempdir()) / "raftquake-image-build.lock"
WAIT_NOTE_EVERY = 15.0  # seconds between "still waiting" lines


@contextlib.contextmanager
def _build_lock(
    what: str,
    log: Callable[[str], None] = lambda _m: None,
    path: Path = BUILD_LOCK,
    note_every: float = WAIT_NOTE_EVERY,
) -> Iterator[None]:
    """The machine's image-build lock. Its holder writes its pid and what it builds into
    the lock file, so a caller that has to wait says for whom, and how long so far (a
    first build takes minutes: a silent wait looked like a hang)."""
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    with os.fdopen(fd, "r+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _wait_for_lock(fh, log, note_every)
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()} {what}\n")
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fh.flush()
            fcntl.flock(fh, fcntl.LOCK_UN)


def _wait_for_lock(fh, log: Callable[[str], None], note_every: float) -> None:
    import fcntl

    t0 = time.monotonic()
    next_note = 0.0
    while True:
        waited = time.monotonic() - t0
        if waited >= next_note:
            fh.seek(0)
            log(f"waiting for {_lock_holder(fh.read())} ({waited:.0f} s so far)")
            next_note = waited + note_every
        time.sleep(0.2)
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            log(f"the other build is done ({time.monotonic() - t0:.0f} s waited)")
            return
        except BlockingIOError:
            continue


def _lock_holder(note: str) -> str:
    """Who holds the build lock, from what it wrote there: its pid, its command line (as
    /proc tells it) and the image it builds; a holder running older code wrote nothing."""
    pid, _, what = note.strip().partition(" ")
    if not pid.isdigit():
        return "another process's image build"
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        cmd = ""
    return f"process {pid}{f' ({cmd})' if cmd else ''} to build {what or 'an image'}"


def _build_locked(
    client, spec, root, base, pull, force, log, tag, custom, t0, nocache=False
) -> BuildResult:
    if not force and _has_image(client, tag):
        image = client.images.get(tag)
        return BuildResult(
            tag, image.labels.get("raftquake.base", "?"), False, False, time.monotonic() - t0
        )
    base_image, built_base = choose_base(client, root or REPO, base, pull, log)
    log(f"building {tag} on {base_image} ({time.monotonic() - t0:.0f} s)")
    try:
        client.images.build(
            fileobj=_context_tar(spec, root),
            custom_context=True,
            dockerfile=spec.dockerfile,
            buildargs={"BASE": base_image},
            tag=tag,  # labels come from the Dockerfile: build-time ones add uncached steps
            rm=True,
            forcerm=True,
            nocache=nocache,  # a benchmark's build from nothing on a base that exists
        )
    except Exception as exc:
        raise ImageError(f"building {tag} failed: {exc}") from exc
    log(f"built {tag} ({time.monotonic() - t0:.0f} s)")
    if not custom:  # `latest` follows the newest build, for docker/compose.yaml and hand use
        client.images.get(tag).tag(spec.repo, "latest")
        _prune_old_images(client, spec.repo, keep=tag)
    return BuildResult(tag, base_image, built_base, True, time.monotonic() - t0)


def _prune_old_bases(client, keep: str) -> None:
    """A new base script supersedes the older offline bases; node images still
    built on one keep it alive (the engine refuses, and we leave it)."""
    import docker.errors

    for img in client.images.list(name=BASE_REPO):
        for t in img.tags:
            if t != keep and t.startswith(f"{BASE_REPO}:bookworm-"):
                try:
                    client.images.remove(t, noprune=False)
                except docker.errors.APIError:
                    pass


def _prune_old_images(client, repo: str, keep: str) -> None:
    """Each edit of a system's sources makes a new image; drop the older ones that no
    container uses (the engine refuses those in use, and we leave them)."""
    import docker.errors

    keep_id = client.images.get(keep).id
    for img in client.images.list(name=repo):
        if img.id == keep_id or not img.labels.get(IMAGE_LABEL):
            continue
        for t in img.tags:
            if t.startswith(f"{repo}:bench-"):
                continue
            try:
                client.images.remove(t, noprune=False)
            except docker.errors.APIError:
                pass  # in use by a container of a running run


def ensure(log: Callable[[str], None] = lambda _m: None, spec: ImageSpec = NODE_IMAGE) -> str:
    """A system's image tag (raftnode's by default) for the current sources, built if
    missing. RAFTQUAKE_IMAGE names raftnode's image instead."""
    if spec is NODE_IMAGE and os.environ.get("RAFTQUAKE_IMAGE"):
        return os.environ["RAFTQUAKE_IMAGE"]
    return build(log=log, spec=spec).tag
