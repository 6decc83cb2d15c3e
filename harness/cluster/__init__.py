"""Cluster backends: where the nodes run (Docker containers, or a simulation)."""
