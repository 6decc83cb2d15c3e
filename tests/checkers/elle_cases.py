"""Every assertion of Elle's rw-register, list-append and consistency-model tests
(jepsen-io/elle at ccdee6f, test/elle/*.clj), as cases for elle_agreement.py: the test's
history transcribed op for op in Elle's shape, its options, and what it expects. Names
are "file deftest / testing"."""

from __future__ import annotations

from typing import Any

from elle_agreement import (
    CM_TEST,
    ELLE_NAME,
    IMPLYING,
    LA_TEST,
    RW_TEST,
    Case,
    fail,
    la,
    pair,
    rw,
)

from checkers.elle import consistency as cm
from checkers.elle.deps import WR, WW

CASES: list[Case] = []


def add(*cases: Case) -> None:
    CASES.extend(cases)


def pairs(*ops: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for op in ops for e in pair(op)]


def flat(*parts: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in parts:
        out.extend(p if isinstance(p, list) else [p])
    return out


INTERNAL_FN = "tests an internal function of Elle's (its input or output is Elle's own data "
INTERNAL_FN += "structure), with no counterpart among this checker's results"
HELPER = "tests Elle's own test helper (its op notation)"
PERF = "an ^:perf test (outside Elle's default run): histories of 100,000 to 1,000,000 txns "
PERF += "made at run time by jepsen.history.sim or random generators, timed"
SIM = "its history is made at run time by jepsen.history.sim (a simulated database, Clojure)"
HAND_GRAPH = "feeds a hand-made transaction graph in which failed or info txns precede "
HAND_GRAPH += "others; neither a process's order nor real time does that (only ok txns do)"
HAND_VERSIONS = "feeds a hand-made version graph to an internal function"
TXN_ORDER = "Elle's :transaction-order option (a commit order the database reports, 0.2.7) "
TXN_ORDER += "is not offered here"
DUPLICATES = (
    "{n} to x: this checker needs every appended value to be unique and refuses the "
    "history, as Elle's checker does (verify-unique-appends); Elle's test calls its "
    "internal-case finder alone, which does not look"
)

# --- rw_register_test.clj ------------------------------------------------------------------

T = RW_TEST
add(Case(f"{T} op-test", skip=HELPER))
add(*[Case(f"{T} ext-index-test / {w}", skip=INTERNAL_FN) for w in ("empty", "writes")])

add(
    Case(f"{T} internal-cases-test / empty", "finds", [], only=("internal",), types=()),
    Case(
        f"{T} internal-cases-test / good",
        "finds",
        [rw("ry2wx2rx2wx1rx1")],
        only=("internal",),
        types=(),
    ),
    Case(
        f"{T} internal-cases-test / stale",
        "finds",
        [rw("rx1wx2rx1")],
        only=("internal",),
        types=("internal",),
        count=1,
    ),
    Case(
        f"{T} internal-cases-test / nil read",
        "finds",
        [rw("rx_rx2")],
        only=("internal",),
        types=("internal",),
        count=1,
    ),
    Case(f"{T} g1a-cases-test / empty", "finds", [], only=("G1a",), types=()),
    Case(f"{T} g1a-cases-test / good", "finds", [rw("wx1"), rw("rx1")], only=("G1a",), types=()),
    Case(
        f"{T} g1a-cases-test / bad",
        "finds",
        [rw("rx2"), fail(rw("wx2"))],
        only=("G1a",),
        types=("G1a",),
        count=1,
    ),
    Case(f"{T} g1b-cases-test / empty", "finds", [], only=("G1b",), types=()),
    Case(
        f"{T} g1b-cases-test / good",
        "finds",
        [rw("wx1wx2"), rw("rx_rx2")],
        only=("G1b",),
        types=(),
    ),
    Case(
        f"{T} g1b-cases-test / bad",
        "finds",
        [rw("rx2"), rw("wx2wx1")],
        only=("G1b",),
        types=("G1b",),
        count=1,
    ),
)


def wr_pair(*txn: list[Any]) -> list[dict[str, Any]]:
    """wr-graph-test's pair: invoke and ok with the same value, :f :txn, process 0."""
    return [
        {"process": 0, "type": "invoke", "f": "txn", "value": list(txn)},
        {"process": 0, "type": "ok", "f": "txn", "value": list(txn)},
    ]


add(
    Case(f"{T} wr-graph-test / empty history", "cycle", [], rels=WR, valid=True),
    Case(
        f"{T} wr-graph-test / write and read",
        "cycle",
        flat(wr_pair(["w", "x", 0]), wr_pair(["w", "x", 0])),
        rels=WR,
        valid=True,
        differs="both txns write 0 to x: this checker needs every value written to a key to "
        "be unique and refuses the history (Elle's wr-graph refuses it too once a read "
        "meets two writers; this test has no read)",
    ),
    Case(
        f"{T} wr-graph-test / chain on one register",
        "cycle",
        flat(wr_pair(["r", "x", 0], ["w", "x", 1]), wr_pair(["r", "x", 1], ["w", "x", 0])),
        rels=WR,
        valid=False,
    ),
    Case(
        f"{T} wr-graph-test / chain across two registers",
        "cycle",
        flat(wr_pair(["r", "x", 0], ["w", "y", 1]), wr_pair(["r", "y", 1], ["w", "x", 0])),
        rels=WR,
        valid=False,
    ),
    Case(
        f"{T} wr-graph-test / write skew",
        "cycle",
        flat(
            wr_pair(["r", "x", 0], ["r", "y", 0], ["w", "x", 1]),
            wr_pair(["r", "x", 0], ["r", "y", 0], ["w", "y", 1]),
        ),
        rels=WR,
        valid=True,
    ),
)
add(
    *[
        Case(f"{T} ext-key-graph-test / {w}", skip=INTERNAL_FN)
        for w in ("empty", "simple", "transitive", "transitive w diff keys")
    ]
)


def seq(*ops: dict[str, Any]) -> list[dict[str, Any]]:
    """A process's txns one after another (the process order Elle's test graph is)."""
    return pairs(*ops)


add(
    Case(
        f"{T} transaction-graph->version-graphs-test / empty",
        "versions",
        [],
        opts={"sequential-keys?": True},
        source="sequential-keys",
        versions={},
    ),
    Case(
        f"{T} transaction-graph->version-graphs-test / r->w",
        "versions",
        seq(rw("rx1"), rw("wx2")),
        opts={"sequential-keys?": True},
        source="sequential-keys",
        versions={"x": {1: {2}}},
    ),
    Case(
        f"{T} transaction-graph->version-graphs-test / fork-join",
        "versions",
        # rx1, then wx2 and wx3 side by side, then rx4: real time is the test's graph
        [
            {"process": 0, "type": "invoke", "value": [["r", "x", None]]},
            rw("rx1", 0),
            {"process": 1, "type": "invoke", "value": [["w", "x", 2]]},
            {"process": 2, "type": "invoke", "value": [["w", "x", 3]]},
            rw("wx2", 1),
            rw("wx3", 2),
            {"process": 3, "type": "invoke", "value": [["r", "x", None]]},
            rw("rx4", 3),
        ],
        opts={"linearizable-keys?": True},
        source="linearizable-keys",
        versions={"x": {1: {2, 3}, 2: {4}, 3: {4}}},
    ),
    Case(
        f"{T} transaction-graph->version-graphs-test / external ww",
        "versions",
        seq(rw("wx1wx2"), rw("wx3wx4rx5")),
        opts={"sequential-keys?": True},
        source="sequential-keys",
        versions={"x": {2: {4}}},
    ),
    Case(
        f"{T} transaction-graph->version-graphs-test / external wr",
        "versions",
        seq(rw("wx1wx2"), rw("rx3rx4wx5")),
        opts={"sequential-keys?": True},
        source="sequential-keys",
        versions={"x": {2: {3}}},
    ),
    Case(
        f"{T} transaction-graph->version-graphs-test / external rw",
        "versions",
        seq(rw("rx1rx2"), rw("wx3wx4rx5")),
        opts={"sequential-keys?": True},
        source="sequential-keys",
        versions={"x": {1: {4}}},
    ),
    Case(
        f"{T} transaction-graph->version-graphs-test / external rr",
        "versions",
        seq(rw("rx1rx2"), rw("rx3rx4wx5")),
        opts={"sequential-keys?": True},
        source="sequential-keys",
        versions={"x": {1: {3}}},
    ),
    Case(
        f"{T} transaction-graph->version-graphs-test / don't infer v1 -> v1 deps",
        "versions",
        seq(rw("wx1"), rw("rx1")),
        opts={"sequential-keys?": True},
        source="sequential-keys",
        versions={},
    ),
    Case(
        f"{T} transaction-graph->version-graphs-test / don't infer deps on failed or crashed reads",
        skip=HAND_GRAPH,
    ),
    Case(
        f"{T} transaction-graph->version-graphs-test / don't infer deps on failed writes, "
        "but do infer crashed",
        skip=HAND_GRAPH,
    ),
    Case(
        f"{T} transaction-graph->version-graphs-test / see through failed/crashed Ops",
        "versions",
        # wx1 and wy1, then side by side: an info read of x, ok rx3, a failed wy2, ok ry3
        [
            {"process": 0, "type": "invoke", "value": [["w", "x", 1]]},
            {"process": 3, "type": "invoke", "value": [["w", "y", 1]]},
            rw("wx1", 0),
            rw("wy1", 3),
            {"process": 1, "type": "invoke", "value": [["r", "x", None]]},
            {"process": 2, "type": "invoke", "value": [["r", "x", None]]},
            {"process": 4, "type": "invoke", "value": [["w", "y", 2]]},
            {"process": 5, "type": "invoke", "value": [["r", "y", None]]},
            rw("rx3", 2),
            fail(rw("wy2", 4)),
            rw("ry3", 5),
            {"process": 1, "type": "info", "value": [["r", "x", None]]},
        ],
        opts={"linearizable-keys?": True},
        source="linearizable-keys",
        versions={"x": {1: {3}}, "y": {1: {3}}},
    ),
    Case(
        f"{T} transaction-graph->version-graphs-test / see through seq. failed/crashed Ops",
        skip=HAND_GRAPH,
    ),
)
add(
    *[
        Case(f"{T} version-graphs->transaction-graphs-test / {w}", skip=HAND_VERSIONS)
        for w in ("empty", "rr", "wr", "ww", "rw", "ignores internal writes/reads")
    ]
)

# checker-test
SS = {"consistency-models": ["strict-serializable"]}
add(
    Case(
        f"{T} checker-test / Read doesn't return what was just been written",
        ops=pairs(rw("wx1"), rw("rx2")),
        opts={**SS, "linearizable-keys?": True},
        valid=True,
        types=(),
    ),
    Case(
        f"{T} checker-test / Read read returns what was just been written",
        ops=pairs(rw("wx1"), rw("rx2"), rw("rx1")),
        opts={**SS, "linearizable-keys?": True},
        valid=False,
        types=("cyclic-versions",),
        not_=("read-uncommitted",),
    ),
    Case(
        f"{T} checker-test / G0 (invokes only)",
        ops=[pair(rw("wx1wy2", 0, "ok"))[0], pair(rw("wx2wy1", 1, "ok"))[0]],
        opts={"consistency-models": None, "anomalies": ["G0"]},
        valid="unknown",
        types=("empty-transaction-graph",),
        not_=(),
    ),
    Case(
        f"{T} checker-test / G0 (sequential keys)",
        ops=pairs(rw("wx1wy2", 0), rw("wx2wy1", 1), rw("rx2", 0), rw("ry2", 1)),
        opts={"consistency-models": None, "anomalies": ["G0"], "sequential-keys?": True},
        valid=False,
        types=("G0",),
        not_=("read-uncommitted",),
    ),
    Case(
        f"{T} checker-test / G1a",
        ops=[rw("rx1"), fail(rw("wx1"))],
        opts={"consistency-models": None, "anomalies": ["G1"]},
        valid=False,
        types=("G1a", "empty-transaction-graph"),
        not_=("read-committed",),
    ),
    Case(
        f"{T} checker-test / G1b (G0 asked)",
        ops=[rw("wx1wx2"), rw("rx1")],
        opts={"consistency-models": None, "anomalies": ["G0"]},
        valid="unknown",
        types=("empty-transaction-graph",),
        not_=("read-committed",),
    ),
    Case(
        f"{T} checker-test / G1b (G1 asked)",
        ops=[rw("wx1wx2"), rw("rx1")],
        opts={"consistency-models": None, "anomalies": ["G1"]},
        valid=False,
        types=("G1b", "empty-transaction-graph"),
        not_=("read-committed",),
    ),
    Case(
        f"{T} checker-test / G1b (repeatable read)",
        ops=[rw("wx1wx2"), rw("rx1")],
        opts={"consistency-models": ["repeatable-read"]},
        valid=False,
        types=("G1b", "empty-transaction-graph"),
        not_=("read-committed",),
    ),
    Case(
        f"{T} checker-test / G-single transaction-order (without it)",
        ops=[rw("rx_wy2"), rw("wx3wy4")],
        opts={"consistency-models": ["serializable"]},
        valid=True,
        types=(),
    ),
    Case(f"{T} checker-test / G-single transaction-order (with it)", skip=TXN_ORDER),
    Case(
        f"{T} checker-test / G2-item transaction-order (without it)",
        ops=[rw("wx1wy2wz3"), rw("rx1wy5"), rw("rz3wx4"), rw("wz7wy8")],
        opts={"consistency-models": ["serializable"]},
        valid=True,
        types=(),
    ),
    Case(f"{T} checker-test / G2-item transaction-order (with it)", skip=TXN_ORDER),
)
G1C = [rw("wx1ry1"), rw("wy1rx1")]
add(
    Case(
        f"{T} checker-test / G1c (G0 asked)",
        ops=G1C,
        opts={"consistency-models": None, "anomalies": ["G0"]},
        valid=True,
        types=(),
    ),
    Case(
        f"{T} checker-test / G1c (read uncommitted)",
        ops=G1C,
        opts={"consistency-models": ["read-uncommitted"]},
        valid=True,
        types=(),
    ),
    Case(
        f"{T} checker-test / G1c (G1 asked)",
        ops=G1C,
        opts={"consistency-models": None, "anomalies": ["G1"]},
        valid=False,
        types=("G1c",),
        not_=("read-committed",),
    ),
    Case(
        f"{T} checker-test / G1c (read committed)",
        ops=G1C,
        opts={"consistency-models": ["read-committed"]},
        valid=False,
        types=("G1c",),
        not_=("read-committed",),
    ),
    Case(
        f"{T} checker-test / G1c (G2 asked)",
        ops=G1C,
        opts={"consistency-models": None, "anomalies": ["G2"]},
        valid=True,
        types=(),
    ),
    Case(
        f"{T} checker-test / G1c (serializable)",
        ops=G1C,
        opts={"consistency-models": ["serializable"]},
        valid=False,
        types=("G1c",),
        not_=("read-committed",),
    ),
    Case(
        f"{T} checker-test / writing files",
        skip="checks the text file Elle writes (test-output/G1c.txt); explanations here are "
        "part of the result (the same cycle, edge by edge)",
    ),
)
t1, t1_ = pair(rw("rx1ry1", 0))
t2, t2_ = pair(rw("rx1wy2", 1))
t3, t3_ = pair(rw("ry1wx2", 2))
add(
    Case(
        f"{T} checker-test / G2-item (read committed, linearizable keys)",
        ops=[t1, t1_, t2, t3, t3_, t2_],
        opts={"consistency-models": ["read-committed"], "linearizable-keys?": True},
        valid=True,
        types=(),
    ),
    Case(
        f"{T} checker-test / internal",
        ops=[rw("rx1rx2")],
        opts={"consistency-models": None, "anomalies": ["internal"]},
        valid=False,
        types=("empty-transaction-graph", "internal"),
        not_=("read-atomic",),
    ),
)
t1, t1_ = pair(rw("rx_ry1", 0))
t2, t2_ = pair(rw("wy1wx2", 0))
add(
    Case(
        f"{T} checker-test / initial state",
        ops=[t1, t2, t2_, t1_],
        opts={"consistency-models": ["serializable"]},
        valid=False,
        types=("G-single-item",),
        not_=("consistent-view", "repeatable-read"),
    ),
    Case(
        f"{T} checker-test / wfr (off)",
        ops=[rw("ry1wx1wy2"), rw("rx1ry1")],
        opts={"wfr-keys?": False, "consistency-models": ["serializable"]},
        valid=True,
        types=(),
    ),
    Case(
        f"{T} checker-test / wfr (on)",
        ops=[rw("ry1wx1wy2"), rw("rx1ry1")],
        opts={"wfr-keys?": True, "consistency-models": ["serializable"]},
        valid=False,
        types=("G-single-item",),
        not_=("consistent-view", "repeatable-read"),
    ),
    Case(
        f"{T} checker-test / cyclic version order",
        ops=pairs(rw("wx1"), rw("wx2"), rw("rx1")),
        opts={"sequential-keys?": True},
        valid=False,
        types=("cyclic-versions",),
        not_=("read-uncommitted",),
    ),
    Case(f"{T} type-sanity", skip="mixes Java integer types (short, long): Python has one"),
    Case(
        f"{T} lost-update-test",
        ops=pairs(rw("rx0wx1", 0), rw("rx0wx2", 1)),
        opts={},
        valid=False,
        types=("lost-update",),
        not_=("update-atomic", "cursor-stability"),
    ),
    Case(
        f"{T} scc-sort-bug-test",
        ops=pairs(rw("rx1"), rw("rx_"), rw("rx4wx3"), rw("wx4")),
        opts={
            "consistency-models": ["strong-serializable"],
            "wfr-keys?": True,
            "linearizable-keys?": True,
        },
        valid=False,
        types=("G1c-realtime", "cyclic-versions"),
        not_=("read-uncommitted",),
        differs="T4 wrote x = 4, which T3 read and overwrote: the edge T4 -> T3 is both ww "
        "and wr. Elle's rw-register explains an edge by wr first and so names the cycle "
        "T3 -realtime-> T4 -> T3 G1c-realtime; this checker names a cycle of ww and real-time "
        "edges G0-realtime, which implies G1c-realtime (the same models are ruled out)",
    ),
)


def op(index: int, time: int, typ: str, process: int, value: list[Any]) -> dict[str, Any]:
    return {
        "index": index, "time": time, "type": typ, "process": process, "f": "txn",
        "value": value,
    }  # fmt: skip


add(
    Case(
        f"{T} cyclic-versions-bug-test",
        ops=[
            op(1, 33189116, "invoke", 0, []),
            op(2, 34621247, "ok", 0, []),
            op(3, 36022782, "invoke", 0, [["r", 1, None]]),
            op(4, 36230324, "invoke", 1, [["w", 1, 4]]),
            op(5, 36827540, "invoke", 2, []),
            op(320, 37708797, "ok", 0, [["r", 1, None]]),
            op(322, 37894295, "ok", 1, [["w", 1, 4]]),
            op(323, 37992467, "ok", 2, []),
            op(324, 38532405, "invoke", 0, []),
            op(325, 39475568, "ok", 0, []),
            op(326, 39956694, "invoke", 0, [["r", 1, None]]),
            op(327, 40746079, "ok", 0, [["r", 1, 4]]),
        ],
        opts={"consistency-models": ["serializable"], "linearizable-keys?": True},
        valid=True,
        types=(),
    ),
    *[Case(f"{T} perfect-perf-test ({i})", skip=PERF) for i in (1, 2)],
)

# --- list_append_test.clj ------------------------------------------------------------------

T = LA_TEST
add(Case(f"{T} op-test", skip=HELPER))
add(
    Case(
        f"{T} ww-graph-test / write-write",
        "graph",
        [la("ax1"), la("ax2"), la("rx12")],
        rels=WW,
        graph={0: {1}},
    ),
    Case(
        f"{T} wr-graph-test / basic read",
        "graph",
        [la("ax1"), la("rx1"), la("ax2"), la("rx12")],
        rels=WR,
        graph={0: {1}, 2: {3}},
    ),
)


def gop(value: list[Any]) -> dict[str, Any]:
    """graph-test's ops: {:process 0, :type :ok, :value ...}, no :f."""
    return {"process": 0, "type": "ok", "value": value}


A, R = "append", "r"
ax1 = gop([[A, "x", 1]])
ax2 = gop([[A, "x", 2]])
ax1ay1 = gop([[A, "x", 1], [A, "y", 1]])
ax1ry1 = gop([[A, "x", 1], [R, "y", [1]]])
ax2ay1 = gop([[A, "x", 2], [A, "y", 1]])
ax2ay2 = gop([[A, "x", 2], [A, "y", 2]])
az1ax1ay1 = gop([[A, "z", 1], [A, "x", 1], [A, "y", 1]])
rxay1 = gop([[R, "x", None], [A, "y", 1]])
ryax1 = gop([[R, "y", None], [A, "x", 1]])
rx1ry1 = gop([[R, "x", [1]], [R, "y", [1]]])
rx1ay2 = gop([[R, "x", [1]], [A, "y", 2]])
ry12az3 = gop([[R, "y", [1, 2]], [A, "z", 3]])
rz13 = gop([[R, "z", [1, 3]]])
rx = gop([[R, "x", None]])
rx1 = gop([[R, "x", [1]]])
rx12 = gop([[R, "x", [1, 2]]])
rx12ry21 = gop([[R, "x", [1, 2]], [R, "y", [2, 1]]])
G = "graph-test"
add(
    Case(f"{T} {G} / empty history", "graph", [], graph={}),
    Case(f"{T} {G} / one append", "graph", [ax1], graph={}),
    Case(f"{T} {G} / empty read", "graph", [rx], graph={}),
    Case(f"{T} {G} / one append one read", "graph", [ax1, rx1], graph={0: {1}}),
    Case(f"{T} {G} / read empty, append, read", "graph", [rx, ax1, rx1], graph={0: {1}, 1: {2}}),
    Case(f"{T} {G} / append, append, read", "graph", [ax2, ax1, rx12], graph={1: {0}, 0: {2}}),
    Case(
        f"{T} {G} / serializable figure 3 from Adya, Liskov, O'Neil",
        "graph",
        [az1ax1ay1, rx1ay2, ry12az3, rz13],
        graph={0: {1, 2}, 1: {2}, 2: {3}},
    ),
    Case(
        f"{T} {G} / G0: write cycle",
        "graph",
        [ax1ay1, ax2ay2, rx12ry21],
        graph={0: {1, 2}, 1: {0, 2}},
    ),
    Case(
        f"{T} {G} / G1c: circular information flow",
        "graph",
        [ax1ry1, ax2ay1, rx12],
        graph={0: {1}, 1: {2, 0}},
    ),
    Case(
        f"{T} {G} / G2: anti-dependency cycle (graph)",
        "graph",
        [rxay1, ryax1, rx1ry1],
        graph={0: {1, 2}, 1: {0, 2}},
    ),
    Case(
        f"{T} {G} / G2: anti-dependency cycle (check)",
        "cycle",
        [rxay1, ryax1, rx1ry1],
        valid=False,
    ),
    Case(
        f"{T} {G} / info reads",
        "graph",
        [
            {"type": "info", "value": [[A, "x", 2], [R, "y", None]]},
            {"type": "ok", "value": [[A, "x", 1], [A, "y", 1]]},
            {"type": "ok", "value": [[R, "x", [1, 2]], [R, "y", [1]]]},
        ],
        graph={0: {2}, 1: {2, 0}},
    ),
    Case(f"{T} {G} / single appends without reads", "graph", [rx, ax1], graph={0: {1}}),
    Case(f"{T} {G} / multiple appends without reads", "graph", [rx, ax1, ax2], graph={0: {1, 2}}),
)
DUP = [
    {"index": 0, "type": "invoke", "value": [[A, "x", 1], [R, "y", None]]},
    {"index": 1, "type": "invoke", "value": [[A, "y", 2], [A, "x", 1]], "f": None, "time": -1},
]
add(
    *[
        Case(
            f"{T} {G} / duplicate inserts attempts ({what})",
            ops=DUP,
            error=True,
            says=says,
        )
        for what, says in (("the op", "and 2"), ("the key", "'x'"), ("the value", "of 1"))
    ]
)
add(
    Case(f"{T} g1a-cases-test / empty", "finds", [], only=("G1a",), types=()),
    Case(
        f"{T} g1a-cases-test / valid and invalid reads",
        "finds",
        [la("rx1ax2"), la("rx12ry3"), {"process": 0, "type": "fail", "value": [[A, "x", 1]]}],
        only=("G1a",),
        types=("G1a",),
        count=2,
        differs="Elle lists each read of the failed append (2); this checker reports the "
        "shortest read holding each bad element once (1): both find G1a",
    ),
    Case(f"{T} g1b-cases-test / empty", "finds", [], only=("G1b",), types=()),
    Case(
        f"{T} g1b-cases-test / valid and invalid reads",
        "finds",
        [la("rx1"), la("rx12ry3"), la("ax1ax2"), la("rx123")],
        only=("G1b",),
        types=("G1b",),
        count=1,
    ),
    Case(
        f"{T} g1b-cases-test / internal reads",
        "finds",
        [la("ax1rx1ax2")],
        only=("G1b",),
        types=(),
    ),
)
INT = ("internal", "future-read")
add(
    Case(f"{T} internal-cases-test / empty", "finds", [], only=INT, types=()),
    Case(
        f"{T} internal-cases-test / good",
        "finds",
        [
            {
                "process": 0,
                "type": "ok",
                "value": [
                    [R, "y", [5, 6]],
                    [A, "x", 3],
                    [R, "x", [1, 2, 3]],
                    [A, "x", 4],
                    [R, "x", [1, 2, 3, 4]],
                ],
            }
        ],
        only=INT,
        types=(),
    ),
    Case(
        f"{T} internal-cases-test / read nil, then something",
        "finds",
        pair(la("rxrx2")),
        only=INT,
        types=("internal",),
        count=1,
    ),
    Case(
        f"{T} internal-cases-test / read-append-read",
        "finds",
        [
            gop([[R, "x", [1, 2]], [A, "x", 3], [R, "x", [1, 2]]]),
            gop([[R, "x", [1, 2]], [A, "x", 3], [R, "x", [0, 2, 3]]]),
            gop([[R, "x", [1, 2]], [A, "x", 3], [R, "x", [1, 2, 3, 4]]]),
            gop([[R, "x", [1, 2]], [A, "x", 3], [R, "x", [1]]]),
        ],
        only=INT,
        types=("internal",),
        count=4,
        differs=DUPLICATES.format(n="four txns append 3"),
    ),
    Case(
        f"{T} internal-cases-test / append-read",
        "finds",
        [gop([[A, "x", 3], [R, "x", [1, 2, 3, 4]]]), gop([[A, "x", 3], [R, "x", []]])],
        only=INT,
        types=("internal",),
        count=2,
        differs=DUPLICATES.format(n="both txns append 3"),
    ),
    Case(
        f"{T} internal-cases-test / FaunaDB example",
        "finds",
        [
            {"type": "invoke", "f": "txn", "value": [[A, 0, 6], [R, 0, None]], "process": 1},
            {"type": "ok", "f": "txn", "value": [[A, 0, 6], [R, 0, None]], "process": 1},
        ],
        only=INT,
        types=("internal",),
        count=1,
    ),
    Case(
        f"{T} internal-cases-test / future read external",
        "finds",
        pair(la("rx012ax1")),
        only=INT,
        types=("future-read",),
        count=1,
    ),
    Case(
        f"{T} internal-cases-test / future read internal",
        "finds",
        pair(la("ax1rx01ax0ax3")),
        only=INT,
        types=("future-read",),
        count=1,
    ),
)

# checker-test
C = "checker-test"
NIL = {"consistency-models": None}


def asked(*names: str) -> dict[str, Any]:
    return {**NIL, "anomalies": list(names)}


H = [la("ax1ay1"), la("ax2ay2"), la("rx12ry21")]
add(
    Case(f"{T} {C} / G0 (G0 asked)", ops=H, opts=asked("G0"), valid=False, types=("G0",),
         not_=("read-uncommitted",)),
    Case(f"{T} {C} / G0 (G1 asked)", ops=H, opts=asked("G1"), valid=False, types=("G0",),
         not_=("read-uncommitted",)),
    Case(f"{T} {C} / G0 (G2 asked)", ops=H, opts=asked("G2"), valid=True, types=()),
)  # fmt: skip
H = [{"process": 0, "type": "fail", "value": [[A, "x", 1]]}, la("rx1")]
E = "empty-transaction-graph"
add(
    Case(f"{T} {C} / G1a (read uncommitted)", ops=H,
         opts={"consistency-models": ["read-uncommitted"]}, valid="unknown", types=(E,),
         not_=("read-committed",)),
    Case(f"{T} {C} / G1a (read committed)", ops=H,
         opts={"consistency-models": ["read-committed"]}, valid=False, types=("G1a", E),
         not_=("read-committed",)),
    Case(f"{T} {C} / G1a (G2 asked)", ops=H, opts=asked("G2"), valid="unknown", types=(E,),
         not_=("read-committed",)),
    Case(f"{T} {C} / G1a (repeatable read)", ops=H,
         opts={"consistency-models": ["repeatable-read"]}, valid=False, types=("G1a", E),
         not_=("read-committed",)),
)  # fmt: skip
H = pairs(la("ax1ax2"), la("rx1"))
add(
    Case(f"{T} {C} / G1b (G0 asked)", ops=H, opts=asked("G0"), valid=True, types=()),
    Case(f"{T} {C} / G1b (G1 asked)", ops=H, opts=asked("G1"), valid=False, types=("G1b",),
         not_=("read-committed",)),
    Case(f"{T} {C} / G1b (G2 asked)", ops=H, opts=asked("G2"), valid=False,
         types=("G-single-item",), not_=("read-committed",)),
    Case(f"{T} {C} / G1b (strict serializable)", ops=H, opts=SS, valid=False,
         types=("G-single-item", "G1b"), not_=("read-committed",)),
)  # fmt: skip
H = [la("ax1ry1"), la("ax2ay1"), la("rx12ry1")]
add(
    Case(f"{T} {C} / G1c (G0 asked)", ops=H, opts=asked("G0"), valid=True, types=()),
    Case(f"{T} {C} / G1c (G1 asked)", ops=H, opts=asked("G1"), valid=False, types=("G1c",),
         not_=("read-committed",)),
    Case(f"{T} {C} / G1c (G2 asked)", ops=H, opts=asked("G2"), valid=True, types=()),
)  # fmt: skip
H = [la("ax1ay1"), la("ax2ry"), la("rx12")]
GS = ("consistent-view", "repeatable-read")
add(
    Case(f"{T} {C} / G-single (G0 asked)", ops=H, opts=asked("G0"), valid=True, types=()),
    Case(f"{T} {C} / G-single (G1 asked)", ops=H, opts=asked("G1"), valid=True, types=()),
    Case(f"{T} {C} / G-single (G-single asked)", ops=H, opts=asked("G-single"), valid=False,
         types=("G-single-item",), not_=GS),
    Case(f"{T} {C} / G-single (G2 asked)", ops=H, opts=asked("G2"), valid=False,
         types=("G-single-item",), not_=GS),
)  # fmt: skip
H = [la("ax1ry"), la("ay1rx")]
add(
    Case(f"{T} {C} / G2 (G0 asked)", ops=H, opts=asked("G0"), valid=True, types=()),
    Case(f"{T} {C} / G2 (G1 asked)", ops=H, opts=asked("G1"), valid=True, types=()),
    Case(f"{T} {C} / G2 (read committed)", ops=H,
         opts={"consistency-models": ["read-committed"]}, valid=True, types=()),
    Case(f"{T} {C} / G2 (G2 asked)", ops=H, opts=asked("G2"), valid=False, types=("G2-item",),
         not_=("repeatable-read",)),
    Case(f"{T} {C} / G2 (serializable)", ops=H, opts={"consistency-models": ["serializable"]},
         valid=False, types=("G2-item",), not_=("repeatable-read",)),
    Case(f"{T} {C} / G2 (repeatable read)", ops=H,
         opts={"consistency-models": ["repeatable-read"]}, valid=False, types=("G2-item",),
         not_=("repeatable-read",)),
)  # fmt: skip


def iop(process: int, index: int, typ: str, value: list[Any]) -> dict[str, Any]:
    """An op map as these tests write them: :process, :index, :type, :value; no :f."""
    return {"process": process, "index": index, "type": typ, "value": value}


H = [
    iop(0, 0, "invoke", [[A, "x", 1]]),
    iop(0, 1, "ok", [[A, "x", 1]]),
    iop(1, 2, "invoke", [[A, "x", 2]]),
    iop(1, 3, "ok", [[A, "x", 2]]),
    iop(2, 4, "invoke", [[R, "x", None]]),
    iop(2, 5, "ok", [[R, "x", [1]]]),
    iop(3, 6, "invoke", [[R, "x", None]]),
    iop(3, 7, "ok", [[R, "x", [1, 2]]]),
]
add(
    Case(f"{T} {C} / Strong SI violation (G2 asked)", ops=H, opts=asked("G2"), valid=True,
         types=()),
    Case(f"{T} {C} / Strong SI violation (serializable)", ops=H,
         opts={"consistency-models": ["serializable"]}, valid=True, types=()),
    Case(f"{T} {C} / Strong SI violation (strict serializable)", ops=H, opts=SS, valid=False,
         types=("G-single-item-realtime",), not_=("strong-snapshot-isolation",)),
)  # fmt: skip
H = [*H[:4], {**H[4], "process": 1}, {**H[5], "process": 1}, {**H[6], "process": 2},
     {**H[7], "process": 2}]  # fmt: skip
SSSI = {"consistency-models": ["strong-session-snapshot-isolation"]}
add(
    Case(f"{T} {C} / Strong Session SI violation (serializable)", ops=H,
         opts={"consistency-models": ["serializable"]}, valid=True, types=()),
    Case(f"{T} {C} / Strong Session SI violation (strong session SI)", ops=H, opts=SSSI,
         valid=False, types=("G-single-item-process",),
         not_=("strong-session-snapshot-isolation",)),
)  # fmt: skip
H = [
    iop(0, 0, "invoke", [[R, "x", None], [R, "z", None]]),
    iop(0, 1, "ok", [[R, "x", None], [R, "z", [1]]]),
    iop(1, 2, "invoke", [[A, "x", 1]]),
    iop(1, 3, "ok", [[A, "x", 1]]),
    iop(1, 4, "invoke", [[R, "z", None]]),
    iop(1, 5, "ok", [[R, "z", None]]),
    iop(2, 6, "invoke", [[A, "z", 1]]),
    iop(2, 7, "ok", [[A, "z", 1]]),
]
add(
    Case(f"{T} {C} / G-nonadjacent-process (serializable)", ops=H,
         opts={"consistency-models": ["serializable"]}, valid=True, types=()),
    Case(f"{T} {C} / G-nonadjacent-process (strong session SI)", ops=H, opts=SSSI,
         valid=False, types=("G-nonadjacent-item-process",),
         not_=("strong-session-snapshot-isolation",)),
    Case(f"{T} {C} / contradictory read orders",
         ops=[la("ax1ry1"), la("ax2"), la("ax3ay1"), la("rx13"), la("rx123")],
         opts=asked("G1"), valid=False, types=("G1c", "incompatible-order"),
         not_=("read-committed",)),
    Case(f"{T} {C} / contradictory read orders (HTML file)",
         skip="checks the HTML page Elle writes for incompatible orders"),
    Case(f"{T} {C} / dirty update / none", ops=[la("ax1", 0, "fail")],
         opts=asked("dirty-update"), valid="unknown", types=(E,), not_=()),
    Case(f"{T} {C} / dirty update / direct",
         ops=[la("ax1", 0, "fail"), la("ax2", 1, "ok"), la("rx12", 2, "ok")],
         opts=asked("dirty-update"), valid=False, types=("dirty-update",),
         not_=("read-committed",)),
    Case(f"{T} {C} / dirty update / indirect",
         ops=[la("ax1", 0, "fail"), la("ax2", 1, "info"), la("ax3", 2, "ok"),
              la("rx123", 3, "ok")],
         opts=asked("dirty-update"), valid=False, types=("dirty-update",),
         not_=("read-committed",)),
    Case(f"{T} {C} / duplicated elements",
         ops=[la("ax1ry1"), la("ax2ay1"), la("rx121")],
         opts={"consistency-models": ["read-committed"]}, valid=False,
         types=("G1c", "duplicate-elements"), not_=("read-uncommitted",)),
    Case(f"{T} {C} / internal consistency violation",
         ops=[la("ax1ax2ax4"), la("ax3rx1234")], opts=asked("internal"), valid=False,
         types=("internal",), not_=("read-uncommitted",)),
)  # fmt: skip
w1, w1_ = pair(la("ax1ay1"))
w2, w2_ = pair(la("ax2ay2"))
w3, w3_ = pair(la("ax3ay3"))
rx_, rx__ = pair(la("rx12"))
ry_, ry__ = pair(la("ry2"))
add(
    Case(
        f"{T} unobserved-write-test",
        ops=[w1, w2, w3, rx_, ry_, w1_, w2_, w3_, rx__, ry__],
        opts={"consistency-models": ["serializable"]},
        valid=False,
        types=("G-single-item", "G0"),
        not_=("read-uncommitted",),
    ),
    Case(
        f"{T} repeatable-read-test (read committed)",
        ops=[la("rxay1"), la("ryax1")],
        opts={"consistency-models": ["read-committed"]},
        valid=True,
        types=(),
    ),
    Case(
        f"{T} repeatable-read-test (repeatable read)",
        ops=[la("rxay1"), la("ryax1")],
        opts={"consistency-models": ["repeatable-read"]},
        valid=False,
        types=("G2-item",),
        not_=("repeatable-read",),
    ),
    *[
        Case(f"{T} huge-scc-test ({i})", skip="an ^:perf test on Elle's 2.8 MB "
             "histories/huge-scc.edn, asserting Elle's own cycle-search timeout")
        for i in range(1, 7)
    ],
    Case(
        f"{T} G-nonadjacent-test (found)",
        ops=pairs(la("ax1"), la("rx1ry"), la("ay1"), la("ry1rx")),
        opts={},
        valid=False,
        types=("G-nonadjacent-item",),
        not_=("snapshot-isolation", "repeatable-read"),
    ),
    Case(
        f"{T} G-nonadjacent-test (adjacent rw: not G-nonadjacent)",
        ops=pairs(la("rx5ay1"), la("ryaz2"), la("rzat3"), la("rt3au4"), la("ruax5")),
        opts={"consistency-models": ["snapshot-isolation"]},
        valid=True,
        types=(),
    ),
    Case(
        f"{T} lost-update-test",
        ops=pairs(la("ax0"), la("rx0ax1"), la("rx0ax2")),
        opts={},
        valid=False,
        types=("G2-item", "lost-update"),
        not_=("update-atomic", "cursor-stability"),
    ),
    Case(
        f"{T} lost-update-test / one txn, double write",
        ops=pairs(la("rxax1ax2"), la("rx12")),
        opts={},
        valid=True,
        types=(),
    ),
    Case(
        f"{T} wr-process-test",
        ops=[
            {"process": 1, "type": "invoke", "f": "txn", "value": [[R, "x"], [A, "y", 1]],
             "index": 0},
            {"process": 1, "type": "ok", "f": "txn", "value": [[R, "x", [1]], [A, "y", 1]],
             "index": 1},
            {"process": 2, "type": "invoke", "f": "txn", "value": [[R, "y"]], "index": 2},
            {"process": 2, "type": "ok", "f": "txn", "value": [[R, "y", [1]]], "index": 3},
            {"process": 2, "type": "invoke", "f": "txn", "value": [[A, "x", 1]], "index": 4},
            {"process": 2, "type": "ok", "f": "txn", "value": [[A, "x", 1]], "index": 5},
        ],
        opts=SSSI,
        valid=False,
        types=("G1c-process",),
        not_=("strong-session-read-committed",),
    ),
    Case(
        f"{T} rr-g-single-item-test",
        ops=pairs(la("ax1ay1"), la("rx1ry")),
        opts={"consistency-models": ["repeatable-read"]},
        valid=False,
        types=("G-single-item",),
        not_=("consistent-view", "repeatable-read"),
    ),
    Case(
        f"{T} rr-g-nonadjacent-item-test",
        ops=pairs(la("ax1at1"), la("rx1ry"), la("ay1az2"), la("rz2rt")),
        opts={"consistency-models": ["repeatable-read"]},
        valid=False,
        types=("G-nonadjacent-item",),
        not_=("repeatable-read", "snapshot-isolation"),
    ),
    Case(
        f"{T} future-read-test",
        ops=[
            {"process": 0, "type": "invoke", "f": "txn", "value": [[R, "x", [1]], [A, "x", 1]]},
            {"process": 0, "type": "ok", "f": "txn", "value": [[R, "x", [1]], [A, "x", 1]]},
        ],
        opts={"consistency-models": ["read-committed"]},
        valid=False,
        types=(E, "future-read"),
        not_=("read-committed",),
    ),
)  # fmt: skip

# histories/si-without-g-single.edn (four txns), transcribed
SI_WITHOUT = [
    op(10, 0, "invoke", 2, [[A, 9, 2]]),
    op(11, 0, "ok", 2, [[A, 9, 2]]),
    op(20, 0, "invoke", 4, [[A, 8, 1], [R, 9, None]]),
    op(21, 0, "ok", 4, [[A, 8, 1], [R, 9, None]]),
    op(30, 0, "invoke", 7, [[R, 6, None], [R, 8, None], [A, 9, 5]]),
    op(31, 0, "ok", 7, [[R, 6, None], [R, 8, None], [A, 9, 5]]),
    op(40, 0, "invoke", 9, [[A, 6, 2], [R, 9, None]]),
    op(41, 0, "ok", 9, [[A, 6, 2], [R, 9, [2]]]),
]
SI_RR = {"consistency-models": ["snapshot-isolation", "repeatable-read"]}
add(
    Case(f"{T} intermediate-sequential-extension-test (anomalies)", ops=SI_WITHOUT, opts=SI_RR,
         types=("G2-item",)),
    Case(f"{T} intermediate-sequential-extension-test (not)", ops=SI_WITHOUT, opts=SI_RR,
         types=None, not_=("repeatable-read",)),
)  # fmt: skip


def unfindable_g_single() -> list[dict[str, Any]]:
    """unfindable-g-single's history: a ring of 1000 appends with one G-single, flooded
    with 998 chains of 29 txns that make G2-item cycles (Elle's own construction)."""
    n, noise_n = 1000, 30
    ring = []
    for i in range(n):
        extra: list[Any] = (
            [A, "anti", "first"] if i == 0 else [R, "anti", None] if i == n - 1 else [A, i, 0]
        )
        ring.append({"type": "ok", "process": 0, "value": [[A, "ring", i], extra]})
    read = [{"type": "ok", "process": 1, "value": [[R, "ring", list(range(n))]]}]
    noise = []
    for i in range(1, n - 1):
        for j in range(1, noise_n):
            if j == noise_n - 2:
                value = [[R, i, list(range(noise_n - 2))], [R, ["anti", i], None]]
            elif j == noise_n - 1:
                value = [[A, ["anti", i], 0], [R, "ring", None]]
            else:
                value = [[A, i, j]]
            noise.append({"type": "ok", "process": 2, "value": value})
    return pairs(*ring, *read, *noise)


add(
    Case(
        f"{T} unfindable-g-single",
        ops=unfindable_g_single(),
        opts={"consistency-models": ["snapshot-isolation"]},
        valid=False,
        types=("PL-SI-cycle-exists", "cycle-search-timeout"),
        not_=("snapshot-isolation", "repeatable-read"),
        differs="Elle's test is built to make Elle's G-single search time out "
        "(cycle-search-timeout) and then prove from a strongly connected component that one "
        "exists (PL-SI-cycle-exists); this checker's search finds the G-single itself. The "
        "verdict and the models ruled out agree",
    ),
    *[Case(f"{T} sim-prefix-test ({i})", skip=SIM) for i in range(1, 4)],
    Case(f"{T} sim-si-test", skip=SIM),
    Case(f"{T} sim-ssi-test", skip=SIM),
    *[
        Case(f"{T} {name} ({i})", skip=PERF)
        for name, count in (
            ("perfect-perf-test", 2),
            ("sim-prefix-perf-test", 4),
            ("sim-si-perf-test", 6),
            ("sim-si-strong-session-serializable-perf-test", 6),
            ("sim-ssi-perf-test", 2),
            ("sloppy-perf-test", 6),
        )
        for i in range(1, count + 1)
    ],
)

# --- consistency_model_test.clj --------------------------------------------------------------

T = CM_TEST
NOT_HERE = "names anomalies or models this checker does not have ({what})"


def implies(a: str, b: str) -> bool:
    """Model a implies model b, in consistency.py's table."""
    if a == b:
        return True
    return any(implies(w, b) for w in cm._TABLE[a][1])


def weakest(ms: list[str]) -> set[str]:
    return {m for m in ms if not any(o != m and implies(m, o) for o in ms)}


def strongest(ms: list[str]) -> set[str]:
    return {m for m in ms if not any(o != m and implies(o, m) for o in ms)}


def ours(names: list[str]) -> list[str]:
    return [ELLE_NAME.get(n, n) for n in names]


def ruled(anomalies: list[str]) -> set[str]:
    return set(cm.ruled_out(anomalies))


def elle_ruled(not_: set[str], also_not: set[str] | None = None) -> set[str]:
    return set().union(*(IMPLYING[m] for m in (not_ | (also_not or set()))))


READ_COMMITTED = {
    "dirty-update", "G1a", "G1b", "G1c", "G1", "G0", "PL-1-cycle-exists",
    "PL-2-cycle-exists", "cyclic-versions", "duplicate-elements", "incompatible-order",
    "future-read",
}  # fmt: skip
FOUND_HERE = set(cm.SEVERITY)


def prohibited_by_rc() -> tuple[set[str], set[str]]:
    mine = {a for a in FOUND_HERE if a not in ("garbage-read",)}
    ours_rc = {a for a in mine if cm.prohibited([a], cm.MODELS["read-committed"])}
    return ours_rc, READ_COMMITTED & FOUND_HERE


def unknown_model() -> tuple[str, str]:
    try:
        cm.get_consistency("stricct-snappshot-isolation")
    except ValueError as exc:
        return ("refused" if "unknown consistency model" in str(exc) else str(exc)), "refused"
    return "accepted", "refused"


DIRTY_UPDATE = {
    "read-committed", "monotonic-atomic-view", "snapshot-isolation", "repeatable-read",
    "update-atomic", "serializable", "strong-serializable", "update-serializable",
    "cursor-stability", "forward-consistent-view", "consistent-view", "monotonic-view",
    "monotonic-snapshot-read", "causal-cerone", "parallel-snapshot-isolation", "prefix",
    "read-atomic", "strong-session-read-committed", "strong-session-serializable",
    "strong-session-snapshot-isolation", "strong-read-committed", "strong-snapshot-isolation",
}  # fmt: skip
INTERNAL = {
    "causal-cerone", "parallel-snapshot-isolation", "prefix", "read-atomic", "update-atomic",
    "serializable", "snapshot-isolation", "strong-serializable", "strong-session-serializable",
    "strong-session-snapshot-isolation", "strong-snapshot-isolation",
}  # fmt: skip
CYCLIC_ALSO = {
    "read-committed", "snapshot-isolation", "causal-cerone", "consistent-view",
    "cursor-stability", "forward-consistent-view", "monotonic-atomic-view",
    "monotonic-snapshot-read", "monotonic-view", "parallel-snapshot-isolation", "prefix",
    "read-atomic", "repeatable-read", "update-atomic", "serializable", "strong-read-committed",
    "strong-read-uncommitted", "strong-serializable", "strong-session-read-committed",
    "strong-session-read-uncommitted", "strong-session-serializable",
    "strong-session-snapshot-isolation", "strong-snapshot-isolation", "update-serializable",
}  # fmt: skip
G1A_ALSO = {
    "read-atomic", "update-atomic", "causal-cerone", "consistent-view", "cursor-stability",
    "forward-consistent-view", "monotonic-atomic-view", "monotonic-snapshot-read",
    "monotonic-view", "parallel-snapshot-isolation", "prefix", "repeatable-read",
    "serializable", "snapshot-isolation", "strong-read-committed", "strong-snapshot-isolation",
    "strong-serializable", "strong-session-read-committed", "strong-session-serializable",
    "strong-session-snapshot-isolation", "update-serializable",
}  # fmt: skip
G_SINGLE = {
    "consistent-view", "forward-consistent-view", "strong-serializable", "serializable",
    "snapshot-isolation", "strong-session-serializable", "strong-session-snapshot-isolation",
    "strong-snapshot-isolation", "update-serializable",
}  # fmt: skip
ITEM = (
    "Elle's G-single there is its predicate-general anomaly, which repeatable read allows; "
    "this checker's G-single is Elle's G-single-item (every dependency here is on an item), "
    "which repeatable read rules out too: the two answers differ by repeatable-read alone"
)
add(
    Case(f"{T} implied-anomalies-test", skip="checks that Elle's names are Clojure keywords"),
    Case(f"{T} all-anomalies-test", skip=NOT_HERE.format(what="the order of Elle's 60 "
         "anomaly names: predicates, GSI, cycle-exists")),
    Case(f"{T} all-implied-anomalies-test", skip=NOT_HERE.format(what="G-SI")),
    Case(f"{T} weakest-models-test / empty", "models", models=lambda: (weakest([]), set())),
    Case(f"{T} weakest-models-test / simple", "models",
         models=lambda: (weakest(ours(["serializable", "strict-serializable"])),
                         {"serializable"})),
    Case(f"{T} weakest-models-test / independent",
         skip=NOT_HERE.format(what="sequential, read-your-writes")),
    Case(f"{T} weakest-models-test / cerone-end-to-end",
         skip=NOT_HERE.format(what="read-atomic")),
    Case(f"{T} strongest-models-test / empty", "models", models=lambda: (strongest([]), set())),
    Case(f"{T} strongest-models-test / simple", "models",
         models=lambda: (strongest(ours(["serializable", "strong-serializable",
                                          "strict-serializable"])),
                         set(ours(["strong-serializable"])))),
    Case(f"{T} strongest-models-test / independent",
         skip=NOT_HERE.format(what="sequential, read-your-writes")),
    Case(f"{T} strongest-models-test / cerone-end-to-end",
         skip=NOT_HERE.format(what="read-atomic")),
    Case(f"{T} anomalies-prohibited-by-test / read committed", "models",
         models=prohibited_by_rc),
    Case(f"{T} anomalies-prohibited-by-test / unknown anomaly", "models", models=unknown_model),
    Case(f"{T} anomaly->impossible-models-test / G-single", "models",
         models=lambda: (ruled(["G-single"]), elle_ruled(G_SINGLE)), differs=ITEM),
    Case(f"{T} anomaly->impossible-models-test / G-SI", skip=NOT_HERE.format(what="G-SI")),
    Case(f"{T} anomaly->impossible-models-test / dirty update", "models",
         models=lambda: (ruled(["dirty-update"]), elle_ruled(DIRTY_UPDATE))),
    Case(f"{T} anomaly->impossible-models-test / internal", "models",
         models=lambda: (ruled(["internal"]), elle_ruled(INTERNAL))),
    Case(f"{T} friendly-boundary-test / empty", "models", models=lambda: (ruled([]), set())),
    Case(f"{T} friendly-boundary-test / cyclic-versions", "models",
         models=lambda: (ruled(["cyclic-versions"]),
                         elle_ruled({"read-uncommitted"}, CYCLIC_ALSO))),
    Case(f"{T} friendly-boundary-test / internal", "models",
         models=lambda: (ruled(["internal"]), elle_ruled({"read-atomic"}, INTERNAL))),
    Case(f"{T} friendly-boundary-test / G1a", "models",
         models=lambda: (ruled(["G1a"]), elle_ruled({"read-committed"}, G1A_ALSO))),
    Case(f"{T} friendly-boundary-test / G-single", "models",
         models=lambda: (ruled(["G-single"]), elle_ruled({"consistent-view"}, G_SINGLE)),
         differs=ITEM),
    Case(f"{T} friendly-boundary-test / internal and G2", "models",
         models=lambda: (ruled(["G2", "internal"]), elle_ruled({"read-atomic"}, INTERNAL))),
    Case(f"{T} friendly-boundary-test / lost update", "models",
         models=lambda: (ruled(["lost-update"]),
                         elle_ruled({"update-atomic", "cursor-stability"}))),
    Case(f"{T} friendly-boundary-test / G-single-realtime", "models",
         models=lambda: (ruled(["G-single-realtime"]),
                         elle_ruled({"strong-snapshot-isolation"}, {"strong-serializable"}))),
    Case(f"{T} all-impossible-models-test", "models",
         models=lambda: ({m for m in cm.MODELS if implies(m, "strong-session-serializable")},
                         {"strong-session-serializable", "strict-serializable"})),
)  # fmt: skip
