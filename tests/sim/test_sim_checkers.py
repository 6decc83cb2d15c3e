"""Cross-check: the histories the simulation records, judged by the project's own
linearizability checker (checkers/), agree with the simulation's verdicts."""

from __future__ import annotations

import dataclasses
import random

from test_sim_bugs import _first_violation, _search_config

from checkers.history import read_jsonl
from checkers.linear.models import get_model
from checkers.linear.search import check_history
from harness.backends.sim import NetworkConfig, SimConfig, SimRun, random_plan, simulate


def _linearizable(run: SimRun) -> object:
    history = read_jsonl("<sim>", text=run.history_text())
    return check_history(history.events, get_model("cas-register"), timeout=60).valid


def test_a_correct_cluster_under_faults_gives_a_linearizable_history():
    config = SimConfig(nodes=5, seed=11, network=NetworkConfig(1.0, 20.0, drop=0.05))
    faults = random_plan(random.Random(11), [f"n{i}" for i in range(1, 6)], 2.0, 6)
    run = simulate(config, faults, 2000.0)
    assert sum(1 for op in run.completions if op["type"] == "ok") > 50
    assert _linearizable(run) is True


def test_the_checker_also_rejects_the_history_of_a_stale_read_run():
    seed, _ = _first_violation("stale-read")
    config, faults = _search_config(seed, frozenset({"stale-read"}))
    # Let the run go on past the violation, so the stale answer reaches the history.
    config = dataclasses.replace(config, stop_on_violation=False)
    run = simulate(config, faults, 2000.0)
    assert any(v.startswith("stale read") for v in run.sim.violations)
    assert _linearizable(run) is False
