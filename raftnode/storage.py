"""Durable Raft state: current term, vote, commit index and the log.

Why a CRC32-framed write-ahead log rather than sqlite3: everything the node persists
arrives as one Ready (a hard state and a run of entries that may first cut the log
short). A WAL turns that into one append and one fdatasync -- group commit for free --
and recovery is one sequential scan. sqlite3 would give the same durability but with a
journal, page writes and two syncs per transaction, several times slower per commit,
and we need none of its querying.

File format (``wal.log`` in the data directory), a sequence of records::

    u32 length (big endian) | u32 crc32(payload) | payload (length bytes of UTF-8 JSON)

Each payload is one Ready: ``{"hs": [term, voted_for, commit] | null, "e": [[term, index,
command], ...]}``. An entry run whose first index is at or below the last index in the
log truncates the log from that index first (a truncation record is implicit in every
entry record), exactly as Ready.entries is defined.

Recovery after kill -9 at any instant: a write may be torn, and since records are
written in order and each Ready is fsynced before anything that depends on it is sent,
a torn or corrupt record can only be the last one written, belonging to a Ready whose
effects nobody has seen. Recovery reads records until the first short or bad-checksum
record, truncates the file there (and fsyncs), and carries on.

Snapshots (``snapshot.json``: ``{"index", "term", "data", "config"}``, data opaque here): a Ready
with a snapshot writes it to a temporary file, fsyncs and renames it over the last one,
then replaces the WAL the same way by one record holding the hard state and the whole
log after the snapshot. A crash between the two leaves the new snapshot with the old WAL;
recovery then does what InstallSnapshot does (paper Figure 13): entries up to the
snapshot are dropped, and the rest are kept only if the WAL holds the snapshot's last
entry (same index and term), so the data directory never needs both renames to be whole.

Only what Ready says is persisted: the storage never invents a vote or a term (the
planted ``forget-vote`` bug relies on that).

MemoryStorage is the same durable state kept in memory (hard state, snapshot, the log after
it), for the simulation's disk (harness/backends/sim) and the test network
(raftnode/rafttest.py); it and the WAL's replay share truncate_and_append, Ready.entries'
one rule.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from raftnode.core import Entry, HardState, Snapshot
from raftnode.wire import compact_json

log = logging.getLogger("raftnode.storage")

WAL_NAME = "wal.log"
SNAPSHOT_NAME = "snapshot.json"
HEADER = struct.Struct(">II")
# A record longer than this is taken as garbage (a torn length field), not an allocation.
MAX_RECORD = 256 * 1024 * 1024
# On open, a WAL bigger than this with mostly superseded records is rewritten compactly.
COMPACT_MIN_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class StoredEntry:
    """A log entry as stored; the server converts to and from core.Entry."""

    term: int
    index: int
    command: dict | None = None


@dataclass(frozen=True)
class StoredSnapshot:
    """A snapshot as stored (core.Snapshot's fields): the state as of entry `index`."""

    index: int
    term: int
    data: str
    config: dict | None = None  # the configuration as of index (membership)


@dataclass
class Recovered:
    """What a data directory holds after recovery: the snapshot (if any) and the log
    entries after it."""

    term: int = 0
    voted_for: str | None = None
    commit: int = 0
    entries: list[StoredEntry] = field(default_factory=list)
    dropped_bytes: int = 0  # size of the torn/corrupt tail that was cut off
    records: int = 0
    snapshot: StoredSnapshot | None = None

    @property
    def last_index(self) -> int:
        if self.entries:
            return self.entries[-1].index
        return self.snapshot.index if self.snapshot else 0

    def committed(self) -> list[StoredEntry]:
        """The entries known (from the persisted commit index) to be committed."""
        return [e for e in self.entries if e.index <= self.commit]


class StorageError(Exception):
    pass


def truncate_and_append(log: list[Any], entries: Sequence[Any]) -> None:
    """Put a Ready's entries on `log` (entries with consecutive indexes, any first one):
    a run whose first index is at or below the log's last cuts the log from that index
    first, as Ready.entries is defined. The caller checks for a gap past the log's end."""
    if not entries:
        return
    if log:
        del log[max(0, entries[0].index - log[0].index) :]
    log.extend(entries)


@dataclass
class MemoryStorage:
    """A server's durable state in memory: what a crash keeps. The simulated disk and
    rafttest's nodes; a restart builds its core from these three fields."""

    hard: HardState = field(default_factory=HardState)
    snapshot: Snapshot | None = None
    log: list[Entry] = field(default_factory=list)  # the entries after the snapshot

    def save(
        self,
        hard_state: HardState | None,
        entries: Sequence[Entry],
        snapshot: Snapshot | None = None,
    ) -> None:
        """Persist one Ready's hard state, entries and snapshot: exactly what it asks for,
        nothing else. With a snapshot, the entries are the whole log after it."""
        if hard_state is not None:
            self.hard = hard_state
        if snapshot is not None:
            self.snapshot, self.log = snapshot, list(entries)
        else:
            truncate_and_append(self.log, entries)


def _frame(payload: dict) -> bytes:
    body = compact_json(payload).encode()
    return HEADER.pack(len(body), zlib.crc32(body)) + body


def _scan(data: bytes, path: Path) -> tuple[Recovered, int]:
    """Replay records from ``data``; return the state and the offset of the first bad byte."""
    rec = Recovered()
    entries: list[StoredEntry] = []
    off = 0
    n = len(data)
    while off < n:
        if n - off < HEADER.size:
            break
        length, crc = HEADER.unpack_from(data, off)
        start = off + HEADER.size
        if length > MAX_RECORD or start + length > n:
            break
        body = data[start : start + length]
        if zlib.crc32(body) != crc:
            break
        try:
            payload = json.loads(body)
        except ValueError:
            break
        hs = payload.get("hs")
        if hs is not None:
            rec.term, rec.voted_for, rec.commit = int(hs[0]), hs[1], int(hs[2])
        run = payload.get("e") or ()
        if run:
            first = int(run[0][1])
            # (A WAL rewritten after a snapshot starts past index 1: _after_snapshot checks
            # that its first entry is the snapshot's next one.)
            last = entries[-1].index if entries else first - 1
            if first > last + 1:
                raise StorageError(
                    f"{path}: record at byte {off} starts at index {first}, "
                    f"but the log ends at {last} (a gap: the WAL is corrupt)"
                )
            truncate_and_append(entries, [StoredEntry(int(t), int(i), c) for t, i, c in run])
        rec.records += 1
        off = start + length
    rec.entries = entries
    return rec, off


def _read_snapshot(path: Path) -> StoredSnapshot | None:
    if not path.exists():
        return None
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
        return StoredSnapshot(int(d["index"]), int(d["term"]), str(d["data"]), d.get("config"))
    except (ValueError, KeyError, TypeError) as e:
        # Written whole by rename: a bad file is damage, not a torn write. Refuse rather
        # than start from the WAL alone, which no longer holds what the snapshot covered.
        raise StorageError(f"{path}: not a snapshot ({e}); expected index, term, data") from e


def _after_snapshot(rec: Recovered, snap: StoredSnapshot | None) -> Recovered:
    """Entries up to the snapshot go; the rest stay only if they follow its last entry."""
    start = snap.index + 1 if snap is not None else 1
    if rec.entries and rec.entries[0].index > start:
        raise StorageError(
            f"the WAL starts at index {rec.entries[0].index}, but "
            + (f"the snapshot ends at {snap.index}" if snap else "there is no snapshot")
            + " (a gap: the data directory is incomplete)"
        )
    if snap is None:
        return rec
    rec.snapshot = snap
    held = {e.index: e.term for e in rec.entries}
    rewritten = bool(rec.entries) and rec.entries[0].index == snap.index + 1
    if rewritten or held.get(snap.index) == snap.term:
        rec.entries = [e for e in rec.entries if e.index > snap.index]
    else:
        rec.entries = []  # the WAL predates a snapshot that contradicts (or passes) it
    rec.commit = max(rec.commit, snap.index)
    return rec


def read_data_dir(data_dir: str | os.PathLike) -> Recovered:
    """Read a data directory without modifying it (for offline log dumps and tests)."""
    path = Path(data_dir) / WAL_NAME
    snap = _read_snapshot(Path(data_dir) / SNAPSHOT_NAME)
    if not path.exists():
        return _after_snapshot(Recovered(), snap)
    data = path.read_bytes()
    rec, good = _scan(data, path)
    rec.dropped_bytes = len(data) - good
    return _after_snapshot(rec, snap)


def committed_log(data_dir: str | os.PathLike) -> list[dict]:
    """The committed log of a data directory in the log-agreement dump format (DESIGN's
    log.jsonl): the snapshot's line first, if there is one."""
    rec = read_data_dir(data_dir)
    out: list[dict] = []
    if rec.snapshot is not None:
        digest = json.loads(rec.snapshot.data).get("digest", "")
        out.append(
            {"snapshot": {"index": rec.snapshot.index, "term": rec.snapshot.term, "digest": digest}}
        )
    out += [{"index": e.index, "term": e.term, "command": e.command} for e in rec.committed()]
    return out


def _write_atomically(path: Path, data: bytes, directory: Path) -> None:
    """`data` as the whole of `path`, or the old file if a crash comes first."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(directory)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Storage:
    """Append-only, checksummed WAL. Not thread-safe: one writer at a time."""

    def __init__(self, data_dir: str | os.PathLike, fsync: bool = True):
        self.dir = Path(data_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / WAL_NAME
        self.fsync_enabled = fsync
        self.recovered = self._recover()
        self._last_index = self.recovered.last_index
        r = self.recovered
        self._hs = (r.term, r.voted_for, r.commit)  # the last hard state written
        created = not self.path.exists()
        self._f = open(self.path, "ab", buffering=0)  # noqa: SIM115 - lives as long as the node
        if created and fsync:
            _fsync_dir(self.dir)  # the new file's name must survive a crash too
        self.bytes_written = self.path.stat().st_size
        self.syncs = 0
        self.sync_seconds = 0.0  # time spent in fdatasync, for status and benchmarks
        self.snapshots = 0

    def _recover(self) -> Recovered:
        snap = _read_snapshot(self.dir / SNAPSHOT_NAME)
        if not self.path.exists():
            return _after_snapshot(Recovered(), snap)
        data = self.path.read_bytes()
        rec, good = _scan(data, self.path)
        rec.dropped_bytes = len(data) - good
        if rec.dropped_bytes:
            log.warning(
                "%s: cut a torn or corrupt tail of %d bytes at offset %d (after %d good records)",
                self.path,
                rec.dropped_bytes,
                good,
                rec.records,
            )
            with open(self.path, "r+b") as f:
                f.truncate(good)
                f.flush()
                os.fsync(f.fileno())
        rec = _after_snapshot(rec, snap)
        if good > COMPACT_MIN_BYTES and rec.records > 64:
            self._rewrite(rec)
        return rec

    def _rewrite(self, rec: Recovered) -> None:
        """Replace the WAL by one record holding the same state; atomic by rename."""
        self._replace_wal((rec.term, rec.voted_for, rec.commit), rec.entries)
        log.info("%s: compacted %d records into one", self.path, rec.records)

    def _replace_wal(self, hs: tuple[int, str | None, int], entries: Sequence[Any]) -> None:
        payload = {"hs": list(hs), "e": [[e.term, e.index, e.command] for e in entries]}
        _write_atomically(self.path, _frame(payload), self.dir)

    def _save_snapshot(self, snapshot: Any, hs: tuple, entries: Sequence[Any]) -> None:
        """The snapshot, then the WAL replaced by the hard state and the log after it."""
        body = compact_json(
            {
                "index": snapshot.index,
                "term": snapshot.term,
                "data": snapshot.data,
                "config": getattr(snapshot, "config", None),
            }
        )
        _write_atomically(self.dir / SNAPSHOT_NAME, body.encode(), self.dir)
        self._f.close()
        self._replace_wal(hs, entries)
        self._f = open(self.path, "ab", buffering=0)  # noqa: SIM115 - lives as long as the node
        self._last_index = entries[-1].index if entries else snapshot.index
        self._hs = hs
        size = self.path.stat().st_size
        self.bytes_written += size
        self.syncs += 1
        self.snapshots += 1

    def save(
        self,
        hard_state: tuple[int, str | None, int] | None,
        entries: Sequence[Any] | Iterable[Any],
        snapshot: Any = None,
    ) -> None:
        """Persist one Ready: the hard state (if any) and the entries, with one fsync.

        ``entries`` are objects with ``term``, ``index``, ``command`` (core.Entry or
        StoredEntry). With a ``snapshot`` (index, term, data: core.Snapshot), the entries
        are the whole log after it and replace the WAL (see the module's docstring).
        Returns once the data is durable.
        """
        if snapshot is not None:
            t = time.perf_counter()
            self._save_snapshot(snapshot, tuple(hard_state or self._hs), list(entries))
            self.sync_seconds += time.perf_counter() - t
            return
        if hard_state is not None:
            self._hs = tuple(hard_state)
        run = [[e.term, e.index, e.command] for e in entries]
        if hard_state is None and not run:
            return
        if run:
            first = run[0][1]
            if first > self._last_index + 1:
                raise StorageError(
                    f"append at index {first} would leave a gap after {self._last_index}"
                )
            self._last_index = run[-1][1]
        payload: dict[str, Any] = {"hs": list(hard_state) if hard_state is not None else None}
        if run:
            payload["e"] = run
        data = _frame(payload)
        view = memoryview(data)
        while view:
            written = self._f.write(view)
            view = view[written:]
        self.bytes_written += len(data)
        if self.fsync_enabled:
            t = time.perf_counter()
            os.fdatasync(self._f.fileno())
            self.sync_seconds += time.perf_counter() - t
            self.syncs += 1

    def close(self) -> None:
        try:
            self._f.close()
        except OSError:
            pass


def main(argv: list[str] | None = None) -> int:
    """`python -m raftnode.storage DATA_DIR`: print the committed log as JSON Lines."""
    import argparse
    import sys

    p = argparse.ArgumentParser(
        prog="python -m raftnode.storage",
        description="Print a data directory's committed log (log-agreement dump format).",
    )
    p.add_argument("data_dir")
    a = p.parse_args(argv)
    if not (Path(a.data_dir) / WAL_NAME).exists():
        print(f"{a.data_dir}: no {WAL_NAME} here", file=sys.stderr)
        return 2
    for e in committed_log(a.data_dir):
        print(json.dumps(e))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
