"""Crash: SIGKILL of the node process (its data stays); heal starts it again."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from harness.nemesis.base import ProcessFault

if TYPE_CHECKING:
    from harness.backends.base import Cluster


class KillFault(ProcessFault):
    name = "kill"
    details: ClassVar[dict[str, Any]] = {"signal": "SIGKILL"}

    def _apply(self, cluster: Cluster, node: str) -> None:
        cluster.kill(node)

    def _undo(self, cluster: Cluster, node: str) -> None:
        cluster.restart(node)
