"""Kept for plug-ins written against the old path: `from harness.image import ImageSpec`.
A system's image is described with harness.systems.base.ImageSpec; the Docker backend
builds it (harness/backends/docker/image.py)."""

from harness.backends.docker.image import ImageSpec

__all__ = ["ImageSpec"]
