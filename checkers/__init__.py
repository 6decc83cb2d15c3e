"""Checkers: history readers, models, linearizability (search and graph), Raft safety, stats.

Plain entry points for the harness, each returning a result with `valid` (True, False
or "unknown") and `to_dict()`:

    from checkers import read_history, get_model, check_history
    h = read_history("store/x/history.jsonl")
    check_history(h.events, get_model("cas-register"), timeout=60)
    check_election_safety(events_files(results_dir))
    check_log_agreement(node_logs(results_dir))
    check_stats(h.events)

networkx is imported only by the graph method (`checkers.linear.graph.check_graph`).
"""

import importlib
from typing import Any

# Each name's module, imported when the name is first used (PEP 562): `import checkers`
# (which every `checkers.x` import runs first) then costs nothing, and `raftquake check`
# loads only what it checks with (tests/harness/test_startup.py).
_WHERE = {
    "HistoryError": "checkers.history",
    "pair_events": "checkers.history",
    "read_jsonl": "checkers.history",
    "default_model": "checkers.history.importers",
    "read_history": "checkers.history.importers",
    "MODELS": "checkers.linear.models",
    "Model": "checkers.linear.models",
    "get_model": "checkers.linear.models",
    "check_history": "checkers.linear.search",
    "check_ops": "checkers.linear.search",
    "check_election_safety": "checkers.raft.election",
    "events_files": "checkers.raft.election",
    "check_log_agreement": "checkers.raft.log_agreement",
    "node_logs": "checkers.raft.log_agreement",
    "check_stats": "checkers.stats",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'checkers' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "MODELS",
    "HistoryError",
    "Model",
    "check_election_safety",
    "check_history",
    "check_log_agreement",
    "check_ops",
    "check_stats",
    "default_model",
    "events_files",
    "get_model",
    "node_logs",
    "pair_events",
    "read_history",
    "read_jsonl",
]
