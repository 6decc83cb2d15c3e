"""Property tests: random fault schedules, drawn by hypothesis, never break Raft's safety.

Every run asserts, as it goes: election safety (one leader per term), state machine
safety (one entry per index across all nodes), leader completeness for acknowledged
entries, and that reads see every write acknowledged before they began. At the end
it heals, converges and checks log matching and that every acknowledged entry
survived on every node (harness/backends/sim/cluster.py). Each run is the run driver's,
raftnode's clients over the simulated network (harness/backends/sim/simulate.py).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.backends.sim import FAMILIES, NetworkConfig, SimConfig, simulate
from harness.nemesis.package import Shape, draw_plan
from harness.schedule import FaultSpec, PlannedFault

DURATION_MS = 2000.0
MOST_FAULTS = 8


@st.composite
def faults_for(draw, ids: list[str], families: tuple[str, ...]) -> list[PlannedFault]:
    """Up to MOST_FAULTS faults spread over the run, 5-700 ms each, faults of one group
    overlapping too (as no package draws them: a safety test wants the worst): the one
    plan generator (harness/nemesis/package.py), every option its faults offer, from a
    Random hypothesis controls, so a failure shrinks towards fewer, shorter faults and
    each fault's first options."""
    most = draw(st.integers(0, MOST_FAULTS))
    shape = Shape(
        families,
        interval=DURATION_MS / 1000 / max(1, most),
        duration=(0.005, 0.7),
        exclusive=False,
        weights={},  # evenly (a family named twice, twice as often)
        most=most,
    )
    rng = draw(st.randoms(use_true_random=False))
    plan = draw_plan(rng, ids, 0.0, DURATION_MS / 1000, shape)
    return [PlannedFault(at, end, FaultSpec(family, options)) for at, end, family, options in plan]


@st.composite
def runs(draw, read_modes=("read-index", "log"), kinds=FAMILIES):
    n = draw(st.sampled_from([3, 3, 5]))
    ids = [f"n{i}" for i in range(1, n + 1)]
    net = NetworkConfig(
        min_delay_ms=1.0,
        max_delay_ms=draw(st.sampled_from([5.0, 10.0, 25.0])),
        drop=draw(st.sampled_from([0.0, 0.02, 0.1])),
        duplicate=draw(st.sampled_from([0.0, 0.05, 0.2])),
        slow=draw(st.sampled_from([0.0, 0.0, 0.05])),
    )
    config = SimConfig(
        nodes=n,
        seed=draw(st.integers(0, 2**32 - 1)),
        read_mode=draw(st.sampled_from(read_modes)),
        network=net,
        # A slow disk: crashes lose the Ready being written; the host pipelines around it.
        disk_ms=draw(st.sampled_from([0.0, 0.0, 3.0, 10.0])),
        # Tiny snapshot thresholds half the time: compaction, InstallSnapshot to nodes that
        # were down or cut off, restarts from a snapshot, all under the same faults.
        snapshot_entries=draw(st.sampled_from([0, 0, 3, 10, 40])),
    )
    return config, draw(faults_for(ids, kinds))


SETTINGS = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,  # the same examples on every machine: CI failures reproduce
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@SETTINGS
@given(runs())
def test_safety_holds_under_random_faults(run):
    config, faults = run
    run = simulate(config, faults, DURATION_MS)
    # The run did real work: some operations were acknowledged and survived.
    assert any(op["type"] == "ok" for op in run.completions)


# Leases are only as good as the clocks and the followers' memory of the leader, so
# clock faults and crashes are left out for them; partitions (one-way too), packet
# faults and pauses stay in (a paused leader catches up its ticks and finds its lease
# expired).
@settings(SETTINGS, max_examples=25)
@given(runs(read_modes=("lease",), kinds=("partition", "pause", "packet")))
def test_lease_reads_are_safe_without_clock_faults(run):
    config, faults = run
    run = simulate(config, faults, DURATION_MS)
    # Not vacuous: lease reads are served. Some drawn schedules (pauses of a majority, then
    # 200 ms packet delays past the election timeout) leave no leader up long enough for
    # any read during the run; the driver's final reads on the healed cluster are checked
    # like all.
    assert any(op["type"] == "ok" and op["f"] == "read" for op in run.completions)


# Membership changes (remove, the leader too; remove, wipe and add back; a fresh member in
# and out again) meeting crashes and partitions, with longer windows so that changes
# commit within them: election safety, state machine safety, leader completeness and
# durability hold throughout, and the healed cluster converges with its members.
@settings(SETTINGS, max_examples=40)
@given(runs(kinds=("membership", "membership", "kill", "partition")))
def test_safety_holds_with_membership_changes(run):
    config, faults = run
    faults = [type(p)(p.start, p.start + 3 * (p.end - p.start), p.spec) for p in faults]
    run = simulate(config, faults, 3 * DURATION_MS)
    assert any(op["type"] == "ok" for op in run.completions)


# An impatient operator (`overlap: true`, issue 24): one rolling removal, its changes sent
# without waiting for commits, for most of the run, meeting partitions and crashes (one
# membership fault at a time, as a package draws them). A correct node refuses a change
# while another is uncommitted, so Raft's properties hold and the cluster converges whole.
@settings(SETTINGS, max_examples=10)
@given(runs(kinds=("kill", "partition")), st.sampled_from(["one", "leader", "minority"]))
def test_safety_holds_with_an_impatient_operator(run, target):
    config, faults = run
    spec = FaultSpec("membership", {"mode": "remove", "overlap": True, "target": target})
    faults = sorted([*faults, PlannedFault(0.2, 4.5, spec)], key=lambda p: p.start)
    faults = [
        type(p)(p.start, p.start + 3 * (p.end - p.start), p.spec) if p.spec is not spec else p
        for p in faults
    ]
    run = simulate(config, faults, 3 * DURATION_MS)
    assert any(op["type"] == "ok" for op in run.completions)
