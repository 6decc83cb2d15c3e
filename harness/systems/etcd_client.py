"""An asyncio client for etcd 3.4 through its v3 JSON gateway, with the same surface and
the same ok / fail / unknown rules as raftnode's own client (raftnode/client.py).

Why the JSON gateway over httpx rather than gRPC: etcd serves grpc-gateway on the client
port itself (`POST /v3/kv/range`, `/v3/kv/put`, `/v3/kv/txn`, `/v3/maintenance/status`,
`/v3/cluster/member/list`; 3.4 also answers under `/v3beta`, and no longer under
`/v3alpha`), so no generated protobuf stubs are vendored, nothing is compiled, and the
only dependency is httpx: one well-kept pure-Python package, asyncio-native, with
separate connect and read timeouts, which is what telling "never sent" from "may have
happened" needs. The gateway speaks jsonpb: keys and values are base64, 64-bit integers
are strings, fields at their zero value are left out (a failed txn has no `succeeded`,
a missing key no `kvs`), and member ids are decimal there while etcd's log prints them
in hex.

Outcomes (the history's ok / fail / info, as Jepsen's):
  ok       it happened
  fail     it certainly did not happen: no connection could be made, a cas precondition
           failed, or etcd refused it before proposing it to raft (DEFINITE below)
  unknown  it may have happened: a timeout or a lost connection after the request was
           sent, or an etcd error that may follow a proposal (its own request timeouts)

Retries: a request that was never sent, or that etcd refused before proposing, goes to
the next node within `timeout`. A read also moves on from a node that timed out (a read
has no effect to duplicate). A write or cas never does: etcd has no request
deduplication, so a resent put could be applied twice; its outcome is then unknown.

Transactions (`txn`, `transfer`), Jepsen's way for etcd (its append workload): etcd's Txn
compares and puts but cannot compute a put from a read, so a transaction is two requests.
First every key it touches is read in one read-only Txn (one revision; linearizable unless
`serializable`); the client works out what it reads and what it writes from that; then
one Txn puts the writes only if no key read has changed since: each key's `mod_revision`
as read, `create_revision` 0 for a key that was absent. A failed compare wrote nothing: the
transaction is started over with a fresh read while the timeout lasts (then `fail`,
"conflict"); a read-only transaction is its first read alone. The second Txn follows the
write rules above: a lost answer is unknown, never resent.

Locks (`acquire`, `release`, `hold`): etcd's lock API (`/v3/lock/lock`, `/v3/lock/unlock`)
with a lease (`/v3/lease/grant`), kept alive every TTL/3 through the member that granted
it, as a client's keepalive stream is bound to one connection. See `acquire`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from harness.systems.etcd_txn import Plan, Refused, etcd_key, transfer_plan, txn_plan
from raftnode.client import FAIL, OK, UNKNOWN, Backoff, Result

# etcd errors (the gateway's "error" text) that certainly had no effect, and whether
# another node might do better. Checked against etcd v3.4.23's source:
DEFINITE: dict[str, bool] = {
    # The require-leader check (v3rpc/interceptor.go), before the request is handled
    # (for KV calls it comes from nowhere else): see LEADER_HEADER.
    "etcdserver: no leader": True,
    # raft.ErrProposalDropped: the member's raft dropped the proposal locally (no leader
    # known, or a leader transfer under way); it never entered a log.
    "raft proposal dropped": True,
    # processInternalRaftRequestOnce checks this before proposing (applied index more
    # than 5000 behind the commit index), so it is definite even for writes.
    "etcdserver: too many requests": True,
    # Checked before proposing, the same everywhere: no point trying another node.
    "etcdserver: request is too large": False,
    "etcdserver: mvcc: database space exceeded": False,  # the quota check, before raft
    "etcdserver: key is not provided": False,
    "etcdserver: permission denied": False,
    "etcdserver: user name is empty": False,
    "etcdserver: invalid auth token": False,
}
# Everything else is unknown for a write: "etcdserver: request timed out" and its
# variants (the proposal may still commit), "etcdserver: server stopped", "etcdserver:
# leader changed" (in 3.4 only a linearizable read's ReadIndex wait returns it, before
# reading anything, but a write is not resent on a guess), an HTTP 5xx without etcd's text.
# For a read every error is harmless: it just moves on to another node.
INVALID_ARGUMENT = 3  # gRPC code: the request itself is wrong (malformed JSON, bad field)

# grpc-gateway turns "Grpc-Metadata-<k>" headers into gRPC metadata, and "hasleader: true"
# is etcd's require-leader flag: a member that knows no leader then refuses at once with
# "etcdserver: no leader". Without it a write there blocks in raft (which takes no
# proposals without a leader) and a linearizable read in ReadIndex, for etcd's whole 7 s
# request timeout, ending in an error that does not say nothing happened. Not sent for
# serializable reads and status, which a member answers alone, leader or not.
LEADER_HEADER = {"Grpc-Metadata-hasleader": "true"}


@dataclass
class Reply:
    """One HTTP attempt: `sent` False means the request surely never reached etcd."""

    sent: bool
    body: dict | None = None  # the decoded JSON answer on success
    error: str | None = None  # etcd's error text, or "timeout" / "unreachable" / ...
    code: int | None = None  # the gRPC code etcd gave with an error
    status: int | None = None  # the HTTP status, when an answer came

    @property
    def silent(self) -> bool:
        """Sent, and no answer came (a timeout or a lost connection): it may have been
        executed, or may still be."""
        return self.sent and self.status is None


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _unb64(text: str) -> str:
    return base64.b64decode(text).decode()


def encode_value(value: Any) -> str:
    """A register value as etcd stores it: JSON (so ints round-trip), then base64. The
    JSON must be canonical, since a cas compares the stored bytes."""
    return _b64(json.dumps(value, sort_keys=True, separators=(",", ":")))


def decode_value(b64: str | None) -> Any:
    if b64 is None:  # a key written with an empty value: jsonpb omits it
        b64 = ""
    text = _unb64(b64)
    try:
        return json.loads(text)
    except ValueError:
        return text  # written by someone else: give back the text


def _first_value(kvs: list[dict] | None) -> Any:
    return decode_value(kvs[0].get("value")) if kvs else None


@dataclass
class Held:
    """A lock this client holds (or is asking for): its lease and the keepalive task."""

    name: str
    lease: str  # the lease id, as the gateway writes it (decimal)
    member: str  # the address its lease is kept alive through
    ttl: int  # seconds, as granted
    key: str = ""  # the lock's key (base64), once granted
    lost: asyncio.Event = field(default_factory=asyncio.Event)  # etcd said it expired
    task: asyncio.Future | None = None  # the keepalive


def _hex(decimal: str | int | None) -> str | None:
    """etcd's member id as its log prints it ("%x"), from the gateway's decimal string."""
    n = int(decimal or 0)
    return format(n, "x") if n else None


class EtcdClient:
    """A client of an etcd cluster, one operation at a time (one logical process).

    ``nodes``: node id -> "HOST:PORT" of its client port (or just addresses). Every
    member takes every request (followers forward to the leader), so the client starts
    at the node that answered last; ``home`` (a node id or address) starts every
    operation at that node, ``spread`` at a random one. ``attempt_timeout``: how long one
    node gets to answer a read before the read moves on (default a third of
    ``timeout``); a write gets all the time left, since it is never resent.
    ``serializable``: reads answered from the member's own state, without a quorum round
    (stale reads are then etcd's documented behaviour). ``client_id`` only names the
    client (etcd has no client sessions for plain keys); ``rng`` drives the backoff
    jitter and ``spread``.
    """

    def __init__(
        self,
        nodes: Mapping[str, str] | Iterable[str],
        timeout: float = 3.0,
        client_id: str | None = None,
        rng: random.Random | None = None,
        home: str | None = None,
        spread: bool = False,
        attempt_timeout: float | None = None,
        serializable: bool = False,
        connect_timeout: float = 0.5,
        member_names: dict[str, str] | None = None,
    ):
        by_id = dict(nodes) if isinstance(nodes, Mapping) else {a: a for a in nodes}
        if not by_id:
            raise ValueError("a client needs at least one node address")
        self.by_id: dict[str, str] = by_id
        self.by_addr = {a: n for n, a in by_id.items()}
        self.addrs = list(by_id.values())
        self.timeout = timeout
        self.attempt_timeout = attempt_timeout or max(0.25, timeout / 3)
        self.connect_timeout = connect_timeout
        self.client_id = client_id or uuid.uuid4().hex[:16]
        self.rng = rng or random.Random()
        self.backoff = Backoff(self.rng)
        self.serializable = serializable
        self.spread = spread
        self.home: int | None = None
        if home is not None:
            addr = by_id.get(home, home)
            if addr not in self.addrs:
                raise ValueError(f"home node {home!r} is not one of this client's nodes")
            self.home = self.addrs.index(addr)
        self._target = 0
        self._lock = asyncio.Lock()
        self._http: httpx.AsyncClient | None = None
        # hex member id -> node id, from the member list; a caller that probes often passes
        # one dict to all its clients, so the list is asked for once.
        self._names: dict[str, str] = {} if member_names is None else member_names
        self._held: dict[str, Held] = {}  # lock name -> the lock this client holds

    # ---- operations ------------------------------------------------------------------

    async def get(self, key: str) -> Result:
        req: dict[str, Any] = {"key": _b64(key)}
        if self.serializable:
            req["serializable"] = True
        res, body = await self._op("/v3/kv/range", req, write=False, leader=not self.serializable)
        if body is not None:
            res.value = _first_value(body.get("kvs"))
        return res

    async def put(self, key: str, value: Any) -> Result:
        res, body = await self._op(
            "/v3/kv/put", {"key": _b64(key), "value": encode_value(value)}, write=True, leader=True
        )
        if body is not None:
            res.value = value
        return res

    async def cas(self, key: str, expected: Any, new: Any) -> Result:
        """Put `new` if the value is `expected` (None: if the key does not exist). A
        failed precondition is a definite FAIL whose value is the current value."""
        k = _b64(key)
        if expected is None:  # never created (or deleted since): create_revision 0
            compare = {"key": k, "target": "CREATE", "result": "EQUAL", "create_revision": "0"}
        else:
            compare = {"key": k, "target": "VALUE", "result": "EQUAL"}
            compare["value"] = encode_value(expected)
        txn = {
            "compare": [compare],
            "success": [{"request_put": {"key": k, "value": encode_value(new)}}],
            "failure": [{"request_range": {"key": k}}],  # the value that stood in the way
        }
        res, body = await self._op("/v3/kv/txn", txn, write=True, leader=True)
        if body is None:
            return res
        if body.get("succeeded"):  # absent, not false, when the compare failed
            res.value = new
            return res
        ranged = (body.get("responses") or [{}])[0].get("response_range", {})
        res.outcome, res.error, res.value = FAIL, "precondition", _first_value(ranged.get("kvs"))
        return res

    async def txn(self, ops: list[list[Any]]) -> Result:
        """Micro-ops `["r", k, None]`, `["w", k, v]`, `["append", k, v]` as one
        transaction (see the module's docstring); ok value: the micro-ops with each read's
        value filled in. A key's list is stored as one JSON list."""
        micro = [list(m) for m in ops]
        return await self._read_then_write([k for _f, k, _v in micro], txn_plan(micro))

    async def transfer(self, frm: str | int, to: str | int, amount: int) -> Result:
        """Jepsen's bank transfer: read both balances, then write both in one Txn guarded
        by what was read; FAIL "insufficient" (nothing written) when `frm` holds less."""
        return await self._read_then_write([frm, to], transfer_plan(frm, to, amount))

    # ---- locks -----------------------------------------------------------------------

    async def acquire(self, name: str, ttl: int) -> Result:
        """Takes the lock `name` with a fresh lease of `ttl` seconds (etcd raises a TTL
        below its minimum, 2 s with its default timing), kept alive in the background
        until `release`. ok: held. fail: certainly not held (no lease could be granted:
        the lock was never asked for; or etcd refused the lock request). unknown: the lock
        request's answer was lost (it may have been granted, or still be): the lease is
        then revoked (best effort), as Jepsen's client does, so a late grant goes away.
        A lock that must wait for another holder waits within the operation's timeout."""
        if name in self._held:
            return Result(FAIL, error="already-held")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        granted, body = await self._op(
            "/v3/lease/grant", {"TTL": str(ttl)}, write=True, leader=True, deadline=deadline
        )
        if body is None or not body.get("ID"):
            # The lock was never asked for: whatever became of the lease, nobody holds
            # this lock through it (a lease granted unseen expires after its TTL).
            error = f"lease: {granted.error or 'no lease id'}"
            return Result(FAIL, None, error, granted.node, granted.attempts)
        lease, ttl_given = str(body["ID"]), int(body.get("TTL", ttl))
        held = Held(name, lease, granted.node or self.addrs[self._target], ttl_given)
        held.task = keepalive = asyncio.ensure_future(self._keep_alive(held))
        res, answer = await self._op(
            "/v3/lock/lock",
            {"name": _b64(name), "lease": lease},
            write=True,
            leader=True,
            deadline=deadline,
        )
        res.attempts += granted.attempts
        if answer is not None and answer.get("key"):
            held.key = answer["key"]
            self._held[name] = held
            # The lease as etcd's log writes it (hex), and the member keeping it alive:
            # what explains a lock lost to an expiry or a revoke.
            res.value = {"lease": format(int(lease), "x"), "via": self.by_addr.get(held.member)}
            return res
        keepalive.cancel()
        # Not held, or maybe held: either way this client will not act on it; revoking
        # the lease takes a lock it may have been granted away from it.
        await self._revoke(lease, min(1.0, self.timeout))
        if res.outcome == OK:  # answered without a key: not a lock
            res.outcome, res.error = FAIL, "lock: no key in the answer"
        return res

    async def release(self, name: str) -> Result:
        """Releases the lock: stops keeping its lease alive, unlocks, then revokes the
        lease. ok whenever it was held, whatever etcd answered (Jepsen's rule): the holder
        stops acting on the lock here, which is what the history's release says, and a
        lock etcd still holds for it goes once its lease runs out. fail "not-held": this
        client holds no lock of that name."""
        held = self._held.pop(name, None)
        if held is None:
            return Result(FAIL, error="not-held")
        if held.task is not None:
            held.task.cancel()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        res, answer = await self._op(
            "/v3/lock/unlock", {"key": held.key}, write=True, leader=True, deadline=deadline
        )
        left = deadline - loop.time()
        if left > 0:
            await self._revoke(held.lease, left)
        return Result(OK, None, res.error, res.node, res.attempts, res.node_id)

    async def hold(self, name: str, seconds: float) -> bool:
        """A holder's work: waits `seconds`, or less once etcd says the lock's lease is
        gone (a keepalive answered with no TTL). Returns whether the holder still believes
        it holds the lock: no answer at all (a paused or cut-off member) is no news."""
        held = self._held.get(name)
        if held is None:
            return False
        try:
            await asyncio.wait_for(held.lost.wait(), seconds)
        except TimeoutError:
            return True
        return False

    async def _keep_alive(self, held: Held) -> None:
        """Renews the lease every TTL/3 through the member that granted it, each attempt
        given TTL/3. A member that cannot be connected to (killed) is left for the next,
        as a client reconnects elsewhere; a timeout or an error is no news: the stream is
        still there and the client waits for the next renewal. A TTL-less answer says the
        lease has expired: the lock is lost."""
        every = max(0.1, held.ttl / 3)
        member = held.member
        while True:
            await asyncio.sleep(every)
            reply = await self._post(member, "/v3/lease/keepalive", {"ID": held.lease}, every)
            if not reply.sent:
                member = self.addrs[(self.addrs.index(member) + 1) % len(self.addrs)]
                continue
            result = (reply.body or {}).get("result")
            if isinstance(result, dict) and int(result.get("TTL", 0) or 0) <= 0:
                held.lost.set()
                return

    async def _revoke(self, lease: str, timeout: float) -> None:
        """Best effort: a lease revoked takes its keys (the lock) with it."""
        addr = self.addrs[self._target]
        await self._post(addr, "/v3/lease/revoke", {"ID": lease}, timeout, leader=True)

    async def status(self, addr: str | None = None) -> Result:
        """One member's own view: {"id", "role" ("leader" | "follower"), "term",
        "leader" (node id or None), ...}; `addr` is an address or a node id. etcd does not
        say when a member is a candidate: without a leader it reads "follower", and
        "errors" holds "etcdserver: no leader". Unknown only when it timed out."""
        addr = self.by_id.get(addr, addr) if addr else self.addrs[0]
        reply = await self._post(addr, "/v3/maintenance/status", {}, self.timeout)
        node_id = self.by_addr.get(addr)
        if reply.body is None:
            return self._failed(reply, addr, 1, maybe=reply.silent)
        s = reply.body
        me = _hex(s.get("header", {}).get("member_id"))
        lead = _hex(s.get("leader"))
        await self._learn_names(addr, {m for m in (me, lead) if m})
        value = {
            "id": self._names.get(me or "", node_id or me),
            "role": "leader" if me is not None and me == lead else "follower",
            "term": int(s.get("raftTerm", 0)),
            "leader": self._names.get(lead, lead) if lead else None,
            "member_id": me,
            "raft_index": int(s.get("raftIndex", 0)),
            "applied_index": int(s.get("raftAppliedIndex", 0)),
            "revision": int(s.get("header", {}).get("revision", 0)),
            "version": s.get("version"),
            "learner": bool(s.get("isLearner", False)),
            "errors": s.get("errors", []),
        }
        return Result(OK, value, node=addr, attempts=1, node_id=node_id)

    async def close(self) -> None:
        # A lock still held stops being kept alive: its lease runs out on its own.
        tasks = [h.task for h in self._held.values() if h.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._held.clear()
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def __aenter__(self) -> EtcdClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    # ---- one HTTP attempt ------------------------------------------------------------

    def _client(self) -> httpx.AsyncClient:
        # Made on first use, inside the running loop. trust_env=False: an HTTP(S)_PROXY
        # in the environment must not capture the cluster's traffic.
        if self._http is None:
            self._http = httpx.AsyncClient(trust_env=False)
        return self._http

    async def _post(
        self, addr: str, path: str, body: dict, timeout: float, leader: bool = False
    ) -> Reply:
        """One POST. `timeout` bounds the connect (at most connect_timeout) and then each
        read or write; `leader`: ask the member to refuse if it knows no leader."""
        t = httpx.Timeout(timeout, connect=min(self.connect_timeout, timeout))
        headers = LEADER_HEADER if leader else None
        try:
            r = await self._client().post(
                f"http://{addr}{path}", json=body, timeout=t, headers=headers
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout):
            return Reply(False, error="unreachable")  # no connection: nothing was sent
        except httpx.TimeoutException:
            return Reply(True, error="timeout")  # read or write timeout: maybe received
        except httpx.TransportError:
            return Reply(True, error="connection lost")  # reset or closed mid-request
        try:
            answer = r.json()
        except ValueError:
            answer = None  # e.g. the gateway's plain "404 page not found"
        if r.status_code == 200 and isinstance(answer, dict) and "error" not in answer:
            return Reply(True, body=answer, status=200)
        if not isinstance(answer, dict):
            return Reply(True, error=f"http {r.status_code}", status=r.status_code)
        error = str(answer.get("error") or answer.get("message"))
        return Reply(True, error=error, code=answer.get("code"), status=r.status_code)

    # ---- retries ---------------------------------------------------------------------

    def _start(self) -> None:
        if self.home is not None:
            self._target = self.home
        elif self.spread:
            self._target = self.rng.randrange(len(self.addrs))

    def _rotate(self) -> None:
        self._target = (self._target + 1) % len(self.addrs)

    async def _op(
        self, path: str, body: dict, write: bool, leader: bool, deadline: float | None = None
    ) -> tuple[Result, dict | None]:
        """Send until some node answers, the outcome is known to be unknown, or the time
        is up (`deadline`, on the loop's clock; default `timeout` from now). Returns the
        Result (ok with no value yet, when answered) and the answer."""
        async with self._lock:
            loop = asyncio.get_running_loop()
            if deadline is None:
                deadline = loop.time() + self.timeout
            self._start()
            self.backoff.reset()
            maybe = False  # some attempt may have been executed (reads only get here)
            attempts, addr = 0, self.addrs[self._target]
            shown = Reply(False, error="no attempt")  # the failure the Result will name
            fruitless: set[str] = set()  # nodes that refused at once since the last wait
            while (left := deadline - loop.time()) > 0:
                addr = self.addrs[self._target]
                attempts += 1
                # A write is never resent after a timeout, so it may use all the time left.
                timeout = left if write else min(left, self.attempt_timeout)
                reply = await self._post(addr, path, body, timeout, leader)
                if reply.body is not None:
                    ok = Result(OK, None, None, addr, attempts, self.by_addr.get(addr))
                    return ok, reply.body
                retry = _retryable(reply, write)
                if retry is None:  # a definite error that another node would repeat
                    return self._failed(reply, addr, attempts, maybe=False), None
                if not retry:  # a write that may have happened: never resend it
                    return self._failed(reply, addr, attempts, maybe=True), None
                if reply.sent or not shown.sent:
                    shown = reply  # etcd's words, or a timeout, say more than a refusal
                # A read that timed out or lost its connection may have been served: its
                # outcome is unknown unless another node answers.
                maybe = maybe or reply.silent
                self._rotate()
                if reply.silent:
                    continue  # a timeout has waited already
                # A refusal answers at once: once every node has refused since the last
                # wait, back off before going round again.
                fruitless.add(addr)
                if len(fruitless) >= len(self.addrs):
                    fruitless.clear()
                    wait = self.backoff.next()
                    await asyncio.sleep(min(wait, max(0.0, deadline - loop.time())))
            return self._failed(shown, addr, attempts, maybe=maybe), None

    def _failed(self, reply: Reply, addr: str, attempts: int, maybe: bool) -> Result:
        return Result(UNKNOWN if maybe else FAIL, None, reply.error, addr, attempts)

    # ---- transactions ----------------------------------------------------------------

    async def _read_then_write(self, keys: list[Any], plan: Plan) -> Result:
        """Reads `keys` at one revision; `plan` turns what was read (etcd key -> value,
        None when absent) into the writes (etcd key -> value) and the ok value, or raises
        Refused; then one Txn puts the writes if nothing read has changed. A failed compare
        starts over with a fresh read while the timeout lasts."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        names = list(dict.fromkeys(etcd_key(k) for k in keys))
        conflicts = Backoff(self.rng)
        attempts = 0
        while True:
            read, revisions = await self._read_keys(names, deadline)
            attempts += read.attempts
            if revisions is None:  # nothing was written, whatever the read's fate
                return Result(FAIL, None, read.error, read.node, attempts)
            try:
                writes, value = plan({k: value for k, (value, _rev) in revisions.items()})
            except Refused as r:
                return Result(FAIL, r.value, r.error, read.node, attempts, read.node_id)
            if not writes:  # read-only: the read was the transaction
                return Result(OK, value, None, read.node, attempts, read.node_id)
            compare = [_unchanged(k, rev) for k, (_value, rev) in revisions.items()]
            success = [
                {"request_put": {"key": _b64(k), "value": encode_value(v)}}
                for k, v in writes.items()
            ]
            res, answer = await self._op(
                "/v3/kv/txn",
                {"compare": compare, "success": success},
                write=True,
                leader=True,
                deadline=deadline,
            )
            res.attempts += attempts
            attempts = res.attempts
            if answer is None:  # fail (never proposed) or unknown (sent, no answer)
                return res
            if answer.get("succeeded"):  # absent, not false, when a compare failed
                res.value = value
                return res
            # Something read changed before the write: nothing was written.
            wait = conflicts.next()
            if loop.time() + wait >= deadline:
                return Result(FAIL, None, "conflict", res.node, attempts, res.node_id)
            await asyncio.sleep(wait)

    async def _read_keys(
        self, keys: list[str], deadline: float
    ) -> tuple[Result, dict[str, tuple[Any, int | None]] | None]:
        """Every key's value and mod_revision (None: absent) at one revision: a Txn of
        ranges only, which etcd serves as a read (linearizable, or from the member's own
        state when serializable)."""
        ranges: list[dict[str, Any]] = []
        for k in keys:
            ranged: dict[str, Any] = {"key": _b64(k)}
            if self.serializable:
                ranged["serializable"] = True
            ranges.append({"request_range": ranged})
        res, body = await self._op(
            "/v3/kv/txn",
            {"success": ranges},
            write=False,
            leader=not self.serializable,
            deadline=deadline,
        )
        if body is None:
            return res, None
        answers = body.get("responses") or []
        if len(answers) != len(keys):
            res.outcome, res.error = FAIL, f"read: {len(answers)} answers for {len(keys)} keys"
            return res, None
        seen: dict[str, tuple[Any, int | None]] = {}
        for k, a in zip(keys, answers, strict=True):
            kvs = a.get("response_range", {}).get("kvs")
            seen[k] = (
                (decode_value(kvs[0].get("value")), int(kvs[0]["mod_revision"]))
                if kvs
                else (None, None)
            )
        return res, seen

    # ---- member ids ------------------------------------------------------------------

    async def _learn_names(self, addr: str, ids: set[str]) -> None:
        """Map etcd's member ids to node ids from the member list (its `name` is the node
        id etcd was started with, else its client URL names one of our addresses)."""
        if ids <= self._names.keys():
            return
        reply = await self._post(addr, "/v3/cluster/member/list", {}, self.timeout)
        for m in (reply.body or {}).get("members", []):
            hid = _hex(m.get("ID"))
            node = m.get("name") if m.get("name") in self.by_id else None
            for url in m.get("clientURLs") or []:
                node = node or self.by_addr.get(url.split("://", 1)[-1].rstrip("/"))
            if hid and (node or m.get("name")):
                self._names[hid] = node or m["name"]


def _unchanged(key: str, mod_revision: int | None) -> dict[str, Any]:
    """A Txn compare: the key was last modified at `mod_revision`, or (None) it does not
    exist (never created, or deleted since)."""
    if mod_revision is None:
        return {"key": _b64(key), "target": "CREATE", "result": "EQUAL", "create_revision": "0"}
    return {
        "key": _b64(key),
        "target": "MOD",
        "result": "EQUAL",
        "mod_revision": str(mod_revision),
    }


def _retryable(reply: Reply, write: bool) -> bool | None:
    """True: try another node. False: stop, the outcome is unknown. None: stop, it
    certainly did not happen."""
    if not reply.sent:
        return True
    err = reply.error or ""
    if err in DEFINITE:
        return True if DEFINITE[err] else None
    if reply.code == INVALID_ARGUMENT:
        return None
    if reply.code is None and reply.status is not None and 400 <= reply.status < 500:
        return None  # refused by the HTTP layer (no such path), before any gRPC call
    if write:
        return False
    # A read changes nothing: any other error or a timeout just means ask elsewhere.
    return True
