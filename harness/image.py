"""What a system's image is: `ImageSpec`, which a System's `image()` returns, and raftnode's
own. Plug-ins import ImageSpec from harness.systems.base (or from here, the older path);
the Docker backend builds it (harness/backends/docker/image.py). It lives apart from the
backend so that describing a system needs nothing of the backends."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]  # harness/image.py
NODE_REPO = "raftquake-node"


@dataclass(frozen=True)
class ImageSpec:
    """One system's image (harness/systems/): built on the shared base from `dockerfile`,
    with `files` (relative to `root`: files or folders) and the tools every image carries
    as its build context, tagged `<repo>:<hash of all of them and of the base script>`."""

    repo: str
    dockerfile: str  # relative to root
    files: tuple[str, ...]
    root: Path = REPO


NODE_IMAGE = ImageSpec(NODE_REPO, "docker/Dockerfile", ("docker/Dockerfile", "raftnode"))

__all__ = ["NODE_IMAGE", "NODE_REPO", "REPO", "ImageSpec"]
