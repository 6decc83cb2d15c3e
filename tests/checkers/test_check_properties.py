"""Property tests: the search against a brute-force oracle and against the graph method,
and sequential runs with concurrency added around them."""

from __future__ import annotations

import random

from check_helpers import brute_force_linearizable, events_from
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkers.history import Event, pair_events
from checkers.linear.graph import check_graph
from checkers.linear.models import get_model
from checkers.linear.search import check_history, check_ops

CAS = get_model("cas-register")
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def small_histories(draw: st.DrawFn, unique: bool = False) -> list[tuple]:
    """Up to 7 operations from 3 processes, interleaved at random, with random
    outcomes: reads see random values, some ops end info, some cas fail their
    precondition. With `unique`, every written value is new."""
    n_ops = draw(st.integers(1, 7))
    spec: list[tuple] = []
    open_: dict[int, tuple] = {}
    started = 0
    next_value = [1]
    proc_of = {0: 0, 1: 1, 2: 2}  # a process that ended info continues under a new number
    next_proc = 3
    while started < n_ops or open_:
        client = draw(st.integers(0, 2))
        p = proc_of[client]
        if p in open_:
            f, v = open_.pop(p)
            outcome = draw(st.sampled_from(["ok", "ok", "ok", "info", "fail"]))
            if f == "read":
                if outcome == "fail":
                    outcome = "ok"
                out = draw(
                    st.sampled_from(
                        [None, 1, 2, 3] if not unique else [None, *range(1, next_value[0])]
                    )
                )
                spec.append((p, outcome, f, out if outcome == "ok" else None))
            elif f == "write":
                spec.append((p, outcome, f, v))
            else:
                spec.append((p, outcome, f, v, "precondition" if outcome == "fail" else None))
            if outcome == "info":
                proc_of[client] = next_proc
                next_proc += 1
        elif started < n_ops:
            f = draw(st.sampled_from(["read", "write", "cas"]))
            if f == "read":
                v = None
            elif unique:
                new = next_value[0]
                next_value[0] += 1
                if f == "write":
                    v = new
                else:
                    v = [draw(st.sampled_from([None, *range(1, new)])), new]
            else:
                v = draw(st.sampled_from([1, 2, 3]))
                if f == "cas":
                    v = [draw(st.sampled_from([None, 1, 2, 3])), v]
            open_[p] = (f, v)
            spec.append((p, "invoke", f, v))
            started += 1
    return spec


@SETTINGS
@given(small_histories())
def test_search_agrees_with_brute_force(spec: list[tuple]) -> None:
    ops = pair_events(events_from(spec))
    expected = brute_force_linearizable(ops)
    got = check_ops(ops, CAS).valid
    assert got == expected, spec


@SETTINGS
@given(small_histories(unique=True))
def test_search_restarted_on_graph_hints_agrees_with_brute_force(spec: list[tuple]) -> None:
    """With the graph consulted at once (as on a hard key), a failed cas that does not fit
    the graph's order restarts the search in that order: verdicts must not change."""
    import checkers.linear.search as lin

    ops = pair_events(events_from(spec))
    saved = lin.SLICE, lin.GRAPH_AFTER
    lin.SLICE, lin.GRAPH_AFTER = 1, 1
    try:
        got = lin.check_ops(ops, CAS).valid
    finally:
        lin.SLICE, lin.GRAPH_AFTER = saved
    assert got == brute_force_linearizable(ops), spec


@st.composite
def small_kv_histories(draw: st.DrawFn) -> list[tuple]:
    """Up to 7 get/put/append ops on one key from 3 processes; gets see random strings
    over the appended letters, so that some histories are linearizable and some not."""
    n_ops = draw(st.integers(1, 7))
    spec: list[tuple] = []
    open_: dict[int, tuple] = {}
    started = 0
    proc_of = {0: 0, 1: 1, 2: 2}
    next_proc = 3
    while started < n_ops or open_:
        client = draw(st.integers(0, 2))
        p = proc_of[client]
        if p in open_:
            f, v = open_.pop(p)
            outcome = draw(st.sampled_from(["ok", "ok", "ok", "info"]))
            if f == "get":
                out = draw(st.sampled_from(["", "a", "b", "ab", "ba", "c", "ca", "cab", "abc"]))
                spec.append((p, outcome, f, out if outcome == "ok" else None))
            else:
                spec.append((p, outcome, f, v))
            if outcome == "info":
                proc_of[client] = next_proc
                next_proc += 1
        elif started < n_ops:
            f = draw(st.sampled_from(["get", "append", "append", "put"]))
            v = None if f == "get" else draw(st.sampled_from(["a", "b", "c"]))
            open_[p] = (f, v)
            spec.append((p, "invoke", f, v))
            started += 1
    return spec


@SETTINGS
@given(small_kv_histories())
def test_kv_search_agrees_with_brute_force(spec: list[tuple]) -> None:
    ops = pair_events(events_from(spec, key="k"))
    assert check_ops(ops, get_model("kv")).valid == brute_force_linearizable(ops, kv=True), spec


@SETTINGS
@given(small_histories())
def test_register_without_cas_agrees_with_brute_force(spec: list[tuple]) -> None:
    ops = [o for o in pair_events(events_from(spec)) if o.f != "cas"]
    assert check_ops(ops, get_model("register")).valid == brute_force_linearizable(ops), spec


@SETTINGS
@given(small_histories(unique=True))
def test_graph_agrees_with_search_on_unique_values(spec: list[tuple]) -> None:
    # the graph method cannot use failed-cas observations: leave them out
    ops = [o for o in pair_events(events_from(spec)) if o.status != "fail"]
    search = check_ops(ops, CAS).valid
    graph = check_graph(ops, CAS)
    assert graph.valid == search, (spec, graph.to_text())
    if graph.valid is False:
        assert graph.cycle and all(e.reason for e in graph.cycle)


@SETTINGS
@given(small_histories(unique=True))
def test_graph_with_failed_cas_never_contradicts_the_search(spec: list[tuple]) -> None:
    # with failed-cas observations the graph may say "unknown", never the wrong thing
    ops = pair_events(events_from(spec))
    graph = check_graph(ops, CAS).valid
    if graph != "unknown":
        assert graph == check_ops(ops, CAS).valid, spec


def sequential_run_with_concurrency(
    rng: random.Random, n: int, keys: int, clients: int, info_rate: float, unique: bool
) -> list[Event]:
    """Run a register model sequentially (the true order of effects), then give every
    operation an invoke time before and a completion time after its effect, so that
    operations overlap at random. Info ops took effect or not; failed cas saw
    something else."""
    state: dict[str, object] = {}
    counter = 0
    t = 0
    free_at = [0] * clients  # a client's next op starts after its previous completion
    proc = list(range(clients))
    next_proc = clients
    items = []
    for _ in range(n):
        c = rng.randrange(clients)
        key = f"k{rng.randrange(keys)}"
        t += rng.randint(1, 5)
        point = max(t, free_at[c] + 1)
        t = point
        invoke = rng.randint(free_at[c] + 1, point) if point > free_at[c] + 1 else point
        complete = point + rng.randint(0, 40)
        free_at[c] = complete
        f = rng.choice(["read", "write", "cas"])
        cur = state.get(key)
        counter += 1
        new = counter if unique else rng.randint(0, 4)
        status, value, out, err = "ok", None, None, None
        if f == "read":
            out = cur
        elif f == "write":
            value = new
        else:
            exp = cur if rng.random() < 0.6 else rng.choice([None, 0, 1, 2, 3, 4])
            value = [exp, new]
            if exp != cur:
                status, err = "fail", "precondition"
        if status == "ok" and rng.random() < info_rate:
            status = "info"
            if rng.random() < 0.5:  # it never took effect
                items.append((invoke, complete, proc[c], key, f, value, "info", None, None))
                proc[c] = next_proc
                next_proc += 1
                continue
        if status == "ok" and f != "read":
            state[key] = new
        items.append((invoke, complete, proc[c], key, f, value, status, out, err))
        if status == "info":
            proc[c] = next_proc
            next_proc += 1
    raw = []
    for inv, comp, p, key, f, value, status, out, err in items:
        raw.append((inv, 0, p, "invoke", f, key, value, None))
        raw.append((comp, 1, p, status, f, key, out if f == "read" else value, err))
    raw.sort(key=lambda r: (r[0], r[1]))
    return [
        Event(i, r[0], r[2], r[3], r[4], r[6], r[5], None, r[7], i + 1) for i, r in enumerate(raw)
    ]


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32), st.booleans())
def test_sequential_run_with_added_concurrency_is_linearizable(seed: int, unique: bool) -> None:
    rng = random.Random(seed)
    events = sequential_run_with_concurrency(rng, 300, 3, 6, 0.05, unique)
    r = check_history(events, CAS, timeout=20)
    assert r.valid is True, r.to_dict()


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32))
def test_graph_finds_no_cycle_in_a_sequential_run(seed: int) -> None:
    events = sequential_run_with_concurrency(random.Random(seed), 200, 2, 5, 0.05, True)
    ops = [o for o in pair_events(events) if not (o.status == "fail" and o.f == "cas")]
    assert check_graph(ops, CAS).valid is True


@settings(max_examples=6, deadline=None)
@given(st.integers(0, 2**32))
def test_generated_register_histories_with_info_ops_are_linearizable(seed: int) -> None:
    """checkers.history.synth (what the benchmark checks): overlapping clients, 5% info ops."""
    from checkers.history.synth import register_history

    events = register_history(1500, keys=2, clients=12, info_rate=0.05, seed=seed)
    r = check_history(events, CAS, timeout=20)
    assert r.valid is True, r.to_dict()
