"""`make setup` as a newcomer sees it: the Makefile's own commands, in a fresh virtualenv,
print no BuildBackendWarning banner (setuptools' notice on every editable install, which
pip shows as a warning; not ours, and read as an error).

The commands come from `make -n`, so the test follows the Makefile; only the install's
target is narrowed to the project itself (`--no-deps`: the dependencies change nothing
here and would take minutes). The same install without the Makefile's quieting must show
the banner, or there is nothing left to guard and the test says so."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INSTALL = "-m pip install -q -e '.[test]'"
BANNER = ("BuildBackendWarning", "Editable installation")


def _sh(command: str) -> subprocess.CompletedProcess:
    # Not the calling make's flags: under `make test` MAKEFLAGS carries -w, and `make -n`
    # would print "make[1]: Entering directory" among the commands.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    return subprocess.run(
        command, shell=True, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env
    )


def test_make_setup_prints_no_build_backend_banner(tmp_path: Path):
    venv = tmp_path / "venv"
    python = shlex.quote(sys.executable)
    plan = _sh(f"make --no-print-directory -n -B setup VENV={venv} PYTHON={python}")
    assert plan.returncode == 0, plan.stderr
    lines = [ln for ln in plan.stdout.splitlines() if ln.strip()]
    (install,) = [ln for ln in lines if INSTALL in ln]
    for line in lines[: lines.index(install)]:  # the venv, pip upgraded
        done = _sh(line)
        assert done.returncode == 0, f"{line}\n{done.stdout}{done.stderr}"
    ours = install.replace(INSTALL, "-m pip install -q --no-deps -e .")
    bare = ours[ours.index(str(venv)) :]  # the same install without the Makefile's prefix
    loud = _sh(bare)
    assert loud.returncode == 0, loud.stderr
    if not any(b in loud.stdout + loud.stderr for b in BANNER):
        pytest.skip("this pip and setuptools print no editable-install banner to quiet")
    quiet = _sh(ours + " --force-reinstall")
    assert quiet.returncode == 0, quiet.stderr
    for b in BANNER:
        assert b not in quiet.stdout + quiet.stderr, quiet.stdout + quiet.stderr
