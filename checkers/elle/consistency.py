"""Consistency models and the anomalies each one rules out, after Elle's
elle.consistency-model (Adya; Cerone et al.; Bailis et al.; Daudjee and Salem), cut down to
the models offered here and the anomalies this checker finds: each model's own
prohibitions and the weaker models it implies are Elle's table (`_TABLE`), and what an
anomaly implies is Elle's `implied-anomalies`, so a model prohibits an anomaly exactly when
Elle's `anomalies-prohibited-by` says so.

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
# variant of its kind. Every dependency here is on an item (a key), never a predicate, so
# these are Elle's item anomalies: G-single is Elle's G-single-item, G-nonadjacent its
# G-nonadjacent-item (each implies Elle's predicate-general anomaly of the same name).
CYCLES = ("G0", "G1c", "G-single", "G-nonadjacent", "G2-item")
VARIANTS = ("", "-process", "-realtime")

# Everything else, found without the graph: aborted read (G1a), intermediate read (G1b),
# reads that fit no single order of appends, a read listing an element twice, a read of
# a value nobody wrote, a txn's read that contradicts its own earlier writes or reads, a
# txn that read an element it appended only later, two txns that read the same version of
# a key and both wrote it, a committed append right after a failed one in a key's order
# (dirty update), register version orders that contradict each other (cyclic versions).
OTHERS = (
    "G1a",
    "G1b",
    "incompatible-order",
    "duplicate-elements",
    "garbage-read",
    "internal",
    "future-read",
    "lost-update",
    "dirty-update",
    "cyclic-versions",
)

# Not an anomaly but Elle's signal that nothing could be judged: no dependency at all
# between any two txns. A history with it and nothing prohibited is "unknown", not valid
# (the checker's result says so beside its anomalies, not among them).
EMPTY_GRAPH = "empty-transaction-graph"

# Elle's general anomalies, never found as such: G1 (any of G1a, G1b, G1c), G2 (any
# anti-dependency cycle) and write skew. Models and requests name them.
GENERAL = ("G1", "G2", "write-skew")
# The anomalies that have -process and -realtime variants.
VARIANT_BASES = (*CYCLES, "G1", "G2")

# What each anomaly implies (Elle's implied-anomalies, in this checker's names): a history
# that shows one shows the others too, so a model that rules out the second rules out the
# first. Variants follow by themselves (see `implied`).
IMPLIES: dict[str, tuple[str, ...]] = {
    "G0": ("G1c",),
    "G1a": ("G1",),
    "G1b": ("G1",),
    "G1c": ("G1",),
    "G-single": ("G-nonadjacent",),
    "G-nonadjacent": ("G2-item",),
    "G2-item": ("G2",),
    "incompatible-order": ("G1a",),
    "future-read": ("G1c",),
    "dirty-update": ("G1a",),
    "lost-update": ("G2-item", "write-skew"),
    "write-skew": ("G2",),
}


@dataclass(frozen=True)
class Consistency:
    name: str
    prohibits: frozenset[str]  # with what the weaker models it implies prohibit
    process: bool = False  # the graph holds each process's order
    realtime: bool = False  # the graph holds the real-time order


# Elle's consistency-model table (elle.consistency-model: `models` and
# `direct-proscribed-anomalies`) for the models offered here: what each prohibits itself,
# and the weaker offered models it implies. Where Elle's path to a weaker model passes
# through one not offered here, that model's prohibitions are folded in and named.
_TABLE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # Adya's PL-1: no write cycles; also versions orders that are not orders, and
    # duplicated elements. garbage-read (a value nobody wrote) is this checker's own.
    "read-uncommitted": (("G0", "duplicate-elements", "cyclic-versions", "garbage-read"), ()),
    # Adya's PL-2
    "read-committed": (("G1",), ("read-uncommitted",)),
    # Adya's PL-2.99 (and cursor stability, which it implies): G1, G2-item, lost update
    "repeatable-read": (("G1", "G2-item", "lost-update"), ("read-committed",)),
    # Adya's PL-SI and Cerone's: internal, G1, G-nonadjacent; through parallel snapshot
    # isolation and update atomic, lost update; through read atomic, future reads
    "snapshot-isolation": (
        ("internal", "G1", "G-nonadjacent", "lost-update", "future-read"),
        ("read-committed",),
    ),
    # Adya's PL-3, Cerone's internal
    "serializable": (("internal", "G1", "G2"), ("repeatable-read", "snapshot-isolation")),
    "strong-session-snapshot-isolation": (
        ("internal", "G1-process", "G-nonadjacent-process"),
        ("snapshot-isolation",),
    ),
    # Daudjee and Salem
    "strong-session-serializable": (
        ("G1-process", "G2-process"),
        ("serializable", "strong-session-snapshot-isolation"),
    ),
    # Adya's PL-SS
    "strict-serializable": (
        ("G1", "G1c-realtime", "G2-realtime"),
        ("serializable", "strong-session-serializable"),
    ),
}


def _prohibits(name: str) -> frozenset[str]:
    direct, weaker = _TABLE[name]
    return frozenset(direct).union(*(_prohibits(w) for w in weaker))


MODELS: dict[str, Consistency] = {
    m.name: m
    for m in (
        Consistency("strict-serializable", _prohibits("strict-serializable"), realtime=True),
        Consistency(
            "strong-session-serializable", _prohibits("strong-session-serializable"), process=True
        ),
        Consistency("serializable", _prohibits("serializable")),
        Consistency(
            "strong-session-snapshot-isolation",
            _prohibits("strong-session-snapshot-isolation"),
            process=True,
        ),
        Consistency("snapshot-isolation", _prohibits("snapshot-isolation")),
        Consistency("repeatable-read", _prohibits("repeatable-read")),
        Consistency("read-committed", _prohibits("read-committed")),
        Consistency("read-uncommitted", _prohibits("read-uncommitted")),
    )
}
DEFAULT = "strict-serializable"

# The order anomalies are listed in: the worst (weakest model ruling them out) first.
SEVERITY = (
    "garbage-read",
    "duplicate-elements",
    "cyclic-versions",
    "incompatible-order",
    "G1a",
    "dirty-update",
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
KNOWN = (
    frozenset(SEVERITY) | frozenset(GENERAL) | {g + v for g in GENERAL[:2] for v in VARIANTS[1:]}
)


# Elle's item anomalies by Elle's names (this checker's cycles are all on items).
ELLE_ITEM_NAMES = {
    e + v: o + v
    for e, o in (("G-single-item", "G-single"), ("G-nonadjacent-item", "G-nonadjacent"))
    for v in VARIANTS
}


def requested(names: tuple[str, ...] | list[str]) -> Consistency:
    """Elle's `:anomalies` option as a model: it prohibits exactly the named anomalies
    (and, through `prohibited`, everything that implies one), with the process or real-time
    order when a variant of that kind is named. Elle's item names are taken too."""
    names = [ELLE_ITEM_NAMES.get(n, n) for n in names]
    unknown = [n for n in names if n not in KNOWN]
    if unknown:
        raise ValueError(
            f"unknown anomaly {unknown[0]!r}; expected one of {', '.join(sorted(KNOWN))}"
        )
    return Consistency(
        "anomalies " + ", ".join(names),
        frozenset(names),
        process=any(n.endswith("-process") for n in names),
        realtime=any(n.endswith("-realtime") for n in names),
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
    return {a + v for a in out for v in later if a in VARIANT_BASES or v == ""}


def _split(name: str) -> tuple[str, str]:
    for v in ("-process", "-realtime"):
        if name.endswith(v):
            return name[: -len(v)], v
    return name, ""


def ruled_out(anomalies: set[str] | list[str]) -> list[str]:
    """The models (strongest first) that the anomalies rule out."""
    found: set[str] = set().union(*(implied(a) for a in anomalies))
    return [m.name for m in MODELS.values() if m.prohibits & found]


def prohibited(anomalies: set[str] | list[str], model: Consistency) -> list[str]:
    """The anomalies found that the model rules out (itself or through what it implies)."""
    return [a for a in order(anomalies) if implied(a) & model.prohibits]


def order(anomalies: set[str] | list[str]) -> list[str]:
    rank = {a: i for i, a in enumerate(SEVERITY)}
    return sorted(set(anomalies), key=lambda a: (rank.get(a, len(rank)), a))
