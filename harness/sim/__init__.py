"""Deterministic in-process simulation of a raftnode cluster (real cores, simulated
network and disks, virtual time); see cluster.py for what it models."""

from harness.sim.cluster import NetworkConfig, Op, SafetyViolation, SimCluster, SimConfig
from harness.sim.explore import FAULT_KINDS, Fault, random_faults, run_simulation, schedule_fault

__all__ = [
    "FAULT_KINDS",
    "Fault",
    "NetworkConfig",
    "Op",
    "SafetyViolation",
    "SimCluster",
    "SimConfig",
    "random_faults",
    "run_simulation",
    "schedule_fault",
]
