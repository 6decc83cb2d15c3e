"""What runs that died left behind, said where a user looks next.

A harness killed -9 tears nothing down: its containers keep running (and using CPU),
with its network and volumes, and its results.json says "running" for ever. Nothing of
it is lost to `raftquake clean`, which tells a dead run's resources by their owner label;
what was missing is that anyone said so. A new `raftquake run` and `raftquake serve`'s
index now do: the store's dead runs are marked "abandoned" (harness/store.py), and the
engine's resources of dead owners are listed by run, with their results folder when the
store holds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.store import RunDir, abandon_dead_runs, list_runs
from harness.words import plural


@dataclass
class Leftovers:
    """Dead runs: marked abandoned in the store now, and what remains of them in Docker."""

    abandoned: list[tuple[RunDir, dict[str, Any]]] = field(default_factory=list)
    in_docker: list[Any] = field(default_factory=list)  # cleanup.DeadRun
    folders: dict[str, Path] = field(default_factory=dict)  # run id -> its results folder

    def lines(self) -> list[str]:
        """What to tell the user, or nothing."""
        out = []
        for d in self.in_docker:
            where = self.folders.get(d.run_id)
            also = f"; its results: {where}" if where else ""
            out.append(
                f"a run that died left {d.words()} on this Docker engine "
                f"(run {d.run_id}, owner {d.owner or 'unknown'}{also})"
            )
        if self.in_docker:
            out.append(
                "`raftquake clean` removes what dead runs left (`raftquake clean --dry-run` "
                "lists it first; runs still going are left alone)"
            )
        in_docker = {d.run_id for d in self.in_docker}
        rest = [rd for rd, r in self.abandoned if r.get("run-id") not in in_docker]
        if rest:
            out.append(
                f"{plural(len(rest), 'run')} of this store died before the end, now marked "
                f"abandoned: {', '.join(str(rd.path) for rd in rest)}"
            )
        return out


def find_leftovers(store: str | Path, client: Any = None) -> Leftovers:
    """Mark the store's dead runs abandoned; with a Docker client, also what dead runs
    left on that engine (a problem asking the engine leaves that part out)."""
    found = Leftovers(abandoned=abandon_dead_runs(store))
    if client is None:
        return found
    from harness.backends.docker.cleanup import dead_runs

    try:
        found.in_docker = dead_runs(client)
    except Exception:  # a note, never a reason for a run not to start
        return found
    wanted = {d.run_id for d in found.in_docker}
    if wanted and Path(store).is_dir():
        for rd in list_runs(store):
            results = rd.read_results() or {}
            if results.get("run-id") in wanted:
                found.folders.setdefault(results["run-id"], rd.path)
    return found


def docker_client(timeout: float = 3) -> Any:
    """A Docker client when an engine answers, else None."""
    try:
        import docker

        client = docker.from_env(timeout=timeout)
        client.ping()
        return client
    except Exception:
        return None
