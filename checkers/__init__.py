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

from checkers.history import HistoryError, pair_events, read_jsonl
from checkers.history.importers import default_model, read_history
from checkers.linear.models import MODELS, Model, get_model
from checkers.linear.search import check_history, check_ops
from checkers.raft.election import check_election_safety, events_files
from checkers.raft.log_agreement import check_log_agreement, node_logs
from checkers.stats import check_stats

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
