"""The few lines a run prints at the end: what happened, each verdict, where to look."""

from __future__ import annotations

from typing import Any

from checkers.registry import summary_of
from harness.store import RunDir

VERDICT_WORDS = {True: "valid", False: "INVALID", "unknown": "unknown"}


def verdict_word(valid: Any) -> str:
    return VERDICT_WORDS.get(valid, str(valid))


def summary_text(run_dir: RunDir, results: dict[str, Any]) -> str:
    checkers = results.get("checkers", {})
    lines = [f"{results.get('name', run_dir.path.parent.name)}: {verdict_word(results['valid'])}"]
    if results.get("status") != "complete":
        lines.append(f"  run {results.get('status')}: {results.get('error', '')}".rstrip(": "))
    total = checkers.get("stats", {}).get("total")
    if total:
        ops = sum(total.values())
        lines.append(
            f"  operations: {ops} ({total.get('ok', 0)} ok, {total.get('fail', 0)} fail, "
            f"{total.get('info', 0)} info)"
        )
    faults = results.get("faults")
    if faults is not None:
        kinds: dict[str, int] = {}
        for f in faults:
            kinds[f["fault"]] = kinds.get(f["fault"], 0) + 1
        applied = ", ".join(f"{n} {k}" for k, n in kinds.items()) or "none"
        lines.append(f"  faults applied: {applied}")
    for err in results.get("fault-errors", []) + results.get("heal-errors", []):
        lines.append(f"  fault problem: {err}")
    for name, r in checkers.items():
        why = r.get("reason")
        word = "not applicable" if r.get("applicable") is False else verdict_word(r["valid"])
        lines.append(f"  {name}: {word}" + (f" ({why})" if why else ""))
        if r["valid"] is False:
            # The checker's explanation; a checker without one says in a line what it found.
            text = r.get("explanation") or summary_of(name, r)
            lines += ["    " + ln for ln in text.splitlines()[:30]]
    lines.append(f"  results: {run_dir.path}")
    if run_dir.report.exists():
        lines.append(f"  report:  {run_dir.report}")
    return "\n".join(lines)
