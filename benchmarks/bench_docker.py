"""Docker figures: image build from nothing and from cache, cluster start-up, faults.

    .venv/bin/python benchmarks/bench_docker.py [--nodes 5] [--repeat 3] [--skip-build]
    .venv/bin/python benchmarks/bench_docker.py --system-images redis zookeeper

- image from nothing: the offline base (debootstrap + docker import) and the node
  layer on it, built under throw-away tags beside the real ones (removed after), so
  a cluster in use elsewhere is not disturbed;
- `--system-images NAME...`: instead, each system's image from nothing on the base there
  (no layer cache: its Debian packages downloaded and installed), under throw-away tags;
- image from cache: `raftquake image build` when nothing changed (the common case),
  and the node layer alone on a cached base (after an edit of raftnode/);
- cluster up: from DockerCluster.start() to a leader, on a cached image (target 10 s);
- each fault: time to apply it (start) and to heal it, through the nemesis, plus,
  where it matters, how long the cluster took to have a leader again;
- a client across a failover: 10 clients write in a loop, the leader is killed, and the
  attempts of the operations that spanned the failover are counted (raftnode/client.py's
  backoff; before it, one such operation made 900-2,000 attempts in under a second).

Prints one figure per line, with the ratio to the target where there is one.
The figures depend on the load of the machine: say so when quoting them.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from harness.backends.base import Unsupported  # noqa: E402
from harness.backends.docker import image  # noqa: E402
from harness.backends.docker.cluster import DockerCluster, DockerConfig, docker_available  # noqa: E402
from harness.nemesis import make_fault  # noqa: E402

UP_TARGET_S = 10.0


def figure(name: str, seconds: float, target: float | None = None) -> None:
    extra = f"  ({seconds / target:.2f} x target {target:g} s)" if target else ""
    print(f"{name:<62} {seconds:8.2f} s{extra}", flush=True)


def bench_build() -> None:
    import docker

    client = docker.from_env()
    tmp = uuid.uuid4().hex[:8]
    base_tag, node_tag = f"raftquake-base:bench-{tmp}", f"raftquake-node:bench-{tmp}"
    try:
        t0 = time.monotonic()
        image.build_offline_base(base_tag, log=lambda _m: None)
        t1 = time.monotonic()
        image.build(base=base_tag, force=True, tag=node_tag)
        t2 = time.monotonic()
        figure("image from nothing: offline base", t1 - t0)
        figure("image from nothing: node layer", t2 - t1)
        figure("image from nothing: total", t2 - t0)
        # An edit of raftnode/: only the layer copying it is rebuilt.
        with tempfile.TemporaryDirectory() as tmpdir:
            root = image.copy_sources(Path(tmpdir))
            with open(root / "raftnode" / "__init__.py", "a") as f:
                f.write(f"\n# bench edit {tmp}\n")
            t3 = time.monotonic()
            image.build(root=root, base=base_tag, force=True, tag=node_tag + "b")
            figure("node layer after an edit of raftnode/", time.monotonic() - t3)
    finally:
        for tag in (node_tag + "b", node_tag, base_tag):
            try:
                client.images.remove(tag, force=True)
            except docker.errors.ImageNotFound:
                pass
    image.build()  # the real one, so the next figure is the cached case
    t4 = time.monotonic()
    image.build()
    figure("image from cache (nothing changed)", time.monotonic() - t4)


def bench_system_images(names: list[str]) -> None:
    """Each named system's image from nothing on the base that is there (its Dockerfile
    installs its Debian packages: the download and unpacking are most of it), under a
    throw-away tag, no layer cache; removed after."""
    import docker
    from harness.systems import system_class

    client = docker.from_env()
    for name in names:
        spec = system_class(name)().image()
        tag = f"{spec.repo}:bench-{uuid.uuid4().hex[:8]}"
        try:
            t0 = time.monotonic()
            image.build(spec=spec, tag=tag, force=True, nocache=True)
            figure(f"{name} image from nothing (on the base)", time.monotonic() - t0)
        finally:
            try:
                client.images.remove(tag, force=True)
            except docker.errors.ImageNotFound:
                pass


def bench_up(tag: str, nodes: int, repeat: int) -> None:
    ups, downs = [], []
    for _ in range(repeat):
        t0 = time.monotonic()
        c = DockerCluster(DockerConfig(nodes=nodes, image=tag, signals=False))
        try:
            c.start()
            c.wait_for_leader(30)
            ups.append(time.monotonic() - t0)
        finally:
            t1 = time.monotonic()
            c.teardown()
            downs.append(time.monotonic() - t1)
    figure(f"{nodes}-node cluster up with a leader (median)", statistics.median(ups), UP_TARGET_S)
    figure(f"{nodes}-node cluster up with a leader (worst)", max(ups), UP_TARGET_S)
    figure(f"{nodes}-node cluster teardown (median)", statistics.median(downs))


FAULTS = [
    {"fault": "partition", "mode": "halves"},
    {"fault": "partition", "mode": "majorities-ring"},
    {"fault": "partition", "mode": "leader", "one-way": True},
    {"fault": "kill", "target": "leader"},
    {"fault": "pause", "target": "leader"},
    {"fault": "clock", "mode": "bump", "delta-ms": 5000, "target": "all"},
    {"fault": "clock", "mode": "strobe", "delta-ms": 2000, "period-ms": 200, "target": "one"},
    {"fault": "packet", "loss": 20, "target": "all"},
    {"fault": "packet", "delay-ms": 50, "target": "all"},
]


def label(spec: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in spec.items() if k != "fault").join(
        (spec["fault"] + " (", ")")
    )


def bench_faults(tag: str, nodes: int) -> None:
    rng = random.Random(7)
    with DockerCluster(DockerConfig(nodes=nodes, image=tag, signals=False)) as c:
        c.wait_for_leader(30)
        for spec in FAULTS:
            fault = make_fault(spec, c, rng)
            t0 = time.monotonic()
            try:
                fault.start()
            except Unsupported as exc:
                print(f"{label(spec):<62} unsupported here: {exc}")
                continue
            t1 = time.monotonic()
            fault.heal()
            t2 = time.monotonic()
            figure(f"{label(spec)} apply", t1 - t0)
            figure(f"{label(spec)} heal", t2 - t1)
            c.wait_ready(30)
            c.wait_for_leader(30)
        # Recovery: a killed leader, and how long until the others elect another.
        old = c.wait_for_leader(30)
        t0 = time.monotonic()
        c.kill(old)
        c.wait_for_leader(30, exclude={old})
        figure("kill leader -> new leader", time.monotonic() - t0)
        t1 = time.monotonic()
        c.restart(old)
        c.wait_ready(30)
        figure("restart -> killed node answers again", time.monotonic() - t1)


def bench_client_failover(tag: str, nodes: int, clients: int = 10) -> None:
    import asyncio

    from raftnode.client import Client

    with DockerCluster(DockerConfig(nodes=nodes, image=tag, signals=False)) as c:
        old = c.wait_for_leader(30)
        addrs = c.addrs()
        spans: list[tuple[float, int, str]] = []  # (seconds, attempts, outcome)

        async def writer(i: int, stop: asyncio.Event) -> None:
            async with Client(addrs, timeout=2.0) as cl:
                n = 0
                while not stop.is_set():
                    n += 1
                    t = time.monotonic()
                    r = await cl.put(f"k{i}", n)
                    spans.append((time.monotonic() - t, r.attempts, r.outcome))

        async def run() -> None:
            stop = asyncio.Event()
            tasks = [asyncio.create_task(writer(i, stop)) for i in range(clients)]
            await asyncio.sleep(1.0)
            await asyncio.to_thread(c.kill, old)
            await asyncio.sleep(4.0)
            stop.set()
            await asyncio.gather(*tasks)

        asyncio.run(run())
        slow = [s for s in spans if s[1] > 1]
        worst = max(spans, key=lambda s: s[1])
        print(
            f"client failover: {len(spans)} writes by {clients} clients, {len(slow)} needed "
            f"more than one attempt; most attempts {worst[1]} over {worst[0]:.2f} s "
            f"({worst[2]}); attempts per second in that operation {worst[1] / worst[0]:.0f}",
            flush=True,
        )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nodes", type=int, default=5)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--skip-build", action="store_true", help="skip the from-nothing build")
    p.add_argument("--failover-only", action="store_true", help="only the client failover")
    p.add_argument(
        "--system-images",
        nargs="+",
        metavar="NAME",
        help="only these systems' images from nothing (no layer cache), e.g. redis zookeeper",
    )
    args = p.parse_args()
    ok, why = docker_available()
    if not ok:
        print(f"bench_docker: skipped: {why}")
        return 0
    if args.system_images:
        bench_system_images(args.system_images)
        return 0
    if args.failover_only:
        bench_client_failover(image.build().tag, args.nodes)
        return 0
    if not args.skip_build:
        bench_build()
    tag = image.build().tag
    bench_up(tag, args.nodes, args.repeat)
    bench_faults(tag, args.nodes)
    bench_client_failover(tag, args.nodes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
