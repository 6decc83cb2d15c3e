"""Node events (docs/DESIGN.md "Node events") from an etcd 3.4 member's own log.

Run the member with `--logger=zap --log-outputs=stderr`: every line is then a JSON object
such as (etcd 3.4.23)

  {"level":"info","ts":"2026-11-29T06:35:30.182Z","caller":"raft/raft.go:771",
   "msg":"be9e1c7d8c09a344 became leader at term 74"}

etcd's raft says "<member id> became follower|pre-candidate|candidate|leader at term N"
on every change of role (a pre-candidate keeps its term; the others may move it), and
only ever about the member itself. Each becomes one event
`{"time": <wall ns>, "node": "n1", "term": N, "role": ...}`, the format the
election-safety checker reads (checkers/raft/election.py). The member's first event after
each start carries `"start": true` (no "voted_for": etcd's log does not say which vote
it recovered, so the checker holds it to leaders alone).

Votes are left out on purpose: raft logs "cast MsgVote for ..." when it steps the
request, before the vote is persisted, so a member killed in between could log two votes
in a term without having granted two, and the checker would report a double vote etcd
never made.

Member ids are hex in the log ("%x", no padding); `member_names_from_log` maps them to
the member names (`--name`) from what the log itself says. Lines that are not JSON
(etcd prints a few plain ones, e.g. a Go panic) or that do not match are skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

BECAME = re.compile(r"^([0-9a-f]+) became (leader|follower|candidate|pre-candidate) at term (\d+)$")
# `Name:n3` inside "{Name:n3 ClientURLs:[http://127.0.0.1:23793]}" (a Go struct, not JSON).
ATTR_NAME = re.compile(r"Name:(\S*)")
STARTS = ("starting local member", "restarting local member")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def _records(lines: Iterable[str]) -> Iterable[dict[str, Any]]:
    """The JSON objects among the lines, in order; anything else is skipped."""
    for line in lines:
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict):
            yield rec


def wall_ns(ts: Any) -> int | None:
    """zap's "ts" as wall-clock ns since the epoch: etcd 3.4 writes ISO 8601 with
    milliseconds ("2026-11-29T06:35:30.182Z"); zap's default is float seconds."""
    if isinstance(ts, int | float) and not isinstance(ts, bool):
        return round(ts * 1_000_000_000)
    if not isinstance(ts, str):
        return None
    try:
        t = datetime.fromisoformat(ts)
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    # Exact integer arithmetic: a float timestamp would lose the last digits.
    return (t - EPOCH) // MICROSECOND * 1000


def member_names_from_log(lines: Iterable[str]) -> dict[str, str]:
    """Hex member id -> member name, from what one member's log says:
    - its own id ("local-member-id", on every member line) with its name (the
      "name" of "starting an etcd server", or "Name:" of "published local member");
    - every member's id with its peer URLs ("added member", printed on each start,
      as the membership is replayed) matched to the names in "initial-cluster"
      ("n1=http://...,n2=http://...", from "starting an etcd server").
    """
    names: dict[str, str] = {}
    url_name: dict[str, str] = {}  # peer URL -> name, from initial-cluster
    id_urls: dict[str, list[str]] = {}  # hex id -> peer URLs, from "added member"
    me: str | None = None
    my_name: str | None = None
    for rec in _records(lines):
        msg = rec.get("msg")
        me = rec.get("local-member-id") or me
        if msg == "starting an etcd server":
            my_name = rec.get("name") or my_name
            url_name.update(_initial_cluster(rec.get("initial-cluster")))
        elif msg == "added member" and rec.get("added-peer-id"):
            id_urls[rec["added-peer-id"]] = list(rec.get("added-peer-peer-urls") or [])
        elif msg == "published local member to cluster through raft":
            m = ATTR_NAME.search(str(rec.get("local-member-attributes", "")))
            my_name = (m and m.group(1)) or my_name
        if me and my_name:
            names[me] = my_name
    for hid, urls in id_urls.items():
        for url in urls:
            if url in url_name:
                names.setdefault(hid, url_name[url])
    return names


def _initial_cluster(text: Any) -> dict[str, str]:
    """ "n1=http://a:2380,n2=http://b:2380" -> {"http://a:2380": "n1", ...}."""
    out: dict[str, str] = {}
    for part in str(text or "").split(","):
        name, sep, url = part.partition("=")
        if sep and name and url:
            out[url.strip()] = name.strip()
    return out


def events_from_log(
    lines: Iterable[str], node: str, member_names: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """The role and term changes of member `node` from its etcd log lines, in order.

    Which member id is `node`: the log's own "local-member-id" once it has said it (at
    start, before raft's first line); else the id `member_names` (hex id -> name) gives
    `node`; else every "became" line counts (raft only writes them about itself). A
    line that repeats the current role and term is not a change and is dropped, except
    the first after a start, which is marked `"start": true`.
    """
    me = next((h for h, n in (member_names or {}).items() if n == node), None)
    events: list[dict[str, Any]] = []
    last: tuple[int, str] | None = None
    started = False
    for rec in _records(lines):
        msg = rec.get("msg")
        me = rec.get("local-member-id") or me
        if msg in STARTS:
            started = True
            continue
        m = BECAME.match(msg) if isinstance(msg, str) else None
        if m is None or (me is not None and m.group(1) != me):
            continue
        time = wall_ns(rec.get("ts"))
        if time is None:
            continue
        term, role = int(m.group(3)), m.group(2)
        if (term, role) == last and not started:
            continue
        event: dict[str, Any] = {"time": time, "node": node, "term": term, "role": role}
        if started:
            event["start"] = True
            started = False
        events.append(event)
        last = (term, role)
    return events
