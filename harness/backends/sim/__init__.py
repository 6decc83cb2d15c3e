"""Deterministic in-process simulation of a raftnode cluster (real cores, simulated
network and disks, virtual time); see cluster.py for what it models."""

from harness.backends.sim.cluster import NetworkConfig, Op, SafetyViolation, SimCluster, SimConfig
from harness.backends.sim.explore import (
    FAMILIES,
    plan_text,
    planned,
    random_fault,
    random_plan,
    run_simulation,
    schedule_plan,
)

__all__ = [
    "FAMILIES",
    "NetworkConfig",
    "Op",
    "SafetyViolation",
    "SimCluster",
    "SimConfig",
    "plan_text",
    "planned",
    "random_fault",
    "random_plan",
    "run_simulation",
    "schedule_plan",
]
