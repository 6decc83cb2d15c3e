"""Galera's whole-cluster recovery where pc.recovery cannot do it: what Galera's
documentation tells an operator to do, done by the harness as that operator would.

A cluster killed whole comes back by pc.recovery when every member of the primary
component it last saved (gvwstate.dat) is back with that same saved view. When none can
(a member saved none: killed before it was written, or a state transfer's joiner; or the
members saved different views, none of which all of its members hold), the members wait
in a non-primary component, and give up after pc.wait_prim_timeout (mariadbd exits:
"failed to reach primary view"). Galera's documentation ("Restarting the Cluster",
"Resetting the Quorum"): find the most advanced member (`mysqld --wsrep-recover`, or
grastate.dat's seqno), set `safe_to_bootstrap: 1` in its grastate.dat and start it with
`--wsrep-new-cluster`, then start the others, which join it (IST or SST). No data is
wiped: a member behind the bootstrapped one receives what it lacks from it.

The recovery acts only when no fault is in force (no member killed and not yet restarted,
none paused, no partition: the faults are the experiment), and no member is in a primary
component: GRACE seconds after that began when the saved views show that pc.recovery
cannot restore one, STALL seconds otherwise. Each step is said in the run's output and in
every member's console log: why, each member's position, which member was bootstrapped.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from harness.systems.base import Members

GVWSTATE = "/data/node/mysql/gvwstate.dat"
# Seconds with every member meant to be up and none in a primary component before the
# saved views are read: the members' own start (InnoDB's recovery, then Galera's) first.
GRACE = 5.0
# Seconds the same may last while the saved views say pc.recovery could restore one,
# before bootstrapping anyway (a member that will not come back, say).
STALL = 30.0
# Seconds the bootstrapped member may take to form its primary component.
BOOTSTRAP_WAIT = 60.0


@dataclass(frozen=True)
class SavedView:
    """A member's gvwstate.dat: its own uuid and the last primary component it saw."""

    my_uuid: str
    view_id: str
    members: frozenset[str]


@dataclass(frozen=True)
class Position:
    """A member's position as `mariadb-member position` reports it."""

    uuid: str | None
    seqno: int  # -1: unknown (no state, or InnoDB has none)
    grastate_seqno: str
    safe_to_bootstrap: str

    def said(self) -> str:
        at = f"{self.uuid}:{self.seqno}" if self.uuid else "none"
        return (
            f"{at} (grastate.dat seqno {self.grastate_seqno}, "
            f"safe_to_bootstrap {self.safe_to_bootstrap})"
        )


def parse_gvwstate(text: str) -> SavedView | None:
    """gvwstate.dat's my_uuid, view_id and members; None when it is not one."""
    my_uuid, view_id, members = None, None, []
    for line in text.splitlines():
        key, _, value = line.partition(":")
        value = value.strip()
        if key == "my_uuid":
            my_uuid = value
        elif key == "view_id":
            view_id = value
        elif key == "member":
            members.append(value.split()[0])
    if not (my_uuid and view_id and members):
        return None
    return SavedView(my_uuid, view_id, frozenset(members))


def why_pc_recovery_cannot(views: dict[str, SavedView | None]) -> str | None:
    """Why no saved primary component can be restored by pc.recovery (each needs every one
    of its members back holding it); None when one can."""
    held: dict[str, set[str]] = {}  # view id -> the uuids of the members that saved it
    for v in views.values():
        if v is not None:
            held.setdefault(v.view_id, set()).add(v.my_uuid)
    for v in views.values():
        if v is not None and v.members <= held[v.view_id]:
            return None
    missing = [n for n, v in views.items() if v is None]
    if missing:
        return (
            f"{', '.join(missing)} saved no primary component (no gvwstate.dat), so "
            "pc.recovery cannot restore one"
        )
    saved = "; ".join(f"{n} view {v.view_id}" for n, v in views.items() if v is not None)
    return f"no saved primary component is held by all of its members ({saved})"


def parse_position(text: str) -> Position:
    """`position UUID:SEQNO grastate SEQNO safe_to_bootstrap 0|1` (or `none`s)."""
    words = text.split()
    fields = dict(zip(words[::2], words[1::2], strict=False))
    at = fields.get("position", "none")
    uuid, _, seqno = at.rpartition(":")
    try:
        n = int(seqno)
    except ValueError:
        uuid, n = "", -1
    return Position(
        uuid or None, n, fields.get("grastate", "none"), fields.get("safe_to_bootstrap", "none")
    )


def most_advanced(positions: dict[str, Position]) -> str:
    """The member to bootstrap: the highest seqno; of equals, one whose grastate.dat says
    it is safe to bootstrap from, then the first in the members' order."""
    order = {n: i for i, n in enumerate(positions)}
    return max(
        positions,
        key=lambda n: (positions[n].seqno, positions[n].safe_to_bootstrap == "1", -order[n]),
    )


def bootstrap_command(command: list[str]) -> list[str]:
    """The member's command line (`mariadb-member run [--found-cluster] ARGS`), starting
    it as the new primary component's first member."""
    return [*command[:2], "--bootstrap", *server_args(command)]


def server_args(command: list[str]) -> list[str]:
    """mariadbd's options in a member's command line."""
    return [a for a in command[2:] if a not in ("--found-cluster", "--bootstrap")]


@dataclass
class WholeClusterRecovery:
    """Called every few seconds (GaleraSystem.recover); keeps how long the cluster has
    been without a primary component."""

    grace: float = GRACE
    stall: float = STALL
    since: float | None = None  # monotonic time since when none has been primary

    def poll(self, members: Members) -> None:
        if members.faulted() is not None:
            self.since = None
            return
        statuses = members.statuses(timeout=1.0)
        if any(s is not None and s.get("cluster_status") == "Primary" for s in statuses.values()):
            self.since = None
            return
        now = time.monotonic()
        if self.since is None:
            self.since = now
            return
        down = now - self.since
        if down < self.grace:
            return
        why = why_pc_recovery_cannot(saved_views(members))
        if why is None:
            if down < self.stall:
                return
            why = f"no member in a primary component for {down:.0f} s"
        self.since = None
        bootstrap(members, why)


def saved_views(members: Members) -> dict[str, SavedView | None]:
    out = {}
    for node in members.nodes:
        code, text = members.exec(node, ["cat", GVWSTATE])
        out[node] = parse_gvwstate(text) if code == 0 else None
    return out


def positions_of(members: Members, nodes: list[str]) -> dict[str, Position]:
    """Every member's recovered position, all at once (each a mariadbd --wsrep-recover)."""

    def ask(node: str) -> Position:
        cmd = ["mariadb-member", "position", *server_args(members.command(node))]
        code, out = members.exec(node, cmd)
        line = out.strip().splitlines()[-1] if out.strip() else ""
        return parse_position(line) if code == 0 else Position(None, -1, "none", "none")

    with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
        return dict(zip(nodes, pool.map(ask, nodes), strict=True))


def bootstrap(members: Members, why: str) -> str | None:
    """Galera's documented bootstrap of a cluster that lost its primary component: stop
    every member, bootstrap the most advanced, start the others. The member bootstrapped,
    or None when a fault came first (then every member is started as usual, and a fault
    that killed one starts it on its heal)."""
    nodes = members.nodes
    members.say(
        f"no primary component: {why}; bootstrapping the most advanced member, as Galera's "
        "documentation says (stop all, --wsrep-recover, safe_to_bootstrap: 1 and "
        "--wsrep-new-cluster on it, then start the others)"
    )
    chosen = None
    try:
        for node in nodes:
            if members.running(node):
                members.stop(node)
        positions = positions_of(members, nodes)
        chosen = most_advanced(positions)
        members.say(
            "positions: "
            + "; ".join(f"{n} {p.said()}" for n, p in positions.items())
            + f"; bootstrapping {chosen}, the most advanced"
        )
        if _fault(members):
            return None
        members.start(chosen, bootstrap_command(members.command(chosen)))
        deadline = time.monotonic() + BOOTSTRAP_WAIT
        while True:
            st = members.statuses(timeout=1.0).get(chosen)
            if st is not None and st.get("cluster_status") == "Primary":
                break
            if _fault(members):
                return None
            if time.monotonic() > deadline:
                members.say(f"{chosen} formed no primary component in {BOOTSTRAP_WAIT:g} s")
                return None
            time.sleep(0.5)
        members.say(
            f"{chosen} bootstrapped a primary component at seqno {positions[chosen].seqno}; "
            f"starting {', '.join(n for n in nodes if n != chosen)} to join it"
        )
        return chosen
    finally:
        # Every member runs again whatever happened: the bootstrapped one as it was
        # started, the others with their own command lines (they join it, or, after a
        # fault, wait for their cluster as after any start).
        for node in nodes:
            if not members.running(node):
                members.start(node, members.command(node))


def _fault(members: Members) -> bool:
    why = members.faulted()
    if why is not None:
        members.say(f"a fault came first ({why}): left to the cluster and the fault's heal")
    return why is not None
