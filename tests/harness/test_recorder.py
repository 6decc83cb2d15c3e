"""The history recorder writes DESIGN's JSONL, line by line, as events happen."""

import json

import pytest

from harness.recorder import HistoryRecorder


def read_lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_events_are_on_disk_before_close(tmp_path):
    path = tmp_path / "history.jsonl"
    rec = HistoryRecorder(path)
    rec.invoke(3, "cas", [1, 4], key="k2")
    # Not closed: a harness that dies here must still leave the invoke behind.
    (line,) = read_lines(path)
    assert line["index"] == 0 and line["process"] == 3 and line["type"] == "invoke"
    assert line["f"] == "cas" and line["key"] == "k2" and line["value"] == [1, 4]
    rec.complete(3, "ok", [1, 4], node="n2")
    rec.nemesis("start-partition", {"n1": ["n2"]})
    rec.invoke(4, "read", None)
    rec.complete(4, "fail", None, error="not-leader")
    rec.close()
    lines = read_lines(path)
    assert [e["index"] for e in lines] == [0, 1, 2, 3, 4]
    assert [e["time"] for e in lines] == sorted(e["time"] for e in lines)
    assert lines[1] == {**lines[1], "type": "ok", "node": "n2", "key": "k2"}
    assert lines[2]["process"] == "nemesis" and lines[2]["type"] == "info"
    assert "key" not in lines[3] and lines[4]["error"] == "not-leader"


def test_one_open_operation_per_process(tmp_path):
    with HistoryRecorder(tmp_path / "h.jsonl") as rec:
        rec.invoke(1, "read", None, key="k")
        with pytest.raises(ValueError, match="already has an open operation"):
            rec.invoke(1, "read", None, key="k")
        with pytest.raises(ValueError, match="no open operation"):
            rec.complete(2, "ok")
        with pytest.raises(ValueError, match="ok, fail or info"):
            rec.complete(1, "done")
        assert rec.open_processes == [1]
