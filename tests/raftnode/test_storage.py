"""The write-ahead log: what is saved comes back, truncation, torn and corrupt tails."""

from __future__ import annotations

import json
import os

import pytest

from raftnode.core import HardState, Snapshot
from raftnode.storage import (
    WAL_NAME,
    MemoryStorage,
    Storage,
    StorageError,
    StoredEntry,
    committed_log,
    read_data_dir,
)


def E(term: int, index: int, value: object = None) -> StoredEntry:
    cmd = None if value is None else {"op": "write", "key": "k", "value": value}
    return StoredEntry(term, index, cmd)


def reopen(path) -> Storage:
    return Storage(path)


def test_empty_directory_recovers_to_initial_state(tmp_path):
    s = Storage(tmp_path / "d")
    assert (s.recovered.term, s.recovered.voted_for, s.recovered.commit) == (0, None, 0)
    assert s.recovered.entries == []


def test_hard_state_and_entries_come_back_after_reopen(tmp_path):
    s = Storage(tmp_path)
    s.save((1, "n1", 0), [E(1, 1), E(1, 2, "a")])
    s.save((2, "n3", 2), [E(2, 3, "b")])
    s.save(None, [E(2, 4, {"x": [1, 2]})])
    s.close()
    r = reopen(tmp_path).recovered
    assert (r.term, r.voted_for, r.commit) == (2, "n3", 2)
    assert [(e.term, e.index) for e in r.entries] == [(1, 1), (1, 2), (2, 3), (2, 4)]
    assert r.entries[3].command["value"] == {"x": [1, 2]}
    assert r.dropped_bytes == 0


def test_entries_at_or_below_last_index_truncate_first(tmp_path):
    s = Storage(tmp_path)
    s.save((1, None, 0), [E(1, 1), E(1, 2, "a"), E(1, 3, "b"), E(1, 4, "c")])
    s.save((2, None, 0), [E(2, 3, "x")])  # conflicts from 3: 3 and 4 go
    s.save(None, [E(2, 4, "y"), E(2, 5, "z")])
    s.close()
    r = reopen(tmp_path).recovered
    assert [(e.term, e.index, e.command and e.command["value"]) for e in r.entries] == [
        (1, 1, None),
        (1, 2, "a"),
        (2, 3, "x"),
        (2, 4, "y"),
        (2, 5, "z"),
    ]


def test_append_with_a_gap_is_refused(tmp_path):
    s = Storage(tmp_path)
    s.save(None, [E(1, 1)])
    with pytest.raises(StorageError, match="gap"):
        s.save(None, [E(1, 3)])


def test_vote_is_only_what_was_saved(tmp_path):
    # forget-vote relies on storage persisting exactly what Ready says.
    s = Storage(tmp_path)
    s.save((3, "n2", 0), [])
    s.save((3, None, 0), [])
    s.close()
    assert reopen(tmp_path).recovered.voted_for is None


@pytest.mark.parametrize("cut", [1, 3, 7, 8, 9, 20])
def test_torn_last_record_is_cut_and_earlier_records_survive(tmp_path, cut):
    s = Storage(tmp_path)
    s.save((1, "n1", 1), [E(1, 1, "a")])
    good_size = os.path.getsize(tmp_path / WAL_NAME)
    s.save((2, "n2", 2), [E(2, 2, "b"), E(2, 3, "c")])
    s.close()
    full = os.path.getsize(tmp_path / WAL_NAME)
    with open(tmp_path / WAL_NAME, "r+b") as f:
        f.truncate(full - cut)  # kill -9 in the middle of the second write
    s2 = reopen(tmp_path)
    r = s2.recovered
    assert (r.term, r.voted_for, r.commit) == (1, "n1", 1)
    assert [e.index for e in r.entries] == [1]
    assert r.dropped_bytes == full - cut - good_size
    # The file was cut back, so new records follow the good ones and are read back.
    assert os.path.getsize(tmp_path / WAL_NAME) == good_size
    s2.save((2, "n3", 1), [E(2, 2, "d")])
    s2.close()
    r = reopen(tmp_path).recovered
    assert [(e.index, e.command["value"]) for e in r.entries if e.command] == [(1, "a"), (2, "d")]
    assert r.voted_for == "n3"


def test_corrupt_checksum_in_last_record_is_cut(tmp_path):
    s = Storage(tmp_path)
    s.save((1, "n1", 0), [E(1, 1, "a")])
    s.save((1, "n1", 0), [E(1, 2, "b")])
    s.close()
    path = tmp_path / WAL_NAME
    data = bytearray(path.read_bytes())
    data[-2] ^= 0xFF  # flip a byte in the last payload
    path.write_bytes(bytes(data))
    r = reopen(tmp_path).recovered
    assert [e.index for e in r.entries] == [1]
    assert r.dropped_bytes > 0


def test_garbage_length_field_is_cut_not_allocated(tmp_path):
    s = Storage(tmp_path)
    s.save((1, None, 0), [E(1, 1)])
    s.close()
    with open(tmp_path / WAL_NAME, "ab") as f:
        f.write(b"\xff\xff\xff\xff\x00\x00\x00\x00junk")
    r = reopen(tmp_path).recovered
    assert [e.index for e in r.entries] == [1]
    assert r.dropped_bytes == 12


def test_zero_filled_tail_is_cut(tmp_path):
    # Some file systems leave zeroes after a crash where the size grew but data did not land.
    s = Storage(tmp_path)
    s.save((1, None, 0), [E(1, 1)])
    s.close()
    with open(tmp_path / WAL_NAME, "ab") as f:
        f.write(b"\x00" * 64)
    r = reopen(tmp_path).recovered
    assert [e.index for e in r.entries] == [1]


def test_committed_log_dump_stops_at_the_persisted_commit(tmp_path):
    s = Storage(tmp_path)
    s.save((1, None, 2), [E(1, 1), E(1, 2, "a"), E(1, 3, "b")])
    s.close()
    assert committed_log(tmp_path) == [
        {"index": 1, "term": 1, "command": None},
        {"index": 2, "term": 1, "command": {"op": "write", "key": "k", "value": "a"}},
    ]


def test_large_wal_is_compacted_on_open_without_changing_state(tmp_path, monkeypatch):
    import raftnode.storage as storage

    monkeypatch.setattr(storage, "COMPACT_MIN_BYTES", 1000)
    s = Storage(tmp_path)
    for i in range(1, 201):
        s.save((1 + i // 50, "n1", i - 1), [E(1 + i // 50, i, i)])
    s.close()
    before = reopen(tmp_path).recovered  # compacts here
    after = reopen(tmp_path).recovered
    assert after.records == 1
    assert after.entries == before.entries
    assert (after.term, after.voted_for, after.commit) == (before.term, "n1", 199)


def test_offline_dump_command_prints_the_committed_log(tmp_path, capsys):
    from raftnode.storage import main

    s = Storage(tmp_path)
    s.save((1, None, 1), [E(1, 1, "a"), E(1, 2, "b")])
    s.close()
    assert main([str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(x) for x in lines] == [
        {"index": 1, "term": 1, "command": {"op": "write", "key": "k", "value": "a"}}
    ]
    assert main([str(tmp_path / "nowhere")]) == 2


class Snap:
    def __init__(self, index: int, term: int, data: str = '{"digest": "d"}'):
        self.index, self.term, self.data = index, term, data


def test_a_snapshot_replaces_the_wal_by_the_log_after_it(tmp_path):
    s = Storage(tmp_path)
    s.save((1, "n1", 0), [E(1, i, i) for i in range(1, 201)])
    big = (tmp_path / WAL_NAME).stat().st_size
    s.save((1, "n1", 198), [E(1, 199, 199), E(1, 200, 200)], Snap(198, 1))
    s.save(None, [E(1, 201, 201)])
    s.close()
    assert (tmp_path / WAL_NAME).stat().st_size < big / 10
    r = reopen(tmp_path).recovered
    assert (r.snapshot.index, r.snapshot.term) == (198, 1)
    assert [e.index for e in r.entries] == [199, 200, 201]
    assert (r.term, r.voted_for, r.commit) == (1, "n1", 198)
    assert committed_log(tmp_path)[0] == {"snapshot": {"index": 198, "term": 1, "digest": "d"}}


def test_a_crash_between_snapshot_and_wal_rewrite_recovers_like_install_snapshot(tmp_path):
    # The snapshot file was renamed into place, the WAL was not yet replaced.
    s = Storage(tmp_path)
    s.save((2, None, 3), [E(1, 1, 1), E(1, 2, 2), E(2, 3, 3), E(2, 4, 4)])
    s.close()
    (tmp_path / "snapshot.json").write_text(json.dumps({"index": 3, "term": 2, "data": "{}"}))
    r = reopen(tmp_path).recovered
    assert [e.index for e in r.entries] == [4]  # the WAL holds the snapshot's last entry
    # A snapshot whose last entry the WAL contradicts: the WAL's log is discarded.
    (tmp_path / "snapshot.json").write_text(json.dumps({"index": 3, "term": 5, "data": "{}"}))
    r = reopen(tmp_path).recovered
    assert r.entries == [] and r.last_index == 3 and r.commit == 3


def test_a_damaged_snapshot_file_is_refused_by_name(tmp_path):
    Storage(tmp_path).save((1, None, 0), [E(1, 1, 1)])
    (tmp_path / "snapshot.json").write_text('{"index": 1')
    with pytest.raises(StorageError, match=r"snapshot.json: not a snapshot"):
        reopen(tmp_path)


def test_a_wal_that_starts_after_the_snapshot_is_a_gap(tmp_path):
    s = Storage(tmp_path)
    s.save((1, None, 5), [E(1, 6, 6)], Snap(5, 1))
    s.close()
    (tmp_path / "snapshot.json").write_text(json.dumps({"index": 3, "term": 1, "data": "{}"}))
    with pytest.raises(StorageError, match="starts at index 6, but the snapshot ends at 3"):
        reopen(tmp_path)


def test_memory_storage_keeps_what_the_wal_keeps(tmp_path):
    # The simulation's disk and rafttest's nodes hold what a restarted server would read
    # back: the same Readys (appends, a truncation, a snapshot, appends after it) give the
    # same hard state, snapshot and log in memory as from the WAL.
    readys = [
        ((1, "n1", 0), [E(1, 1), E(1, 2, "a"), E(1, 3, "b")], None),
        ((2, "n2", 1), [E(2, 2, "c")], None),  # cuts 2..3, then appends
        (None, [E(2, 3, "d"), E(2, 4, "e")], None),
        ((2, "n2", 3), [E(2, 4, "e")], Snapshot(3, 2, '{"digest": ""}')),  # the log after 3
        (None, [E(3, 5, "f")], None),
    ]
    wal, memory = Storage(tmp_path), MemoryStorage()
    for n, (hs, entries, snap) in enumerate(readys):
        wal.save(hs, entries, snap)
        memory.save(HardState(*hs) if hs else None, entries, snap)
        if n == 2:  # before the snapshot: the truncated log, in both
            cut = [E(1, 1), E(2, 2, "c"), E(2, 3, "d"), E(2, 4, "e")]
            assert memory.log == read_data_dir(tmp_path).entries == cut
    wal.close()
    r = reopen(tmp_path).recovered
    assert memory.hard == HardState(r.term, r.voted_for, r.commit) == HardState(2, "n2", 3)
    assert (memory.snapshot.index, memory.snapshot.term) == (r.snapshot.index, r.snapshot.term)
    assert memory.log == r.entries == [E(2, 4, "e"), E(3, 5, "f")]
