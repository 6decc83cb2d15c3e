"""Elle (Kingsbury and Alvaro, VLDB 2020) for list-append and register txn histories:
infer each key's version order from the reads, build the dependency graph over the
txns, and name the anomalies (G0, G1a, G1b, G1c, G-single, G2-item, internal, ...) and
the consistency models they rule out.

    from checkers.elle import check_txn_history
    r = check_txn_history(read_history("h.jsonl").events, "serializable")
    r.valid, r.anomalies, r.to_dict(), r.to_text()
"""

from checkers.elle.checker import CHECKER, ElleResult, check_txn_history, check_txns
from checkers.elle.consistency import DEFAULT, MODELS
from checkers.elle.txns import Txn, txns_from_events

__all__ = [
    "CHECKER",
    "DEFAULT",
    "MODELS",
    "ElleResult",
    "Txn",
    "check_txn_history",
    "check_txns",
    "txns_from_events",
]
