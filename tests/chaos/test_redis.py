"""Redis with Sentinel (Debian's redis-server and redis-sentinel 7.0) as a system under test,
on real containers: the status names the primary the Sentinels agree on, the client keeps
the history's ok / fail / unknown rules against the real servers (a paused primary, WAIT
short of its count, a demoted primary), clock faults are refused with the reason, and a
short run with the primary cut off for longer than down-after-ms loses acknowledged adds,
which the set checker names. Multi-run figures: benchmarks/bench_detection.py --system
redis."""

from __future__ import annotations

import asyncio
import time

import pytest

from harness.backends.docker.cluster import DockerCluster
from harness.nemesis import Nemesis, make_fault
from harness.pytest_plugin import assert_caught
from harness.runner import run_schedule
from harness.schedule import parse_schedule
from harness.systems.base import ClientOptions
from harness.systems.redis import RedisSystem
from harness.systems.redis_client import RedisClient
from raftnode.client import FAIL, OK, UNKNOWN
from tests.chaos.clusters import system_cluster

pytestmark = pytest.mark.chaos


@pytest.fixture(scope="module")
def redis(request):
    """A primary, two replicas and three Sentinels for the module, torn down after it."""
    request.getfixturevalue("docker_engine")
    with system_cluster(RedisSystem()) as c:
        yield c


def _run(coro):
    return asyncio.run(coro)


def _client(cluster: DockerCluster, **kw) -> RedisClient:
    sentinels = {n: (a.rsplit(":", 1)[0], 26379) for n, a in cluster.addrs().items()}
    return RedisClient(sentinels, **kw)


def _wait_until(what: str, check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, f"{what}: not within {timeout:g} s"
        time.sleep(0.2)


def test_status_names_the_primary_the_sentinels_agree_on(redis):
    statuses = redis.statuses()
    assert redis.leader() == "n1"  # the deployment starts with n1 as its primary
    assert all(st["leader"] == "n1" for st in statuses.values())
    assert statuses["n1"]["server-role"] == "primary"
    assert {statuses[n]["replicates"] for n in ("n2", "n3")} == {"n1"}
    assert all(st["sentinel-primary"] == "n1" for st in statuses.values())


def test_register_and_set_operations_keep_the_history_rules(redis):
    async def go():
        c = redis.open_client(3.0, ClientOptions(home="n2"))
        try:
            assert (await c.get("absent")).value is None
            assert (await c.put("k", 1)).outcome == OK
            got = await c.get("k")
            assert (got.outcome, got.value, got.node_id) == (OK, 1, "n1")  # the primary
            assert (await c.cas("k", 1, 2)).outcome == OK
            lost = await c.cas("k", 1, 3)  # it holds 2: certainly not applied
            assert (lost.outcome, lost.error, lost.value) == (FAIL, "precondition", 2)
            assert (await c.cas("fresh", None, 5)).outcome == OK  # absent key: expected None
            assert (await c.cas("fresh", None, 6)).error == "precondition"
            assert (await c.add("s", 3)).outcome == OK
            assert (await c.add("s", 1)).outcome == OK
            read = await c.members("s")
            assert (read.outcome, read.value) == (OK, [1, 3])
        finally:
            await c.close()

    _run(go())


def test_a_paused_primary_makes_writes_unknown_and_reads_failed(redis):
    async def go():
        c = redis.open_client(1.0, ClientOptions(home="n1"))
        try:
            assert (await c.put("p", 1)).outcome == OK  # connected to the primary
            redis.pause("n1")
            try:
                write = await c.put("p", 2)
                read = await c.get("p")
            finally:
                redis.resume("n1")
            return write, read
        finally:
            await c.close()

    write, read = _run(go())
    # Sent and never answered: it may yet be applied. A read changes nothing: failed.
    assert (write.outcome, write.error) == (UNKNOWN, "timeout")
    assert read.outcome == FAIL


def test_wait_short_of_its_count_is_unknown_and_applied_on_the_primary(redis):
    async def go():
        c = _client(redis, timeout=1.0, wait=2)
        try:
            assert (await c.put("w", 1)).outcome == OK  # both replicas acknowledge
            redis.pause("n3")
            try:
                short = await c.put("w", 2)
            finally:
                redis.resume("n3")
            seen = await c.get("w")
            return short, seen
        finally:
            await c.close()

    short, seen = _run(go())
    assert (short.outcome, short.error) == (UNKNOWN, "WAIT: 1 of 2 replicas acknowledged")
    assert seen.value == 2  # in the primary's data set: unknown, not failed


def test_a_write_the_primary_refuses_fails_and_is_not_applied(redis):
    """min-replicas-to-write above the replicas there are: the primary answers NOREPLICAS
    before it applies anything, a definite fail (the option's real effect once replicas
    lag, here at once)."""
    import redis as redis_py

    primary = redis_py.Redis(host=redis.ips["n1"], port=6379, socket_timeout=5)
    primary.config_set("min-replicas-to-write", 3)
    try:

        async def go():
            c = redis.open_client(2.0, ClientOptions(home="n2"))
            try:
                return await c.put("refused", 1), await c.add("refused-set", 1)
            finally:
                await c.close()

        put, add = _run(go())
    finally:
        primary.config_set("min-replicas-to-write", 0)
        primary.close()
    for res in (put, add):
        assert res.outcome == FAIL and res.error.startswith("NOREPLICAS"), res
    assert _run(_read("refused", redis)) is None


async def _read(key: str, cluster: DockerCluster):
    c = cluster.open_client(2.0)
    try:
        return (await c.get(key)).value
    finally:
        await c.close()


def test_a_clock_fault_is_refused_with_the_reason(redis):
    with pytest.raises(Exception, match="jemalloc"):
        Nemesis().start(make_fault({"fault": "clock", "mode": "bump", "delta-ms": 500}, redis))


def test_after_a_failover_the_demoted_primary_refuses_and_clients_follow(redis):
    """The primary cut off past down-after-ms: the Sentinels promote a replica; a client
    still connected to the old primary writes there (acknowledged) until the heal, when
    Sentinel demotes it: READONLY, certainly not applied, so the client asks the Sentinels
    again and the next write lands on the new primary."""

    async def write(c, value):
        return await c.put("f", value)

    def promoted() -> str | None:
        lead = redis.leader()
        return lead if lead not in (None, "n1") else None

    async def go():
        c = redis.open_client(2.0, ClientOptions(home="n1"))
        try:
            assert (await write(c, 1)).node_id == "n1"
            redis.cut_many([("n1", "n2"), ("n1", "n3")])
            try:
                new = await asyncio.to_thread(_wait_until, "a failover", promoted, 40)
                during = await write(c, 2)  # still to n1: acknowledged by the old primary
            finally:
                redis.heal_network()
            await asyncio.to_thread(
                _wait_until,
                "n1 demoted",
                lambda: (redis.status("n1") or {}).get("server-role") == "replica",
                40,
            )
            after = await write(c, 3)
            return new, during, after
        finally:
            await c.close()

    new, during, after = _run(go())
    assert (during.outcome, during.node_id) == (OK, "n1")
    assert (after.outcome, after.node_id) == (OK, new)


SHORT = """
name: redis-short
system: redis
nodes: 3
time-limit: 16
workload: {name: set, concurrency: 6, rate: 100, mix: {add: 1.0}}
nemesis:
  - {at: 2, fault: partition, mode: leader, for: 10}
final: {heal: true, recover: 4}
"""


def test_a_primary_cut_off_loses_acknowledged_adds_and_the_set_checker_names_them(
    docker_engine, tmp_path
):
    s = parse_schedule(SHORT, "redis-short.yaml")
    outcome = run_schedule(s, "docker", tmp_path, seed=1, say=print)
    assert_caught(outcome, "set")
    r = outcome.results
    assert r["system"] == "redis"
    assert r["faults"][0]["groups"][0] == ["n1"]  # mode leader reached the primary
    lost = r["checkers"]["set"]
    assert lost["counts"]["lost"] > 0 and "lost" in lost["anomalies"]
