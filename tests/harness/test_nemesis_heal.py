"""heal_all at a run's end heals a fault whose start was still running in its worker thread
(the driver cancels its nemesis task, not the thread): a kill of every node that began just
before the workload ended left the whole cluster dead through the final reads."""

from __future__ import annotations

import random
import threading

from harness.nemesis.base import Fault, Nemesis


class SlowFault(Fault):
    name = "slow"
    options = ()

    def __init__(self, started: threading.Event, go_on: threading.Event):
        super().__init__(None, {}, random.Random(0))
        self.started, self.go_on, self.healed = started, go_on, False

    def _start(self) -> dict:
        self.started.set()
        assert self.go_on.wait(10)
        return {"nodes": ["n1"]}

    def _heal(self) -> None:
        self.healed = True


def test_heal_all_waits_for_a_start_in_flight_and_heals_it():
    nemesis = Nemesis()
    started, go_on = threading.Event(), threading.Event()
    fault = SlowFault(started, go_on)
    starter = threading.Thread(target=nemesis.start, args=(fault,))
    starter.start()
    assert started.wait(10)
    errors: list[str] = []
    healer = threading.Thread(target=lambda: errors.extend(nemesis.heal_all()))
    healer.start()
    healer.join(0.3)
    assert healer.is_alive(), "heal_all went on while a start was in flight"
    go_on.set()
    healer.join(10)
    starter.join(10)
    assert not healer.is_alive() and fault.healed and not errors
