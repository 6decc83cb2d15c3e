"""The search's behaviour on info operations, keys and counterexamples."""

from __future__ import annotations

import random
import time

from check_helpers import events_from, ops_from

from checkers.history import Event
from checkers.history.importers import parse_edn, sniff
from checkers.linear.models import INVALID, Model, get_model
from checkers.linear.search import check_history, check_ops

CAS = get_model("cas-register")


def test_info_write_may_take_effect_late() -> None:
    # the info write's effect is seen long after its invoke, after other ops
    ops = ops_from(
        [
            (0, "invoke", "write", 1),
            (0, "info", "write", 1),
            (1, "invoke", "write", 2),
            (1, "ok", "write", 2),
            (1, "invoke", "read", None),
            (1, "ok", "read", 2),
            (1, "invoke", "read", None),
            (1, "ok", "read", 1),
        ]
    )
    assert check_ops(ops, CAS).valid is True


def test_info_write_may_never_happen_but_not_before_its_invoke() -> None:
    ops = ops_from(
        [
            (1, "invoke", "read", None),
            (1, "ok", "read", 1),
            (0, "invoke", "write", 1),
            (0, "info", "write", 1),
        ]
    )
    assert check_ops(ops, CAS).valid is False
    ops = ops_from(
        [
            (0, "invoke", "write", 1),
            (0, "info", "write", 1),
            (1, "invoke", "read", None),
            (1, "ok", "read", None),
        ]
    )
    assert check_ops(ops, CAS).valid is True


def test_many_info_ops_do_not_blow_up() -> None:
    # 60 timed-out writes of distinct values, all pending together, reads choosing among them
    spec = []
    for i in range(60):
        spec += [(100 + i, "invoke", "write", i), (100 + i, "info", "write", i)]
    rng = random.Random(1)
    seen = list(range(60))
    rng.shuffle(seen)
    for v in seen[:40]:
        spec += [(0, "invoke", "read", None), (0, "ok", "read", v)]
    spec += [(0, "invoke", "read", None), (0, "ok", "read", seen[0])]  # back in time: invalid
    t = time.perf_counter()
    assert check_ops(ops_from(spec[:-2]), CAS).valid is True
    assert check_ops(ops_from(spec), CAS).valid is False
    assert time.perf_counter() - t < 10


def test_first_failing_key_stops_the_check() -> None:
    good = [(0, "invoke", "write", 1), (0, "ok", "write", 1)]
    bad = [
        (1, "invoke", "write", 1),
        (1, "ok", "write", 1),
        (1, "invoke", "read", None),
        (1, "ok", "read", 7),
    ]
    events = [*events_from(good, "a"), *events_from(bad, "b")]
    events = [
        Event(i, i, e.process, e.type, e.f, e.value, e.key, line=i + 1)
        for i, e in enumerate(events)
    ]
    r = check_history(events, CAS)
    assert r.valid is False and r.counterexample.key == "b" and r.keys == 2


def test_a_model_in_a_few_lines() -> None:
    class Counter(Model):
        name = "counter"

        def init(self):
            return 0

        def prepare(self, op):
            return (op.f, op.output if op.f == "read" else op.value)

        def step(self, state, p):
            if p[0] == "add":
                return state + p[1]
            return state if state == p[1] else INVALID

        def read_only(self, p):
            return p[0] == "read"

    spec = [
        (0, "invoke", "add", 2),
        (1, "invoke", "add", 3),
        (0, "ok", "add", 2),
        (2, "invoke", "read", None),
        (2, "ok", "read", 5),
        (1, "ok", "add", 3),
    ]
    assert check_ops(ops_from(spec), Counter()).valid is True
    spec[4] = (2, "ok", "read", 3)  # add 2 had completed before the read began
    assert check_ops(ops_from(spec), Counter()).valid is False


def test_edn_reader_and_sniffing() -> None:
    v = parse_edn('{:type :ok, :f :cas, :value [1 nil], :time 12, :s "a\\"b", :x #{1}}')
    assert v["type"] == "ok" and v["value"] == [1, None] and v["s"] == 'a"b'
    assert sniff("INFO  jepsen.util - 1\t:invoke\t:read\tnil") == "porcupine-etcd"
    assert sniff('{:process 0, :type :invoke, :f :get, :key "1", :value nil}') == "porcupine-kv"
    assert sniff("{:type :invoke, :f :read, :process 0}") == "jepsen-edn"
    assert sniff('{"index": 0}') == "jsonl"


def test_hard_register_key_is_decided_by_the_graph(monkeypatch) -> None:
    """When the search spends long on a key, registers with unique values are decided
    by the precedence graph: valid stays valid, a stale read gives a cycle."""
    import checkers.linear.search as lin
    from checkers.history.synth import register_history

    monkeypatch.setattr(lin, "SLICE", 1)
    monkeypatch.setattr(lin, "GRAPH_AFTER", 1)
    events = register_history(400, keys=1, clients=8, info_rate=0.0, seed=3, mix=(0.6, 0.4, 0))
    r = lin.check_history(events, CAS)
    assert r.valid is True
    # make a late read return the first value ever written: stale
    first = next(e.value for e in events if e.f == "write" and e.type == "ok")
    late = [e for e in events if e.f == "read" and e.type == "ok" and e.value != first]
    late[-1].value = first
    r = lin.check_history(events, CAS)
    assert r.valid is False
    cx = r.counterexample
    assert cx.method == "graph" and cx.cycle
    assert "precedence graph has a cycle" in cx.to_text()
    assert cx.to_dict()["cycle"][0]["reason"]
