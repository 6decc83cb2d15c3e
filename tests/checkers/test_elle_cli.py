"""`raftquake check --model list-append | set` as a user runs it, Jepsen EDN txn histories,
the set checker, and `elle` and `set` as run checkers (checkers/registry.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from check_helpers import run_check, write_jsonl
from elle_helpers import concurrent, join, ok, serial

from checkers.history import event_to_dict
from checkers.protocol import RunFiles
from checkers.registry import CHECKERS
from checkers.sets import check_set_history

A, R = "append", "r"

G_SINGLE = join(
    serial(ok(0, [A, "x", 1])),
    concurrent(ok(1, [R, "x", [1]], [R, "y", [5]]), ok(2, [A, "x", 2], [A, "y", 5])),
    serial(ok(3, [R, "x", [1, 2]])),
)
VALID = serial(ok(0, [A, "x", 1]), ok(1, [R, "x", [1]], [A, "x", 2]), ok(2, [R, "x", [1, 2]]))


def write_events(path: Path, events) -> Path:  # type: ignore[no-untyped-def]
    return write_jsonl(path, [event_to_dict(e) for e in events])


def test_valid_txn_history(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = write_events(tmp_path / "h.jsonl", VALID)
    code, out, _ = run_check(capsys, "--model", "list-append", "--json", str(p))
    d = json.loads(out)
    assert code == 0 and d["valid"] is True and d["anomalies"] == [] and d["file"] == str(p)
    assert d["consistency"] == "strict-serializable" and d["txns"] == 3


def test_txn_history_found_without_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = write_events(tmp_path / "h.jsonl", G_SINGLE)
    code, out, _ = run_check(capsys, str(p))
    assert code == 1
    assert "NOT strict-serializable" in out and "G-single" in out and "a contradiction!" in out


def test_consistency_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = write_events(tmp_path / "h.jsonl", G_SINGLE)
    code, out, _ = run_check(capsys, "--json", "--consistency", "read-committed", str(p))
    d = json.loads(out)
    assert code == 0 and d["valid"] is True and d["anomalies"] == ["G-single"]
    assert d["prohibited"] == [] and "snapshot-isolation" in d["not"]
    code, out, _ = run_check(capsys, "--json", "--consistency", "serializable", str(p))
    assert code == 1 and json.loads(out)["prohibited"] == ["G-single"]


def test_malformed_micro_op_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [event_to_dict(e) for e in VALID]
    rows[3]["value"] = [["r", "x", [1]], ["append", "x"]]
    p = write_jsonl(tmp_path / "h.jsonl", rows)
    code, _, err = run_check(capsys, "--model", "list-append", str(p))
    assert code == 2
    assert f"{p}:4:" in err and "micro-op 1: expected [f, key, v]" in err


def test_jepsen_edn_list_append(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Keywords as f and keys (:append, :x) come out as plain strings."""
    p = tmp_path / "history.edn"
    p.write_text(
        "{:type :invoke, :f :txn, :value [[:append :x 1] [:r :y nil]], :process 0, :index 0}\n"
        "{:type :invoke, :f :txn, :value [[:append :y 2] [:r :x nil]], :process 1, :index 1}\n"
        "{:type :ok, :f :txn, :value [[:append :x 1] [:r :y [2]]], :process 0, :index 2}\n"
        "{:type :ok, :f :txn, :value [[:append :y 2] [:r :x [1]]], :process 1, :index 3}\n"
    )
    code, out, _ = run_check(
        capsys, "--format", "jepsen-edn", "--model", "list-append", "--json", str(p)
    )
    d = json.loads(out)
    assert code == 1 and d["anomalies"] == ["G1c"]
    assert d["cases"]["G1c"][0]["steps"][0]["key"] in ("x", "y")


def test_jepsen_edn_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "set.edn"
    p.write_text(
        "{:type :invoke, :f :add, :value 1, :process 0, :index 0}\n"
        "{:type :ok, :f :add, :value 1, :process 0, :index 1}\n"
        "{:type :invoke, :f :add, :value 2, :process 1, :index 2}\n"
        "{:type :info, :f :add, :value 2, :process 1, :index 3}\n"
        "{:type :invoke, :f :read, :value nil, :process 2, :index 4}\n"
        "{:type :ok, :f :read, :value #{1 2}, :process 2, :index 5}\n"
    )
    code, out, _ = run_check(capsys, "--format", "jepsen-edn", "--json", str(p))
    d = json.loads(out)
    assert code == 0 and d["checker"] == "set" and d["recovered"] == [2]


def _set_rows(adds: list[tuple[int, str]], read: list[int] | None) -> list[dict]:
    rows = []
    for value, status in adds:
        for typ in ("invoke", status):
            rows.append({"process": value, "type": typ, "f": "add", "value": value})
    if read is not None:
        rows.append({"process": 99, "type": "invoke", "f": "read", "value": None})
        rows.append({"process": 99, "type": "ok", "f": "read", "value": read})
    return [{"index": i, "time": i, **r} for i, r in enumerate(rows)]


def test_set_checker(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    adds = [(1, "ok"), (2, "ok"), (3, "info"), (4, "info"), (5, "fail")]
    good = write_jsonl(tmp_path / "good.jsonl", _set_rows(adds, [1, 2, 3]))
    code, out, _ = run_check(capsys, "--model", "set", "--json", str(good))
    d = json.loads(out)
    assert code == 0 and d["anomalies"] == [] and d["recovered"] == [3]
    assert d["counts"] == {"attempted": 5, "acknowledged": 2, "ok": 3, "lost": 0,
                           "unexpected": 0, "recovered": 1}  # fmt: skip
    bad = write_jsonl(tmp_path / "bad.jsonl", _set_rows(adds, [2, 5, 8]))
    code, out, _ = run_check(capsys, "--json", str(bad))  # found by its add operations
    d = json.loads(out)
    assert code == 1 and d["anomalies"] == ["lost", "unexpected"]
    assert d["lost"] == [1] and d["unexpected"] == [5, 8]  # a failed add did not happen
    unread = write_jsonl(tmp_path / "unread.jsonl", _set_rows(adds, None))
    code, out, _ = run_check(capsys, "--model", "set", str(unread))
    assert code == 3 and "never read" in out


def test_set_read_must_be_a_list() -> None:
    from checkers.history import Event, HistoryError

    events = [Event(i, i, p, t, f, v, line=i + 1) for i, (p, t, f, v) in enumerate(
        [(1, "invoke", "add", 1), (1, "ok", "add", 1), (2, "invoke", "read", None),
         (2, "ok", "read", 1)])]  # fmt: skip
    with pytest.raises(HistoryError, match="list of elements") as exc:
        check_set_history(events)
    assert exc.value.line == 3


# --- as run checkers ---------------------------------------------------------------------


def test_elle_run_checker(tmp_path: Path) -> None:
    good = RunFiles(write_events(tmp_path / "good.jsonl", VALID))
    v = CHECKERS["elle"].check(good)
    assert v.valid is True and v.details["anomalies"] == []
    bad = CHECKERS["elle"].check(RunFiles(write_events(tmp_path / "bad.jsonl", G_SINGLE)))
    assert bad.valid is False and "G-single" in (bad.explanation or "")
    assert "G-single" in CHECKERS["elle"].summarize(bad.to_dict())


def test_run_checkers_without_their_operations_are_unknown(tmp_path: Path) -> None:
    register = [{"index": 0, "time": 0, "process": 0, "type": "invoke", "f": "write",
                 "value": 1}, {"index": 1, "time": 1, "process": 0, "type": "ok",
                 "f": "write", "value": 1}]  # fmt: skip
    run = RunFiles(write_jsonl(tmp_path / "h.jsonl", register))
    for name, why in (("elle", "no txn operations"), ("set", "no add or read")):
        v = CHECKERS[name].check(run)
        assert v.valid == "unknown" and why in v.summary


def test_set_run_checker(tmp_path: Path) -> None:
    run = RunFiles(write_jsonl(tmp_path / "h.jsonl", _set_rows([(1, "ok"), (2, "ok")], [2])))
    v = CHECKERS["set"].check(run)
    assert v.valid is False and v.details["lost"] == [1] and "lost (1): 1" in (v.explanation or "")


# --- rw-register (checkers/elle/registers.py) ---------------------------------------------

W = "w"
# T1 read y = 1 and wrote y = 2 (so 1 < 2); T2 saw T1's x but y's older 1: G-single
RW_G_SINGLE = join(
    serial(ok(0, [W, "y", 1])),
    concurrent(ok(1, [R, "y", 1], [W, "x", 1], [W, "y", 2]), ok(2, [R, "x", 1], [R, "y", 1])),
)
# both read the initial state of x and y, each wrote one: write skew (G2-item)
RW_SKEW = concurrent(
    ok(1, [R, "x", None], [R, "y", None], [W, "x", 1]),
    ok(2, [R, "x", None], [R, "y", None], [W, "y", 1]),
)


def test_rw_register_found_by_its_micro_ops(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = write_events(tmp_path / "h.jsonl", RW_G_SINGLE)
    code, out, _ = run_check(capsys, "--json", str(p))
    d = json.loads(out)
    assert code == 1 and d["model"] == "rw-register" and d["anomalies"] == ["G-single"]
    assert d["version-orders"] == ["initial-state", "wfr-keys"]
    code, out, _ = run_check(capsys, "--model", "rw-register", str(p))
    assert code == 1 and "model rw-register" in out and "T2 read 1 before it wrote 2" in out
    code, out, _ = run_check(capsys, "--json", "--no-wfr-keys", str(p))
    assert code == 0 and json.loads(out)["anomalies"] == []


def test_rw_register_refuses_appends(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = write_events(tmp_path / "h.jsonl", VALID)
    code, _, err = run_check(capsys, "--model", "rw-register", str(p))
    assert code == 2 and f"{p}:1:" in err and "--model list-append" in err


def test_repeatable_read_and_read_uncommitted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = write_events(tmp_path / "h.jsonl", RW_SKEW)
    verdicts = {}
    for model in ("read-uncommitted", "read-committed", "snapshot-isolation", "repeatable-read"):
        code, out, _ = run_check(capsys, "--json", "--consistency", model, str(p))
        verdicts[model] = (code, json.loads(out)["prohibited"])
    assert verdicts == {
        "read-uncommitted": (0, []),
        "read-committed": (0, []),
        "snapshot-isolation": (0, []),
        "repeatable-read": (1, ["G2-item"]),
    }


def test_per_key_orders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A process wrote x = 1, then x = 2, then read 1."""
    p = write_events(
        tmp_path / "h.jsonl", serial(ok(0, [W, "x", 1]), ok(0, [W, "x", 2]), ok(0, [R, "x", 1]))
    )
    code, out, _ = run_check(capsys, "--json", "--consistency", "serializable", str(p))
    assert code == 0
    for flag in ("--sequential-keys", "--linearizable-keys"):
        code, out, _ = run_check(capsys, "--json", "--consistency", "serializable", flag, str(p))
        d = json.loads(out)
        assert code == 1 and d["anomalies"] == ["cyclic-versions"], flag


# --- Jepsen histories as Elle ships them ----------------------------------------------------

# The shape of Elle's histories/paper-example.edn (the Elle paper's Figure 2): op maps with
# :index, :type and :value only (no :process, no :f), an invoke and its ok in turn.
PAPER_SHAPE = """\
{:index 0 :type :invoke  :value [[:append 253 1] [:append 253 3] [:append 253 4] [:append 255 2] [:append 255 3] [:append 255 4] [:append 255 5] [:append 256 1] [:append 256 2]]}
{:index 1 :type :ok      :value [[:append 253 1] [:append 253 3] [:append 253 4] [:append 255 2] [:append 255 3] [:append 255 4] [:append 255 5] [:append 256 1] [:append 256 2]]}
{:index 2 :type :invoke, :value [[:append 255 8] [:r 253 nil]]}
{:index 3 :type :ok,     :value [[:append 255 8] [:r 253 [1 3 4]]]}
{:index 4 :type :invoke, :value [[:append 256 4] [:r 255 nil] [:r 256 nil] [:r 253 nil]]}
{:index 5 :type :ok,     :value [[:append 256 4] [:r 255 [2 3 4 5 8]] [:r 256 [1 2 4]] [:r 253 [1 3 4]]]}
{:index 6 :type :invoke, :value [[:append 250 10] [:r 253 nil] [:r 255 nil] [:append 256 3]]}
{:index 7 :type :ok      :value [[:append 250 10] [:r 253 [1 3 4]] [:r 255 [2 3 4 5]] [:append 256 3]]}
"""  # noqa: E501


def test_elle_paper_example_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "paper-example.edn"
    p.write_text(PAPER_SHAPE)
    code, out, _ = run_check(capsys, "--json", "--consistency", "serializable", str(p))
    d = json.loads(out)
    assert code == 1 and d["format"] == "jepsen-edn" and d["anomalies"] == ["G-single"]
    assert "no process" in d["cases"]["G-single"][0]["text"]


def test_elle_test_shapes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Completions without invokes, several invokes open on one process, reads written
    [:r :x], a read's value on an invoke, composite keys ([:k 1]): Elle's own tests write
    histories so. Two txns each miss the other's write: G2-item."""
    p = tmp_path / "h.edn"
    p.write_text(
        "{:process 0, :type :invoke, :value [[:r [:k 1]] [:w [:k 2] 1]]}\n"
        "{:process 0, :type :invoke, :value [[:r [:k 2] 5] [:w [:k 1] 1]]}\n"
        "{:process 0, :type :ok, :value [[:r [:k 1] nil] [:w [:k 2] 1]]}\n"
        "{:process 0, :type :ok, :value [[:r [:k 2] nil] [:w [:k 1] 1]]}\n"
        "{:process 1, :type :ok, :value [[:r [:k 1] 1] [:r [:k 2] 1]]}\n"
    )
    code, out, _ = run_check(capsys, "--json", "--consistency", "repeatable-read", str(p))
    d = json.loads(out)
    assert code == 1 and d["model"] == "rw-register" and d["anomalies"] == ["G2-item"]
    assert d["cases"]["G2-item"][0]["steps"][0]["key"] in (["k", 1], ["k", 2])


def test_elle_shapes_stay_bad_input_in_jsonl(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The harness's own histories are strict: a completion without its invoke is bad."""
    rows = [event_to_dict(e) for e in VALID][1:]
    for i, row in enumerate(rows):
        row["index"] = i
    p = write_jsonl(tmp_path / "h.jsonl", rows)
    code, _, err = run_check(capsys, str(p))
    assert code == 2 and f"{p}:1:" in err and "no open invoke" in err


def test_edn_op_without_f_must_be_a_txn(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "h.edn"
    p.write_text(
        "{:process 0, :type :invoke, :f :txn, :value [[:w :x 1]]}\n"
        "{:process 0, :type :ok, :f :txn, :value [[:w :x 1]]}\n"
        "{:process 0, :type :invoke, :value 3}\n"
    )
    code, _, err = run_check(capsys, "--format", "jepsen-edn", str(p))
    assert code == 2 and f"{p}:3:" in err and "expected :f" in err


def test_elle_run_checker_rw_register(tmp_path: Path) -> None:
    from checkers.elle.synth import rw_register_history

    good = RunFiles(write_events(tmp_path / "good.jsonl", rw_register_history(300, seed=2)))
    v = CHECKERS["elle"].check(good)
    assert v.valid is True and v.details["model"] == "rw-register"
    bad = CHECKERS["elle"].check(RunFiles(write_events(tmp_path / "bad.jsonl", RW_G_SINGLE)))
    assert bad.valid is False and bad.details["anomalies"] == ["G-single"]
