"""Histories as Jepsen and Knossos write them: whole-file EDN vectors with comments,
Jepsen's store history.edn (also as #jepsen.history.Op records), `independent` [key
value] tuples, Knossos's multi-register and mutex models, and `--initial`.

The files here are small ones of our own in Knossos's and Jepsen's shapes."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from check_helpers import PORCUPINE, events_from
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkers.history import HistoryError, Op, pair_events
from checkers.history.edn import _FAST_OP, _read_slow, read_forms
from checkers.history.importers import (
    default_model,
    looks_independent,
    read_edn,
    read_history,
    sniff,
)
from checkers.linear.models import INVALID, Model, get_model
from checkers.linear.search import check_ops
from harness.cli import main

# Knossos's shape: one vector over the file, comments, a map printed over several lines.
CAS_GOOD = """\
; A cas register in Knossos's shape; it starts at 0 (run with --initial 0).
[{:process 0, :type :invoke, :f :read, :value nil}
 {:process 1, :type :invoke, :f :cas, :value [0 1]}
 {:process 0, :type :ok, :f :read, :value 0}
 {:process 1,
  :type :ok,   ; pretty-printed, as Knossos's rethink histories are
  :f :cas,
  :value [0 1]}
 {:process 2, :type :invoke, :f :write, :value 2}
 {:process 0, :type :invoke, :f :read, :value nil}
 {:process 2, :type :info, :f :write, :value 2, :error "timed out: \\"no leader\\""}
 {:process 0, :type :ok, :f :read, :value 2}
 {:process 3, :type :invoke, :f :read, :value nil}
 {:process 3, :type :ok, :f :read, :value nil}] ; a nil read is always legal here
"""
CAS_BAD = """\
; both cas from 0 succeed: impossible
[{:process 0, :type :invoke, :f :cas, :value [0 1]}
 {:process 0, :type :ok, :f :cas, :value [0 1]}
 {:process 1, :type :invoke, :f :cas, :value [0 2]}
 {:process 1, :type :ok, :f :cas, :value [0 2]}]
"""
MULTI_GOOD = """\
; A multi-register with x=0 and y=0
[{:type :invoke, :f :txn, :value [[:write :x 1] [:write :y 1]], :process 0}
 {:type :ok, :f :txn, :value [[:write :x 1] [:write :y 1]], :process 0}
 {:type :invoke, :f :txn, :value [[:read :x nil] [:read :y nil]], :process 1}
 {:type :invoke, :f :txn, :value [[:write :y 2]], :process 2}
 {:type :ok, :f :txn, :value [[:read :x 1] [:read :y 2]], :process 1}
 {:type :ok, :f :txn, :value [[:write :y 2]], :process 2}]
"""
# x and y were written together, then read torn: x new, y old
MULTI_BAD = MULTI_GOOD.replace("[[:read :x 1] [:read :y 2]]", "[[:read :x 1] [:read :y 0]]")
MUTEX_GOOD = """\
[{:process 0, :type :invoke, :f :acquire}
 {:process 0, :type :ok, :f :acquire}
 {:process 1, :type :invoke, :f :acquire}
 {:process 0, :type :invoke, :f :release}
 {:process 0, :type :ok, :f :release}
 {:process 1, :type :ok, :f :acquire}
 {:process 2, :type :invoke, :f :release}
 {:process 2, :type :fail, :f :release, :error :not-held}]
"""
MUTEX_BAD = """\
; two acquires, no release between them
[{:process 0, :type :invoke, :f :acquire}
 {:process 0, :type :ok, :f :acquire}
 {:process 1, :type :invoke, :f :acquire}
 {:process 1, :type :ok, :f :acquire}]
"""
# Jepsen's independent checker: [key value] tuples, a cas [key [old new]]
INDEPENDENT = """\
{:type :invoke, :f :write, :value [1 5], :process 0, :time 10, :index 0}
{:type :invoke, :f :write, :value [2 7], :process 1, :time 11, :index 1}
{:type :ok, :f :write, :value [1 5], :process 0, :time 20, :index 2}
{:type :ok, :f :write, :value [2 7], :process 1, :time 21, :index 3}
{:type :invoke, :f :cas, :value [1 [5 6]], :process 0, :time 30, :index 4}
{:type :ok, :f :cas, :value [1 [5 6]], :process 0, :time 40, :index 5}
{:type :invoke, :f :read, :value [2 nil], :process 1, :time 41, :index 6}
{:type :ok, :f :read, :value [2 7], :process 1, :time 50, :index 7}
{:type :invoke, :f :read, :value [1 nil], :process 1, :time 51, :index 8}
{:type :ok, :f :read, :value [1 6], :process 1, :time 60, :index 9}
"""
# Jepsen's store: one op a line, records, nemesis ops with sets, strings and #inst
STORE = """\
#jepsen.history.Op{:index 0, :time 1000, :type :invoke, :process 0, :f :write, :value 1}
#jepsen.history.Op{:index 1, :time 2000, :type :info, :process :nemesis, :f :start-partition, \
:value [:isolated {"n1" #{"n2" "n3"}}]}
#jepsen.history.Op{:index 2, :time 3000, :type :ok, :process 0, :f :write, :value 1}
{:index 3, :time 4000, :type :invoke, :process 1, :f :read, :value nil}
{:index 4, :time 5000, :type :ok, :process 1, :f :read, :value 1, :node "n2"}
{:index 5, :time 6000, :type :info, :process :nemesis, :f :stop-partition, \
:value :network-healed, :at #inst "2024-05-01T10:00:00.000-00:00"}
{:index 6, :time 7000, :type :invoke, :process 1, :f :cas, :value [1 2]}
{:index 7, :time 8000, :type :fail, :process 1, :f :cas, :value [1 2], \
:error [:unavailable "leader \\"n1\\" lost"]}
"""


def write(tmp_path: Path, name: str, text: str) -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code = main(["check", "--json", *args])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


# --- Knossos's files -----------------------------------------------------------------


def test_knossos_cas_register_with_initial_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(tmp_path, "good.edn", CAS_GOOD)
    code, d = check(capsys, "--initial", "0", good)
    assert code == 0 and d["valid"] is True, d
    assert (
        d["format"] == "jepsen-edn" and d["model"] == "cas-register" and d["ops"] == 4
    )  # the nil read constrains nothing
    # from nil (Jepsen's default), the first cas from 0 cannot have succeeded
    code, d = check(capsys, good)
    assert code == 1 and d["valid"] is False
    code, d = check(capsys, "--initial", "0", write(tmp_path, "bad.edn", CAS_BAD))
    assert code == 1 and d["valid"] is False
    assert d["counterexample"]["stuck"]["line"] in (2, 4)  # an invoke line


def test_knossos_multi_register(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, "good.edn", MULTI_GOOD)
    assert default_model(read_history(good)) == "multi-register"
    for initial in ("0", '{"x": 0, "y": 0}'):
        code, d = check(capsys, "--model", "multi-register", "--initial", initial, good)
        assert code == 0 and d["model"] == "multi-register", d
        code, d = check(
            capsys,
            "--model",
            "multi-register",
            "--initial",
            initial,
            write(tmp_path, "bad.edn", MULTI_BAD),
        )
        assert code == 1, d
        assert "read y 0" in d["counterexample"]["stuck"]["text"]
    # Without --model the CLI picks it too: a txn of :read/:write is not an Elle history.
    code, d = check(capsys, "--initial", "0", good)
    assert code == 0 and d["model"] == "multi-register", d


def test_knossos_mutex(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, d = check(capsys, write(tmp_path, "good.edn", MUTEX_GOOD))
    assert code == 0 and d["model"] == "mutex", d  # chosen from acquire/release
    code, d = check(capsys, write(tmp_path, "bad.edn", MUTEX_BAD))
    assert code == 1 and d["counterexample"]["states"] == ["held"], d
    assert d["counterexample"]["stuck"]["f"] == "acquire"


def test_initial_is_json_and_only_for_register_models(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = write(tmp_path, "h.edn", MUTEX_GOOD)
    code = main(["check", "--initial", "0", p])
    assert code == 2 and "takes no initial value" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["check", "--initial", "zero", p])
    assert e.value.code == 2
    # a string initial value
    text = '{:process 0, :type :invoke, :f :read}\n{:process 0, :type :ok, :f :read, :value "x"}\n'
    assert check(capsys, "--initial", '"x"', write(tmp_path, "s.edn", text))[0] == 0
    assert check(capsys, "--initial", '"y"', str(tmp_path / "s.edn"))[0] == 1


# --- Jepsen's files --------------------------------------------------------------------


def test_independent_history_is_split_by_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = write(tmp_path, "history.edn", INDEPENDENT)
    h = read_history(p)
    assert {e.key for e in h.events} == {1, 2} and h.events[4].value == [5, 6]
    code, d = check(capsys, p)
    assert code == 0 and d["keys"] == 2, d
    stale = write(tmp_path, "stale.edn", INDEPENDENT.replace("[1 6]", "[1 5]"))
    code, d = check(capsys, stale)
    assert code == 1 and d["counterexample"]["key"] == 1
    # forced off: one register holding tuples, which makes no sense of the cas
    assert check(capsys, "--no-independent", p)[0] == 1


def test_independent_rule_leaves_plain_histories_alone(tmp_path: Path) -> None:
    # a plain cas-register: every value a pair, but a cas's new value is no pair
    cas_only = "{:process 0, :type :invoke, :f :cas, :value [1 2]}\n"
    assert not looks_independent(read_history(write(tmp_path, "c.edn", cas_only)).events)
    # a read is invoked with nil, not [k nil]
    assert not looks_independent(read_history(write(tmp_path, "s.edn", STORE)).events)
    # a completion whose key differs from its invoke's
    other = INDEPENDENT.replace("[2 7], :process 1, :time 21", "[3 7], :process 1, :time 21")
    assert not looks_independent(read_history(write(tmp_path, "o.edn", other)).events)


def test_forced_independent_names_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = write(tmp_path, "s.edn", STORE)
    code = main(["check", "--independent", p])
    err = capsys.readouterr().err
    assert code == 2 and f"{p}:1:" in err and "[key value] tuple" in err, err


def test_jepsen_store_history(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = write(tmp_path, "history.edn", STORE)
    h = read_history(p)
    assert h.format == "jepsen-edn" and len(h.events) == 8
    nemesis = h.events[1]
    assert nemesis.process == "nemesis" and nemesis.value == ["isolated", {"n1": ["n2", "n3"]}]
    assert h.events[7].error == ["unavailable", 'leader "n1" lost']
    assert [e.time for e in h.events][:3] == [1000, 2000, 3000] and h.events[4].line == 5
    code, d = check(capsys, p)
    assert code == 0 and d["ops"] == 2, d  # the failed cas did not happen
    stale = STORE.replace(":f :read, :value 1,", ":f :read, :value nil,")
    code, d = check(capsys, write(tmp_path, "stale.edn", stale))
    assert code == 1 and d["counterexample"]["stuck"]["line"] == 4  # the read's invoke


def test_sniffing_recognises_edn_shapes() -> None:
    assert sniff(CAS_GOOD) == "jepsen-edn"  # comment lines, then a vector
    assert sniff("[\n  ; the ops\n  {:type :invoke, :f :read}]") == "jepsen-edn"
    assert sniff("(#jepsen.history.Op{:index 0, :type :invoke})") == "jepsen-edn"
    assert sniff(STORE) == "jepsen-edn"
    assert sniff('[{:process 0, :type :invoke, :f :get, :key "1", :value nil}]') == "porcupine-kv"
    assert sniff('[{"index": 0}]') == "unknown"


# --- bad input: file and line ----------------------------------------------------------


@pytest.mark.parametrize(
    "text,line,expect",
    [
        (  # one op a line: the line of the bad op
            "{:type :invoke, :f :read, :process 0}\n"
            "; a comment\n"
            "{:type :ok, :f :read, :process 0 :value}\n",
            3,
            "Even number of terms",
        ),
        (  # a whole-file vector: the line where the bad op map starts
            "; header\n"
            "[{:process 0, :type :invoke, :f :read, :value nil}\n"
            " {:process 0,\n"
            "  :type :ok,\n"
            "  :f :read, :value nil]}]\n",
            3,
            "']' at line 5 closes '{'",
        ),
        (
            "[{:process 0, :type :invoke, :f :read}\n {:process 0, :type :done, :f :read}]\n",
            2,
            "expected :type one of :invoke, :ok, :fail, :info",
        ),
        (
            "\n[{:process 0, :type :invoke, :f :read}\n {:process 0, :type :ok, :f :read}\n",
            2,
            "expected ']' to close the history opened here",
        ),
        ("[{:process 0, :type :invoke, :f :read}]\n{:process 0}\n", 2, "expected nothing after"),
        ("{:process 0, :type :invoke, :f :read, :value #}\n", 1, "cannot read EDN"),
        ('{:process 0, :type :invoke, :f :read, :value "ab\n\n', 1, "unterminated string"),
        ("[1 2]\n", 1, "expected an op map"),
    ],
)
def test_malformed_edn_names_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, line: int, expect: str
) -> None:
    p = write(tmp_path, "h.edn", text)
    code = main(["check", "--format", "jepsen-edn", p])
    err = capsys.readouterr().err
    assert code == 2 and f"{p}:{line}:" in err and expect in err, err


# --- the fast path reads as edn_format does -------------------------------------------

_names = st.from_regex(r"[a-zA-Z][a-zA-Z0-9\-?!*.]{0,6}(/[a-z][a-z0-9\-]{0,4})?", fullmatch=True)
_atoms = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    _names.map(lambda n: ("kw", n)),
    st.text(st.characters(blacklist_characters='"\\', blacklist_categories=("Cs",)), max_size=8),
)
_values = st.recursive(_atoms, lambda inner: st.lists(inner, max_size=4), max_leaves=12)
_seps = st.sampled_from([" ", ", ", ",", "\n  ", " ,\t"])


def _edn(v: object, sep: str) -> str:
    if v is None:
        return "nil"
    if v is True or v is False:
        return str(v).lower()
    if isinstance(v, tuple):
        return ":" + v[1]
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, list):
        return "[" + sep.join(_edn(x, sep) for x in v) + "]"
    return str(v)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_names, _values, max_size=6), _seps, st.booleans())
def test_fast_path_agrees_with_edn_format(op: dict, sep: str, tagged: bool) -> None:
    body = sep.join(f":{k}{sep if sep.strip() else ' '}{_edn(v, sep)}" for k, v in op.items())
    text = ("#jepsen.history.Op" if tagged else "") + "{" + body + "}"
    assert read_forms("x", text) == [(1, _read_slow("x", [(0, 1, text)])[0])]


def test_porcupine_kv_lines_read_as_the_general_reader_does() -> None:
    text = (
        '{:process 0, :type :invoke, :f :put, :key "k 1", :value "x, :y nil"}\n\n'
        '{:process 0, :type :ok, :f :put, :key "k 1", :value ""}\n'
        '{:process 1, :type :invoke, :f :get, :key "k 1", :value nil}\n'
    )
    fast = read_edn("x", text, "porcupine-kv").events
    assert fast == read_edn("x", text, "jepsen-edn").events
    assert [e.line for e in fast] == [1, 3, 4] and fast[1].value == ""
    data = PORCUPINE / "kv" / "c10-bad.txt"
    if data.exists():
        text = data.read_text()
        assert read_edn("x", text, "porcupine-kv").events == read_edn("x", text).events


def test_typical_ops_take_the_fast_path() -> None:
    for line in [*INDEPENDENT.splitlines(), *MULTI_GOOD.splitlines()[2:-1]]:
        assert _FAST_OP.fullmatch(line.strip(" []")), line
    assert _FAST_OP.fullmatch(STORE.splitlines()[0])
    assert not _FAST_OP.fullmatch(STORE.splitlines()[1])  # a set: edn_format's


def test_slow_path_reads_the_rest() -> None:
    text = (
        '[{:a #{1 2}, :b (1 2), :c 1.5, :d sym, :e \\x, :f "tab\\t", :g {:h [1 {:i nil}]},\n'
        ' :j #uuid "f81d4fae-7dec-11d0-a765-00a0c91e6bf6", :k 1/2, :l #_ 3 4, :m ##Inf}\n'
        " #_{:dropped true}\n"
        " {:n 1} ; done\n"
        "]"
    )
    (l1, a), (l2, b) = read_forms("x", text)
    assert (l1, l2) == (1, 4) and b == {"n": 1}
    assert a == {
        "a": [1, 2], "b": [1, 2], "c": 1.5, "d": "sym", "e": "x", "f": "tab\t",
        "g": {"h": [1, {"i": None}]}, "j": "f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
        "k": 0.5, "l": 4, "m": float("inf"),
    }  # fmt: skip


def test_errors_are_history_errors() -> None:
    with pytest.raises(HistoryError) as e:
        read_forms("f.edn", "{:a 1}\n{:b")
    assert e.value.line == 2


# --- the new models under the search, against brute force -----------------------------


def _brute(ops: list[Op], model: Model) -> bool:
    """Some order of the ops that must happen, plus any subset of the unknown ones,
    respecting real time, that the model accepts step by step."""
    req, opt = [], []
    for op in ops:
        p = model.prepare(op)
        if p is None:
            continue
        if op.ret is not None:
            req.append((op, p))
        elif not model.read_only(p):
            opt.append((op, p))

    def go(rest: list, state: object) -> bool:
        if not rest:
            return True
        for i, (op, p) in enumerate(rest):
            if any(o.ret is not None and o.ret < op.call for o, _ in rest if o is not op):
                continue
            ns = model.step(state, p)
            if ns is not INVALID and go(rest[:i] + rest[i + 1 :], ns):
                return True
        return False

    return any(
        go(req + list(chosen), model.init())
        for k in range(len(opt) + 1)
        for chosen in itertools.combinations(opt, k)
    )


@st.composite
def _small(draw: st.DrawFn, kind: str) -> list[tuple]:
    """Up to 6 ops of 3 processes, interleaved, some ending info or fail."""
    spec: list[tuple] = []
    open_: dict[int, tuple] = {}
    n, started, next_proc = draw(st.integers(1, 6)), 0, 3
    procs = [0, 1, 2]
    while started < n or open_:
        c = draw(st.integers(0, 2))
        p = procs[c]
        if p in open_:
            f, v = open_.pop(p)
            typ = draw(st.sampled_from(["ok", "ok", "info", "fail"]))
            if kind == "multi" and typ == "ok":
                v = [[m[0], m[1], draw(st.integers(0, 2))] if m[0] == "read" else m for m in v]
            spec.append((p, typ, f, v))
            if typ == "info":
                procs[c], next_proc = next_proc, next_proc + 1
        elif started < n:
            started += 1
            if kind == "mutex":
                f, v = draw(st.sampled_from(["acquire", "release"])), None
            else:
                mops = draw(
                    st.lists(
                        st.tuples(st.sampled_from(["read", "write"]), st.sampled_from("xy")),
                        min_size=1,
                        max_size=2,
                    )
                )
                f = "txn"
                v = [[m, k, None if m == "read" else draw(st.integers(0, 2))] for m, k in mops]
            open_[p] = (f, v)
            spec.append((p, "invoke", f, v))
    return spec


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_small("mutex"))
def test_mutex_search_agrees_with_brute_force(spec: list[tuple]) -> None:
    model = get_model("mutex")
    ops = pair_events(events_from(spec))
    assert check_ops(ops, model).valid == _brute(ops, model)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_small("multi"), st.sampled_from([None, 0]))
def test_multi_register_search_agrees_with_brute_force(spec: list[tuple], initial: object) -> None:
    model = get_model("multi-register", initial)
    ops = pair_events(events_from(spec))
    assert check_ops(ops, model).valid == _brute(ops, model)
