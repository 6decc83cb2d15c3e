"""Times in the checkers' explanations: seconds, as everywhere else a user reads them.

A history's times are nanoseconds since its run started; a run's explanations count
from the workload's start instead (RunFiles.origin_ns), as the schedule's fault times and
the report's axis do, so "[2.500 .. 3.257 s]" is where the report draws the operation. A
node's events carry its wall clock (Docker), shown as the time of day; the simulation
stamps them with the history's own clock.
"""

from __future__ import annotations

from datetime import UTC, datetime

WALL_NS = 10**17  # nanoseconds since 1970 from 1973 on: a wall clock, not a run's own


def seconds(ns: int | float, origin_ns: int = 0) -> str:
    """'12.345', seconds since the origin (the workload's start, or the history's)."""
    return f"{(ns - origin_ns) / 1e9:.3f}"


def moment(ns: int | float, origin_ns: int = 0) -> str:
    """A node's event time: '01:21:55.401 UTC' for a wall clock, else '12.345 s'."""
    if ns >= WALL_NS:
        at = datetime.fromtimestamp(ns / 1e9, tz=UTC)
        return at.strftime("%H:%M:%S.%f")[:-3] + " UTC"
    return f"{seconds(ns, origin_ns)} s"
