"""Fault specs and partition geometry, checked without a cluster (fast; no Docker)."""

from __future__ import annotations

import itertools

import pytest

from harness.nemesis import FaultError, make_fault
from harness.nemesis.partition import ring_cuts


@pytest.mark.parametrize("n", [4, 5, 7, 9])
def test_majorities_ring_gives_every_node_a_distinct_majority(n):
    order = [f"n{i}" for i in range(1, n + 1)]
    cut = {frozenset(p) for p in ring_cuts(order)}
    views = {
        x: frozenset(y for y in order if y == x or frozenset((x, y)) not in cut) for x in order
    }
    for x, view in views.items():
        assert len(view) > n // 2, f"{x} sees only {sorted(view)}"
        assert len(view) < n, f"{x} sees everyone: nothing is cut"
    assert len(set(views.values())) == n  # no two nodes share a majority
    for a, b in itertools.combinations(order, 2):
        # and no majority is cut off entirely from another: they overlap
        assert views[a] & views[b]


def test_majorities_ring_refuses_clusters_it_cannot_split():
    with pytest.raises(FaultError, match="4 or more"):
        ring_cuts(["n1", "n2", "n3"])


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"fault": "quake"}, "unknown fault 'quake'"),
        ({"fault": "partition", "mode": "thirds"}, "mode is 'thirds'; expected one of: one,"),
        ({"fault": "partition", "mode": "bridge", "one-way": True}, "two-sided mode"),
        ({"fault": "kill", "target": "leader", "signal": 9}, "unknown option"),
        ({"fault": "clock", "mode": "bump"}, "needs delta-ms"),
        ({"fault": "clock", "mode": "strobe", "delta-ms": 10}, "period-ms"),
        ({"fault": "clock", "mode": "wobble", "delta-ms": 10}, "mode is 'wobble'"),
        ({"fault": "clock", "mode": "reset", "delta-ms": 10}, "reset takes no delta-ms"),
        ({"fault": "partition", "one-way": "yes"}, "one-way must be true or false"),
        ({"fault": "pause", "target": []}, "target list is empty"),
        ({"fault": "packet"}, "needs delay-ms, loss"),
        ({"fault": "packet", "loss": 140}, "percentage"),
        ({"fault": "packet", "loss": 0}, "needs delay-ms, loss or both"),
        ({"fault": "packet", "delay-ms": -5}, "delay-ms must be a number >= 0, got -5"),
    ],
)
def test_bad_fault_specs_are_refused_with_the_reason(spec, message):
    with pytest.raises(FaultError, match=message):
        make_fault(spec, cluster=None)


def test_timing_keys_of_a_schedule_entry_are_accepted():
    fault = make_fault({"fault": "kill", "target": "leader", "at": 5, "for": 3}, cluster=None)
    assert fault.opts == {"target": "leader"} and not fault.active
