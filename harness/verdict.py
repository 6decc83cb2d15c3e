"""Check a run folder with the schedule's checkers and combine their verdicts.

Each checker (checkers/registry.py) reads what the run left behind (checkers/protocol.py's
RunFiles): the history, the nodes' events.jsonl, their committed-log dumps. A checker
that has nothing to read, or that breaks, says "unknown" with the reason: a run is never
called valid on evidence it did not look at.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.schedule import Schedule
from harness.store import RunDir


def combine(verdicts: list[Any]) -> Any:
    """False if any checker found a violation, else "unknown" if any could not tell (or
    none looked)."""
    if not verdicts:
        return "unknown"
    if any(v is False for v in verdicts):
        return False
    if any(v != True for v in verdicts):  # noqa: E712 - "unknown" is truthy
        return "unknown"
    return True


class ChecksInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM while the checkers ran: `partial` is check_run's answer with the
    checkers that finished, the others "unknown" (not checked)."""

    def __init__(self, partial: dict[str, Any]):
        super().__init__("interrupted while checking")
        self.partial = partial


def check_run(
    run_dir: RunDir,
    schedule: Schedule,
    say: Callable[[str], None] | None = None,
    origin_ns: int = 0,
) -> dict[str, Any]:
    """{"valid": combined, "checkers": {name: the checker's results.json entry}}. A checker
    the system under test gives nothing to read (etcd: log-agreement) is marked
    `"applicable": false` with the reason, and left out of the combined verdict. `say`
    hears each checker's name as it starts (a linearizability search can take a while).
    `origin_ns`: the workload's start on the history's clock, where explanations count
    seconds from (results.json "workload-start-ns")."""
    from checkers.protocol import RunFiles, Verdict
    from checkers.registry import CHECKERS
    from harness.systems import system_class

    unchecked = system_class(schedule.system.name).unchecked
    run = RunFiles.in_folder(run_dir.path, run_dir.history, origin_ns)
    results: dict[str, dict[str, Any]] = {}
    for name in schedule.checkers:
        if name in unchecked:
            why = f"{schedule.system.name}: {unchecked[name]}"
            results[name] = {"valid": "unknown", "applicable": False, "reason": why}
            continue
        if say is not None:
            say(f"run: checking {name}")
        try:
            verdict = CHECKERS[name].check(run)
        except KeyboardInterrupt:
            for rest in schedule.checkers:
                skipped = Verdict.unknown(rest, "not checked: interrupted")
                results.setdefault(rest, skipped.to_dict())
            raise ChecksInterrupted(_combined(results)) from None
        except Exception as exc:  # a broken checker must not lose the run's results
            verdict = Verdict.unknown(name, f"checker failed: {type(exc).__name__}: {exc}")
        results[name] = verdict.to_dict()
    return _combined(results)


def _combined(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    counted = [r["valid"] for r in results.values() if r.get("applicable", True)]
    return {"valid": combine(counted), "checkers": results}
