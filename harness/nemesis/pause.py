"""Pause: `docker pause` freezes every process of the node's container; heal resumes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.nemesis.base import ProcessFault

if TYPE_CHECKING:
    from harness.backends.base import Cluster


class PauseFault(ProcessFault):
    name = "pause"

    def _apply(self, cluster: Cluster, node: str) -> None:
        cluster.pause(node)

    def _undo(self, cluster: Cluster, node: str) -> None:
        cluster.resume(node)
