"""Removes what runs left behind: only resources that carry our run label."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

RUN_LABEL = "raftquake.run"
IMAGE_LABEL = "raftquake.image"


@dataclass
class Removed:
    containers: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def total(self) -> int:
        return len(self.containers) + len(self.networks) + len(self.volumes) + len(self.images)


def leftovers(client, run_id: str | None = None) -> dict[str, list[str]]:
    """Names of our containers, networks and volumes (of one run, or of any)."""
    label = f"{RUN_LABEL}={run_id}" if run_id else RUN_LABEL
    flt = {"label": label}
    return {
        "containers": [c.name for c in client.containers.list(all=True, filters=flt)],
        "networks": [n.name for n in client.networks.list(filters=flt)],
        "volumes": [v.name for v in client.volumes.list(filters=flt)],
    }


def clean(client, run_id: str | None = None, images: bool = False) -> Removed:
    """Containers first (they hold the networks and volumes), then networks, volumes."""
    import docker.errors

    label = f"{RUN_LABEL}={run_id}" if run_id else RUN_LABEL
    flt = {"label": label}
    out = Removed()

    def remove_container(c) -> None:
        try:
            c.remove(force=True, v=True)
            out.containers.append(c.name)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            out.errors.append(f"container {c.name}: {exc}")

    # In parallel: removing a container is mostly the engine stopping and unmounting it.
    containers = client.containers.list(all=True, filters=flt)
    if containers:
        with ThreadPoolExecutor(max_workers=min(8, len(containers))) as pool:
            list(pool.map(remove_container, containers))
    for n in client.networks.list(filters=flt):
        try:
            n.remove()
            out.networks.append(n.name)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            out.errors.append(f"network {n.name}: {exc}")
    for v in client.volumes.list(filters=flt):
        try:
            v.remove(force=True)
            out.volumes.append(v.name)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            out.errors.append(f"volume {v.name}: {exc}")
    if images:
        for img in client.images.list(filters={"label": IMAGE_LABEL}):
            for tag in img.tags or [img.id]:
                try:
                    client.images.remove(tag, force=True)
                    out.images.append(tag)
                except docker.errors.NotFound:
                    pass
                except docker.errors.APIError as exc:
                    out.errors.append(f"image {tag}: {exc}")
    return out
