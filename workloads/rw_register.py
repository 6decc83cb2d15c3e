"""The rw-register workload (Elle's rw-register, jepsen.tests.cycle.wr): transactions of 1
to N micro-ops over a small rolling set of hot integer keys, each a blind write of a value
unique to its key (`["w", k, v]`) or a read (`["r", k, None]`, answered with the value or
null). The generator is list-append's (workloads/list_append.py) with writes in place of
appends: unique values let the Elle checker name each read's writer; what registers cannot
show (the order of versions) it infers as Elle does (checkers/elle/).
"""

from __future__ import annotations

from workloads.list_append import TxnWorkload


class RwRegisterWorkload(TxnWorkload):
    """Transactions of register writes and reads (history: f "txn" with `w`/`r`)."""

    name = "rw-register"
    write = "w"
