"""The replicated state machine: a map of registers with read, write and compare-and-set,
and transactions over it.

A transaction (`{"op": "txn", "ops": [["append", k, v], ["r", k, None], ["w", k, v]]}`)
is a list of micro-ops applied atomically, in order, at its log index: `append` adds v to
the list at k (a key never written starts empty), `w` sets k to v, `r` reads k and sees
the transaction's own earlier micro-ops. Its result is the same list with each read's
value filled in (None for a key never written). Keys are strings or integers.

A transfer (`{"op": "transfer", "from": a, "to": b, "amount": n}`, the bank workload's)
moves n from register a to register b in one step: it reads both balances (a key never
written holds 0) and writes both, or fails with "insufficient", changing nothing, when a
holds less than n.

Pure and deterministic: every node applies the same committed entries in the same
order and so holds the same map. Used by the server and by the simulation.

Client request ids (client id, sequence number) make a retried command apply
once: a client that timed out and resends its write must not write twice, or a
cas retried after it succeeded would report a false precondition failure.
"""

from __future__ import annotations

from raftnode.core import Entry

COMMAND_OPS = ("read", "write", "cas", "txn", "transfer")
MICRO_OPS = ("append", "r", "w")


class CommandError(ValueError):
    """A committed command that is not one of the three shapes; a bug in the proposer."""


class KVStateMachine:
    def __init__(self) -> None:
        self._data: dict[str, object] = {}
        # client id -> (highest seq applied, its result). Clients issue one command at a
        # time with growing seq, so remembering the last one suffices to dedupe retries.
        self._sessions: dict[str, tuple[int, dict]] = {}
        self.applied_index = 0

    def apply(self, entry: Entry) -> dict | None:
        if entry.index != self.applied_index + 1:
            raise ValueError(
                f"entries must be applied in order: expected index {self.applied_index + 1}, "
                f"got {entry.index}"
            )
        self.applied_index = entry.index
        cmd = entry.command
        if cmd is None:
            return None  # the leader's no-op
        if cmd.get("op") == "member":
            # A membership change (raftnode/membership.py): the core put it in force when
            # it was appended; here it only gets an answer. It has no client session.
            return {"ok": True, "value": {k: v for k, v in cmd.items() if k != "op"}}
        client = cmd.get("client")
        seq = cmd.get("seq")
        if client is not None and seq is not None:
            last = self._sessions.get(client)
            if last is not None and seq <= last[0]:
                # A retry of something already applied: change nothing. Only the latest
                # result is kept; an older seq can only be a very late duplicate whose
                # client has moved on, so any answer is never read.
                return last[1] if seq == last[0] else {"ok": False, "error": "duplicate"}
        result = self._execute(cmd)
        if client is not None and seq is not None:
            self._sessions[client] = (seq, result)
        return result

    def _execute(self, cmd: dict) -> dict:
        op = cmd.get("op")
        if op == "txn":
            return {"ok": True, "value": self.run_txn(cmd.get("ops"), self._data)}
        if op == "transfer":
            return self._transfer(cmd)
        key = cmd.get("key")
        if op not in COMMAND_OPS or not isinstance(key, str):
            raise CommandError(f"bad command {cmd!r}: need op in {COMMAND_OPS} and a string key")
        if op == "read":
            return {"ok": True, "value": self._data.get(key)}
        if op == "write":
            self._data[key] = cmd.get("value")
            return {"ok": True, "value": cmd.get("value")}
        current = self._data.get(key)
        if current != cmd.get("expected"):
            return {"ok": False, "error": "precondition", "value": current}
        self._data[key] = cmd.get("new")
        return {"ok": True, "value": cmd.get("new")}

    def _transfer(self, cmd: dict) -> dict:
        check_transfer(cmd)
        frm, to, amount = cmd["from"], cmd["to"], cmd["amount"]
        balances = [self._data.get(frm) or 0, self._data.get(to) or 0]
        if balances[0] < amount:
            return {"ok": False, "error": "insufficient", "value": balances}
        self._data[frm] = balances[0] - amount
        self._data[to] = balances[1] + amount
        return {"ok": True, "value": balances}

    def read(self, key: str) -> object:
        return self._data.get(key)

    def speculate(self, entries: list[Entry]) -> KVStateMachine:
        """A copy of this state with `entries` applied on top, as if they were committed
        (no deduplication, no applied index): only planted bug txn-dirty-read reads it."""
        copy = KVStateMachine()
        copy._data = dict(self._data)
        for e in entries:
            if e.command is not None:
                copy._execute(e.command)
        return copy

    def read_txn(self, ops: list) -> list:
        """A read-only transaction against the applied state (the read path serves it)."""
        return self.run_txn(ops, self._data)

    @staticmethod
    def run_txn(ops: object, data: dict) -> list:
        """Applies the micro-ops to `data` in order and returns them with reads filled in.
        Values are copied in and out: a list read must not change with later appends."""
        check_txn(ops)
        out = []
        for f, key, value in ops:  # type: ignore[union-attr]
            if f == "r":
                current = data.get(key)
                out.append([f, key, list(current) if isinstance(current, list) else current])
            elif f == "w":
                data[key] = value
                out.append([f, key, value])
            else:
                current = data.get(key)
                data[key] = [*(current if isinstance(current, list) else []), value]
                out.append([f, key, value])
        return out

    def snapshot_state(self) -> dict:
        """The whole state as JSON-able values (keys as [key, value] pairs: a txn's keys
        may be integers, which a JSON object would turn into strings)."""
        return {
            "applied_index": self.applied_index,
            "data": [[k, v] for k, v in self._data.items()],
            "sessions": {c: [s, r] for c, (s, r) in self._sessions.items()},
        }

    @staticmethod
    def from_snapshot(state: dict) -> KVStateMachine:
        """The state machine snapshot_state() described (a snapshot's, on restart or after
        InstallSnapshot)."""
        sm = KVStateMachine()
        sm.applied_index = int(state["applied_index"])
        sm._data = {k: v for k, v in state["data"]}
        sm._sessions = {c: (int(s), r) for c, (s, r) in state["sessions"].items()}
        return sm


def check_txn(ops: object) -> None:
    """A transaction's micro-ops are [f, key, value] with f in MICRO_OPS and a str or int
    key; CommandError otherwise (the host answers bad-request before proposing)."""
    if not isinstance(ops, list) or not ops:
        raise CommandError(f"a txn needs a non-empty list of micro-ops, got {ops!r}")
    for m in ops:
        if (
            not isinstance(m, list)
            or len(m) != 3
            or m[0] not in MICRO_OPS
            or isinstance(m[1], bool)
            or not isinstance(m[1], str | int)
        ):
            raise CommandError(
                f"bad micro-op {m!r}: expected [f, key, value], f one of {MICRO_OPS}, "
                "key a string or integer"
            )


def check_transfer(cmd: dict) -> None:
    """A transfer names two different keys (str or int) and a whole amount >= 0."""
    keys = (cmd.get("from"), cmd.get("to"))
    amount = cmd.get("amount")
    if (
        any(isinstance(k, bool) or not isinstance(k, str | int) for k in keys)
        or keys[0] == keys[1]
        or type(amount) is not int
        or amount < 0
    ):
        raise CommandError(
            f"bad transfer {cmd!r}: expected two different keys (strings or integers) in "
            "from and to, and an integer amount >= 0"
        )


def read_only(ops: list) -> bool:
    return all(m[0] == "r" for m in ops)
