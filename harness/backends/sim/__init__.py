"""Deterministic in-process simulation of a raftnode cluster (real cores, simulated
network and disks, virtual time); see cluster.py for what it models, simulate.py for
whole runs through the run driver."""

from harness.backends.sim.cluster import NetworkConfig, SafetyViolation, SimCluster, SimConfig
from harness.backends.sim.simulate import (
    FAMILIES,
    SimRun,
    plan_text,
    planned,
    random_plan,
    simulate,
)

__all__ = [
    "FAMILIES",
    "NetworkConfig",
    "SafetyViolation",
    "SimCluster",
    "SimConfig",
    "SimRun",
    "plan_text",
    "planned",
    "random_plan",
    "simulate",
]
