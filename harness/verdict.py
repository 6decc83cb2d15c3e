"""Check a run folder with the schedule's checkers and combine their verdicts.

Each checker reads what the run left behind: the history for linearizability and
stats, the nodes' events.jsonl for election safety, their committed-log dumps for
log agreement. A checker that has nothing to read, or that breaks, says "unknown"
with the reason: a run is never called valid on evidence it did not look at.
"""

from __future__ import annotations

from typing import Any

from harness.schedule import Schedule
from harness.store import RunDir

LINEARIZABLE_TIMEOUT = 300.0  # seconds; then the verdict is "unknown"


def combine(verdicts: list[Any]) -> Any:
    """False if any checker found a violation, else "unknown" if any could not tell."""
    if any(v is False for v in verdicts):
        return False
    if any(v != True for v in verdicts):  # noqa: E712 - "unknown" is truthy
        return "unknown"
    return True


def _unknown(name: str, reason: str) -> dict[str, Any]:
    return {"valid": "unknown", "checker": name, "reason": reason}


def check_run(run_dir: RunDir, schedule: Schedule) -> dict[str, Any]:
    from checkers import (
        HistoryError,
        check_election_safety,
        check_history,
        check_log_agreement,
        check_stats,
        events_files,
        get_model,
        node_logs,
        read_jsonl,
    )

    results: dict[str, dict[str, Any]] = {}
    events = None
    try:
        events = read_jsonl(str(run_dir.history)).events
    except (OSError, HistoryError) as exc:
        history_problem = f"history unreadable: {exc}"
    else:
        ops = sum(1 for e in events if e.type == "invoke")
        history_problem = None if ops else "the history has no operations"

    for name in schedule.checkers:
        try:
            if name == "linearizable":
                if history_problem:
                    results[name] = _unknown(name, history_problem)
                    continue
                r = check_history(
                    events,
                    get_model("cas-register"),
                    timeout=LINEARIZABLE_TIMEOUT,
                    file=str(run_dir.history),
                )
                results[name] = r.to_dict()
                if r.counterexample is not None:
                    results[name]["explanation"] = r.counterexample.to_text()
            elif name == "stats":
                if events is None:
                    results[name] = _unknown(name, history_problem)
                    continue
                results[name] = check_stats(events, file=str(run_dir.history)).to_dict()
            elif name == "election-safety":
                files = events_files(run_dir.path)
                if not files:
                    results[name] = _unknown(name, "no node events.jsonl was collected")
                    continue
                r = check_election_safety(files)
                results[name] = {**r.to_dict(), "explanation": r.to_text()}
            elif name == "log-agreement":
                logs = node_logs(run_dir.path)
                if len(logs) < 2:
                    results[name] = _unknown(
                        name, f"committed logs of {len(logs)} node(s) collected; need 2"
                    )
                    continue
                r = check_log_agreement(logs)
                results[name] = r.to_dict()
        except Exception as exc:  # a broken checker must not lose the run's results
            results[name] = _unknown(name, f"checker failed: {type(exc).__name__}: {exc}")
    return {"valid": combine([r["valid"] for r in results.values()]), "checkers": results}
