"""The Docker backend: one container per node, the image it runs, and cleaning up after runs."""

from __future__ import annotations


def engine_problem() -> str | None:
    """None when a Docker engine answers, else why not."""
    try:
        import docker

        client = docker.from_env(timeout=5)
        client.ping()
        client.close()
        return None
    except Exception as exc:
        return f"no Docker engine answers ({type(exc).__name__}: {exc})"
