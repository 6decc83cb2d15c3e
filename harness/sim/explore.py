"""Whole simulated runs: a fault plan plus a random client workload on a SimCluster.

`run_simulation` is what the property tests (and a later `--backend sim`) call;
`random_faults` draws a fault plan from a seed, for seed searches.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from harness.sim.cluster import SimCluster, SimConfig

FAULT_KINDS = ("partition", "one-way", "isolate", "crash", "pause", "clock")


@dataclass(frozen=True)
class Fault:
    """One fault and its heal: it starts at at_ms and is undone for_ms later."""

    at_ms: float
    kind: str  # one of FAULT_KINDS
    nodes: tuple[str, ...]  # partition: one side (the rest is the other); one-way: senders
    #                         whose messages to the rest are lost; others: the targets
    for_ms: float
    rate: float = 1.0  # clock: how fast the targets' ticks run meanwhile

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")


def schedule_fault(c: SimCluster, f: Fault) -> None:
    end = f.at_ms + f.for_ms
    if f.kind == "partition":
        side = [i for i in f.nodes if i in c.ids]
        rest = [i for i in c.ids if i not in side]
        c.at(f.at_ms, lambda: c.partition(side, rest), f"fault partition {side}|{rest}")
        c.at(end, c.heal, "fault heal")
    elif f.kind == "one-way":
        side = [i for i in f.nodes if i in c.ids]
        rest = [i for i in c.ids if i not in side]

        def cut() -> None:
            for a in side:
                for b in rest:
                    c.block(a, b)

        c.at(f.at_ms, cut, f"fault one-way {side}->{rest}")
        c.at(end, c.heal, "fault heal")
    elif f.kind == "isolate":
        for i in f.nodes:
            c.at(f.at_ms, lambda i=i: c.isolate(i), f"fault isolate {i}")
        c.at(end, c.heal, "fault heal")
    elif f.kind == "crash":
        for i in f.nodes:
            c.at(f.at_ms, lambda i=i: c.crash(i), f"fault crash {i}")
            c.at(end, lambda i=i: c.restart(i), f"fault restart {i}")
    elif f.kind == "pause":
        for i in f.nodes:
            c.at(f.at_ms, lambda i=i: c.pause(i), f"fault pause {i}")
            c.at(end, lambda i=i: c.resume(i), f"fault resume {i}")
    elif f.kind == "clock":
        for i in f.nodes:
            c.at(f.at_ms, lambda i=i: c.set_clock_rate(i, f.rate), f"fault clock {i}")
            c.at(end, lambda i=i: c.set_clock_rate(i, 1.0), f"fault clock-reset {i}")


def random_faults(
    rng: random.Random,
    ids: list[str],
    duration_ms: float,
    count: int,
    kinds: tuple[str, ...] = FAULT_KINDS,
    max_for_ms: float = 600.0,
    min_for_ms: float = 5.0,
) -> list[Fault]:
    faults = []
    for _ in range(count):
        kind = rng.choice(kinds)
        k = rng.randint(1, max(1, len(ids) // 2))
        nodes = tuple(sorted(rng.sample(ids, k)))
        faults.append(
            Fault(
                at_ms=round(rng.uniform(0, duration_ms), 1),
                kind=kind,
                nodes=nodes,
                for_ms=round(rng.uniform(min_for_ms, max_for_ms), 1),
                rate=rng.choice((0.5, 2.0, 4.0)),
            )
        )
    return faults


def run_simulation(
    config: SimConfig,
    faults: list[Fault] = (),
    duration_ms: float = 2000.0,
    op_interval_ms: float = 10.0,
    keys: int = 3,
    finish: bool = True,
) -> SimCluster:
    """Run a workload under `faults` for duration_ms, then heal and check at rest.

    Raises SafetyViolation (an AssertionError) at the first broken property; the
    cluster's trace up to that point is on the exception's `cluster` attribute.
    """
    c = SimCluster(config)
    for f in faults:
        schedule_fault(c, f)
    counter = [0]

    def client() -> None:
        # Clients talk to any node that believes it leads, stale leaders included:
        # that is where stale reads and lost writes show.
        leaders = [i for i in c.ids if c.nodes[i].up and c.nodes[i].core.role == "leader"]
        node = c.rng.choice(leaders) if leaders else c.rng.choice(c.ids)
        key = f"k{c.rng.randrange(keys)}"
        r = c.rng.random()
        counter[0] += 1
        if r < 0.4:
            c.invoke("read", key, node=node)
        elif r < 0.85:
            c.invoke("write", key, counter[0], node=node)
        else:
            c.invoke("cas", key, [counter[0] - c.rng.randrange(1, 4), counter[0]], node=node)
        nxt = c.now + c.rng.expovariate(1.0 / op_interval_ms)
        if nxt < duration_ms:
            c.at(nxt, client, "client")

    c.at(config.tick_ms * config.election_ticks, client, "client")
    try:
        c.run_for(duration_ms)
        if finish:
            c.finish()
    except AssertionError as exc:
        exc.cluster = c  # type: ignore[attr-defined]
        raise
    return c
