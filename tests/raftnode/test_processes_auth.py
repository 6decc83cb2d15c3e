"""Peers that prove who they are: a process that reaches a node's port but lacks the
cluster secret cannot make it take a Raft message (raftnode/wire.py's signed frames).

Forged frames go to real raftnode processes: an AppendEntries that would overwrite the
log's first entry and commit it, and a vote request for a far higher term, each sent
unsigned and signed with the wrong secret. The nodes refuse and count them; their terms,
data and logs stay as they were. The same vote sent to a cluster run with --no-auth is
taken: the forgery is well formed, and the secret is what stops it.
"""

from __future__ import annotations

import asyncio
import json
import socket

from harness.backends.local.cluster import LocalCluster
from raftnode import wire
from tests.raftnode.test_processes import kv, make_cluster, put_all, read_all, run  # noqa: F401

FORGED_TERM = 1000
DATA = {"a": 1, "b": 2, "c": 3}


def forged_frames(src: str, dst: str) -> list[dict]:
    append = {
        "type": "append", "src": src, "dst": dst, "term": FORGED_TERM,
        "index": 0, "log_term": 0, "commit": 1,
        "entries": [[FORGED_TERM, 1, {"op": "write", "key": "a", "value": "forged"}]],
    }  # fmt: skip
    vote = {"type": "vote", "src": src, "dst": dst, "term": FORGED_TERM + 1,
            "index": 10**6, "log_term": FORGED_TERM}  # fmt: skip
    return [{"hello": src, "addr": "127.0.0.1:1"}, {"m": append}, {"m": vote}]


def send_raw(addr: str, frames: list[bytes]) -> None:
    host, port = wire.parse_addr(addr)
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(b"".join(frames))


def forge(cluster: LocalCluster, src: str, dst: str, key: bytes | None) -> int:
    """Sends the forged frames to dst, signed with `key` (None: unsigned); how many."""
    frames = forged_frames(src, dst)
    encode = (lambda f: wire.encode_signed(f, wire.Mac(key))) if key else wire.encode
    send_raw(cluster.addrs()[dst], [encode(f) for f in frames])
    return len(frames)


def test_forged_append_and_vote_are_refused_and_the_data_is_intact(make_cluster):  # noqa: F811
    cluster = make_cluster(3)
    leader = run(cluster.wait_leader())
    run(put_all(cluster, DATA))
    before = run(cluster.astatuses())
    assert all(st["peer_auth"] and st["refused_frames"] == 0 for st in before.values())
    log_before = run(cluster.committed_log(leader))

    # The leader's id on every forged frame, to each node: unsigned, then with another secret.
    wrong = wire.mac_key("not-this-cluster's-secret")
    sent = {n: forge(cluster, leader, n, None) + forge(cluster, leader, n, wrong)
            for n in cluster.nodes}  # fmt: skip

    statuses = run(cluster.wait_for(
        "every node to count the forged frames",
        lambda st: len(st) == 3 and all(st[n]["refused_frames"] >= sent[n] for n in st) and st,
    ))  # fmt: skip
    for n, st in statuses.items():
        assert st["refused_frames"] == sent[n], (n, st)
        assert st["term"] == before[n]["term"] < FORGED_TERM, (n, st)  # no term taken from one
    assert run(cluster.wait_leader()) == leader  # nobody stepped down or voted

    # The data: the values written, and every node's committed log as it was, then one more
    # write commits on top of it everywhere.
    assert run(read_all(cluster, DATA)) == DATA
    run(put_all(cluster, {"d": 4}))

    async def logs():
        return {n: await cluster.committed_log(n) for n in cluster.nodes}

    async def agreed():
        end = asyncio.get_running_loop().time() + 15
        while True:
            got = await logs()
            if all(lg == got[leader] for lg in got.values()) and len(got[leader]) > len(log_before):
                return got[leader]
            assert asyncio.get_running_loop().time() < end, f"logs never agreed: {got}"
            await asyncio.sleep(0.05)

    log_after = run(agreed())
    assert log_after[: len(log_before)] == log_before
    assert "forged" not in repr(log_after)


def test_a_membership_change_needs_the_secret_other_requests_do_not(make_cluster):  # noqa: F811
    cluster = make_cluster(3)
    run(cluster.wait_leader())
    # A shell without RAFTNODE_SECRET: reads and writes work, a member change is refused.
    assert kv(cluster, "put", "k", "1", secret=False).returncode == 0
    r = kv(cluster, "member", "add", "n9=127.0.0.1:1", secret=False)
    assert r.returncode == 1 and "unauthenticated" in r.stdout, (r.stdout, r.stderr)
    r = kv(cluster, "member", "list", secret=False)
    assert r.returncode == 1 and "unauthenticated" in r.stdout
    # With it, the same request goes through (list: nothing changes).
    r = kv(cluster, "member", "list")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["voters"] == ["n1", "n2", "n3"]


def test_without_auth_the_same_forged_vote_is_taken(make_cluster):  # noqa: F811
    """The control: a cluster run with --no-auth takes the forged vote's term, so the test
    above fails if the node stops checking."""
    cluster = make_cluster(3, extra_args=("--no-auth",))
    run(cluster.wait_leader())
    st = run(cluster.astatuses())
    assert not any(s["peer_auth"] for s in st.values())
    target = cluster.nodes[0]
    forge(cluster, "n2" if target != "n2" else "n3", target, None)
    run(cluster.wait_for(
        f"{target} to take the forged term",
        lambda st: target in st and st[target]["term"] >= FORGED_TERM,
    ))  # fmt: skip
