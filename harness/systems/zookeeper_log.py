"""Node events (docs/DESIGN.md "Node events") from a ZooKeeper 3.8 server's own log.

The server logs through log4j (docker/zk-member.sh) to its console, which node-ctl appends
to the member's node.log (collected as console.log), one start after another:

  === node-ctl start 2026-12-07T00:57:51Z: zk-member --id 3 --servers ...
  2026-12-07 00:57:55,154 - INFO  [QuorumPeer[myid=3](...):QuorumPeer@1455] - LOOKING
  2026-12-07 00:57:55,156 - INFO  [...:FastLeaderElection@946] - New election. My id = 3,
      proposed zxid=0x0
  2026-12-07 00:57:55,495 - INFO  [...:QuorumPeer@1549] - LEADING
  2026-12-07 00:57:55,940 - INFO  [...:Leader@1519] - Have quorum of supporters, sids: [[1,
      3]]; starting up and setting last processed zxid: 0x100000000
  2026-12-07 00:57:55,500 - INFO  [...:QuorumPeer@1537] - FOLLOWING

What each becomes (`{"time", "node", "term", "role"}`, the term being ZooKeeper's epoch,
the high 32 bits of a zxid):
- LOOKING: "candidate"; FOLLOWING: "follower"; both at the last epoch this server's own log
  showed (ZooKeeper does not log the epoch a follower accepts).
- "Have quorum of supporters ... last processed zxid: 0x<epoch><counter>": "leader" in that
  epoch. This is the moment ZAB establishes a leader: a quorum acknowledged NEWLEADER for
  the epoch it proposed, and only now does it serve. A LEADING line alone is not a leader:
  a server that never gathers its quorum (within initLimit ticks) never leads an epoch,
  and is left out.
- The first event after each start carries `"start": true`.

What the election-safety checker can then see: two servers established as leader of the
same epoch. What it cannot: votes (FastLeaderElection's notifications are proposals, not
durable votes, and the epochs a server persists, currentEpoch and acceptedEpoch, are
written without a log line), the epoch a follower accepted, and how long a deposed leader
went on serving reads before it noticed it had lost its quorum (that is what the
linearizable checker's stale reads show).

Timestamps are the server's own wall clock (log4j's ISO8601, in the container's time zone,
UTC), as every node's events are.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# "<stamp> - <LEVEL> [<thread>:<Class>@<line>] - <message>"; the thread's name holds brackets
# of its own ("QuorumPeer[myid=3](plain=...)"), so the first "] - " ends it.
LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) - \w+\s+\[.*?\] - (.*)$")
LEADING_QUORUM = re.compile(r"Have quorum of supporters.*last processed zxid: 0x([0-9a-fA-F]+)")
ZXID_SEEN = re.compile(
    r"(?:proposed zxid=|Got zxid |Getting a (?:diff|snapshot) from the leader )0x([0-9a-fA-F]+)"
)
START = "=== node-ctl start"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MILLISECOND = timedelta(milliseconds=1)


def wall_ns(stamp: str) -> int:
    """log4j's "2026-12-07 00:57:55,940" (UTC) as ns since the epoch."""
    t = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").replace(tzinfo=UTC)
    return (t - EPOCH) // MILLISECOND * 1_000_000


def events_from_log(lines: Iterable[str], node: str) -> list[dict[str, Any]]:
    """The role and epoch changes of server `node` from its log lines, in order."""
    events: list[dict[str, Any]] = []
    epoch = 0
    started = False
    last: tuple[int, str] | None = None
    for raw in lines:
        if raw.startswith(START):
            started = True
            continue
        m = LINE.match(raw.strip())
        if m is None:
            continue
        stamp, msg = m.groups()
        role = None
        if (q := LEADING_QUORUM.search(msg)) is not None:
            epoch = max(epoch, int(q.group(1), 16) >> 32)
            role = "leader"
        elif (z := ZXID_SEEN.search(msg)) is not None:
            epoch = max(epoch, int(z.group(1), 16) >> 32)
        elif msg == "LOOKING":
            role = "candidate"
        elif msg == "FOLLOWING":
            role = "follower"
        if role is None or ((epoch, role) == last and not started):
            continue
        event: dict[str, Any] = {"time": wall_ns(stamp), "node": node, "term": epoch, "role": role}
        if started:
            event["start"] = True
            started = False
        events.append(event)
        last = (epoch, role)
    return events


def write_events(console: Path, node: str, out: Path) -> None:
    """events.jsonl for `node` from its collected console.log (nothing when it is absent)."""
    if not console.is_file():
        return
    events = events_from_log(console.read_text(errors="replace").splitlines(), node)
    out.write_text("".join(json.dumps(e) + "\n" for e in events))
