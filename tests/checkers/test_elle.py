"""The Elle checker on small histories: the examples of the Elle paper (Kingsbury and
Alvaro, VLDB 2020) give the verdicts it states, and each anomaly kind is found and named
(and rules out the models Elle's table says)."""

from __future__ import annotations

import pytest
from elle_helpers import concurrent, failed, info, join, ok, serial

from checkers.elle import check_txn_history
from checkers.elle.consistency import MODELS, implied
from checkers.history import Event, HistoryError

A, R, W = "append", "r", "w"


def check(events, consistency="strict-serializable"):  # type: ignore[no-untyped-def]
    return check_txn_history(events, consistency)


# --- the paper's examples ----------------------------------------------------------------


def test_paper_figure_2_g_single() -> None:
    """Figure 2: three txns, rw, wr and ww edges: G-single, explained as the paper does."""
    h = join(
        serial(ok(9, [A, 253, 1], [A, 253, 3], [A, 253, 4], [A, 255, 2], [A, 255, 3], [A, 255, 4],
           [A, 255, 5], [A, 256, 1], [A, 256, 2])),
        concurrent(
            ok(1, [A, 250, 10], [R, 253, [1, 3, 4]], [R, 255, [2, 3, 4, 5]], [A, 256, 3]),
            ok(2, [A, 255, 8], [R, 253, [1, 3, 4]]),
            ok(3, [A, 256, 4], [R, 255, [2, 3, 4, 5, 8]], [R, 256, [1, 2, 4]],
               [R, 253, [1, 3, 4]]),
        ),
    )  # fmt: skip
    r = check(h, "serializable")
    assert r.valid is False and r.anomalies == ["G-single"]
    assert "snapshot-isolation" in r.ruled_out and "read-committed" not in r.ruled_out
    text = r.cases["G-single"][0]["text"]
    assert "did not observe" in text and "observed" in text and "a contradiction!" in text
    assert [s["type"] for s in r.cases["G-single"][0]["steps"]] == ["rw", "wr", "ww"]
    assert check(h, "read-committed").valid is True


def test_paper_tidb_read_skew() -> None:
    """Section 7: T1 read [2 1] of key 34 and missed T2's append of 5, which T3 shows came
    before T1's own append of 4: G-single (read skew), so not snapshot isolation."""
    h = join(
        serial(ok(0, [A, 34, 2]), ok(0, [A, 34, 1])),
        concurrent(
            ok(1, [R, 34, [2, 1]], [A, 36, 5], [A, 34, 4]),
            ok(2, [A, 34, 5]),
            ok(3, [R, 34, [2, 1, 5, 4]]),
        ),
    )
    r = check(h, "snapshot-isolation")
    assert r.valid is False and r.prohibited == ["G-single"]


def test_paper_yugabyte_g2_item() -> None:
    """Section 7: two txns that each miss the other's append: G2-item, which snapshot
    isolation allows (write skew) and serializability does not."""
    h = join(
        serial(ok(0, [A, 3, 831], [A, 3, 833], [A, 3, 836], [A, 4, 874], [A, 4, 877], [A, 4, 883])),
        concurrent(
            ok(1, [A, 3, 837], [R, 4, [874, 877, 883]]),
            ok(2, [A, 4, 885], [R, 3, [831, 833, 836]]),
        ),
    )
    r = check(h, "serializable")
    assert r.valid is False and r.anomalies == ["G2-item"]
    si = check(h, "snapshot-isolation")
    assert si.valid is True and si.anomalies == ["G2-item"] and si.prohibited == []


def test_paper_fauna_internal() -> None:
    """Section 7: a txn that does not see its own append."""
    r = check(serial(ok(0, [A, 0, 6], [R, 0, None])))
    assert r.anomalies == ["internal"] and r.valid is False
    assert "[... 6]" in r.cases["internal"][0]["text"]


def test_paper_dgraph_internal_register() -> None:
    """Section 7: w(10, 2), r(10, 1) in one txn (registers)."""
    r = check(serial(ok(0, [W, 10, 1]), ok(1, [W, 10, 2], [R, 10, 1])))
    assert r.anomalies == ["internal"]


def test_paper_dgraph_realtime_g_single() -> None:
    """Section 7: T1 finished writing 540 before T2 began, yet T2 read 540's initial state:
    a cycle only with the real-time edge, so strict serializability is ruled out and
    serializability is not."""
    h = serial(ok(1, [R, 541, None], [W, 540, 2]), ok(2, [R, 540, None], [W, 544, 1]))
    strict = check(h)
    assert strict.valid is False and strict.anomalies == ["G-single-realtime"]
    assert check(h, "serializable").valid is True


def test_paper_dgraph_read_skew_registers() -> None:
    """Section 7: T1 saw T3's write of 2432 but not T2's of 2434, which T3 saw: G-single
    over registers, inferred from the initial (nil) version alone."""
    h = concurrent(
        ok(1, [R, 2432, 10], [R, 2434, None]),
        ok(2, [W, 2434, 10]),
        ok(3, [W, 2432, 10], [R, 2434, 10]),
    )
    r = check(h, "serializable")
    assert r.anomalies == ["G-single"] and r.valid is False


def test_paper_section_2_cannot_tell() -> None:
    """Section 2: with blind register writes the version order of y is invisible, so the
    checker must not invent one: no anomaly."""
    h = concurrent(
        ok(1, [W, "z", 1], [W, "x", 1], [W, "y", 1]),
        ok(2, [R, "x", 1], [W, "y", 2]),
        ok(3, [W, "x", 3], [R, "y", 2], [W, "z", 3]),
    )
    assert check(h, "serializable").valid is True


def test_paper_incompatible_orders() -> None:
    """Section 4.2: reads [1 2] and [1 3 2] cannot both be prefixes of one order."""
    h = serial(ok(0, [A, "x", 1]), ok(1, [A, "x", 2]), ok(2, [A, "x", 3]),
               ok(3, [R, "x", [1, 2]]), ok(4, [R, "x", [1, 3, 2]]))  # fmt: skip
    r = check(h, "read-committed")
    assert "incompatible-order" in r.anomalies and r.valid is False


# --- each anomaly kind --------------------------------------------------------------------


def test_g0() -> None:
    """T1 and T2 append to x and y in opposite orders: a cycle of ww edges."""
    h = concurrent(
        ok(1, [A, "x", 1], [A, "y", 2]),
        ok(2, [A, "x", 3], [A, "y", 4]),
        ok(3, [R, "x", [1, 3]], [R, "y", [4, 2]]),
    )
    r = check(h, "read-committed")
    assert r.valid is False and r.anomalies == ["G0"]
    assert {s["type"] for s in r.cases["G0"][0]["steps"]} == {"ww"}


def test_g1a() -> None:
    h = serial(failed(1, [A, "x", 1]), ok(2, [R, "x", [1]]))
    r = check(h, "read-committed")
    assert r.anomalies == ["G1a"] and r.valid is False
    assert "failed" in r.cases["G1a"][0]["text"]


def test_g1b() -> None:
    h = concurrent(ok(1, [A, "x", 1], [A, "x", 2]), ok(2, [R, "x", [1]]))
    r = check(h, "read-committed")
    assert "G1b" in r.anomalies and r.valid is False


def test_g1c() -> None:
    h = concurrent(ok(1, [A, "x", 1], [R, "y", [2]]), ok(2, [A, "y", 2], [R, "x", [1]]))
    r = check(h, "read-committed")
    assert r.anomalies == ["G1c"] and r.valid is False


def test_g_nonadjacent() -> None:
    """rw, wr, rw, wr: two anti-dependencies, never adjacent: ruled out by snapshot
    isolation (Cerone and Gotsman), unlike G2-item."""
    h = concurrent(
        ok(1, [R, "a", None], [R, "d", [1]]),
        ok(2, [A, "a", 1], [A, "b", 1]),
        ok(3, [R, "b", [1]], [R, "c", None]),
        ok(4, [A, "c", 1], [A, "d", 1]),
    )
    r = check(h, "snapshot-isolation")
    assert r.anomalies == ["G-nonadjacent"] and r.valid is False
    assert [s["type"] for s in r.cases["G-nonadjacent"][0]["steps"]].count("rw") == 2


def test_lost_update() -> None:
    h = join(
        serial(ok(0, [A, "x", 1])),
        concurrent(ok(1, [R, "x", [1]], [A, "x", 2]), ok(2, [R, "x", [1]], [A, "x", 3])),
        serial(ok(3, [R, "x", [1, 2, 3]])),
    )
    r = check(h, "snapshot-isolation")
    assert "lost-update" in r.anomalies and "lost-update" in r.prohibited


def test_duplicate_elements_and_garbage() -> None:
    h = serial(ok(0, [A, "x", 1]), ok(1, [R, "x", [1, 1]]), ok(2, [R, "y", [7]]))
    r = check(h, "read-committed")
    assert {"duplicate-elements", "garbage-read"} <= set(r.anomalies) and r.valid is False


def test_future_read() -> None:
    r = check(serial(ok(0, [R, "x", [5]], [A, "x", 5])), "read-committed")
    assert "future-read" in r.anomalies and r.valid is False


def test_process_variant() -> None:
    """A process that misses its own earlier append: strong session serializability is
    ruled out (G-single-process), plain serializability is not."""
    h = serial(ok(1, [A, "x", 1]), ok(1, [R, "x", None]))
    assert check(h, "serializable").valid is True
    r = check(h, "strong-session-serializable")
    assert r.anomalies == ["G-single-process"] and r.valid is False


def test_info_txn_effects_count_only_when_seen() -> None:
    """An info txn may have happened: reading its append is fine; not reading it too."""
    seen = concurrent(info(1, [A, "x", 1]), ok(2, [R, "x", [1]]))
    unseen = serial(info(1, [A, "x", 1]), ok(2, [R, "x", None]))
    assert check(seen).valid is True and check(unseen).valid is True


def test_invalid_verdict_names_every_ruled_out_model() -> None:
    r = check(serial(failed(1, [A, "x", 1]), ok(2, [R, "x", [1]])))
    # G1a: even read committed is out; read uncommitted (Adya's PL-1) allows it
    assert set(r.ruled_out) == set(MODELS) - {"read-uncommitted"}


def test_implied_variants() -> None:
    assert implied("G0") >= {"G1c", "G0-process", "G0-realtime", "G1c-realtime"}
    assert "G2-item-realtime" in implied("G-single-process")
    assert implied("internal") == {"internal"}


def test_uncheckable_duplicate_appends() -> None:
    r = check(serial(ok(1, [A, "x", 1]), ok(2, [A, "x", 1])))
    assert r.valid == "unknown" and "unique" in (r.reason or "")


def test_no_txns_unknown() -> None:
    assert check([]).valid == "unknown"


@pytest.mark.parametrize(
    "mops, message",
    [
        ([[A, "x"]], "[f, key, v]"),
        ([["inc", "x", 1]], 'f to be "append"'),
        ([[A, ["x"], 1]], "key to be a string or an integer"),
        ([[A, "x", None]], "append's value"),
    ],
)
def test_malformed_micro_ops_name_the_line(mops, message) -> None:  # type: ignore[no-untyped-def]
    h = [Event(0, 0, 1, "invoke", "txn", mops, line=1), Event(1, 1, 1, "ok", "txn", mops, line=2)]
    with pytest.raises(HistoryError) as exc:
        check(h)
    assert exc.value.line == 1 and message in str(exc.value)


def test_completion_must_match_invoke() -> None:
    h = serial(ok(1, [A, "x", 1]))
    h[1].value = [[A, "x", 2]]
    with pytest.raises(HistoryError, match="other micro-ops"):
        check(h)


def test_key_both_list_and_register() -> None:
    with pytest.raises(HistoryError, match="either appended to"):
        check(serial(ok(1, [A, "x", 1]), ok(2, [W, "x", 2])))


def test_anomalies_asked_for_as_elle_asks() -> None:
    """Elle's :anomalies: no model, the named anomalies and what implies them prohibited
    (G-single implies G2-item, so asking for G2 finds it); Elle's item names accepted."""
    h = concurrent(ok(1, [R, "x", None], [R, "y", [1]]), ok(2, [A, "y", 1], [A, "x", 2]))
    for names, valid in ((("G2",), False), (("G-single-item",), False), (("G1",), True)):
        r = check_txn_history(h, None, anomalies=names)
        assert r.valid is valid and r.anomalies == ["G-single"], names
    with pytest.raises(ValueError, match="unknown anomaly"):
        check_txn_history(h, None, anomalies=("G-single-predicate",))
