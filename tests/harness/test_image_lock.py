"""The image-build lock: a run that has to wait for another process's build says so,
for whom (its pid, command line and image) and for how long so far, instead of sitting
silent at "starting 5 nodes" for a minute. A real second process holds the real lock."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from harness.backends.docker.image import _build_lock

ROOT = Path(__file__).resolve().parents[2]


def test_a_wait_for_the_build_lock_says_for_whom_and_how_long(tmp_path: Path):
    lock, go = tmp_path / "build.lock", tmp_path / "go"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import time
            from pathlib import Path
            from harness.backends.docker.image import _build_lock
            with _build_lock("raftquake-node:abc123", path=Path({str(lock)!r})):
                print("held", flush=True)
                while not Path({str(go)!r}).exists():
                    time.sleep(0.05)
            """)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        said: list[str] = []

        def log(line: str) -> None:
            said.append(line)
            if len(said) == 3:  # two lines while waiting: let the holder finish
                go.touch()

        t0 = time.monotonic()
        with _build_lock("raftquake-node:def456", log, path=lock, note_every=0.3):
            waited = time.monotonic() - t0
            assert lock.read_text().split() == [str(os.getpid()), "raftquake-node:def456"]
        assert holder.wait(timeout=10) == 0
    finally:
        go.touch()
        holder.kill()
    first = said[0]
    assert first.startswith(f"waiting for process {holder.pid} (")
    assert "_build_lock" in first  # its command line, from /proc
    assert first.endswith("to build raftquake-node:abc123 (0 s so far)")
    assert said[1].startswith(f"waiting for process {holder.pid}") and "s so far" in said[1]
    assert said[-1].startswith("the other build is done")
    assert waited >= 0.3
    assert lock.read_text() == ""  # released: no stale holder for the next one to name
