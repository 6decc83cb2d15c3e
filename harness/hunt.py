"""`raftquake hunt`: search fault plans on the simulation for a failing run, then shrink it.

hypothesis draws schedules within what the given schedule allows: faults of the families
it names (a nemesis package's plan, every mode and target the nemesis offers, a fault
every 2 s; `plan_shape`), and a workload no larger than its own (time limit, clients,
keys), the largest half the time. Each is run on the simulated backend and checked by the
schedule's checkers. The first invalid run is then shrunk by `minimize`, which knows
what hypothesis's generic shrinker cannot about chaos runs (see there): a shorter
workload, fewer faults, sooner, fewer clients and keys, as long as the run stays
invalid. The minimal schedule is written as YAML, with its seed, so `raftquake run
minimal.yaml --backend sim` replays it exactly.

Results: <store>/hunt/<name>/<YYYYmmddTHHMMSS>/ holds minimal.yaml and the replayed
run's folder (run/: history, report.html, ...). hypothesis's example database lives in
<store>/hunt/.hypothesis, so a second hunt of the same schedule starts from the
failures the first one found.
"""

from __future__ import annotations

import dataclasses
import itertools
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from harness import interrupt
from harness.nemesis.package import FAMILIES, Shape, draw_plan
from harness.schedule import FaultSpec, Schedule, fault_families

MIN_TIME_LIMIT = 2  # seconds: the shortest workload a hunt tries
INTERVAL_S = 2.0  # a fault every this many seconds, on average (see plan_shape)
MAX_FAULT_S = 6  # the longest fault drawn, in seconds
MINIMIZE_RUNS = 600  # runs the minimizer may spend beyond the search's (most are short)
SEEDS_PER_TRY = 4  # seeds a smaller (long) schedule gets to fail again; more if short
SMALL_ENOUGH = 3  # faults: a shrunk failure this small ends the hunt (else it searches on)
ALONE_AFTER_S = 4  # seconds of workload a fault tried alone gets after it heals
ALONE_TRIES = 6  # the faults nearest the failure that are tried alone, or two or three
SUBSETS_PER_SIZE = 15  # pairs (then triples) of those that are tried


@dataclass
class Bounds:
    """What a hunt may vary, from the schedule it starts from."""

    families: tuple[str, ...]
    nodes: list[str]
    time_limit: int  # seconds, the most
    concurrency: int
    keys: int


def bounds_of(schedule: Schedule) -> Bounds:
    """The fault families a schedule names (its faults, whatever their times), or every
    family when it names none; its workload's size as the upper bounds."""
    families = tuple(f for f in FAMILIES if f in fault_families(schedule)) or FAMILIES
    w = schedule.workload
    return Bounds(
        families=families,
        nodes=schedule.node_names,
        time_limit=max(MIN_TIME_LIMIT, int(schedule.time_limit)),
        concurrency=w.concurrency,
        keys=w.keys,
    )


# ---- strategies: each shrinks towards the simplest choice (listed first) --------------


def plan_shape(b: Bounds) -> Shape:
    """The hunt's plans: nemesis packages (harness/nemesis/package.py, the one plan
    generator: every target, mode and option the nemesis offers, partitions weighted,
    one fault at a time per group) of the families the schedule names, a fault every
    INTERVAL_S on average, each lasting 0.1 s to MAX_FAULT_S, in tenths of a second as a
    person writes them."""
    return Shape(b.families, INTERVAL_S, (0.1, MAX_FAULT_S), decimals=1)


def _up_to(most: int, least: int = 1) -> st.SearchStrategy[int]:
    """An integer in [least, most], drawn at `most` half the time: a hunt must try runs as
    big as the schedule allows (bugs need load and many faults to show), while shrinking
    still goes towards `least` (one_of shrinks towards its first branch)."""
    return st.one_of(st.integers(least, most), st.just(most))


@st.composite
def schedules(draw: Callable, base: Schedule, b: Bounds) -> Schedule:
    """A schedule within `b`: its workload and a plan of timed faults, a nemesis
    package's (plan_shape: a fault every 2 s, each lasting up to 6 s).

    Fault times are drawn over the longest workload allowed, whatever this one's length,
    and faults that would start after its end are left out: so when hypothesis shrinks
    the time limit, the faults before the new end keep their times, the run up to there
    is the same one (the simulation is deterministic), and a failure that happened
    before it is still there. Shrinking then cuts a run to just past its failure."""
    time_limit = draw(_up_to(b.time_limit, MIN_TIME_LIMIT))
    # A true Random, seeded by hypothesis: a hypothesis-controlled one answers `choices`
    # evenly whatever the weights and draws floats towards the ends of their range, so
    # its plans are not a package's (a partition one-way 7 times in 10 rather than 15 in
    # 100, the leader cut off 1 in 9 rather than 2 in 3) and miss what packages find
    # (package.yaml, 15 s runs: stale-read failed 0-3% of them, 6% drawn truly;
    # docs/finding-bugs.md). Nothing is lost: `minimize` shrinks the drawn faults
    # themselves, and a seed replays from hypothesis's database all the same.
    rng = draw(st.randoms(use_true_random=True))
    plan = draw_plan(rng, b.nodes, 0.0, b.time_limit, plan_shape(b))
    faults = [
        # Both ends are in tenths already; the difference of two is rounded back to one.
        FaultSpec(family, options, at=at, duration=max(0.1, round(end - at, 1)))
        for at, end, family, options in plan
        if at < time_limit
    ]
    workload = dataclasses.replace(
        base.workload,
        concurrency=draw(_up_to(b.concurrency)),
        keys=draw(_up_to(b.keys)),
    )
    return dataclasses.replace(
        base,
        time_limit=float(time_limit),
        seed=draw(st.integers(0, 2**16)),
        workload=workload,
        nemesis=tuple(faults),
    )


def size(s: Schedule) -> tuple[int, float, int, int]:
    """How big a failing schedule is, to keep the smallest: faults, seconds, clients, keys."""
    return (len(s.nemesis), s.time_limit, s.workload.concurrency, s.workload.keys)


# ---- the hunt ---------------------------------------------------------------------------

# What ended a hunt (Hunt.ended, results.json "ended-by"):
ENDINGS = {
    "runs": "its runs were spent",  # --runs: searched and shrinking runs together
    "time-budget": "its time budget ended",  # a run then in progress was stopped
    "shrunk": f"a failure shrank to {SMALL_ENOUGH} faults or fewer",
    "searched": "the search had no new plan to try",
    "interrupted": "Ctrl-C or SIGTERM",
}
STOP_S = 0.5  # a run stopped by the budget heals and is torn down within this
EXIT_S = 1.5  # then the hunt's results are written and Python exits (up to 1.7 s, loaded)
# The minimal schedule's replay, with its report.html, takes up to REPLAY_FACTOR times its
# run's own time in the hunt, plus REPORT_S. Measured on a loaded 2-core machine: a 2 s
# run of 1 client, 0.4 s, then 2.1 to 2.7 s of report (importing matplotlib the first
# time: 1 to 2 s more); a 60 s run of 15 clients, 6.5 to 7.5 s, then 5 to 6 s of report.
REPLAY_FACTOR = 2.0
REPORT_S = 4.0


@dataclass
class Hunt:
    runs_limit: int = 0  # --runs: every simulated run of the search and the shrinking
    budget: float = float("inf")  # --time-budget, seconds: the whole hunt, its replay included
    runs: int = 0  # simulated runs made, searched and shrinking (the replay not counted)
    failures: int = 0
    best: Schedule | None = None
    best_checkers: list[str] = field(default_factory=list)
    best_run_s: float = 0.0  # wall seconds the best schedule's run took: its replay's too
    started: float = field(default_factory=time.monotonic)
    first_failure_run: int | None = None  # how many runs it took to find a failure
    first_failure_s: float | None = None  # and how long
    searched: int = 0  # runs spent searching (the rest were spent shrinking)
    step: str = "searching"  # what it does now: "searching", "shrinking: ..." (progress)
    ended: str = ""  # what ended it: a key of ENDINGS
    interrupted: bool = False  # stopped by Ctrl-C or SIGTERM (harness/interrupt.py)

    @property
    def deadline(self) -> float:
        """When everything ends, the replay of the minimal schedule included."""
        return self.started + self.budget

    def replay_s(self) -> float:
        """The time the minimal schedule's replay and its report are given."""
        return REPLAY_FACTOR * self.best_run_s + REPORT_S if self.best is not None else 0.0

    def work_until(self) -> float:
        """When searching and shrinking must end (runs in progress stopped): early enough
        to stop a run and, once a failure is in hand, to replay it within the budget."""
        return self.deadline - EXIT_S - STOP_S - self.replay_s()


class _Spent(BaseException):
    """The hunt's runs or time are spent: raised by its predicate, out of hypothesis's
    search (a BaseException, which hypothesis lets through at once, as it does Ctrl-C)
    or the shrinking; `why` is a key of ENDINGS."""

    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


def run_once(s: Schedule, store: Path, stop_at: float = float("inf")) -> dict[str, Any]:
    """One simulated run of `s`, checked, without a report: the hunt's inner loop. At
    `stop_at` (time.monotonic()) a run still going is stopped: RunInterrupted."""
    from harness.runner import execute
    from harness.store import new_run_dir
    from harness.verdict import check_run

    run_dir = new_run_dir(store, s.name)
    with interrupt.stop_at(stop_at):
        execute("sim", s, run_dir, lambda _m: None)
    return check_run(run_dir, s)


def failing_checkers(results: dict[str, Any]) -> list[str]:
    return [n for n, c in results.get("checkers", {}).items() if c.get("valid") is False]


def hunt(
    schedule: Schedule,
    store: Path,
    runs: int,
    time_budget: float,
    seed: int,
    progress: Callable[[Hunt], None] = lambda h: None,
    time_limit: float | None = None,
    started: float | None = None,
) -> Hunt:
    """Search, then shrink; returns the state with the smallest failing schedule found
    (`best`), or none, and what ended the hunt (`ended`). A failure that shrinks to no
    fewer faults than SMALL_ENOUGH + 1 sends the search on for another.

    `runs` bounds every simulated run, searched and shrinking alike. `time_budget`
    (seconds from `started`, default now) bounds the whole hunt, the replay of its
    minimal schedule included (save_minimal): the runs end early enough to leave that
    replay its time, and a run still going when they must end is stopped, its verdict
    unused. `time_limit`: the longest workload drawn (default: the schedule's own).
    Ctrl-C stops it and keeps what was found."""
    from hypothesis.database import DirectoryBasedExampleDatabase

    if time_limit:
        schedule = dataclasses.replace(schedule, time_limit=time_limit)
    state = Hunt(runs_limit=runs, budget=time_budget)
    if started is not None:
        state.started = started
    b = bounds_of(schedule)
    hunter = _Hunter(state, Path(tempfile.mkdtemp(prefix="raftquake-hunt-")), progress)
    db = DirectoryBasedExampleDatabase(str(store / "hunt" / ".hypothesis"))
    # The plan's draw in the key: another draw reads a stored example as another plan.
    key = f"raftquake-hunt/{schedule.name}/{sorted(b.families)}/package-plan".encode()
    try:
        state.ended = hunter.rounds(schedules(schedule, b), db, key, seed)
    except _Spent as spent:
        state.ended = spent.why
    except KeyboardInterrupt:
        # Ctrl-C or SIGTERM, searching or shrinking: keep the best failure found so far.
        state.interrupted, state.ended = True, "interrupted"
    finally:
        # The searched runs' folders: the minimal one is replayed into the hunt's folder.
        shutil.rmtree(hunter.work, ignore_errors=True)
    return state


@dataclass
class _Hunter:
    """The hunt's predicate, `fails`, for hypothesis and the shrinker alike: it runs a
    schedule within the hunt's runs and time and keeps the best failure in `state`."""

    state: Hunt
    work: Path  # the runs' folders, removed at the end
    progress: Callable[[Hunt], None]
    searching: bool = True  # searching (hypothesis) or shrinking (minimize)
    found: Schedule | None = None  # this search round's first failure
    # The simulation is deterministic: a schedule run once (hypothesis replays the failure
    # it found; shrinking steps meet the same candidate) is not run again.
    known: dict[str, bool] = field(default_factory=dict)

    def rounds(self, strategy: st.SearchStrategy[Schedule], db: Any, key: bytes, seed: int) -> str:
        """Search, shrink what was found; while the smallest failure is still bigger than
        SMALL_ENOUGH, search on for another one and shrink that: a failure found in a
        crowd of faults may need them all, another may not. Returns what ended it, unless
        _Spent (or Ctrl-C) did."""
        state = self.state
        for round_ in itertools.count():
            if state.runs >= state.runs_limit:
                raise _Spent("runs")
            before = state.runs
            found = self.search(strategy, db, key, seed, round_)
            if found is None:
                return "runs" if state.runs >= state.runs_limit else "searched"
            until = state.runs + MINIMIZE_RUNS
            minimize(found, self.fails, lambda until=until: state.runs < until, self.step)
            if state.best is not None and len(state.best.nemesis) <= SMALL_ENOUGH:
                return "shrunk"
            if state.runs == before:  # found and shrunk again what was known: nothing new
                return "searched"
        raise AssertionError("unreachable")

    def search(
        self, strategy: st.SearchStrategy[Schedule], db: Any, key: bytes, seed: int, round_: int
    ) -> Schedule | None:
        """One round of hypothesis's search, up to the runs left: its first failure."""
        self.step("searching")
        self.searching, self.found = True, None
        left = self.state.runs_limit - self.state.runs
        _search(strategy, self.fails, left, db, key, seed, round_)
        self.searching = False
        return self.found

    def step(self, what: str) -> None:
        self.state.step = what
        self.progress(self.state)

    def fails(self, s: Schedule) -> bool:
        s = fitted(s)
        if interrupt.requested():  # Ctrl-C or SIGTERM came between runs: stop here
            raise KeyboardInterrupt
        if time.monotonic() >= self.state.work_until():  # even with no run to make
            raise _Spent("time-budget")
        bad = self.known.get(repr(s))
        if bad is None:
            bad = self.known[repr(s)] = self.run(s)
        if bad and self.searching and self.found is None:
            self.found = s
        return bad

    def run(self, s: Schedule) -> bool:
        """Whether `s` fails, from one run: raises _Spent when the runs are spent or the
        time ends while it runs (it is stopped then), KeyboardInterrupt on Ctrl-C."""
        from harness.runner import RunInterrupted

        state = self.state
        if state.runs >= state.runs_limit:
            raise _Spent("runs")
        until = state.work_until()
        state.runs += 1
        state.searched += self.searching
        began = time.monotonic()
        try:
            results = run_once(s, self.work, stop_at=until)
        except RunInterrupted:
            if interrupt.requested():
                raise KeyboardInterrupt from None
            raise _Spent("time-budget") from None  # stopped at `until`: no verdict
        bad = failing_checkers(results)
        if bad:
            state.failures += 1
            if state.first_failure_run is None:
                state.first_failure_run = state.runs
                state.first_failure_s = time.monotonic() - state.started
            if state.best is None or size(s) <= size(state.best):
                state.best, state.best_checkers = s, bad
                state.best_run_s = time.monotonic() - began
        self.progress(state)
        return bool(bad)


def _search(
    strategy: st.SearchStrategy[Schedule],
    fails: Callable[[Schedule], bool],
    examples: int,
    db: Any,
    key: bytes,
    seed: int,
    round_: int,
) -> None:
    """One round of hypothesis's search: up to `examples` schedules, until one fails
    (`fails` keeps it). The first round starts from the example database's failures."""
    import random

    from hypothesis import HealthCheck, Phase, settings
    from hypothesis import find as hypothesis_find
    from hypothesis.errors import Flaky, NoSuchExample, Unsatisfiable

    hypothesis_settings = settings(
        max_examples=examples,
        database=db,
        deadline=None,
        # Hypothesis finds; our minimizer shrinks (see minimize: it knows that a shorter
        # run keeps its prefix and that a changed plan needs a few seeds to fail again).
        # Later rounds look for other failures than the known ones.
        phases=(Phase.reuse, Phase.generate) if round_ == 0 else (Phase.generate,),
        suppress_health_check=list(HealthCheck),
    )
    try:
        hypothesis_find(
            strategy,
            fails,
            settings=hypothesis_settings,
            random=random.Random(f"{seed}/{round_}" if round_ else seed),
            database_key=key,
        )
    except (NoSuchExample, Unsatisfiable):
        pass
    except Flaky:
        # hypothesis replays the failure it found; `fails` answers that from the run it
        # made, so this is not expected: the failure is in the hunt's state all the same.
        pass


@dataclass
class Found:
    """What a hunt leaves behind when it found a failure."""

    state: Hunt
    minimal: Path  # minimal.yaml
    replay: Any  # harness.runner.RunOutcome: the minimal schedule rerun on sim; None: not
    # replayed, the time budget left no time for it


def save_minimal(state: Hunt, folder: Path) -> Found:
    """Write the hunt's smallest failing schedule to `folder`/minimal.yaml and replay it
    on the simulation into `folder`, so its results and report sit next to it, when the
    time budget leaves the replay its time (the hunt's runs ended early enough for it,
    unless the budget was too short for any shrinking); a replay still going at the end
    of the budget is stopped (its results say "interrupted")."""
    from harness.runner import run_schedule

    assert state.best is not None
    minimal = folder / "minimal.yaml"
    minimal.write_text(minimal_yaml(state.best, state.best_checkers, state))
    if state.deadline - EXIT_S - time.monotonic() < state.replay_s():
        return Found(state, minimal, None)
    with interrupt.stop_at(state.deadline - EXIT_S - REPORT_S):
        replay = run_schedule(state.best, backend="sim", store=folder, say=lambda _m: None)
    return Found(state, minimal, replay)


def fitted(s: Schedule) -> Schedule:
    """`s` without a fault lasting past the workload's end: such a fault's `for` is left
    out, so it lasts until the run heals at its end, which is what it did (the nemesis
    stops with the workload, DESIGN): the same run, event for event, whose schedule no
    longer says `for: 6` in a 2 s run."""
    faults = tuple(
        dataclasses.replace(f, duration=None)
        if f.at is not None and f.duration is not None and f.at + f.duration > s.time_limit
        else f
        for f in s.nemesis
    )
    return s if faults == s.nemesis else dataclasses.replace(s, nemesis=faults)


def with_time_limit(s: Schedule, seconds: int) -> Schedule:
    """`s` cut to `seconds` of workload: faults that would start later are left out, and
    those that would outlast it last until its end (fitted)."""
    faults = tuple(f for f in s.nemesis if f.at is None or f.at < seconds)
    return fitted(dataclasses.replace(s, time_limit=float(seconds), nemesis=faults))


def with_workload(s: Schedule, **changes: Any) -> Schedule:
    return dataclasses.replace(s, workload=dataclasses.replace(s.workload, **changes))


def minimize(
    s: Schedule,
    fails: Callable[[Schedule], bool],
    more: Callable[[], bool],
    step: Callable[[str], None] = lambda _what: None,
) -> Schedule:
    """The smallest schedule found that still fails, starting from failing `s`; `fails`
    keeps the hunt's best (and may raise to end the hunt: then the best so far is the
    answer), `more` says whether runs may still be spent, `step` hears each step's name.

    Chaos runs are not smooth the way hypothesis's generic shrinker assumes: any change
    before the failure sends the run down another path. Two facts of the simulation do
    the work instead. A shorter workload with the same seed and plan is the same run up
    to its end, so the failure survives a cut to just past it: the time limit is
    bisected first, and again after every step that changed the run. And a changed
    schedule fails again often enough under one of a few seeds, so each change is kept
    if any of SEEDS_PER_TRY seeds still fails (more for short runs; the minimal schedule
    records the seed that did). The steps, most telling first (a hunt out of runs or
    time keeps what the earlier ones made): each fault alone, early in a short run, then
    pairs and triples of them; the others dropped one at a time; fewer clients, then
    fewer keys; the faults sooner and shorter.
    """
    return _Shrinker(fails, more, step, longest=int(s.time_limit)).shrink(s)


@dataclass
class _Shrinker:
    fails: Callable[[Schedule], bool]
    more: Callable[[], bool]
    step: Callable[[str], None]
    longest: int  # seconds: the failing run as found, before it was cut

    def shrink(self, s: Schedule) -> Schedule:
        self.step("shrinking: time")
        s = self.cut(s)
        s = self.faults_alone(s)
        s = self.drop_faults(s)
        s = self.fewer_clients_and_keys(s)
        return self.sooner_and_shorter(s)

    def cut(self, s: Schedule) -> Schedule:
        """The shortest workload, in whole seconds, that still fails (bisected)."""
        lo, hi = MIN_TIME_LIMIT, int(s.time_limit)  # hi: known to fail
        while lo < hi and self.more():
            mid = (lo + hi) // 2
            if self.fails(with_time_limit(s, mid)):
                hi = mid
            else:
                lo = mid + 1
        return with_time_limit(s, hi)

    def first_failing(self, candidates: Iterable[Schedule]) -> Schedule | None:
        """The first candidate that fails under one of a few seeds, with that seed, cut to
        just past its failure; None if none does."""
        for c in candidates:
            # Short runs are cheap: give them more seeds (16 for 15 s and less).
            seeds = max(SEEDS_PER_TRY, min(16, int(240 / max(c.time_limit, 1))))
            for k in range(seeds):
                if not self.more():
                    return None
                tried = dataclasses.replace(c, seed=((c.seed or 0) + 7919 * k) % 2**16)
                if self.fails(tried):
                    return self.cut(tried)
        return None

    def only(self, s: Schedule, faults: Iterable[FaultSpec]) -> Schedule:
        """`s` with only `faults`, and ALONE_AFTER_S seconds after the last heals: the run
        was cut to just past its failure, and a plan that differs needs a few seconds more
        to fail in (the cut afterwards takes them back)."""
        kept = tuple(sorted(faults, key=lambda f: f.at or 0.0))
        end = max((f.at or 0.0) + (f.duration or 0.0) for f in kept)
        limit = min(self.longest, int(end + ALONE_AFTER_S) + 1)
        return with_time_limit(dataclasses.replace(s, nemesis=kept), limit)

    def faults_alone(self, s: Schedule) -> Schedule:
        """One fault alone first (ddmin's smallest subsets): most bugs need a single fault
        in the right moment, and dropping faults one at a time from a dozen spends a dozen
        rounds of seeds before it gets there. The run was cut to just past its failure, so
        the faults nearest its end are the likeliest cause: they are tried first, each at
        1 s into a run just long enough for it and the recovery after it. Then two or
        three of them (faults_together)."""
        if len(s.nemesis) <= 1:
            return s
        self.step("shrinking: faults alone")
        near = [f for f in reversed(s.nemesis) if f.at is not None][:ALONE_TRIES]
        found = self.first_failing(self.only(s, [dataclasses.replace(f, at=1.0)]) for f in near)
        return found if found is not None else self.faults_together(s, near)

    def faults_together(self, s: Schedule, near: list[FaultSpec]) -> Schedule:
        """Two or three of the faults `near` the failure, at their own times (a bug that
        needs faults to meet needs their spacing too): a bounded number of each size."""
        for k in (2, 3):
            if len(near) <= k or not self.more():
                break
            subsets = itertools.islice(itertools.combinations(near, k), SUBSETS_PER_SIZE)
            found = self.first_failing(self.only(s, c) for c in subsets)
            if found is not None:
                return found
        return s

    def drop_faults(self, s: Schedule) -> Schedule:
        """Each fault dropped in turn, the last first, until none can be."""
        self.step("shrinking: fewer faults")
        changed = True
        while changed and self.more():
            changed = False
            for i in reversed(range(len(s.nemesis))):
                if i >= len(s.nemesis):
                    continue
                fewer = s.nemesis[:i] + s.nemesis[i + 1 :]
                found = self.first_failing([dataclasses.replace(s, nemesis=fewer)])
                if found is not None:
                    s, changed = found, True
        return s

    def fewer_clients_and_keys(self, s: Schedule) -> Schedule:
        """The fewest clients that still fail among one, two, one per node (with `binding:
        node` a node without a client of its own shows nothing it answers wrongly), half
        and one fewer; then the fewest keys among one, half and one fewer."""
        self.step("shrinking: clients and keys")
        w, nodes = s.workload, len(s.node_names)
        for field_, choices in (
            ("concurrency", (1, 2, nodes, w.concurrency // 2, w.concurrency - 1)),
            ("keys", (1, w.keys // 2, w.keys - 1)),
        ):
            now = getattr(w, field_)
            fewer = sorted({n for n in choices if 1 <= n < now})
            found = self.first_failing(with_workload(s, **{field_: n}) for n in fewer)
            if found is not None:
                s = found
        return s

    def sooner_and_shorter(self, s: Schedule) -> Schedule:
        """The same faults sooner and shorter: a failure that needs only them then comes
        sooner, and the run can be cut shorter. Each fault in turn is moved halfway to the
        one before it (the first to 1 s), then made half as long."""
        self.step("shrinking: faults sooner and shorter")
        changed = True
        while changed and self.more():
            changed = False
            for i in range(len(s.nemesis)):
                found = self.first_failing(self.sooner_or_shorter(s, i))
                if found is not None and found != s:
                    s, changed = found, True
                    break
        return s

    @staticmethod
    def sooner_or_shorter(s: Schedule, i: int) -> list[Schedule]:
        f = s.nemesis[i]
        before = (s.nemesis[i - 1].at or 0.0) if i else 0.0
        edits: list[dict[str, float]] = []
        if f.at is not None and f.at - before > 1:
            edits.append({"at": round((before + 1 + f.at) / 2, 1)})
        if f.duration is not None and f.duration > 1:
            edits.append({"duration": round(f.duration / 2, 1)})
        out = []
        # Rounded to a tenth, a move can come back to where it was (1.1 s after the fault
        # before: halfway is 1.05, which rounds to 1.1): that is no change to try, and
        # taking it as one looped, a run each time, until the shrinking's runs were spent.
        for edit in (e for e in edits if any(getattr(f, k) != v for k, v in e.items())):
            faults = list(s.nemesis)
            faults[i] = dataclasses.replace(f, **edit)
            faults.sort(key=lambda x: x.at or 0.0)
            out.append(fitted(dataclasses.replace(s, nemesis=tuple(faults))))
        return out


def minimal_yaml(s: Schedule, checkers: list[str], state: Hunt) -> str:
    from harness.schedule import dump_schedule

    head = (
        f"# Found by `raftquake hunt` in {state.runs} simulated runs "
        f"({time.monotonic() - state.started:.0f} s): invalid by {', '.join(checkers)}.\n"
        f"# Replay: raftquake run THIS.yaml --backend sim\n"
    )
    return head + dump_schedule(s)


__all__ = [
    "ENDINGS",
    "Bounds",
    "Found",
    "Hunt",
    "bounds_of",
    "hunt",
    "minimal_yaml",
    "minimize",
    "save_minimal",
]
