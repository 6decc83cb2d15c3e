"""Clock faults through libfaketime: the node's wall and monotonic clocks move
together (libfaketime shifts both), without restarting it.

Modes: `bump` (delta-ms forward, or backward when negative, on top of the
current offset), `strobe` (flip between the current offset and offset + delta-ms
every period-ms until healed), `reset` (offset back to 0). Heal puts the
targets back to the offset they had before the fault (a reset has nothing to
undo). Rates (a clock running fast or slow) are not offered: with libfaketime a
rate, once set in a running process, stays after the control file says "+0"
(see docs/docker.md), so it could not be healed.
"""

from __future__ import annotations

import random
from typing import Any

from harness.nemesis.base import Fault, FaultError, check_choice, check_number, resolve_targets

MODES = ("bump", "strobe", "reset")
NEEDS = {"bump": ("delta-ms",), "strobe": ("delta-ms", "period-ms"), "reset": ()}


class ClockFault(Fault):
    name = "clock"
    options = ("mode", "delta-ms", "period-ms", "target")
    group = "clock"

    @classmethod
    def _validate(cls, options: dict[str, Any]) -> dict[str, Any]:
        mode = check_choice(cls.name, "mode", options.get("mode", "bump"), MODES)
        out: dict[str, Any] = {"mode": mode}
        for key in NEEDS[mode]:
            if key not in options:
                raise FaultError(f"clock: mode {mode} needs {key}")
        for key in ("delta-ms", "period-ms"):
            if key in options:
                if key not in NEEDS[mode]:
                    raise FaultError(f"clock: mode {mode} takes no {key}", (key,))
                # delta-ms may be negative: a bump backwards.
                minimum = 1 if key == "period-ms" else None
                out[key] = check_number(cls.name, key, options[key], minimum)
        return out

    @classmethod
    def draw(cls, rng: random.Random, nodes: list[str], target: Any) -> dict[str, Any]:
        delta = rng.choice([-1, 1]) * rng.choice([100, 500, 1000, 3000])
        if rng.random() < 0.5:
            return {"mode": "bump", "delta-ms": delta, "target": target}
        period = rng.choice([50, 200, 500])
        return {"mode": "strobe", "delta-ms": delta, "period-ms": period, "target": target}

    def __init__(self, cluster, options, rng):
        super().__init__(cluster, options, rng)
        self.mode = self.opts["mode"]
        self.delta_s = float(self.opts.get("delta-ms", 0)) / 1000
        self.period_s = float(self.opts.get("period-ms", 0)) / 1000

    def _start(self) -> dict[str, Any]:
        c = self.cluster
        self.targets = resolve_targets(c, self.opts.get("target", "one"), self.rng)
        self.before = {n: c.clock_offsets[n] for n in self.targets}

        def apply(node: str) -> None:
            if self.mode == "bump":
                c.set_clock(node, self.before[node] + self.delta_s)
            elif self.mode == "strobe":
                c.strobe_clock(node, self.delta_s, self.period_s)
            else:
                c.set_clock(node, 0.0)

        c.each(apply, self.targets)
        return {
            "mode": self.mode,
            "nodes": self.targets,
            "delta-ms": self.delta_s * 1000,
            "offsets-ms": {n: c.clock_offsets[n] * 1000 for n in self.targets},
        }

    def _heal(self) -> None:
        def undo(node: str) -> None:
            if self.mode == "strobe":
                self.cluster.stop_strobe(node)
            if self.mode != "reset":
                self.cluster.set_clock(node, self.before[node])

        self.cluster.each(undo, self.targets)
