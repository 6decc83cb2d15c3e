"""Types at the seams: mypy holds the plug-in interfaces (System and its Client, Cluster,
Workload, Checker, Fault) and the run driver that joins them to their annotations. The
modules it checks and how strictly are pyproject.toml's [tool.mypy]."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_seams_type_check():
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", "--cache-dir", _cache()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_checked_modules_are_the_interfaces():
    files = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["files"]
    for seam in (
        "harness/systems/base.py",  # System, Client
        "harness/backends/base.py",  # Cluster, Backend, ClusterSpec
        "workloads",  # Workload
        "checkers/protocol.py",  # Checker
        "harness/nemesis/base.py",  # Fault
        "harness/driver.py",  # where they meet
    ):
        assert seam in files
    assert all((ROOT / f).exists() for f in files)


def _cache() -> str:
    # The repository's own cache (ignored by git): a second run takes a second or two.
    return str(ROOT / ".mypy_cache")
