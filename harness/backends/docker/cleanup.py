"""Removes what runs left behind: only resources that carry our run label.

Several runs may share one engine (`raftquake run --jobs`, pytest-xdist): each resource
also carries its owner, the host and process id of the run that made it, so a clean of
everything leaves alone what belongs to a run still going on this host.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from harness.owners import owner, owner_alive

__all__ = ["clean", "leftovers", "owner", "owner_alive"]

RUN_LABEL = "raftquake.run"
OWNER_LABEL = "raftquake.owner"  # "<hostname>:<pid>" of the process that made it
IMAGE_LABEL = "raftquake.image"


@dataclass
class Removed:
    containers: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # run ids of live runs, left alone

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


@dataclass
class DeadRun:
    """What a run whose process is gone left on the engine (`raftquake clean` removes it)."""

    run_id: str
    owner: str | None
    containers: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)

    def words(self) -> str:
        """ "5 containers, 1 network, 5 volumes" """
        from harness.words import plural

        parts = [(len(self.containers), "container"), (len(self.networks), "network")]
        parts.append((len(self.volumes), "volume"))
        return ", ".join(plural(n, w) for n, w in parts if n)


def dead_runs(client) -> list[DeadRun]:
    """The runs whose resources remain while their owner process is gone (what `raftquake
    clean` without --live-too removes), by run id."""
    flt = {"label": RUN_LABEL}
    found: dict[str, DeadRun] = {}
    for kind, items in (
        ("containers", client.containers.list(all=True, filters=flt)),
        ("networks", client.networks.list(filters=flt)),
        ("volumes", client.volumes.list(filters=flt)),
    ):
        for r in items:
            labels = _labels(r)
            if owner_alive(labels.get(OWNER_LABEL)):
                continue
            run = labels.get(RUN_LABEL, "?")
            dead = found.setdefault(run, DeadRun(run, labels.get(OWNER_LABEL)))
            getattr(dead, kind).append(r.name)
    return [found[k] for k in sorted(found)]


def _labels(resource) -> dict[str, str]:
    """A container's labels are under Config; a network's and a volume's at the top."""
    if "Config" in resource.attrs:
        return resource.attrs["Config"].get("Labels") or {}
    return resource.attrs.get("Labels") or {}


def _remove_network(n, deadline_s: float = 10.0) -> str | None:
    """Remove a network: None when removed, "" when already gone, else the error. A
    loaded engine may still list an endpoint of a container it has just removed ("has
    active endpoints"): disconnect what is left and try again until the deadline."""
    import docker.errors

    end = time.monotonic() + deadline_s
    while True:
        try:
            n.remove()
            return None
        except docker.errors.NotFound:
            return ""
        except docker.errors.APIError as exc:
            if "active endpoints" not in str(exc) or time.monotonic() > end:
                return str(exc)
        try:
            n.reload()
            for c in n.containers:
                n.disconnect(c, force=True)
        except docker.errors.APIError:
            pass  # gone meanwhile, or not ours to touch: the next attempt says
        time.sleep(0.5)


def clean(
    client,
    run_id: str | None = None,
    images: bool = False,
    live_too: bool = False,
    dry_run: bool = False,
) -> Removed:
    """Containers first (they hold the networks and volumes), then networks, volumes.
    Without `run_id`, every run's, except those of runs still alive on this host (unless
    `live_too`); with it, that run's, alive or not (a run's own teardown). `dry_run`:
    nothing is removed; the answer lists what would be (one engine shared by several
    users: look before you clean)."""
    import docker.errors

    label = f"{RUN_LABEL}={run_id}" if run_id else RUN_LABEL
    flt = {"label": label}
    out = Removed()
    if not run_id and not live_too:
        found = [
            *(_labels(c) for c in client.containers.list(all=True, filters=flt)),
            *(_labels(n) for n in client.networks.list(filters=flt)),
            *(_labels(v) for v in client.volumes.list(filters=flt)),
        ]
        me = owner()
        out.kept = sorted(
            {
                labels[RUN_LABEL]
                for labels in found
                if owner_alive(labels.get(OWNER_LABEL)) and labels.get(OWNER_LABEL) != me
            }
        )

    def ours(resource) -> bool:
        return _labels(resource).get(RUN_LABEL) not in out.kept

    def remove_container(c) -> None:
        if dry_run:
            out.containers.append(c.name)
            return
        try:
            c.remove(force=True, v=True)
            out.containers.append(c.name)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            out.errors.append(f"container {c.name}: {exc}")

    # In parallel: removing a container is mostly the engine stopping and unmounting it.
    containers = [c for c in client.containers.list(all=True, filters=flt) if ours(c)]
    if containers:
        with ThreadPoolExecutor(max_workers=min(8, len(containers))) as pool:
            list(pool.map(remove_container, containers))
    for n in client.networks.list(filters=flt):
        if not ours(n):
            continue
        error = None if dry_run else _remove_network(n)
        if error is None:
            out.networks.append(n.name)
        elif error:
            out.errors.append(f"network {n.name}: {error}")
    for v in client.volumes.list(filters=flt):
        if not ours(v):
            continue
        if dry_run:
            out.volumes.append(v.name)
            continue
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
                if dry_run:
                    out.images.append(tag)
                    continue
                try:
                    client.images.remove(tag, force=True)
                    out.images.append(tag)
                except docker.errors.NotFound:
                    pass
                except docker.errors.APIError as exc:
                    out.errors.append(f"image {tag}: {exc}")
    return out
