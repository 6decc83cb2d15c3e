"""etcd 3.4 (Debian's etcd-server) as a system under test, on real containers: its client
keeps the history's ok / fail / unknown rules against the real server, a short run under
every fault family it takes is valid (clock faults refused, with the reason, as fault
problems), and with serializable reads the harness catches etcd's documented stale reads.
Multi-run figures are benchmarks/bench_detection.py --system etcd's."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from harness.nemesis import Nemesis, make_fault
from harness.pytest_plugin import assert_caught, assert_valid
from harness.runner import run_schedule
from harness.schedule import parse_schedule
from harness.systems.base import ClientOptions
from harness.systems.etcd import EtcdSystem
from raftnode.client import FAIL, OK, UNKNOWN
from tests.chaos.clusters import system_cluster

pytestmark = pytest.mark.chaos


@pytest.fixture(scope="module")
def etcd(request):
    """A 3-member etcd cluster for the module, torn down after it."""
    request.getfixturevalue("docker_engine")
    with system_cluster(EtcdSystem()) as c:
        c.wait_for_leader(30)
        yield c


def _run(coro):
    return asyncio.run(coro)


@pytest.mark.chaos(system="etcd", nodes=3)
def test_the_chaos_cluster_fixture_starts_any_system(chaos_cluster):
    assert chaos_cluster.system.name == "etcd"
    lead = chaos_cluster.wait_for_leader(30)
    assert chaos_cluster.statuses()[lead]["role"] == "leader"


def test_status_names_the_leader_by_node_id(etcd):
    lead = etcd.wait_for_leader(15)
    statuses = etcd.statuses()
    assert {st["id"] for st in statuses.values()} == {"n1", "n2", "n3"}
    assert all(st["leader"] == lead for st in statuses.values())
    assert [n for n, st in statuses.items() if st["role"] == "leader"] == [lead]


def test_reads_writes_and_cas_keep_the_history_rules(etcd):
    async def go():
        c = etcd.open_client(3.0, ClientOptions(home="n2"))
        try:
            assert (await c.get("absent")).value is None
            assert (await c.put("k", 1)).outcome == OK
            got = await c.get("k")
            assert (got.outcome, got.value) == (OK, 1)
            assert (await c.cas("k", 1, 2)).outcome == OK
            lost = await c.cas("k", 1, 3)  # it holds 2: certainly not applied
            assert (lost.outcome, lost.error) == (FAIL, "precondition")
            assert (await c.cas("fresh", None, 5)).outcome == OK  # absent key: expected None
            assert (await c.get("k")).value == 2
        finally:
            await c.close()

    _run(go())


def test_a_write_to_a_paused_member_is_unknown_and_a_dead_one_fails(etcd):
    lead = etcd.wait_for_leader(15)
    victim = next(n for n in etcd.nodes if n != lead)

    async def write(home: str, value: int):
        c = etcd.open_client(1.5, ClientOptions(home=home, attempt_timeout=1.5))
        try:
            return await c.put("p", value)
        finally:
            await c.close()

    etcd.pause(victim)
    try:
        # Sent and never answered: it may still be applied (etcd has no deduplication).
        assert _run(write(victim, 7)).outcome == UNKNOWN
    finally:
        etcd.resume(victim)
    etcd.kill(victim)
    try:
        # Refused at connect: certainly not sent there; the client goes on to another.
        res = _run(write(victim, 8))
        assert res.outcome == OK and res.node != etcd.addrs()[victim]
    finally:
        etcd.restart(victim)
    deadline = time.monotonic() + 30
    while etcd.status(victim) is None:
        assert time.monotonic() < deadline, f"{victim} did not come back"
        time.sleep(0.2)


def test_a_clock_fault_is_refused_with_the_reason(etcd):
    with pytest.raises(Exception, match="libfaketime"):
        Nemesis().start(make_fault({"fault": "clock", "mode": "bump", "delta-ms": 500}, etcd))


SHORT = """
name: etcd-short
system: {system}
nodes: 3
time-limit: 15
workload:
  {{name: register, keys: 3, concurrency: 6, rate: 100, mix: {{read: 0.6, write: 0.3, cas: 0.1}}}}
nemesis:
{nemesis}
final: {{heal: true, recover: 3}}
checkers: [linearizable, election-safety, stats, crashes]
"""


def test_a_short_run_under_every_family_is_valid_and_election_safety_reads_etcds_log(
    docker_engine, tmp_path
):
    nemesis = """
  - {at: 1, fault: partition, mode: leader, for: 3}
  - {at: 5, fault: kill, target: leader, for: 2}
  - {at: 8, fault: pause, target: one, for: 2}
  - {at: 11, fault: packet, delay-ms: 30, loss: 5, target: all, for: 2}
  - {at: 12, fault: clock, mode: bump, delta-ms: 2000, target: one, for: 2}
"""
    s = parse_schedule(SHORT.format(system="etcd", nemesis=nemesis), "etcd-short.yaml")
    outcome = run_schedule(s, "docker", tmp_path, seed=1, say=print)
    assert_valid(outcome)
    r = outcome.results
    assert r["system"] == "etcd"
    assert {f["fault"] for f in r["faults"]} == {"partition", "kill", "pause", "packet"}
    assert len(r["fault-errors"]) == 1 and "libfaketime" in r["fault-errors"][0]
    # The leader was cut off and then killed: etcd's own log shows the new terms.
    assert r["checkers"]["election-safety"]["terms_with_leader"] >= 2
    events = Path(outcome.run_dir.path) / "nodes" / "n1" / "events.jsonl"
    assert all(json.loads(line)["node"] == "n1" for line in events.read_text().splitlines())


def test_serializable_reads_are_caught_stale_under_a_partition(docker_engine, tmp_path):
    # A minority cut off for most of the run: its members keep answering serializable
    # reads from what they had while the majority moves on; clients bound to them see it.
    nemesis = "  - {at: 2, fault: partition, mode: minority, for: 10}"
    system = "{name: etcd, reads: serializable}"
    s = parse_schedule(SHORT.format(system=system, nemesis=nemesis), "etcd-serial.yaml")
    outcome = run_schedule(s, "docker", tmp_path, seed=1, say=print)
    assert_caught(outcome, "linearizable")
    lin = outcome.results["checkers"]["linearizable"]
    assert "read" in json.dumps(lin)  # the counterexample names the stale read


# ---- transactions and locks (issue 26) ------------------------------------------------


def test_transactions_and_transfers_keep_the_history_rules(etcd):
    async def go():
        a = etcd.open_client(3.0, ClientOptions(home="n1"))
        b = etcd.open_client(3.0, ClientOptions(home="n2"))
        try:
            # Reads see the transaction's own earlier writes; a list is appended to.
            r = await a.txn([["r", 1, None], ["append", 1, 5], ["r", 1, None], ["w", 2, 7]])
            assert (r.outcome, r.value) == (
                OK,
                [["r", 1, None], ["append", 1, 5], ["r", 1, [5]], ["w", 2, 7]],
            )
            got = await b.txn([["r", 1, None], ["r", 2, None], ["r", 3, None]])
            assert got.value == [["r", 1, [5]], ["r", 2, 7], ["r", 3, None]]
            assert (await a.txn([["w", "acct-a", 10], ["w", "acct-b", 0]])).outcome == OK
            assert (await a.transfer("acct-a", "acct-b", 4)).outcome == OK
            short = await b.transfer("acct-a", "acct-b", 7)  # 6 left: nothing written
            assert (short.outcome, short.error) == (FAIL, "insufficient")
            balances = await b.txn([["r", "acct-a", None], ["r", "acct-b", None]])
            assert [v for _f, _k, v in balances.value] == [6, 4]

            # Two clients appending to one key at once: each Txn's compare on the
            # mod_revision read makes the loser start over from a fresh read, so no
            # acknowledged append is lost and none is applied twice.
            async def appends(client, first: int) -> list[str]:
                return [
                    (await client.txn([["append", "x", v]])).outcome
                    for v in range(first, first + 15)
                ]

            outcomes = await asyncio.gather(appends(a, 100), appends(b, 200))
            final = (await a.txn([["r", "x", None]])).value[0][2]
            acked = [
                v
                for first, outs in zip((100, 200), outcomes, strict=True)
                for v, o in zip(range(first, first + 15), outs, strict=True)
                if o == OK
            ]
            assert sorted(final) == sorted(acked) and len(acked) >= 20
        finally:
            await a.close()
            await b.close()

    _run(go())


def test_a_lock_holder_paused_past_its_ttl_loses_the_lock_to_another_holder(etcd):
    # Jepsen's etcd 3.4.3 finding, by hand: the member a holder's lease is kept alive
    # through is paused for longer than the TTL; etcd lets the lease expire and gives the
    # lock to another client while the holder, hearing nothing, still believes it holds it.
    lead = etcd.wait_for_leader(15)
    held_via, other = [n for n in etcd.nodes if n != lead][:2]

    async def go():
        a = etcd.open_client(6.0, ClientOptions(home=held_via))
        b = etcd.open_client(6.0, ClientOptions(home=other))
        try:
            got = await a.acquire("L", 2)
            assert got.outcome == OK and got.value["via"] == held_via
            assert await a.hold("L", 2.5)  # kept alive past its TTL
            etcd.pause(held_via)
            try:
                t0 = time.monotonic()
                second = await b.acquire("L", 2)  # waits for the lease to run out
                assert second.outcome == OK, second
                assert time.monotonic() - t0 < 5.5
                assert await a.hold("L", 0.5)  # no news: a still believes it holds L
            finally:
                etcd.resume(held_via)
            # Once its member answers again, the keepalive hears the lease is gone.
            assert not await a.hold("L", 5.0)
            assert (await a.release("L")).outcome == OK
            assert (await b.release("L")).outcome == OK
        finally:
            await a.close()
            await b.close()

    _run(go())


def _shortened(name: str, seconds: int) -> str:
    """A shipped schedule's text, its workload cut to `seconds` and its cluster to 3."""
    text = (Path(__file__).parents[2] / "schedules" / name).read_text()
    return text.replace("time-limit: 60", f"time-limit: {seconds}").replace("nodes: 5", "nodes: 3")


def test_a_short_list_append_run_under_faults_is_valid(docker_engine, tmp_path):
    text = _shortened("etcd-txn.yaml", 10)
    s = parse_schedule(text, "etcd-txn.yaml")
    outcome = run_schedule(s, "docker", tmp_path, seed=1, say=print)
    assert_valid(outcome)
    assert outcome.results["checkers"]["elle"]["valid"] is True


def test_a_short_lock_run_releases_every_lock_it_took(docker_engine, tmp_path):
    # No faults: etcd's locks hold as mutexes while their leases are kept alive, and a
    # holder still working when the run stops releases (the history ends with no holder).
    text = _shortened("etcd-lock.yaml", 6)
    text = text.split("nemesis:")[0] + "nemesis: []\nfinal: {heal: true, recover: 1}\n"
    text += "checkers: [linearizable, stats]\n"
    s = parse_schedule(text.replace("hold: [1, 10]", "hold: [0.3, 1.5]"), "etcd-lock.yaml")
    outcome = run_schedule(s, "docker", tmp_path, seed=1, say=print)
    assert_valid(outcome)
    assert outcome.results["checkers"]["linearizable"]["model"] == "mutex"
    events = [json.loads(line) for line in (Path(outcome.run_dir.path) / "history.jsonl").open()]
    held: dict[object, int] = {}
    for e in events:
        if e["type"] == "ok" and e["f"] in ("acquire", "release"):
            held[e["key"]] = held.get(e["key"], 0) + (1 if e["f"] == "acquire" else -1)
    assert held and all(n == 0 for n in held.values())
