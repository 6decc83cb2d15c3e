"""The register workload: reproducible per seed, unique values per key, mix respected."""

from collections import Counter

from harness.schedule import WorkloadSpec
from workloads.register import make_slots


def plan(seed: int, n: int = 300):
    slots = make_slots(WorkloadSpec(keys=4, concurrency=5), seed)
    return [[slot.next_operation() for _ in range(n)] for slot in slots]


def test_same_seed_same_operations_different_seed_different():
    assert plan(7) == plan(7)
    assert plan(7) != plan(8)


def test_written_values_are_unique_per_key():
    written: dict[str, list] = {}
    for ops in plan(3):
        for op in ops:
            if op.f == "write":
                written.setdefault(op.key, []).append(op.value)
            elif op.f == "cas":
                written.setdefault(op.key, []).append(op.value[1])
    for values in written.values():
        assert len(values) == len(set(values))
        assert None not in values


def test_mix_is_roughly_respected():
    counts = Counter(op.f for ops in plan(11, 2000) for op in ops)
    total = sum(counts.values())
    assert abs(counts["read"] / total - 0.5) < 0.03
    assert abs(counts["write"] / total - 0.3) < 0.03
    assert abs(counts["cas"] / total - 0.2) < 0.03


def test_cas_expects_what_the_slot_last_saw():
    slot = make_slots(WorkloadSpec(keys=1, concurrency=1, mix={"cas": 1.0}), 1)[0]
    first = slot.next_operation()
    assert first.value[0] is None  # nothing seen yet: expect the initial nil
    slot.observe(first, "ok", None)
    second = slot.next_operation()
    assert second.value[0] == first.value[1]
    slot.observe(second, "fail", None)  # a failed cas teaches nothing
    assert slot.next_operation().value[0] == first.value[1]


def test_ops_per_key_moves_each_group_to_fresh_keys():
    spec = WorkloadSpec(keys=2, concurrency=4, ops_per_key=10)
    slots = make_slots(spec, 1)
    ops = [[slot.next_operation() for _ in range(12)] for slot in slots]
    per_key = Counter(op.key for slot_ops in ops for op in slot_ops)
    # Two groups of two slots, five operations each per key: k0-0, k0-1, k0-2 and k1-...
    assert per_key == {"k0-0": 10, "k0-1": 10, "k0-2": 4, "k1-0": 10, "k1-1": 10, "k1-2": 4}
    # The final reads cover every key ever used, once.
    from workloads import WORKLOADS

    finals = WORKLOADS["register"].final_operations(spec, slots)
    assert sorted(op.key for op in finals) == sorted(per_key)
