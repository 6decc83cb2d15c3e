"""The simulation catches the planted bugs of the core, and is quiet without them.

Each test fails if its bug stopped being caught: a seed search has a fixed budget
(and runs are deterministic, so the same seeds are tried everywhere), and the
constructed scenarios assert the violation itself.
"""

from __future__ import annotations

import random

import pytest
from sim_clients import SimClients

from harness.backends.sim import (
    FAMILIES,
    NetworkConfig,
    SafetyViolation,
    SimCluster,
    SimConfig,
    random_plan,
    simulate,
)
from raftnode.core import LEADER

SEARCH_BUDGET = 60  # seeds; no-log-check shows in about one seed in ten


def _search_config(
    seed: int, bugs: frozenset[str], families: tuple[str, ...] = FAMILIES
) -> tuple[SimConfig, list]:
    rng = random.Random(seed)
    n = 5 if seed % 2 else 3
    config = SimConfig(
        nodes=n,
        seed=seed,
        bugs=bugs,
        network=NetworkConfig(1.0, 20.0, drop=0.05, duplicate=0.05),
    )
    faults = random_plan(rng, [f"n{i}" for i in range(1, n + 1)], 2.0, 6, families)
    return config, faults


def _first_violation(bug: str, families: tuple[str, ...] = FAMILIES) -> tuple[int, SafetyViolation]:
    for seed in range(SEARCH_BUDGET):
        config, faults = _search_config(seed, frozenset({bug}), families)
        try:
            simulate(config, faults, 2000.0)
        except SafetyViolation as exc:
            return seed, exc
    pytest.fail(f"no schedule in {SEARCH_BUDGET} seeds exposed the planted bug {bug!r}")


def test_seed_search_catches_no_log_check_and_the_same_schedule_is_safe_without_it():
    # Without membership changes: with them, the stale log that wins may also lack
    # committed configuration changes, and its old majority and the new one can elect
    # two leaders of one term (election safety) before an acknowledged entry is missed.
    families = tuple(f for f in FAMILIES if f != "membership")
    seed, exc = _first_violation("no-log-check", families)
    # A stale log won an election: an acknowledged entry is missing from the new leader
    # or was overwritten.
    assert any(
        s in str(exc) for s in ("leader completeness", "state machine safety", "durability")
    ), exc
    config, faults = _search_config(seed, frozenset(), families)
    simulate(config, faults, 2000.0)  # the control: no violation without the bug


def test_seed_search_catches_stale_read():
    seed, exc = _first_violation("stale-read")
    assert "stale read" in str(exc)
    config, faults = _search_config(seed, frozenset())
    simulate(config, faults, 2000.0)


def test_seed_search_catches_ack_before_commit():
    # The server's bug, modelled by the simulation: writes acknowledged before they commit
    # are either lost later or missing from reads that begin after the acknowledgement.
    seed, exc = _first_violation("ack-before-commit")
    assert any(s in str(exc) for s in ("stale read", "leader completeness", "durability")), exc
    config, faults = _search_config(seed, frozenset())
    simulate(config, faults, 2000.0)


def _double_vote_scenario(seed: int, bugs: frozenset[str]) -> SimCluster:
    """A voter grants its vote, crashes and restarts, and is asked again in the same term.

    1. Leader L is cut off. Follower A (fast clock) campaigns in term t = L's term + 1
       and B (slow clock) grants it. B crashes the moment it has voted; its grant is in flight.
    2. A wins term t. A's messages to B are lost from now on (one-way), so B, restarted
       with a slow clock, hears no leader.
    3. L, back in touch with B only, stepped down by CheckQuorum and still at term t-1,
       asks B for a (pre-)vote in term t. A correct B remembers it voted for A and
       refuses; with forget-vote it grants, and L becomes a second leader of term t.
    """
    c = SimCluster(SimConfig(nodes=3, seed=seed, bugs=bugs))
    s = SimClients(c)
    assert s.run_until(lambda: c.leader() is not None, 5000)
    writes = [s.invoke("write", "k", v) for v in range(3)]
    old = c.leader()
    assert s.run_until(lambda: all(w.done for w in writes), 5000)
    assert s.run_until(lambda: c.nodes[old].kv.applied_index >= 4, 5000)
    assert s.run_until(lambda: all(c.nodes[i].core.last_index == 4 for i in c.ids), 5000)
    t = c.nodes[old].core.term + 1
    a, b = [i for i in c.ids if i != old]
    # Skewed clocks make the order certain: A times out long before B would.
    c.set_clock_rate(a, 4.0)
    c.set_clock_rate(b, 0.25)
    c.network.isolate(old)
    assert c.run_until(lambda: c.nodes[b].core.voted_for == a, 5000)
    assert c.nodes[b].core.term == t
    c.crash(b)
    c.network.block(a, b)
    assert c.run_until(lambda: c.nodes[a].core.role == LEADER, 1000)
    c.set_clock_rate(a, 1.0)
    assert c.run_until(lambda: c.nodes[old].core.role != LEADER, 1000)
    c.restart(b)
    c.network.heal()
    for x, y in ((a, old), (old, a), (a, b)):
        c.network.block(x, y)
    c.run_for(3000)
    return c


@pytest.mark.parametrize("seed", range(4))
def test_forget_vote_lets_a_restarted_voter_elect_two_leaders_in_one_term(seed):
    with pytest.raises(SafetyViolation, match="election safety: .* both leaders of term"):
        _double_vote_scenario(seed, frozenset({"forget-vote"}))


@pytest.mark.parametrize("seed", range(4))
def test_the_double_vote_scenario_is_safe_with_durable_votes(seed):
    c = _double_vote_scenario(seed, frozenset())
    c.finish()
    assert len(c.oracle.leaders) >= 3  # terms moved on, one leader each


def _cut_off_leader_serves_a_read(
    bugs: frozenset[str], read_mode: str, leader_clock: float = 1.0
) -> SimClients:
    c = SimCluster(SimConfig(nodes=3, seed=1, bugs=bugs, read_mode=read_mode))
    s = SimClients(c)
    assert s.run_until(lambda: c.leader() is not None, 5000)
    old = c.leader()
    c.set_clock_rate(old, leader_clock)
    w = s.invoke("write", "k", 1)
    assert s.run_until(lambda: w.done, 1000) and w.type == "ok"
    s.run_for(300)  # a few heartbeat rounds, so that a lease is held
    c.network.isolate(old)
    # The majority elects a new leader and acknowledges a newer write.
    term = c.nodes[old].core.term
    assert s.run_until(lambda: c.leaders_above(term), 5000)
    [new] = c.leaders_above(term)
    w2 = s.invoke("write", "k", 2, node=new)
    assert s.run_until(lambda: w2.done, 1000) and w2.type == "ok"
    # One attempt as long as the operation: the cut-off leader's own answer ends it (a
    # stale value, or "not-leader" once it finds it lost its quorum), not the client's
    # patience.
    r = s.invoke("read", "k", node=old, timeout_s=2.0, attempt_timeout=2.0)
    s.run_until(lambda: r.done, 3000)
    return s


def test_lease_no_quorum_serves_a_stale_read_from_a_cut_off_leader():
    with pytest.raises(SafetyViolation, match="stale read"):
        _cut_off_leader_serves_a_read(frozenset({"lease-no-quorum"}), "lease")


def test_lease_mode_without_the_bug_does_not():
    s = _cut_off_leader_serves_a_read(frozenset(), "lease")
    r = s.history[-1]
    assert r.f == "read" and r.type == "fail"  # no quorum: no answer, never a stale one


def test_lease_reads_go_stale_when_the_leaders_clock_runs_slow():
    # Not a planted bug: leases trust clocks (DESIGN: "correct only while clocks behave").
    # A leader whose clock runs at a fifth of the speed thinks its lease lasts five times
    # longer; the simulation's clock fault shows the stale read that follows.
    with pytest.raises(SafetyViolation, match="stale read"):
        _cut_off_leader_serves_a_read(frozenset(), "lease", leader_clock=0.2)
    s = _cut_off_leader_serves_a_read(frozenset(), "read-index", leader_clock=0.2)
    assert s.history[-1].type == "fail"  # ReadIndex does not depend on clocks


def _lease_leader_meets_a_restarted_voter(seed: int) -> SimClients:
    """Leader L holds a lease granted by A and B. A restarts (forgetting that it heard
    from L) and is cut off with C and D, who are up to date but long out of touch with L.
    If A voted at once, C or D could win and acknowledge a write while L still serves
    lease reads; a lease-mode node therefore votes for no new term until a full election
    timeout has passed since it started."""
    c = SimCluster(SimConfig(nodes=5, seed=seed, read_mode="lease"))
    s = SimClients(c)
    assert s.run_until(lambda: c.leader() is not None, 5000)
    leader = c.leader()
    a, b, cc, d = [i for i in c.ids if i != leader]
    w = s.invoke("write", "k", 1)
    assert s.run_until(lambda: w.done, 1000)
    assert s.run_until(lambda: all(c.nodes[i].kv.applied_index >= 2 for i in c.ids), 1000)
    c.network.partition([leader, a, b], [cc, d])
    s.run_for(300)
    c.crash(a)
    c.restart(a)
    c.network.partition([leader, b], [a, cc, d])
    term = c.nodes[leader].core.term
    assert s.run_until(lambda: c.leaders_above(term), 5000)
    [new] = c.leaders_above(term)
    w2 = s.invoke("write", "k", 2, node=new)
    assert s.run_until(lambda: w2.done, 1000) and w2.type == "ok"
    r = s.invoke("read", "k", node=leader, timeout_s=2.0, attempt_timeout=2.0)  # as above
    s.run_until(lambda: r.done, 3000)
    return s


@pytest.mark.parametrize("seed", range(10))
def test_lease_reads_stay_fresh_when_a_voter_restarts(seed):
    # Without the restart guard in the core, seeds 1, 6 and 9 read stale values here.
    s = _lease_leader_meets_a_restarted_voter(seed)
    assert s.history[-1].type == "fail"
