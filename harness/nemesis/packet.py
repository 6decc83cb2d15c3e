"""Packet delay and loss on what the target nodes exchange: tc netem when the
kernel has it; without netem (this project's CI kernel) loss falls back to an
iptables `statistic` rule and delay is refused with the reason (see docs/docker.md)."""

from __future__ import annotations

import random
from typing import Any

from harness.nemesis.base import Fault, FaultError, check_number, resolve_targets


class PacketFault(Fault):
    name = "packet"
    options = ("delay-ms", "loss", "target")
    group = "network"

    @classmethod
    def _validate(cls, options: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if "delay-ms" in options:
            out["delay-ms"] = check_number(cls.name, "delay-ms", options["delay-ms"], 0)
        if "loss" in options:
            loss = check_number(cls.name, "loss", options["loss"], 0)
            if loss > 100:
                raise FaultError(f"packet: loss is a percentage (0-100), got {loss!r}", ("loss",))
            out["loss"] = loss
        if not out.get("delay-ms") and not out.get("loss"):
            raise FaultError("packet: needs delay-ms, loss or both (not zero)")
        return out

    @classmethod
    def draw(cls, rng: random.Random, nodes: list[str], target: Any) -> dict[str, Any]:
        options: dict[str, Any] = {"target": target}
        if rng.random() < 0.7:
            options["delay-ms"] = rng.choice([5, 20, 50, 200])
        if "delay-ms" not in options or rng.random() < 0.5:
            options["loss"] = rng.choice([5, 20, 50])
        return options

    def __init__(self, cluster, options, rng):
        super().__init__(cluster, options, rng)
        self.delay_ms = float(self.opts.get("delay-ms", 0))
        self.loss = float(self.opts.get("loss", 0))

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
