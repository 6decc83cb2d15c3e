"""The results store: `store/<name>/<YYYYmmddTHHMMSS>/`, and `store/latest` pointing at the newest.

Layout (docs/DESIGN.md "Results store"): history.jsonl, results.json, schedule.yaml
(as run, seed filled in), nodes/<id>/ (the node's log and events), report.html.

A results.json says "running" from the start of its run; a run whose process died without
a word (killed -9, its machine lost) would say so for ever. Its "owner" (host and pid)
tells: whatever reads the store (a new `raftquake run`, `raftquake serve`) marks such a
run "abandoned" (abandon_dead_runs).
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.owners import owner_gone

DEFAULT_STORE = Path("store")


@dataclass(frozen=True)
class RunDir:
    path: Path

    @property
    def history(self) -> Path:
        return self.path / "history.jsonl"

    @property
    def results(self) -> Path:
        return self.path / "results.json"

    @property
    def schedule(self) -> Path:
        return self.path / "schedule.yaml"

    @property
    def report(self) -> Path:
        return self.path / "report.html"

    def node_dir(self, node: str) -> Path:
        d = self.path / "nodes" / node
        d.mkdir(parents=True, exist_ok=True)
        return d

    def node_dirs(self) -> dict[str, Path]:
        nodes = self.path / "nodes"
        if not nodes.is_dir():
            return {}
        return {d.name: d for d in sorted(nodes.iterdir()) if d.is_dir()}

    def write_results(self, results: dict[str, Any]) -> None:
        # Write then rename, so a reader never sees half a results.json.
        tmp = self.results.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(results, indent=2, default=str) + "\n")
        os.replace(tmp, self.results)

    def read_results(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.results.read_text())
        except (OSError, ValueError):
            return None


_STAMP = re.compile(r"\d{8}T\d{6}(-\d+)?")


def new_run_dir(store: str | Path, name: str, now: float | None = None) -> RunDir:
    """Create a fresh run folder and point `latest` at it."""
    store = Path(store)
    path = _fresh_dir(store / name, time.strftime("%Y%m%dT%H%M%S", time.localtime(now)))
    _point_latest(store, path)
    return RunDir(path)


def _fresh_dir(base: Path, stamp: str) -> Path:
    """base/stamp, made now; base/stamp-2, -3, ... when it exists."""
    base.mkdir(parents=True, exist_ok=True)
    path = base / stamp
    suffix = 1
    while True:
        try:
            path.mkdir()
            return path
        except FileExistsError:
            # Two runs in the same second: keep both, in order.
            suffix += 1
            path = base / f"{stamp}-{suffix}"


def adopt_run_dir(store: str | Path, rel: str | Path) -> RunDir:
    """A fresh, empty folder for a run made elsewhere (a remote pytest-xdist worker's
    store: `<name>/<stamp>`, or a hunt's `hunt/<name>/<stamp>`), at the same place in
    this store, the stamp suffixed when taken. A run's becomes `latest`."""
    store, rel = Path(store), Path(rel)
    if rel.is_absolute() or ".." in rel.parts or not _STAMP.fullmatch(rel.name):
        raise ValueError(f"not a run folder of a store: {rel}")
    path = _fresh_dir(store / rel.parent, rel.name.split("-")[0])
    if rel.parts[0] != "hunt":
        _point_latest(store, path)
    return RunDir(path)


def _point_latest(store: Path, target: Path) -> None:
    link = store / "latest"
    tmp = store / f".latest.{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(target.relative_to(store))
    os.replace(tmp, link)


def list_runs(store: str | Path) -> list[RunDir]:
    """Every run in the store, newest first."""
    store = Path(store)
    runs = (
        [
            RunDir(d)
            for name_dir in store.iterdir()
            if name_dir.is_dir() and not name_dir.is_symlink()
            for d in name_dir.iterdir()
            # A run folder is named by its time (store/hunt/<name>/ holds hunts, not runs).
            if d.is_dir() and _STAMP.fullmatch(d.name)
        ]
        if store.is_dir()
        else []
    )
    return sorted(runs, key=lambda r: (r.path.name, r.path.parent.name), reverse=True)


def list_hunts(store: str | Path) -> list[RunDir]:
    """Every hunt's folder (store/hunt/<name>/<stamp>/), newest first."""
    return list_runs(Path(store) / "hunt")


def abandoned(results: dict[str, Any] | None) -> bool:
    """A results.json still "running" whose owner process, on this host, is gone."""
    return bool(results and results.get("status") == "running" and owner_gone(results.get("owner")))


def abandon_dead_runs(store: str | Path) -> list[tuple[RunDir, dict[str, Any]]]:
    """Mark every run and hunt of the store that was abandoned as such: "status":
    "abandoned", with an "error" that says why and what to do. Returns them with their
    results, newest first."""
    out = []
    for rd in [*list_runs(store), *list_hunts(store)]:
        results = rd.read_results()
        if results is None or not abandoned(results):
            continue
        results = {
            **results,
            "status": "abandoned",
            "error": f"its process ({results['owner']}) died before the end (killed -9?): "
            "the history holds what it saw; `raftquake clean` removes what it left in Docker",
        }
        rd.write_results(results)
        out.append((rd, results))
    return out
