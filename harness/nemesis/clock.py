"""Clock faults through libfaketime: the node's wall and monotonic clocks move
together (libfaketime shifts both), without restarting it.

Modes: `bump` (delta-ms forward, or backward when negative, on top of the
current offset), `strobe` (flip between the current offset and offset + delta-ms
every period-ms until healed), `reset` (offset back to 0). Heal puts the
targets back to the offset they had before the fault (a reset has nothing to
undo). Rates (a clock running fast or slow) are not offered: with libfaketime a
rate, once set in a running process, stays after the control file says "+0"
(see README), so it could not be healed.
"""

from __future__ import annotations

from typing import Any

from harness.nemesis.base import Fault, FaultError, resolve_targets

MODES = ("bump", "strobe", "reset")


class ClockFault(Fault):
    name = "clock"
    options = ("mode", "delta-ms", "period-ms", "target")

    def __init__(self, cluster, options, rng):
        super().__init__(cluster, options, rng)
        self.mode = options.get("mode", "bump")
        if self.mode not in MODES:
            raise FaultError(f"clock: unknown mode {self.mode!r}; expected one of {MODES}")
        self.delta_s = float(options.get("delta-ms", 0)) / 1000
        self.period_s = float(options.get("period-ms", 0)) / 1000
        if self.mode in ("bump", "strobe") and "delta-ms" not in options:
            raise FaultError(f"clock: mode {self.mode} needs delta-ms")
        if self.mode == "strobe" and self.period_s <= 0:
            raise FaultError("clock: mode strobe needs period-ms > 0")

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
