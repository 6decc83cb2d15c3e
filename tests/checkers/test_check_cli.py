"""`raftquake check` as a user runs it: verdicts, exit statuses, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from check_helpers import run_check, write_jsonl

from harness.cli import main


def rows(*spec: tuple) -> list[dict]:
    """(process, type, f, value[, extra dict]) -> DESIGN JSONL rows."""
    out = []
    for i, s in enumerate(spec):
        p, t, f, v = s[:4]
        row = {
            "index": i,
            "time": 1000 * i,
            "process": p,
            "type": t,
            "f": f,
            "key": "k",
            "value": v,
        }
        if len(s) > 4:
            row.update(s[4])
        out.append(row)
    return out


VALID = rows(
    (0, "invoke", "write", 1),
    (1, "invoke", "read", None),
    (0, "ok", "write", 1, {"node": "n1"}),
    (1, "ok", "read", 1, {"node": "n2"}),
    (0, "invoke", "cas", [1, 2]),
    (0, "fail", "cas", [1, 2], {"error": "precondition"}),  # a lie: it held 1 throughout
)
STALE = rows(
    (0, "invoke", "write", 1),
    (0, "ok", "write", 1),
    ("nemesis", "info", "start-partition", {"nodes": ["n1"]}),
    (1, "invoke", "read", None),
    (1, "ok", "read", None),
)


def test_valid_history_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = write_jsonl(tmp_path / "h.jsonl", VALID[:4])
    code, out, _ = run_check(capsys, str(p))
    assert code == 0
    assert "linearizable" in out and "NOT" not in out


def test_failed_precondition_is_an_observation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the register certainly held 1 for the whole of the cas: "precondition" is a lie
    p = write_jsonl(tmp_path / "h.jsonl", VALID)
    assert run_check(capsys, str(p))[0] == 1
    # without the precondition error, a failed cas simply did not happen
    other = [dict(r) for r in VALID]
    other[5]["error"] = "timeout"
    p2 = write_jsonl(tmp_path / "h2.jsonl", other)
    assert run_check(capsys, str(p2))[0] == 0


def test_stale_read_counterexample(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = write_jsonl(tmp_path / "h.jsonl", STALE)
    code, out, _ = run_check(capsys, str(p))
    assert code == 1
    assert "NOT linearizable" in out and "key 'k'" in out and "read k -> nil" in out
    code, out, _ = run_check(capsys, "--json", str(p))
    d = json.loads(out)
    assert d["file"] == str(p) and d["valid"] is False
    cx = d["counterexample"]
    assert cx["key"] == "k"
    assert cx["stuck"]["index"] == 3 and cx["stuck"]["process"] == 1
    assert cx["states"] == ["1"]
    assert cx["linearized"] == [0]  # the write fits; the read after it does not
    assert {o["index"] for o in cx["ops"]} >= {0, 3}
    assert all({"index", "process", "invoke_time", "complete_time"} <= o.keys() for o in cx["ops"])


def test_explain_gives_the_cycle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = write_jsonl(tmp_path / "h.jsonl", STALE)
    code, out, _ = run_check(capsys, "--explain", str(p))
    assert code == 1
    assert "completed before op 3" in out
    code, out, _ = run_check(capsys, "--explain", "--json", str(p))
    assert json.loads(out)["graph"]["valid"] is False


def test_several_files_worst_exit_and_json_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write_jsonl(tmp_path / "good.jsonl", VALID[:4])
    bad = write_jsonl(tmp_path / "bad.jsonl", STALE)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"index": 0}\n')
    code, out, _ = run_check(capsys, "--json", str(good), str(bad))
    assert code == 1
    lines = [json.loads(x) for x in out.splitlines()]
    assert [(d["file"], d["valid"]) for d in lines] == [(str(good), True), (str(bad), False)]
    code, out, _ = run_check(capsys, "--json", str(good), str(broken), str(bad))
    assert code == 2  # bad input outranks a violation
    assert [json.loads(x)["file"] for x in out.splitlines()] == [str(good), str(broken), str(bad)]


def test_time_limit_answers_unknown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = []
    for i in range(3000):
        spec += [(0, "invoke", "write", i), (0, "ok", "write", i)]
    p = write_jsonl(tmp_path / "long.jsonl", rows(*spec))
    code, out, _ = run_check(capsys, "--timeout", "0.000001", "--json", str(p))
    assert code == 3
    d = json.loads(out)
    assert d["valid"] == "unknown" and "time limit" in d["reason"]


@pytest.mark.parametrize(
    "content,line,expect",
    [
        (
            '{"index": 0, "time": 0, "process": 0, "type": "invoke", "f": "read"}\nnot json\n',
            2,
            "not valid JSON",
        ),
        (
            '{"index": 0, "time": 0, "process": 0, "type": "begin", "f": "read"}\n',
            1,
            'expected "type" to be one of invoke, ok, fail, info',
        ),
        (
            '{"index": 5, "time": 0, "process": 0, "type": "invoke", "f": "read"}\n',
            1,
            'expected "index" 0',
        ),
        (
            '{"index": 0, "time": -3, "process": 0, "type": "invoke", "f": "read"}\n',
            1,
            '"time" to be a non-negative integer',
        ),
        (
            '{"index": 0, "time": 0, "process": "x", "type": "invoke", "f": "read"}\n',
            1,
            '"process" to be an integer or "nemesis"',
        ),
        (
            '{"index": 0, "time": 0, "process": 0, "type": "ok", "f": "read"}\n',
            1,
            "expected an invoke before it",
        ),
        (
            '{"index": 0, "time": 0, "process": 0, "type": "invoke", "f": "read"}\n'
            '{"index": 1, "time": 1, "process": 0, "type": "invoke", "f": "read"}\n',
            2,
            "still open",
        ),
        (
            '{"index": 0, "time": 0, "process": 0, "type": "invoke", "f": "cas", "value": 3}\n'
            '{"index": 1, "time": 1, "process": 0, "type": "ok", "f": "cas", "value": 3}\n',
            1,
            "expected a cas value [expected, new]",
        ),
        (
            '{"index": 0, "time": 0, "process": 0, "type": "invoke", "f": "incr"}\n'
            '{"index": 1, "time": 1, "process": 0, "type": "ok", "f": "incr"}\n',
            1,
            "expects f to be one of read, write, cas",
        ),
    ],
)
def test_malformed_jsonl_names_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, line: int, expect: str
) -> None:
    p = tmp_path / "h.jsonl"
    p.write_text(content)
    code, out, err = run_check(capsys, str(p))
    assert code == 2
    assert f"{p}:{line}:" in err and expect in err
    code, out, _ = run_check(capsys, "--json", str(p))
    d = json.loads(out)
    assert code == 2 and d["line"] == line and expect in d["error"]
    assert d["file"] == str(p) and d["valid"] == "unknown"  # DESIGN: true, false or "unknown"


def test_truncated_last_line_is_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = tmp_path / "h.jsonl"
    text = "".join(json.dumps(r) + "\n" for r in VALID[:4]) + '{"index": 4, "ti'
    p.write_text(text)
    code, out, _ = run_check(capsys, str(p))
    assert code == 0 and "truncated last line" in out


@pytest.mark.parametrize(
    "fmt,content,line,expect",
    [
        (
            "porcupine-etcd",
            "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO garbage\n",
            2,
            "expected 'INFO  jepsen.util - <process>",
        ),
        (
            "jepsen-edn",
            "{:type :invoke, :f :read, :process 0, :value nil}\n{:type :ok, :f\n",
            2,
            "unterminated '{': expected '}' to close it",
        ),
        (
            "jepsen-edn",
            "{:type :invoke, :f :read, :process 0.5, :value nil}\n",
            1,
            "expected :process to be an integer or :nemesis",
        ),
        (
            "porcupine-kv",
            '{:process 0, :type :invoke, :f :get, :key "1", :value nil}\n'
            '{:process 0, :type :done, :f :get, :key "1", :value "x"}\n',
            2,
            "expected :type",
        ),
    ],
)
def test_malformed_other_formats(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fmt: str,
    content: str,
    line: int,
    expect: str,
) -> None:
    p = tmp_path / "h.txt"
    p.write_text(content)
    code, _, err = run_check(capsys, "--format", fmt, str(p))
    assert code == 2 and f"{p}:{line}:" in err and expect in err, err


def test_unknown_format_and_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = tmp_path / "h.txt"
    p.write_text("hello\n")
    code, _, err = run_check(capsys, str(p))
    assert code == 2 and "cannot tell the format" in err
    code, _, err = run_check(capsys, str(tmp_path / "nope.jsonl"))
    assert code == 2 and "cannot read" in err


def test_usage_error_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["check", "--model", "queue", "x"])
    assert e.value.code == 2


def test_jepsen_edn_and_kv_auto(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edn = tmp_path / "history.edn"
    edn.write_text(
        "{:type :invoke, :f :write, :value 3, :process 0, :time 10, :index 0}\n"
        "{:type :info, :f :start, :value nil, :process :nemesis, :time 11, :index 1}\n"
        "{:type :ok, :f :write, :value 3, :process 0, :time 20, :index 2}\n"
        "{:type :invoke, :f :cas, :value [3 4], :process 1, :time 30, :index 3}\n"
        "{:type :ok, :f :cas, :value [3 4], :process 1, :time 40, :index 4}\n"
        "{:type :invoke, :f :read, :value nil, :process 1, :time 50, :index 5}\n"
        "{:type :ok, :f :read, :value 3, :process 1, :time 60, :index 6}\n"
    )
    code, out, _ = run_check(capsys, "--json", str(edn))
    d = json.loads(out)
    assert code == 1 and d["format"] == "jepsen-edn" and d["model"] == "cas-register"
    kv = tmp_path / "kv.txt"
    kv.write_text(
        '{:process 0, :type :invoke, :f :append, :key "a", :value "x"}\n'
        '{:process 1, :type :invoke, :f :get, :key "a", :value nil}\n'
        '{:process 0, :type :ok, :f :append, :key "a", :value "x"}\n'
        '{:process 1, :type :ok, :f :get, :key "a", :value "x"}\n'
    )
    code, out, _ = run_check(capsys, "--json", str(kv))
    d = json.loads(out)
    assert code == 0 and d["format"] == "porcupine-kv" and d["model"] == "kv"


def test_the_set_checker_on_a_history_without_adds_says_unknown_and_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # --model set on a transaction history: nothing to check, said as such (it raised a
    # KeyError traceback once).
    row = {"process": 0, "f": "txn"}
    txns = [
        {**row, "index": 0, "time": 0, "type": "invoke", "value": [["r", 1, None]]},
        {**row, "index": 1, "time": 1, "type": "ok", "value": [["r", 1, [1]]]},
    ]
    p = write_jsonl(tmp_path / "h.jsonl", txns)
    code, out, err = run_check(capsys, "--model", "set", str(p))
    assert code == 3, out + err
    assert "unknown" in out and "no add or read operations" in out
    assert "Traceback" not in err
