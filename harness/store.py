"""The results store: `store/<name>/<YYYYmmddTHHMMSS>/`, and `store/latest` pointing at the newest.

Layout (docs/DESIGN.md "Results store"): history.jsonl, results.json, schedule.yaml
(as run, seed filled in), nodes/<id>/ (the node's log and events), report.html.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime(now))
    base = store / name
    base.mkdir(parents=True, exist_ok=True)
    path = base / stamp
    suffix = 1
    while True:
        try:
            path.mkdir()
            break
        except FileExistsError:
            # Two runs in the same second: keep both, in order.
            suffix += 1
            path = base / f"{stamp}-{suffix}"
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
