"""Properties of the Elle checker, with hypothesis:

- histories from a serial execution, with concurrency added without breaking it
  (checkers.elle.synth), are valid under every consistency model;
- the checker is sound: on small random histories, whenever it says "not serializable"
  (or "not strict serializable"), a brute-force search over every order of the committed
  txns (and every choice of which info txns happened) finds none that explains the reads;
- anomalies injected into valid histories are found and named.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

from elle_helpers import asked, concurrent, failed, join, ok, serial
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkers.elle import MODELS, check_txn_history
from checkers.elle.synth import list_append_history
from checkers.history import Event

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- valid by construction -----------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 150),
    keys=st.integers(1, 4),
    clients=st.integers(1, 6),
    per_key=st.integers(1, 8),
    info=st.sampled_from([0.0, 0.1, 0.3]),
    fail=st.sampled_from([0.0, 0.1]),
    seed=st.integers(0, 2**16),
)
def test_serial_executions_are_valid_under_every_model(
    n: int, keys: int, clients: int, per_key: int, info: float, fail: float, seed: int
) -> None:
    events = list_append_history(
        n, keys=keys, writes_per_key=per_key, clients=clients, info_rate=info,
        fail_rate=fail, seed=seed, max_latency=200_000,
    )  # fmt: skip
    for model in MODELS:
        r = check_txn_history(events, model)
        # a history with no dependency at all (one txn, say) is unknown, as Elle says
        assert r.valid is True or (r.valid == "unknown" and r.empty_graph), (model, r.to_text())
        assert r.anomalies == []


# --- soundness against brute force -------------------------------------------------------------

KEYS = ("x", "y")


@st.composite
def small_histories(draw: st.DrawFn) -> list[Event]:
    """2 to 4 txns on two list keys and a register, with reads of plausible and
    implausible values, random outcomes and a random interleaving."""
    n = draw(st.integers(2, 4))
    counter = itertools.count(1)
    plans = []
    for _ in range(n):
        mops = []
        for _ in range(draw(st.integers(1, 3))):
            k = draw(st.sampled_from([*KEYS, "z"]))
            if draw(st.booleans()):
                mops.append(["r", k, None])
            else:
                mops.append(["append" if k != "z" else "w", k, next(counter)])
        status = draw(st.sampled_from(["ok", "ok", "ok", "info", "fail"]))
        plans.append([mops, status])
    written = {
        k: [v for mops, _ in plans for f, kk, v in mops if kk == k and f != "r"]
        for k in (*KEYS, "z")
    }
    for mops, status in plans:
        if status != "ok":
            continue
        for m in mops:
            if m[0] != "r":
                continue
            pool = written[m[1]]
            if m[1] == "z":
                m[2] = draw(st.sampled_from([None, *pool, 99]))
            else:
                seen = draw(st.permutations(pool)) if pool else []
                m[2] = seen[: draw(st.integers(0, len(seen)))] or None
    # a random interleaving: each txn's invoke before its completion
    order = draw(
        st.permutations([("invoke", i) for i in range(n)] + [("end", i) for i in range(n)])
    )
    opened: set[int] = set()
    fixed = []
    for kind, i in order:
        if kind == "end" and i not in opened:
            fixed.append(("invoke", i))
            opened.add(i)
        if kind == "invoke" and i in opened:
            continue
        if kind == "invoke":
            opened.add(i)
        fixed.append((kind, i))
    events = []
    for kind, i in fixed:
        mops, status = plans[i]
        typ = "invoke" if kind == "invoke" else status
        value = mops if typ == "ok" else asked(mops)
        events.append(Event(len(events), len(events), i, typ, "txn", value, line=len(events) + 1))
    return events


def serializable_by_brute_force(events: list[Event], realtime: bool) -> bool:
    """Is there an order of the ok txns and some of the info ones, respecting real time
    when asked, that gives every ok read what it saw?"""
    calls: dict[int, int] = {}
    rets: dict[int, int] = {}
    txn: dict[int, tuple[str, list[list[Any]]]] = {}
    for pos, e in enumerate(events):
        if e.type == "invoke":
            calls[e.process] = pos
            txn[e.process] = ("info", e.value)
        else:
            txn[e.process] = (e.type, e.value)
            if e.type == "ok":
                rets[e.process] = pos
    oks = [p for p, (s, _) in txn.items() if s == "ok"]
    infos = [p for p, (s, _) in txn.items() if s == "info"]
    for k in range(len(infos) + 1):
        for chosen in itertools.combinations(infos, k):
            for order in itertools.permutations(oks + list(chosen)):
                if realtime and any(
                    a in rets and rets[a] < calls[b]
                    for i, b in enumerate(order)
                    for a in order[i + 1 :]
                ):
                    continue  # a completed before b was invoked, yet b comes first
                if _explains(order, txn):
                    return True
    return False


def _explains(order: tuple[int, ...], txn: dict[int, tuple[str, list[list[Any]]]]) -> bool:
    state: dict[str, Any] = {}
    for p in order:
        status, mops = txn[p]
        for f, k, v in mops:
            if f == "append":
                state[k] = [*state.get(k, []), v]
            elif f == "w":
                state[k] = v
            elif status == "ok":
                now = state.get(k, [] if k in KEYS else None)
                if (v if v is not None or k not in KEYS else []) != now:
                    return False
    return True


@SETTINGS
@given(small_histories())
def test_sound_against_brute_force(events: list[Event]) -> None:
    for model, realtime in (("serializable", False), ("strict-serializable", True)):
        r = check_txn_history(events, model)
        assert r.valid is not False or not serializable_by_brute_force(events, realtime), (
            model,
            r.to_text(),
        )


# --- injected anomalies -------------------------------------------------------------------------


def _base(seed: int) -> list[Event]:
    return list_append_history(40, keys=3, clients=4, seed=seed, max_latency=100_000,
                               info_rate=0.0, fail_rate=0.0)  # fmt: skip


def _with_internal(events: list[Event], rng: Any) -> list[Event]:
    """An ok txn that appends and then reads the key without its own append."""
    oks = [
        i for i, e in enumerate(events)
        if e.type == "ok" and any(m[0] == "append" for m in e.value)
    ]  # fmt: skip
    i = rng.choice(oks)
    f, k, v = next(m for m in events[i].value if m[0] == "append")
    invoke = max(j for j in range(i) if events[j].process == events[i].process)
    events = list(events)
    events[i] = replace(events[i], value=[*events[i].value, ["r", k, None]])
    events[invoke] = replace(events[invoke], value=[*events[invoke].value, ["r", k, None]])
    return events


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    kind=st.sampled_from(
        ["internal", "G1a", "garbage-read", "duplicate-elements", "G-single-realtime", "G0"]
    ),
)
def test_injected_anomalies_are_found(seed: int, kind: str) -> None:
    import random

    rng = random.Random(seed)
    events = _base(seed)
    A, R = "append", "r"
    if kind == "internal":
        events = _with_internal(events, rng)
    elif kind == "G1a":
        events = join(events, serial(failed(90, [A, "fresh", 1]), ok(91, [R, "fresh", [1]])))
    elif kind == "garbage-read":
        events = join(events, serial(ok(90, [R, "fresh", [5]])))
    elif kind == "duplicate-elements":
        events = join(events, serial(ok(90, [A, "fresh", 1]), ok(91, [R, "fresh", [1, 1]])))
    elif kind == "G-single-realtime":
        events = join(events, serial(ok(90, [A, "fresh", 1]), ok(91, [R, "fresh", None])))
    elif kind == "G0":
        events = join(events, concurrent(
            ok(90, [A, "f1", 1], [A, "f2", 2]),
            ok(91, [A, "f1", 3], [A, "f2", 4]),
            ok(92, [R, "f1", [1, 3]], [R, "f2", [4, 2]]),
        ))  # fmt: skip
    r = check_txn_history(events, "strict-serializable")
    assert kind in r.anomalies and r.valid is False, r.to_text()
    if kind == "G-single-realtime":
        assert check_txn_history(events, "serializable").valid is True
