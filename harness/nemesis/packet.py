"""Packet delay and loss on what the target nodes exchange: tc netem when the
kernel has it; without netem (this project's CI kernel) loss falls back to an
iptables `statistic` rule and delay is refused with the reason (see README)."""

from __future__ import annotations

from typing import Any

from harness.nemesis.base import Fault, FaultError, resolve_targets


class PacketFault(Fault):
    name = "packet"
    options = ("delay-ms", "loss", "target")

    def __init__(self, cluster, options, rng):
        super().__init__(cluster, options, rng)
        self.delay_ms = float(options.get("delay-ms", 0))
        self.loss = float(options.get("loss", 0))
        if self.delay_ms < 0 or not 0 <= self.loss <= 100:
            raise FaultError("packet: delay-ms must be >= 0 and loss a percentage 0-100")
        if not self.delay_ms and not self.loss:
            raise FaultError("packet: needs delay-ms, loss or both")

    def _start(self) -> dict[str, Any]:
        self.targets = resolve_targets(self.cluster, self.opts.get("target", "one"), self.rng)
        try:
            self.cluster.each(
                lambda n: self.cluster.set_packet(n, self.delay_ms, self.loss), self.targets
            )
        except Exception:  # some may have been applied: undo them all
            for node in self.targets:
                try:
                    self.cluster.clear_packet(node)
                except Exception:
                    pass
            raise
        return {"nodes": self.targets, "delay-ms": self.delay_ms, "loss": self.loss}

    def _heal(self) -> None:
        self.cluster.each(self.cluster.clear_packet, self.targets)
