"""Consistency models and the anomalies each one rules out, after Elle's
elle.consistency-model (Adya; Cerone et al.; Bailis et al.; Daudjee and Salem), cut down to
the models offered here and the anomalies this checker finds.

A model also says which orders the dependency graph must hold besides the data
dependencies (ww, wr, rw): strong session models add each process's own order, strict
serializability real time (which holds each process's order too: a process runs one
operation at a time).
"""

from __future__ import annotations

from dataclasses import dataclass

# Cycles, from the data dependencies alone: G0 (ww only), G1c (ww and wr), G-single
# (exactly one rw), G-nonadjacent (two or more rw, no two adjacent), G2-item (two or more
# rw). A cycle that needs process or real-time edges too is the "-process" or "-realtime"
# variant of its kind.
CYCLES = ("G0", "G1c", "G-single", "G-nonadjacent", "G2-item")
VARIANTS = ("", "-process", "-realtime")

# Everything else, found without the graph: aborted read (G1a), intermediate read (G1b),
# reads that fit no single order of appends, a read listing an element twice, a read of
# a value nobody wrote, a txn's read that contradicts its own earlier writes or reads, a
# txn that read an element it appended only later, two txns that read the same version of
# a key and both wrote it.
OTHERS = (
    "G1a",
    "G1b",
    "incompatible-order",
    "duplicate-elements",
    "garbage-read",
    "internal",
    "future-read",
    "lost-update",
)

# What each anomaly implies (Elle's implied-anomalies, restricted): a history that shows
# one shows the others too, so a model that rules out the second rules out the first.
IMPLIES: dict[str, tuple[str, ...]] = {
    "G0": ("G1c",),
    "G-single": ("G-nonadjacent",),
    "G-nonadjacent": ("G2-item",),
    "incompatible-order": ("G1a",),
    "future-read": ("G1c",),
    "lost-update": ("G2-item",),
}

_READ_COMMITTED = {
    "G0",
    "G1a",
    "G1b",
    "G1c",
    "incompatible-order",
    "duplicate-elements",
    "garbage-read",
    "future-read",
}
_SNAPSHOT_ISOLATION = _READ_COMMITTED | {"internal", "G-single", "G-nonadjacent", "lost-update"}
_SERIALIZABLE = _SNAPSHOT_ISOLATION | {"G2-item"}
_SESSION = {c + "-process" for c in ("G0", "G1c", "G-single", "G-nonadjacent")}


@dataclass(frozen=True)
class Consistency:
    name: str
    prohibits: frozenset[str]
    process: bool = False  # the graph holds each process's order
    realtime: bool = False  # the graph holds the real-time order


MODELS: dict[str, Consistency] = {
    m.name: m
    for m in (
        Consistency(
            "strict-serializable",
            frozenset(_SERIALIZABLE | {c + v for c in CYCLES for v in ("-process", "-realtime")}),
            realtime=True,
        ),
        Consistency(
            "strong-session-serializable",
            frozenset(_SERIALIZABLE | _SESSION | {"G2-item-process"}),
            process=True,
        ),
        Consistency("serializable", frozenset(_SERIALIZABLE)),
        Consistency(
            "strong-session-snapshot-isolation",
            frozenset(_SNAPSHOT_ISOLATION | _SESSION),
            process=True,
        ),
        Consistency("snapshot-isolation", frozenset(_SNAPSHOT_ISOLATION)),
        Consistency("read-committed", frozenset(_READ_COMMITTED)),
    )
}
DEFAULT = "strict-serializable"

# The order anomalies are listed in: the worst (weakest model ruling them out) first.
SEVERITY = (
    "garbage-read",
    "duplicate-elements",
    "incompatible-order",
    "G1a",
    "G1b",
    "G0",
    "G1c",
    "future-read",
    "internal",
    "lost-update",
    "G-single",
    "G-nonadjacent",
    "G2-item",
    *(c + v for v in ("-process", "-realtime") for c in CYCLES),
)


def get_consistency(name: str) -> Consistency:
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(
            f"unknown consistency model {name!r}; expected one of {', '.join(MODELS)}"
        ) from None


def implied(name: str) -> set[str]:
    """The anomaly and everything it implies, variants included (G0 implies G0-process,
    which implies G0-realtime)."""
    base, variant = _split(name)
    out: set[str] = set()
    todo = [base]
    while todo:
        a = todo.pop()
        if a not in out:
            out.add(a)
            todo.extend(IMPLIES.get(a, ()))
    later = VARIANTS[VARIANTS.index(variant) :]
    return {a + v for a in out for v in later if a in CYCLES or v == ""}


def _split(name: str) -> tuple[str, str]:
    for v in ("-process", "-realtime"):
        if name.endswith(v):
            return name[: -len(v)], v
    return name, ""


def ruled_out(anomalies: set[str] | list[str]) -> list[str]:
    """The models (strongest first) that the anomalies rule out."""
    found = set().union(*(implied(a) for a in anomalies)) if anomalies else set()
    return [m.name for m in MODELS.values() if m.prohibits & found]


def prohibited(anomalies: set[str] | list[str], model: Consistency) -> list[str]:
    """The anomalies found that the model rules out (itself or through what it implies)."""
    return [a for a in order(anomalies) if implied(a) & model.prohibits]


def order(anomalies: set[str] | list[str]) -> list[str]:
    rank = {a: i for i, a in enumerate(SEVERITY)}
    return sorted(set(anomalies), key=lambda a: (rank.get(a, len(rank)), a))
