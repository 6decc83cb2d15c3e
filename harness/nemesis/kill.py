"""Crash: SIGKILL of the node process (its data stays); heal starts it again."""

from __future__ import annotations

import random
from typing import Any

from harness.nemesis.base import Fault, resolve_targets


class KillFault(Fault):
    name = "kill"
    options = ("target",)
    group = "process"

    @classmethod
    def draw(cls, rng: random.Random, nodes: list[str], target: Any) -> dict[str, Any]:
        return {"target": target}

    def _start(self) -> dict[str, Any]:
        self.targets = resolve_targets(self.cluster, self.opts.get("target", "one"), self.rng)
        for node in self.targets:
            self.cluster.kill(node)
        return {"nodes": self.targets, "signal": "SIGKILL"}

    def _heal(self) -> None:
        for node in self.targets:
            self.cluster.restart(node)
