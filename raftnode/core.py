"""The Raft consensus core: a pure state machine, in the style of etcd-io/raft.

No sockets, no clock, no disk and no threads live here. Time enters only as
`tick()` calls and randomness only from the `random.Random` the caller passes,
so the same core runs in the real server (raftnode/server.py) and in the
deterministic simulation (harness/backends/sim/), where a seed fixes every choice.

The caller's loop is:

    core.step(msg) / core.tick() / core.propose(cmd) / core.read_index(rid)
    if core.has_ready():
        rd = core.ready()
        persist rd.hard_state and rd.entries (fsync)   # before anything leaves the node
        send rd.messages
        apply rd.committed in order, answer rd.reads once applied >= index, fail rd.failed_reads

After a restart the core's applied cursor starts at 0: the first Ready.committed
holds entries 1..commit again (the state machine is in memory and is rebuilt by
replay). Ready.hard_state is emitted whenever term, voted_for or commit changed.
No advance() call is needed: ready() hands everything out at once, and the caller
may keep stepping the core while an earlier Ready is still being persisted, as
long as it persists Readys in order and holds each one's messages, committed
entries and reads until that Ready is durable.

Names follow the Raft paper (Ongaro and Ousterhout, "In Search of an
Understandable Consensus Algorithm", Figure 2) and, for PreVote, CheckQuorum and
ReadIndex, Ongaro's thesis (sections 9.6, 6.2 and 6.4).

Planted bugs (docs/DESIGN.md, "Planted bugs") are marked `# PLANTED BUG` and are the
only deliberate deviations from the algorithm.
"""

from __future__ import annotations

import dataclasses
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from raftnode import membership as mb
from raftnode.bugs import KNOWN_BUGS
from raftnode.membership import ChangeRefused, Membership

FOLLOWER = "follower"
PRE_CANDIDATE = "pre-candidate"
CANDIDATE = "candidate"
LEADER = "leader"

PREVOTE = "prevote"
PREVOTE_RESP = "prevote_resp"
VOTE = "vote"
VOTE_RESP = "vote_resp"
APPEND = "append"
APPEND_RESP = "append_resp"
HEARTBEAT = "heartbeat"
HEARTBEAT_RESP = "heartbeat_resp"
SNAPSHOT = "snapshot"  # InstallSnapshot (paper Figure 13), one chunk per message
SNAPSHOT_RESP = "snapshot_resp"
MESSAGE_TYPES = frozenset(
    {
        PREVOTE,
        PREVOTE_RESP,
        VOTE,
        VOTE_RESP,
        APPEND,
        APPEND_RESP,
        HEARTBEAT,
        HEARTBEAT_RESP,
        SNAPSHOT,
        SNAPSHOT_RESP,
    }
)

# The read modes, here and only here (the node's --read-mode and the schedule import them).
READ_MODES = ("read-index", "log", "lease")
# Planted bugs: raftnode/bugs.py's table; the core acts on its CORE_BUGS and accepts and
# ignores the host's (one --bug list configures both).

# Caps one AppendEntries so a far-behind follower is caught up in bounded steps
# rather than with one message holding the whole log.
MAX_ENTRIES_PER_APPEND = 512
# InstallSnapshot sends a snapshot in chunks of this many characters, one in flight per
# follower, so a large state neither blocks a connection nor needs one huge frame.
SNAPSHOT_CHUNK = 64 * 1024
# A lease ends this many ticks before the followers' election timeout can expire,
# as a margin for clock drift between leader and followers (thesis 6.4.1).
LEASE_DRIFT_TICKS = 2
# A leader that hears nobody keeps at most this many unconfirmed heartbeat rounds.
MAX_OPEN_ROUNDS = 1024


@dataclass(frozen=True, slots=True)
class Entry:
    term: int
    index: int
    command: dict | None = None  # None: the no-op a new leader appends on taking office

    def to_dict(self) -> dict:
        return {"term": self.term, "index": self.index, "command": self.command}

    @staticmethod
    def from_dict(d: dict) -> Entry:
        return Entry(int(d["term"]), int(d["index"]), d.get("command"))


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The state machine as of log entry `index` (of `term`), made by the caller: `data` is
    opaque to the core, which only stores it and sends it to followers that lag behind the
    log it kept (InstallSnapshot)."""

    index: int
    term: int
    data: str
    # The configuration as of `index` (Membership.to_dict()), which the log after it
    # changes; the core fills it in when it compacts.
    config: dict | None = None


@dataclass(frozen=True, slots=True)
class HardState:
    term: int = 0
    voted_for: str | None = None
    commit: int = 0  # not needed for safety: a change of commit alone needs no fsync


# Not frozen: a frozen dataclass sets every field through object.__setattr__, which made
# building a Message 7x slower (1.3 us against 0.18), and a run builds one per RPC.
# Nothing changes a Message once built.
@dataclass(slots=True)
class Message:
    """One RPC or reply. Which fields mean what, per type:

    prevote/vote:    term (proposed term), index/log_term (candidate's last entry)
    *_resp (votes):  reject
    append:          index/log_term (prevLogIndex/prevLogTerm), entries, commit (leaderCommit),
                     context (the leader's record of this follower: Progress.epoch)
    append_resp:     index (on success: last index matched; on reject: the prevLogIndex
                     rejected), reject, conflict_term/conflict_index (fast back-off hint),
                     context (echoed)
    heartbeat:       commit (min of the follower's match and leaderCommit), context
    heartbeat_resp:  context (echoed: confirms leadership for ReadIndex and leases)
    snapshot:        index/log_term (the snapshot's last included entry), offset, data (one
                     chunk), done (the last chunk), config (its configuration, with the last),
                     context (as append's)
    snapshot_resp:   index (the snapshot's), offset (how much the follower holds: the next
                     chunk it wants), done (installed, or already covered by its log),
                     context (echoed)
    """

    type: str
    src: str
    dst: str
    term: int
    log_term: int = 0
    index: int = 0
    entries: tuple[Entry, ...] = ()
    commit: int = 0
    reject: bool = False
    conflict_term: int = 0
    conflict_index: int = 0
    context: int = 0
    data: str = ""
    offset: int = 0
    done: bool = False
    config: dict | None = None

    def to_dict(self) -> dict:
        # Only non-default fields go on the wire: heartbeats stay small.
        d: dict = {"type": self.type, "src": self.src, "dst": self.dst, "term": self.term}
        if self.log_term:
            d["log_term"] = self.log_term
        if self.index:
            d["index"] = self.index
        if self.entries:
            d["entries"] = [[e.term, e.index, e.command] for e in self.entries]
        if self.commit:
            d["commit"] = self.commit
        if self.reject:
            d["reject"] = True
        if self.conflict_term:
            d["conflict_term"] = self.conflict_term
        if self.conflict_index:
            d["conflict_index"] = self.conflict_index
        if self.context:
            d["context"] = self.context
        if self.data:
            d["data"] = self.data
        if self.offset:
            d["offset"] = self.offset
        if self.done:
            d["done"] = True
        if self.config is not None:
            d["config"] = self.config
        return d

    @staticmethod
    def from_dict(d: dict) -> Message:
        try:
            mtype = d["type"]
            if mtype not in MESSAGE_TYPES:
                raise ValueError(f"unknown message type {mtype!r}")
            return Message(
                type=mtype,
                src=str(d["src"]),
                dst=str(d["dst"]),
                term=int(d["term"]),
                log_term=int(d.get("log_term", 0)),
                index=int(d.get("index", 0)),
                entries=tuple(Entry(int(t), int(i), c) for t, i, c in d.get("entries", ())),
                commit=int(d.get("commit", 0)),
                reject=bool(d.get("reject", False)),
                conflict_term=int(d.get("conflict_term", 0)),
                conflict_index=int(d.get("conflict_index", 0)),
                context=int(d.get("context", 0)),
                data=str(d.get("data", "")),
                offset=int(d.get("offset", 0)),
                done=bool(d.get("done", False)),
                config=d.get("config"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed raft message {d!r}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class ReadState:
    request_id: object  # whatever the server passed to read_index()
    index: int  # safe to answer once the applied index >= index


@dataclass
class Config:
    election_ticks: int = 10  # election timeout randomized in [election_ticks, 2*election_ticks)
    heartbeat_ticks: int = 1
    pre_vote: bool = True
    check_quorum: bool = True
    read_mode: str = "read-index"  # "read-index" | "log" | "lease"
    bugs: frozenset[str] = frozenset()  # planted bugs of docs/DESIGN.md that live in the core

    def validate(self) -> None:
        if self.read_mode not in READ_MODES:
            raise ValueError(f"read_mode must be one of {READ_MODES}, got {self.read_mode!r}")
        unknown = set(self.bugs) - KNOWN_BUGS
        if unknown:
            raise ValueError(f"unknown bug(s) {sorted(unknown)}; known: {sorted(KNOWN_BUGS)}")
        if self.election_ticks < 2 or self.heartbeat_ticks < 1:
            raise ValueError("need election_ticks >= 2 and heartbeat_ticks >= 1")
        if self.heartbeat_ticks >= self.election_ticks:
            raise ValueError("heartbeat_ticks must be below election_ticks")


@dataclass
class Ready:
    hard_state: HardState | None  # persist (fsync) before sending messages, if not None
    entries: list[Entry]  # append to the durable log; if entries[0].index <= last durable
    #                       index, the log is truncated from there first
    messages: list[Message]  # send after hard_state and entries are durable
    committed: list[Entry]  # newly committed, to apply to the state machine in order
    reads: list[ReadState]  # read_index requests that became answerable
    failed_reads: list[object]  # request ids that can no longer be served (lost leadership)
    events: list[dict]  # for events.jsonl, without "time"/"node"
    # A snapshot to persist before the entries (which then hold the whole log after it,
    # so the caller may rewrite its log from scratch). Set after compact() and after an
    # InstallSnapshot; from a leader (index > what the caller applied), the caller loads
    # its state machine from it.
    snapshot: Snapshot | None = None


class NotLeader(Exception):
    def __init__(self, leader: str | None):
        super().__init__(f"not the leader (leader: {leader})")
        self.leader = leader


@dataclass(slots=True)
class Progress:
    """The leader's view of one follower (nextIndex and matchIndex of Figure 2).

    While `probing`, the leader does not know where the follower's log matches
    its own, so it sends one AppendEntries at a time (`paused` until a reply or
    heartbeat reply arrives). Once an append succeeds it replicates
    optimistically: `next` moves past what was sent without waiting.
    """

    next: int
    match: int = 0
    probing: bool = True
    paused: bool = False
    active: bool = False  # heard from since the last CheckQuorum
    acked_context: int = 0  # highest heartbeat context it echoed this term
    snapshot_index: int = 0  # the snapshot being sent to it (0: none)
    snapshot_offset: int = 0  # how much of it the follower has acknowledged
    # Which record this is: appends and snapshots carry it (their `context`), answers echo
    # it. A member removed and added back under the same name gets a new record, and an
    # answer from its earlier life (delayed in the network, same term) is not about the
    # log it holds now: taken, it set match beyond a wiped server's empty log for good.
    epoch: int = 0


@dataclass(slots=True)
class _PendingRead:
    context: int  # the heartbeat round that must be acknowledged by a quorum
    request_id: object
    index: int


class RaftCore:
    def __init__(
        self,
        id: str,
        peers: Sequence[str],
        config: Config,
        rng: random.Random,
        hard_state: HardState = HardState(),  # noqa: B008 (frozen, so a shared default is safe)
        log: Sequence[Entry] = (),
        snapshot: Snapshot | None = None,
        base: Membership | None = None,
        join: bool = False,
    ):
        config.validate()
        self.id = id
        # MEMBERSHIP: `peers` is the initial configuration (every one a voter), or `base`
        # when given (a snapshot's configuration: the log then holds what follows it). A
        # node outside it is a new server waiting to be added: it only listens until the
        # leader's log, which holds its addition, reaches it. `join` (`--join`) makes this
        # one such a server even when the initial configuration names it: a member wiped
        # and brought back under its old name is a new server, not the one that was there.
        if snapshot is not None and snapshot.config is not None:
            self._base = Membership.from_dict(snapshot.config)
        else:
            self._base = base if base is not None else Membership.initial(peers)
            if join:
                self._base = self._base.apply({"change": mb.REMOVE, "id": id})
        self.config = config
        self._bugs = frozenset(config.bugs)
        self._rng = rng

        # The log after the snapshot (if any): _log[0] is a sentinel standing for the last
        # entry the snapshot covers, so that _log[i - _snap_index].index == i.
        self._snapshot = snapshot
        self._snap_index = snapshot.index if snapshot else 0
        self._log: list[Entry] = [Entry(snapshot.term, snapshot.index) if snapshot else Entry(0, 0)]
        for i, e in enumerate(log, start=self._snap_index + 1):
            if e.index != i:
                raise ValueError(f"recovered log is not contiguous: entry {i} has index {e.index}")
            if e.term < self._log[-1].term:
                raise ValueError(f"recovered log has decreasing terms at index {i}")
            self._log.append(e)
        # MEMBERSHIP: the configuration in force, from the log (raftnode/membership.py).
        self._refresh_membership()

        # Persistent state (Figure 2), as recovered.
        self.term = hard_state.term
        self.voted_for = hard_state.voted_for
        # Volatile state. The applied cursor starts at the snapshot (0 without one): after a
        # restart the caller's state machine is loaded from the snapshot and rebuilt from
        # the committed entries after it.
        self.commit_index = max(min(hard_state.commit, self.last_index), self._snap_index)
        self._applied = self._snap_index
        self._incoming: tuple[int, int, list[str], int] | None = None  # snapshot being received
        self._snapshot_ready = False  # a snapshot for the next Ready
        self._unstable_from = self.last_index + 1  # entries from here are not yet durable
        self._last_hard = hard_state
        self._last_commit_event = self.commit_index

        self.role = FOLLOWER
        self.leader: str | None = None
        self._now = 0  # ticks since start: the only clock the core has
        self._election_elapsed = 0
        self._heartbeat_elapsed = 0
        self._randomized_timeout = 0
        self._reset_randomized_timeout()
        self._votes: dict[str, bool] = {}

        # Leader state.
        self._progress: dict[str, Progress] = {}
        self._committed_in_term = False
        self._dirty: set[str] = set()  # peers owed an AppendEntries at the next flush
        self._context = 0  # last heartbeat round number sent
        self._epoch = 0  # last Progress.epoch given
        self._rounds: deque[tuple[int, int]] = deque()  # (context, tick sent), unconfirmed
        self._round_wanted = False
        self._pending_reads: deque[_PendingRead] = deque()
        self._reads_waiting_commit: list[object] = []
        self._lease_until = 0

        # Output, handed out by ready().
        self._messages: list[Message] = []
        self._reads: list[ReadState] = []
        self._failed_reads: list[object] = []
        # The first line after a (re)start carries the recovered term and vote, so that
        # the election-safety checker can tell a vote that did not survive a crash.
        self._events: list[dict] = [
            {"term": self.term, "role": self.role, "voted_for": self.voted_for, "start": True}
        ]
        if not log and hard_state == HardState() and snapshot is None:
            # MEMBERSHIP: nothing durable at all: a new server (one whose data was wiped
            # after it was removed joins as a new one), whose record starts afresh.
            self._events[0]["empty"] = True
        # Set once a leader shows that our log lost entries we had acknowledged (see
        # _handle_heartbeat): then this server takes no part until it is started anew.
        self.log_lost: dict | None = None

    # ---- read-only views -------------------------------------------------

    @property
    def last_index(self) -> int:
        return self._snap_index + len(self._log) - 1

    @property
    def last_term(self) -> int:
        return self._log[-1].term

    @property
    def snapshot(self) -> Snapshot | None:
        """The latest snapshot: the log holds only the entries after it."""
        return self._snapshot

    @property
    def snapshot_index(self) -> int:
        return self._snap_index

    def term_at(self, index: int) -> int:
        """The term of entry `index`; index must be the snapshot's or a later one held."""
        if index < self._snap_index:
            # A negative offset would read another entry's term without a word.
            raise IndexError(f"entry {index} is compacted (snapshot at {self._snap_index})")
        return self._log[index - self._snap_index].term

    def entry(self, index: int) -> Entry | None:
        """Entry `index`, or None when not held (beyond the log, or compacted away)."""
        return (
            self._log[index - self._snap_index]
            if self._snap_index < index <= self.last_index
            else None
        )

    def entries_from(self, index: int) -> list[Entry]:
        """The entries held from `index` on (from the first after the snapshot at least)."""
        return self._log[max(index - self._snap_index, 1) :]

    def status(self) -> dict:
        return {
            "id": self.id,
            "role": self.role,
            "term": self.term,
            "leader": self.leader,
            "commit": self.commit_index,
            "last_index": self.last_index,
            "voted_for": self.voted_for,
            "snapshot_index": self._snap_index,
            "config": self.membership.to_dict(),
            **({"log_lost": self.log_lost} if self.log_lost is not None else {}),
        }

    # ---- membership (raftnode/membership.py; the only state it adds is derived) ----

    def _refresh_membership(self) -> None:
        """Recompute the configuration from the base and the log, after any append or
        truncation that may have added or cut a change (a server uses the latest change in
        its log, committed or not: thesis 4.1)."""
        self.membership = mb.configuration(self._base, self._log[1:])
        self._config_index = 0  # index of the latest change in the log (0: the base)
        for e in reversed(self._log):
            if e.index == 0:
                break
            if mb.is_change(e.command):
                self._config_index = e.index
                break
        m = self.membership
        self.peers: tuple[str, ...] = tuple(sorted(m.members))
        # Replication goes to every other member, learners included; votes, commits,
        # CheckQuorum and ReadIndex count voters only (ourselves only when a voter).
        self._others = tuple(p for p in self.peers if p != self.id)
        self._voters = m.voters
        self._other_voters = tuple(sorted(p for p in m.voters if p != self.id))
        self._quorum = m.quorum
        self._solo = self._voters == {self.id}  # commits and confirms reads alone
        if self.role_is_leader():
            for p in self._others:
                if p not in self._progress:
                    self._progress[p] = self._new_progress()
                    self._dirty.add(p)
            for p in [p for p in self._progress if p not in m.members]:
                del self._progress[p]

    @property
    def membership_committed(self) -> bool:
        """Whether the configuration in force is committed (no change in flight)."""
        return self._config_index <= self.commit_index

    def role_is_leader(self) -> bool:
        return getattr(self, "role", None) == LEADER

    def _maybe_refresh(self, entries: Sequence[Entry], cut_from: int | None = None) -> None:
        if (cut_from is not None and cut_from <= self._config_index) or any(
            mb.is_change(e.command) for e in entries
        ):
            self._refresh_membership()

    def propose_change(self, change: str, node: str, addr: str = "") -> int:
        """Append a membership change (leader only); its log index. ChangeRefused when
        it does not apply, or while an earlier change is uncommitted or this leader has not
        yet committed an entry of its term (thesis 4.1: one change at a time)."""
        if self.role != LEADER:
            raise NotLeader(self.leader)
        cmd = mb.change_command(change, node, addr)
        mb.check_change(self.membership, cmd)
        if "unsafe-membership" not in self._bugs:
            if self._config_index > self.commit_index:
                raise ChangeRefused("change-in-progress", "an earlier change is not committed")
            if not self._committed_in_term:
                raise ChangeRefused("change-in-progress", "no entry of this term committed yet")
        # PLANTED BUG unsafe-membership (when the checks above are skipped): a change goes in
        # while another is uncommitted, so two configurations more than one server apart
        # are in force on different servers at once, and their majorities need not overlap.
        return self.propose(cmd)

    def _maybe_promote(self) -> None:
        # A learner that has caught up becomes a voter (one change at a time), once it
        # holds the latest configuration, which names it: a server votes only once its
        # log says it is a member (_handle_vote_request), and a voter that could not vote
        # (a learner sent a snapshot from before its addition, then promoted) would leave
        # a two-voter cluster that lost its leader unable to elect one.
        if not self.membership.learners or self._config_index > self.commit_index:
            return
        if not self._committed_in_term:
            return
        caught_up = max(self._config_index, self.last_index - mb.PROMOTE_LAG)
        for p in sorted(self.membership.learners):
            pr = self._progress.get(p)
            if pr is not None and pr.match >= caught_up:
                self.propose(mb.change_command(mb.PROMOTE, p))
                return

    # ---- inputs ----------------------------------------------------------

    def tick(self) -> None:
        self._now += 1
        if self.role == LEADER:
            self._tick_leader()
        else:
            self._election_elapsed += 1
            if self._election_elapsed >= self._randomized_timeout:
                if not self._may_campaign():
                    self._election_elapsed = 0
                    return
                self._campaign()

    def _may_campaign(self) -> bool:
        """MEMBERSHIP: a voter campaigns; a learner, a removed server or one not yet added
        does not, nor one that lost its log (it forgot its votes). One exception: a voter
        whose latest change, still uncommitted, removes it. The others may still be under
        the configuration before that change, in which they need its vote, while its log,
        holding the change, is more up to date than theirs: if it stood aside, nobody
        could be elected (a leader that removed itself, then lost its leadership before
        the change committed, left n1 waiting for n3's vote and n3 for ever a follower).
        It counts votes under its latest configuration (not its own), as any candidate
        does, so the change commits and it leaves as a leader removing itself does."""
        if self.log_lost is not None:
            return False
        if self.id in self._voters:
            return True
        if self.membership_committed or self._config_index == 0:
            return False
        before = self._log[1 : self._config_index - self._snap_index]
        return self.id in mb.configuration(self._base, before).voters

    def propose(self, command: dict) -> int:
        if self.role != LEADER:
            raise NotLeader(self.leader)
        entry = Entry(self.term, self.last_index + 1, command)
        self._log.append(entry)
        if mb.is_change(command):
            self._refresh_membership()  # MEMBERSHIP: in force from append
        self._dirty.update(self._others)
        if self._solo:
            self._maybe_commit()
        return entry.index

    def read_index(self, request_id: object) -> None:
        if self.role != LEADER:
            raise NotLeader(self.leader)
        if "stale-read" in self._bugs:
            # PLANTED BUG stale-read: answer from local state with no heartbeat round, so a
            # deposed leader that does not know it yet serves stale values.
            self._reads.append(ReadState(request_id, self.commit_index))
            return
        if not self._committed_in_term:
            # Thesis 6.4 step 1: until an entry of this term is committed, the leader's
            # commit index may lag entries committed by earlier leaders.
            self._reads_waiting_commit.append(request_id)
            return
        self._register_read(request_id)

    def compact(self, snapshot: Snapshot) -> None:
        """The caller's state machine as of entry snapshot.index: keep it (for followers
        that lag behind) and drop the log up to there. The caller snapshots only what it
        applied, so entries up to there are committed; the next Ready carries the snapshot
        and the whole log after it, to persist in place of the log so far."""
        if snapshot.index <= self._snap_index:
            return
        if snapshot.index > self.last_index or snapshot.term != self.term_at(snapshot.index):
            raise ValueError(
                f"snapshot at index {snapshot.index} (term {snapshot.term}) does not match "
                f"the log (last index {self.last_index})"
            )
        # MEMBERSHIP: the configuration as of the snapshot replaces the entries it covers.
        covered = self._log[1 : snapshot.index - self._snap_index + 1]
        config = mb.configuration(self._base, covered).to_dict()
        self._install(dataclasses.replace(snapshot, config=config), keep_log=True)

    def _install(self, snapshot: Snapshot, keep_log: bool) -> None:
        """Make `snapshot` the start of the log: entries after it are kept if keep_log
        (they follow the very entry it ends with), dropped otherwise (Figure 13, 6-7)."""
        tail = self._log[snapshot.index - self._snap_index + 1 :] if keep_log else []
        self._snapshot = snapshot
        self._snap_index = snapshot.index
        self._log = [Entry(snapshot.term, snapshot.index), *tail]
        if snapshot.config is not None:
            self._base = Membership.from_dict(snapshot.config)
        self._refresh_membership()
        self.commit_index = max(self.commit_index, snapshot.index)
        self._applied = max(self._applied, snapshot.index)
        # The next Ready rewrites the whole log after the snapshot.
        self._unstable_from = snapshot.index + 1
        self._snapshot_ready = True

    def step(self, msg: Message) -> None:
        if msg.dst != self.id or msg.src == self.id:
            return  # misrouted
        # MEMBERSHIP: messages from servers outside our configuration are taken (a leader or
        # candidate our log has not caught up with may be in the newer one); only the
        # current voters' votes are counted (_check_poll). A removed server that never
        # learnt of it cannot disrupt: PreVote and CheckQuorum hold its elections off, and
        # its log lacks its removal, so it is behind those who decide.
        if msg.term > self.term:
            if msg.type in (PREVOTE, VOTE) and (self._in_lease() or self._just_started()):
                # CheckQuorum (thesis 4.2.3): we heard from a live leader within the minimum
                # election timeout, so a server that asks for votes (e.g. one returning from a
                # partition with a higher term) must not depose it. Ignore, don't adopt the term.
                # Recorded (as every refused vote): why elections take the rounds they take.
                self._vote_refused(msg, "lease" if self._in_lease() else "just started")
                return
            if msg.type == PREVOTE or (msg.type == PREVOTE_RESP and not msg.reject):
                # PreVote (thesis 9.6): a pre-vote and its grant carry the *proposed* term;
                # nobody adopts it until a real election starts.
                pass
            else:
                leader = msg.src if msg.type in (APPEND, HEARTBEAT, SNAPSHOT) else None
                self._become_follower(msg.term, leader)
        elif msg.term < self.term:
            if (self.config.check_quorum or self.config.pre_vote) and msg.type in (
                APPEND,
                HEARTBEAT,
                SNAPSHOT,
            ):
                # A stale leader: tell it our term so it steps down. Without this a server
                # whose term grew in a partition could never rejoin: it ignores the stale
                # leader, and with PreVote/CheckQuorum its own elections may never succeed.
                self._send(APPEND_RESP, msg.src, reject=True, index=msg.index)
            elif msg.type == PREVOTE:
                self._send(PREVOTE_RESP, msg.src, reject=True)
            return

        handler = self._handlers[msg.type]
        handler(self, msg)

    def has_ready(self) -> bool:
        # Asked after every input (hundreds of thousands of times a simulated minute):
        # plain attribute tests, cheapest and likeliest first.
        if self._messages or self._dirty or self._reads or self._events or self._snapshot_ready:
            return True
        last = self._last_hard
        return bool(
            self._failed_reads
            or self._round_wanted
            or self._unstable_from <= self.last_index
            or self.commit_index > self._applied
            or self.term != last.term
            or self.commit_index != last.commit
            or self._durable_vote() != last.voted_for
        )

    def ready(self) -> Ready:
        self._flush()
        hard = None
        last, vote = self._last_hard, self._durable_vote()
        if self.term != last.term or vote != last.voted_for or self.commit_index != last.commit:
            hard = self._last_hard = HardState(self.term, vote, self.commit_index)
        base = self._snap_index
        entries = self._log[self._unstable_from - base :]
        self._unstable_from = self.last_index + 1
        committed = self._log[self._applied + 1 - base : self.commit_index + 1 - base]
        self._applied = self.commit_index
        if self.commit_index != self._last_commit_event:
            self._last_commit_event = self.commit_index
            self._events.append(
                {"commit": self.commit_index, "term_at": self.term_at(self.commit_index)}
            )
        snapshot = self._snapshot if self._snapshot_ready else None
        self._snapshot_ready = False
        rd = Ready(
            hard_state=hard,
            entries=entries,
            messages=self._messages,
            committed=committed,
            reads=self._reads,
            failed_reads=self._failed_reads,
            events=self._events,
            snapshot=snapshot,
        )
        self._messages, self._reads, self._failed_reads, self._events = [], [], [], []
        return rd

    # ---- time --------------------------------------------------------------

    def _tick_leader(self) -> None:
        self._heartbeat_elapsed += 1
        self._election_elapsed += 1
        if "lease-no-quorum" in self._bugs and self.config.read_mode == "lease":
            # PLANTED BUG lease-no-quorum: the lease is renewed from the leader's own clock,
            # not from a quorum's acknowledgements, so a cut-off leader keeps serving reads.
            self._lease_until = self._now + self._lease_ticks()
        if self._election_elapsed >= self.config.election_ticks:
            self._election_elapsed = 0
            if self.config.check_quorum:
                # MEMBERSHIP: voters only, ourselves only if a voter.
                active = (self.id in self._voters) + sum(
                    1 for p, pr in self._progress.items() if pr.active and p in self._voters
                )
                for p in self._progress.values():
                    p.active = False
                if active < self._quorum:
                    if "lease-no-quorum" in self._bugs and self._lease_valid():
                        pass  # PLANTED BUG lease-no-quorum: trusts its lease over CheckQuorum
                    else:
                        # CheckQuorum: a leader cut off from a majority steps down, so that
                        # clients go elsewhere and its pending reads fail rather than hang.
                        self._become_follower(self.term, None)
                        return
        if self._heartbeat_elapsed >= self.config.heartbeat_ticks:
            self._heartbeat_elapsed = 0
            self._broadcast_heartbeat()
        self._maybe_promote()  # MEMBERSHIP

    def _reset_randomized_timeout(self) -> None:
        # Randomized in [T, 2T) so that split votes are rare (paper section 5.2).
        e = self.config.election_ticks
        self._randomized_timeout = e + self._rng.randrange(e)

    def _just_started(self) -> bool:
        # Leases rest on followers not voting for election_ticks after hearing the leader.
        # A restarted follower has forgotten when it last did, so in lease mode it votes for
        # no new term until a full election timeout has passed since it started: by then any
        # lease it helped grant has run out.
        return self.config.read_mode == "lease" and self._now < self.config.election_ticks

    def _in_lease(self) -> bool:
        return (
            self.config.check_quorum
            and self.leader is not None
            and self._election_elapsed < self.config.election_ticks
        )

    # ---- roles -------------------------------------------------------------

    def _set_role(self, role: str, term: int) -> None:
        if role != self.role or term != self.term:
            self._events.append({"term": term, "role": role})
        self.role = role
        self.term = term

    def _become_follower(self, term: int, leader: str | None) -> None:
        was_leader = self.role == LEADER
        if term != self.term:
            self.voted_for = None
        self._set_role(FOLLOWER, term)
        self.leader = leader
        self._election_elapsed = 0
        self._reset_randomized_timeout()
        if was_leader:
            self._abandon_leadership()

    def _abandon_leadership(self) -> None:
        # Pending reads can no longer be confirmed: fail them so clients retry elsewhere.
        self._failed_reads.extend(r.request_id for r in self._pending_reads)
        self._failed_reads.extend(self._reads_waiting_commit)
        self._pending_reads.clear()
        self._reads_waiting_commit = []
        self._progress = {}
        self._dirty.clear()
        self._rounds.clear()
        self._round_wanted = False
        self._lease_until = 0

    def _campaign(self) -> None:
        self._election_elapsed = 0
        self._reset_randomized_timeout()
        self.leader = None
        if self.config.pre_vote:
            # PreVote: first ask whether we *could* win, without touching our term, so a
            # server that cannot reach a majority does not inflate terms and later
            # disrupt a healthy leader.
            self._set_role(PRE_CANDIDATE, self.term)
            self._start_poll(PREVOTE, self.term + 1)
        else:
            self._set_role(CANDIDATE, self.term + 1)
            self._vote(self.id)
            self._start_poll(VOTE, self.term)

    def _vote(self, candidate: str) -> None:
        # Every vote is an events.jsonl line (written only once the Ready that holds it is
        # durable): at most one candidate per node per term, across restarts too, is the
        # premise of election safety (paper 5.2), and these lines let a checker verify it.
        if self.voted_for != candidate:
            self.voted_for = candidate
            self._events.append({"term": self.term, "role": self.role, "voted_for": candidate})

    def _start_poll(self, kind: str, term: int) -> None:
        self._votes = {self.id: True}
        for p in self._other_voters:
            self._messages.append(
                Message(kind, self.id, p, term, log_term=self.last_term, index=self.last_index)
            )
        self._check_poll()

    def _check_poll(self) -> None:
        # MEMBERSHIP: only the current voters' answers count.
        granted = sum(1 for p, v in self._votes.items() if v and p in self._voters)
        rejected = sum(1 for p, v in self._votes.items() if not v and p in self._voters)
        if granted >= self._quorum:
            if self.role == PRE_CANDIDATE:
                self._set_role(CANDIDATE, self.term + 1)
                self._vote(self.id)
                self._start_poll(VOTE, self.term)
            else:
                self._become_leader()
        elif rejected >= self._quorum:
            self._become_follower(self.term, None)

    def _become_leader(self) -> None:
        self._set_role(LEADER, self.term)
        self.leader = self.id
        self._election_elapsed = 0
        self._heartbeat_elapsed = 0
        self._progress = {p: self._new_progress() for p in self._others}
        self._committed_in_term = False
        self._lease_until = 0
        # The no-op (paper section 8): committing an entry of our own term is what lets us
        # commit (and learn the commit index of) entries from earlier terms.
        self._log.append(Entry(self.term, self.last_index + 1, None))
        self._dirty.update(self._others)
        if self._solo:
            self._maybe_commit()

    # ---- message handlers ------------------------------------------------

    def _handle_vote_request(self, msg: Message) -> None:
        pre = msg.type == PREVOTE
        # MEMBERSHIP: a server outside its own configuration (neither voter nor learner)
        # does not vote. It is a server waiting to be added (`--join`, or a wiped member
        # back under its old name) or one removed: its id in a stale configuration names
        # an earlier server, whose log would have refused a stale candidate. A wiped n1,
        # joining empty, gave its vote to n3, removed long before and campaigning under
        # its old configuration, while n2 led the same term under the current one.
        # Learners do vote, as in etcd-io/raft: one may have been promoted without
        # knowing it yet.
        outsider = self.id not in self.membership.members
        can_vote = (
            self.log_lost is None  # it lost its log: it forgot its votes
            and not outsider
            and (
                self.voted_for == msg.src
                or (self.voted_for is None and self.leader is None)
                or (pre and msg.term > self.term)
            )
        )
        # Election restriction (paper 5.4.1): only a candidate whose log is at least as up
        # to date as ours can hold every committed entry.
        up_to_date = (msg.log_term, msg.index) >= (self.last_term, self.last_index)
        if "no-log-check" in self._bugs:
            up_to_date = True  # PLANTED BUG no-log-check: vote for any log
        resp = PREVOTE_RESP if pre else VOTE_RESP
        if can_vote and up_to_date:
            if not pre:
                self._election_elapsed = 0
                self._vote(msg.src)
            # Reply with the candidate's term: a pre-vote grant must match the term it asked for.
            self._messages.append(Message(resp, self.id, msg.src, msg.term))
        else:
            if self.log_lost is not None:
                why = "lost its log"
            elif outsider:
                why = "not a member"
            elif not can_vote:
                why = "voted or has a leader"
            else:
                why = "log"
            self._vote_refused(msg, why)
            self._send(resp, msg.src, reject=True)

    def _vote_refused(self, msg: Message, why: str) -> None:
        """An events.jsonl line for a refused (pre-)vote: whom, for which term, and why
        (lease: we heard a leader within the election timeout; log: the candidate's log is
        behind ours; voted or has a leader: we gave this term's vote to another, or follow a
        leader of it), with the candidate's last log entry and ours as [term, index]."""
        self._events.append(
            {
                "vote_refused": msg.src,
                "term": msg.term,
                "pre": msg.type == PREVOTE,
                "why": why,
                # Both logs' last (term, index): by how much a candidate was behind.
                "candidate_log": [msg.log_term, msg.index],
                "own_log": [self.last_term, self.last_index],
            }
        )

    def _handle_vote_response(self, msg: Message) -> None:
        expected = PREVOTE_RESP if self.role == PRE_CANDIDATE else VOTE_RESP
        if self.role not in (PRE_CANDIDATE, CANDIDATE) or msg.type != expected:
            return
        self._votes.setdefault(msg.src, not msg.reject)
        self._check_poll()

    def _handle_append(self, msg: Message) -> None:
        if self.role != FOLLOWER:
            self._become_follower(msg.term, msg.src)
        self.leader = msg.src
        self._election_elapsed = 0
        if self.log_lost is not None:
            return  # takes no part (_handle_heartbeat)
        if msg.index < self.commit_index:
            # Everything up to our commit index matches the leader's log already.
            self._send(APPEND_RESP, msg.src, index=self.commit_index, context=msg.context)
            return
        if msg.index <= self.last_index and self.term_at(msg.index) == msg.log_term:
            last_new = msg.index + len(msg.entries)
            self._append_entries(msg.entries)
            # Only up to last_new: beyond it our log may still differ from the leader's.
            self._commit_to(min(msg.commit, last_new))
            self._send(APPEND_RESP, msg.src, index=last_new, context=msg.context)
            return
        # Consistency check failed. Fast back-off hint (thesis 5.3 / "accelerated log
        # backtracking"): the conflicting term and the first index we hold of it, so
        # the leader skips a whole term per round trip instead of one entry.
        if msg.index > self.last_index:
            conflict_term, conflict_index = 0, self.last_index + 1
        else:
            conflict_term = self.term_at(msg.index)
            i = msg.index
            while i > self.commit_index + 1 and self.term_at(i - 1) == conflict_term:
                i -= 1
            conflict_index = i
        self._send(
            APPEND_RESP,
            msg.src,
            index=msg.index,
            reject=True,
            context=msg.context,
            conflict_term=conflict_term,
            conflict_index=conflict_index,
        )

    def _append_entries(self, entries: tuple[Entry, ...]) -> None:
        # Figure 2, AppendEntries steps 3-4: skip entries we already hold, truncate at the
        # first conflict, append the rest. Never truncate on a mere reordered duplicate.
        last = self.last_index
        k = 0
        cut_from = None
        while k < len(entries):
            e = entries[k]
            if e.index > last:
                break
            if e.index > self._snap_index and self.term_at(e.index) != e.term:
                assert e.index > self.commit_index, "refusing to truncate committed entries"
                del self._log[e.index - self._snap_index :]
                self._unstable_from = min(self._unstable_from, e.index)
                cut_from = e.index
                break
            k += 1
        if k < len(entries):
            self._log.extend(entries[k:])
        # MEMBERSHIP: a change takes effect when appended and is undone when cut.
        self._maybe_refresh(entries[k:], cut_from)

    def _handle_snapshot(self, msg: Message) -> None:
        """InstallSnapshot (paper Figure 13), chunk by chunk."""
        if self.role != FOLLOWER:
            self._become_follower(msg.term, msg.src)
        self.leader = msg.src
        self._election_elapsed = 0
        if self.log_lost is not None:
            return  # takes no part (_handle_heartbeat)
        if msg.index <= self.commit_index:
            # Our log already holds (committed) everything the snapshot covers.
            self._incoming = None
            self._send(SNAPSHOT_RESP, msg.src, index=msg.index, done=True, context=msg.context)
            return
        held = self._incoming
        if msg.offset == 0:
            held = (msg.index, msg.log_term, [], 0)
        elif held is None or held[:2] != (msg.index, msg.log_term) or held[3] != msg.offset:
            # Not the chunk we expect next (lost, reordered, or another snapshot): say
            # where we are, and the leader resends from there.
            expect = held[3] if held is not None and held[:2] == (msg.index, msg.log_term) else 0
            self._send(SNAPSHOT_RESP, msg.src, index=msg.index, offset=expect, context=msg.context)
            return
        held[2].append(msg.data)
        held = (held[0], held[1], held[2], held[3] + len(msg.data))
        if not msg.done:
            self._incoming = held
            self._send(SNAPSHOT_RESP, msg.src, index=msg.index, offset=held[3], context=msg.context)
            return
        self._incoming = None
        snap = Snapshot(msg.index, msg.log_term, "".join(held[2]), msg.config)
        # Figure 13, steps 6-7: keep the entries after it if our log has its last entry
        # (same index and term); otherwise the whole log is discarded.
        keep = msg.index <= self.last_index and self.term_at(msg.index) == msg.log_term
        self._install(snap, keep_log=keep)
        self._events.append({"snapshot": snap.index, "term_at": snap.term, "from": msg.src})
        self._send(SNAPSHOT_RESP, msg.src, index=msg.index, done=True, context=msg.context)

    def _new_progress(self) -> Progress:
        self._epoch += 1
        return Progress(next=self.last_index + 1, epoch=self._epoch)

    def _answered_by(self, msg: Message) -> Progress | None:
        """The leader's record of the follower that answered, now marked active (heard
        from, for CheckQuorum); None when we do not lead or it is not a member."""
        if self.role != LEADER:
            return None
        pr = self._progress.get(msg.src)
        if pr is not None:
            pr.active = True
        return pr

    def _record_answered(self, msg: Message) -> Progress | None:
        """As _answered_by, for answers to appends and snapshots, which echo the record
        they were sent for: None also when that was an earlier record of this server."""
        pr = self._answered_by(msg)
        return pr if pr is not None and msg.context == pr.epoch else None

    def _handle_snapshot_response(self, msg: Message) -> None:
        pr = self._record_answered(msg)
        if pr is None:
            return
        pr.paused = False
        if msg.done:
            # The follower's log now starts at (or already went past) the snapshot.
            pr.snapshot_index = pr.snapshot_offset = 0
            if msg.index > pr.match:
                pr.match = msg.index
                if self._maybe_commit():
                    self._dirty.update(self._others)
            pr.next = max(pr.next, msg.index + 1)
            pr.probing = False
        elif msg.index == pr.snapshot_index:
            pr.snapshot_offset = msg.offset
        if pr.next <= self.last_index or pr.snapshot_index:
            self._dirty.add(msg.src)

    def _handle_heartbeat(self, msg: Message) -> None:
        if self.role != FOLLOWER:
            self._become_follower(msg.term, msg.src)
        self.leader = msg.src
        self._election_elapsed = 0
        if self.log_lost is not None:
            return
        if msg.commit > self.last_index and self.id not in self.membership.members:
            # MEMBERSHIP: a server waiting to be added (`--join`, a wiped member brought
            # back under its old name) has acknowledged nothing yet, so this commit is
            # about an earlier server of that name: a heartbeat a leader sent before it
            # removed it, delayed in the network. Not ours to apply, nor to answer; the
            # leader that adds us starts our record afresh (match 0).
            return
        if msg.commit > self.last_index:
            # The leader sends min(our match, its commit), and our match is only what we
            # acknowledged holding durably: a commit beyond our log means the log we
            # acknowledged is gone (our data was deleted or restored from an old copy, and
            # we came back under the same id). etcd-io/raft panics here ("tocommit(%d) is
            # out of range [lastIndex(%d)]. Was the raft log corrupted, truncated, or
            # lost?"). We do not crash, but we forgot our term and our votes too, so voting
            # again could elect two leaders in one term, and acknowledging heartbeats could
            # confirm a deposed leader's reads: this server takes no part at all (no votes,
            # no campaign, no answers to the leader) until it is removed and added back as
            # a new member. The event says so once; the host logs it.
            self.log_lost = {
                "leader": msg.src,
                "leader_commit": msg.commit,
                "last_index": self.last_index,
            }
            self._events.append({"term": self.term, "log_lost": self.log_lost})
            return
        # Our log is identical to the leader's up to there.
        self._commit_to(msg.commit)
        self._send(HEARTBEAT_RESP, msg.src, context=msg.context)

    def _handle_append_response(self, msg: Message) -> None:
        pr = self._record_answered(msg)
        if pr is None:
            return
        if msg.reject:
            if msg.index <= pr.match:
                return  # stale: that prefix is known to match
            if pr.probing and msg.index != pr.next - 1:
                return  # stale: a reply to an earlier probe
            if msg.conflict_term:
                last_of_term = self._last_index_of_term(msg.conflict_term, msg.index)
                nxt = last_of_term + 1 if last_of_term else msg.conflict_index
            else:
                nxt = msg.conflict_index
            # Always move back at least one entry (progress), never below match+1.
            pr.next = max(pr.match + 1, min(nxt, msg.index))
            pr.probing = True
            pr.paused = False
            self._send_append(msg.src)
            return
        # A follower never holds more than we sent it, nor commits what our log lacks
        # (Leader Completeness), so with correct voting this min() changes nothing. Without
        # it, a leader elected against that guarantee (the no-log-check bug) would index
        # past its own log; it goes on leading instead, and what it then commits over the
        # follower's committed entries is what the checkers must see.
        index = min(msg.index, self.last_index)
        if index > pr.match:
            pr.match = index
            if self._maybe_commit():
                self._dirty.update(self._others)  # carry the new commit index to everyone
        pr.next = max(pr.next, index + 1)
        pr.probing = False
        pr.paused = False
        if pr.next <= self.last_index:
            self._dirty.add(msg.src)

    def _handle_heartbeat_response(self, msg: Message) -> None:
        pr = self._answered_by(msg)
        if pr is None:
            return
        pr.paused = False
        if msg.context > pr.acked_context:
            pr.acked_context = msg.context
            self._confirm_rounds()
        if pr.match < self.last_index:
            self._dirty.add(msg.src)

    _handlers = {
        PREVOTE: _handle_vote_request,
        VOTE: _handle_vote_request,
        PREVOTE_RESP: _handle_vote_response,
        VOTE_RESP: _handle_vote_response,
        APPEND: _handle_append,
        APPEND_RESP: _handle_append_response,
        HEARTBEAT: _handle_heartbeat,
        HEARTBEAT_RESP: _handle_heartbeat_response,
        SNAPSHOT: _handle_snapshot,
        SNAPSHOT_RESP: _handle_snapshot_response,
    }

    # ---- replication -------------------------------------------------------

    def _last_index_of_term(self, term: int, upto: int) -> int:
        """Our last index of `term` at or below `upto`; 0 when we hold none there. Also 0
        when `upto` is compacted away (we snapshotted since we sent what the follower
        rejects): the follower's own hint then leads to the snapshot."""
        i = min(upto, self.last_index)
        if i < self._snap_index:
            return 0
        while i > self._snap_index and self.term_at(i) > term:
            i -= 1
        return i if i > 0 and self.term_at(i) == term else 0

    def _send_append(self, peer: str) -> None:
        pr = self._progress[peer]
        if pr.probing and pr.paused:
            return
        if pr.next <= self._snap_index:
            # What it needs next was compacted away: send the snapshot instead.
            self._send_snapshot_chunk(peer, pr)
            return
        prev = pr.next - 1
        base = self._snap_index
        entries = tuple(self._log[pr.next - base : pr.next - base + MAX_ENTRIES_PER_APPEND])
        self._messages.append(
            Message(
                APPEND,
                self.id,
                peer,
                self.term,
                log_term=self.term_at(prev),
                index=prev,
                entries=entries,
                commit=self.commit_index,
                context=pr.epoch,
            )
        )
        if pr.probing:
            pr.paused = True
        elif entries:
            pr.next = entries[-1].index + 1

    def _send_snapshot_chunk(self, peer: str, pr: Progress) -> None:
        snap = self._snapshot
        assert snap is not None
        if pr.snapshot_index != snap.index:
            # A newer snapshot than the one under way (or the first): start it over.
            pr.snapshot_index, pr.snapshot_offset = snap.index, 0
        start = pr.snapshot_offset
        chunk = snap.data[start : start + SNAPSHOT_CHUNK]
        done = start + len(chunk) >= len(snap.data)
        self._messages.append(
            Message(
                SNAPSHOT,
                self.id,
                peer,
                self.term,
                log_term=snap.term,
                index=snap.index,
                data=chunk,
                offset=start,
                done=done,
                config=snap.config if done else None,
                context=pr.epoch,
            )
        )
        # One chunk in flight; its answer (or, if lost, a heartbeat's) sends the next.
        pr.probing = True
        pr.paused = True

    def _maybe_commit(self) -> bool:
        # Figure 2, leader rule: the highest index a majority holds, but only if it is of
        # the current term. Earlier terms' entries commit indirectly (Figure 8).
        # MEMBERSHIP: a majority of the current voters; the leader counts itself only while
        # it is one (a leader removing itself commits its removal without its own copy).
        matches = [pr.match for p, pr in self._progress.items() if p in self._voters]
        if self.id in self._voters:
            matches.append(self.last_index)
        if len(matches) < self._quorum:
            return False
        matches.sort(reverse=True)
        n = matches[self._quorum - 1]
        if n <= self.commit_index:
            return False
        if self.term_at(n) != self.term:
            if "commit-previous-term" not in self._bugs:
                return False
            # PLANTED BUG commit-previous-term: an entry of an earlier term counts as
            # committed once a majority holds it (the error Figure 8 shows): a candidate
            # whose last entry is of a later term than that entry can still win and
            # overwrite it.
            self._commit_to(n)
            return True
        self._commit_to(n)
        if not self._committed_in_term:
            self._committed_in_term = True
            waiting, self._reads_waiting_commit = self._reads_waiting_commit, []
            for rid in waiting:
                self._register_read(rid)
        return True

    def _commit_to(self, index: int) -> None:
        if index > self.commit_index:
            self.commit_index = index

    # ---- reads (thesis 6.4) ----------------------------------------------------

    def _lease_ticks(self) -> int:
        return self.config.election_ticks - LEASE_DRIFT_TICKS

    def _lease_valid(self) -> bool:
        return self.role == LEADER and self._now < self._lease_until

    def _register_read(self, request_id: object) -> None:
        if self.config.read_mode == "lease" and self.config.check_quorum and self._lease_valid():
            # Lease read (thesis 6.4.1): a quorum acknowledged us recently enough that no
            # other leader can exist yet, provided clocks run at about the same rate.
            self._reads.append(ReadState(request_id, self.commit_index))
            return
        # ReadIndex: record the commit index now, then confirm we are still leader with
        # a heartbeat round sent *after* this point (the next context number).
        self._pending_reads.append(_PendingRead(self._context + 1, request_id, self.commit_index))
        self._round_wanted = True
        if self._solo:
            self._flush()

    def _broadcast_heartbeat(self) -> None:
        self._round_wanted = False
        self._context += 1
        self._rounds.append((self._context, self._now))
        if len(self._rounds) > MAX_OPEN_ROUNDS:
            self._rounds.popleft()
        for p, pr in self._progress.items():
            self._messages.append(
                Message(
                    HEARTBEAT,
                    self.id,
                    p,
                    self.term,
                    commit=min(pr.match, self.commit_index),
                    context=self._context,
                )
            )
        if self._solo:
            self._confirm_rounds()

    def _confirm_rounds(self) -> None:
        # The highest round a quorum (ourselves included) has echoed; a follower echoing
        # round c also confirms every earlier round, since contexts only grow.
        # MEMBERSHIP: voters' echoes only; our own only while we are a voter.
        acks = [pr.acked_context for p, pr in self._progress.items() if p in self._voters]
        if self.id in self._voters:
            acks.append(self._context)
        if len(acks) < self._quorum:
            return
        acks.sort(reverse=True)
        confirmed = acks[self._quorum - 1]
        while self._rounds and self._rounds[0][0] <= confirmed:
            _, sent = self._rounds.popleft()
            if "lease-no-quorum" not in self._bugs:
                self._lease_until = max(self._lease_until, sent + self._lease_ticks())
        while self._pending_reads and self._pending_reads[0].context <= confirmed:
            r = self._pending_reads.popleft()
            self._reads.append(ReadState(r.request_id, r.index))

    # ---- output ------------------------------------------------------------------

    def _flush(self) -> None:
        # Appends and read rounds are batched until ready(): many proposals or reads
        # between two ready() calls cost one message per peer, not one each.
        if self.role == LEADER:
            if self._round_wanted:
                self._broadcast_heartbeat()
            if self._dirty:
                for p in self._others:
                    if p in self._dirty:
                        self._send_append(p)
                self._dirty.clear()
            if self.id not in self._voters and self.commit_index >= self._config_index:
                # MEMBERSHIP: our own removal is committed (and the appends above carry that
                # commit index): step down; the remaining voters elect a leader among them.
                self._become_follower(self.term, None)

    def _durable_vote(self) -> str | None:
        if "forget-vote" in self._bugs:
            return None  # PLANTED BUG forget-vote: the vote is never made durable
        return self.voted_for

    def _send(self, mtype: str, dst: str, **fields) -> None:
        self._messages.append(Message(mtype, self.id, dst, self.term, **fields))


__all__ = [
    "Config",
    "Entry",
    "HardState",
    "Message",
    "NotLeader",
    "RaftCore",
    "Ready",
    "ReadState",
    "Snapshot",
]
