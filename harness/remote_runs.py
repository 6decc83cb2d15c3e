"""Runs made by remote pytest-xdist workers come back to the controller's store.

A worker on another machine (`pytest -d --tx ssh=...`) runs its tests there and writes
their runs into a store of its own, a temporary folder on that machine. After each test
the worker packs the runs the test made (every run folder in that store: `<name>/<stamp>`,
and hunts' `hunt/<name>/<stamp>`) into the test's last report, and removes them. pytest-xdist
carries reports to the controller over the worker's execnet channel, the ssh connection
it already has; there the plugin unpacks them into the controller's store
(`--chaos-store`, else a temporary one) and points the report's JUnit properties
(`raftquake.run-dir`, a hunt's `raftquake.minimal-schedule`) at the controller's copies.
One store, one index in `raftquake serve`, and no second connection, rsync or shared
file system: what a Jepsen user has (the control node keeps every run) and what an xdist
user has (results come back with the reports, as pytest-cov's coverage data comes back
with the workers' output).

Workers on the controller's machine (`-n N`, `--tx popen`) write into the controller's
store directly, as before: nothing is packed.
"""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path
from typing import Any

from harness.store import adopt_run_dir, list_hunts, list_runs

# The report attribute that carries the runs; pytest serializes a report's attributes
# and xdist sends them as they are (strings and bytes).
ATTR = "raftquake_runs"
# What the controller puts in a worker's input: whether to pack runs (a remote worker).
WORKER_INPUT = "raftquake_ship_runs"


def run_folders(store: Path) -> list[Path]:
    """Every run and hunt folder of a store, oldest first."""
    return sorted((r.path for r in [*list_runs(store), *list_hunts(store)]), key=lambda p: p.name)


def pack(store: Path) -> dict[str, Any] | None:
    """The store's runs, each a gzipped tar, then removed from the store; None: none."""
    runs = []
    for folder in run_folders(store):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            tar.add(str(folder), arcname=".")
        runs.append([str(folder.relative_to(store)), buf.getvalue()])
        shutil.rmtree(folder)
    if not runs:
        return None
    return {"store": str(store), "runs": runs}


def unpack(packed: dict[str, Any], store: Path) -> dict[str, str]:
    """Put packed runs into `store`; returns {the worker's path: this store's path}."""
    moved = {}
    for rel, data in packed["runs"]:
        run = adopt_run_dir(store, rel)
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            _extract(tar, run.path)
        moved[str(Path(packed["store"]) / rel)] = str(run.path)
    return moved


def _extract(tar: tarfile.TarFile, dest: Path) -> None:
    # What a worker sends is data, not a way to write outside the run's folder.
    if hasattr(tarfile, "data_filter"):
        tar.extractall(dest, filter="data")
        return
    for m in tar.getmembers():  # Python 3.11 before 3.11.4: no filters
        target = (dest / m.name).resolve()
        if not (m.isfile() or m.isdir()) or not target.is_relative_to(dest.resolve()):
            raise ValueError(f"a run's archive holds {m.name!r}")
    tar.extractall(dest)


def relocate(text: str, moved: dict[str, str]) -> str:
    """`text` with the worker's run paths replaced by this store's."""
    # Longest first: run/20261207T140407 is a prefix of run/20261207T140407-2.
    for old, new in sorted(moved.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(old, new)
    return text
