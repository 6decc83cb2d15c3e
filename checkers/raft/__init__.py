"""Raft's safety properties from the nodes' own records: election safety and log agreement."""
