"""raftquake's pytest plugin (entry point `pytest11`): chaos runs as tests.

What it adds:

- the `chaos` marker (runs against a cluster; `pytest -m chaos` selects them);
- options `--chaos-backend docker|sim` (default: docker when an engine answers, else
  sim), `--chaos-time-limit S`, `--chaos-seed N`, `--chaos-store DIR`, and
  `--chaos-hunt N` (`--chaos-hunt-budget S`): each schedule test hunts instead (below);
- fixtures `chaos_backend` (the backend in use), `chaos_cluster` (a started cluster of
  that backend, torn down after the test) and `chaos_run` (a callable: schedule path ->
  `RunOutcome`, with the run's folder and verdicts put in the test's JUnit properties);
- `assert_valid(outcome)` and `assert_caught(outcome, checker)`, which fail the test with
  the checker's own explanation (the counterexample, the two leaders of one term, ...);
- schedule files as tests: `pytest -m chaos schedules/` collects every schedule YAML
  named on the command line (or inside a directory named there) as one chaos test. A
  schedule without planted bugs must be valid; one with planted bugs must be caught by a
  checker each bug declares (raftnode/bugs.py, the table of docs/DESIGN.md). With
  `--chaos-hunt N`, a schedule test is a hunt of up to N simulated runs (searching and
  shrinking together) within what the schedule allows (harness/hunt.py): a correct
  schedule fails when one is invalid, with the shrunk minimal.yaml (under <store>/hunt/)
  in its message and JUnit properties; a planted-bug schedule fails when the hunt finds
  nothing.

Without an engine, `--chaos-backend docker` skips (fails under CI=true, as
tests/chaos/conftest.py does), so a CI job never passes by running nothing.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness.runner import RunOutcome

if TYPE_CHECKING:
    from harness.backends.base import Cluster
    from harness.schedule import Schedule

_EXPLANATION_LINES = 60


# ---- options and marker --------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    from harness.commands.flags import COUNT, SECONDS, SEED_FLAG

    group = parser.getgroup("raftquake", "raftquake chaos runs")
    group.addoption(
        "--chaos-backend",
        choices=("docker", "sim", "local"),
        default=None,
        help="cluster backend for chaos tests (default: docker when an engine answers, else sim)",
    )
    group.addoption(
        "--chaos-time-limit",
        type=SECONDS,
        default=None,
        metavar="S",
        help="seconds of workload per run, overriding each schedule's time-limit (with "
        "--chaos-hunt: the longest workload a hunt draws)",
    )
    group.addoption(
        "--chaos-seed", type=SEED_FLAG, default=None, metavar="N", help="seed for every chaos run"
    )
    group.addoption(
        "--chaos-store",
        default=None,
        metavar="DIR",
        help="results store for chaos runs (default: a folder under pytest's temporary dir)",
    )
    group.addoption(
        "--chaos-hunt",
        type=COUNT,
        default=None,
        metavar="N",
        help="each schedule test hunts (raftquake hunt) up to N simulated runs, searching "
        "and shrinking together, instead of one run: a correct schedule fails when a "
        "failing run is found (its minimal.yaml is in the JUnit properties), a planted-bug "
        "schedule when none is",
    )
    group.addoption(
        "--chaos-hunt-budget",
        type=SECONDS,
        default=600.0,
        metavar="S",
        help="seconds each --chaos-hunt may take at most, the replay of its minimal "
        "schedule included (600)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "chaos: runs against a cluster (Docker or simulated)")
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(RemoteRuns(config), "raftquake-remote-runs")


# ---- backend choice ------------------------------------------------------------------


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def resolve_backend(config: pytest.Config) -> str:
    """The backend for this session: the option, else docker if an engine answers, else sim.
    An explicit docker without an engine skips (fails under CI=true)."""
    cached = getattr(config, "_raftquake_backend", None)
    if cached:
        return cached
    from harness.runner import docker_available

    chosen = config.getoption("--chaos-backend")
    if chosen is None:
        chosen = "sim" if docker_available() else "docker"
    elif chosen == "docker":
        why = docker_available()
        if why:
            if _in_ci():
                pytest.fail(f"CI=true and --chaos-backend docker: {why}", pytrace=False)
            pytest.skip(f"--chaos-backend docker: {why}")
    config._raftquake_backend = chosen  # type: ignore[attr-defined]
    return chosen


@pytest.fixture(scope="session")
def chaos_backend(pytestconfig: pytest.Config) -> str:
    """ "docker", "sim" or "local": what chaos_cluster and chaos_run use."""
    return resolve_backend(pytestconfig)


@pytest.fixture(scope="session")
def chaos_store(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if _ships_runs(pytestconfig):
        return _worker_store(pytestconfig)
    given = pytestconfig.getoption("--chaos-store")
    return Path(given) if given else tmp_path_factory.mktemp("chaos-store")


# ---- runs of remote pytest-xdist workers (harness/remote_runs.py) --------------------


def _ships_runs(config: pytest.Config) -> bool:
    """Whether this is a remote xdist worker, whose runs go back to the controller."""
    from harness.remote_runs import WORKER_INPUT

    return bool(getattr(config, "workerinput", {}).get(WORKER_INPUT))


def _worker_store(config: pytest.Config) -> Path:
    """A remote worker's own store, on its machine (--chaos-store names the controller's),
    emptied after each test into the test's report."""
    store = getattr(config, "_raftquake_worker_store", None)
    if store is None:
        store = config._tmp_path_factory.mktemp("chaos-store")  # type: ignore[attr-defined]
        config._raftquake_worker_store = store  # type: ignore[attr-defined]
    return store


def _controller_store(config: pytest.Config) -> Path:
    """Where remote workers' runs go: --chaos-store, else one temporary store."""
    store = getattr(config, "_raftquake_controller_store", None)
    if store is None:
        given = config.getoption("--chaos-store")
        store = (
            Path(given).resolve() if given else config._tmp_path_factory.mktemp("chaos-store")  # type: ignore[attr-defined]
        )
        config._raftquake_controller_store = store  # type: ignore[attr-defined]
    return store


class RemoteRuns:
    """The controller's side: registered in every session that is not itself a worker
    (pytest_configure), it acts only on what remote workers send."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.received = 0

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """xdist, for each worker it starts: one on another machine (any gateway but
        popen) packs its runs into its reports."""
        from harness.remote_runs import WORKER_INPUT

        node.workerinput[WORKER_INPUT] = not node.gateway.spec.popen

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """A remote worker's runs into the controller's store, and the report's paths
        (its JUnit properties, its failure text, its output) to their copies there.
        tryfirst: before junitxml reads the properties."""
        from harness.remote_runs import ATTR, relocate, unpack

        packed = getattr(report, ATTR, None)
        if not packed:
            return
        moved = unpack(packed, _controller_store(self.config))
        delattr(report, ATTR)  # not kept, nor written into a --report-log
        report.user_properties = [
            (k, relocate(v, moved) if isinstance(v, str) else v) for k, v in report.user_properties
        ]
        if isinstance(report.longrepr, str):
            report.longrepr = relocate(report.longrepr, moved)
        report.sections = [(t, relocate(c, moved)) for t, c in report.sections]
        self.received += len(moved)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.received:
            from harness.words import plural

            terminalreporter.write_line(
                f"raftquake: {plural(self.received, 'run')} from remote workers, "
                f"in {_controller_store(self.config)}"
            )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """A remote worker: the runs the test made go with its last report (teardown's)."""
    outcome = yield
    if call.when != "teardown" or not _ships_runs(item.config):
        return
    from harness.remote_runs import ATTR, pack

    packed = pack(_worker_store(item.config))
    if packed:
        setattr(outcome.get_result(), ATTR, packed)


# ---- fixtures ------------------------------------------------------------------------


@pytest.fixture
def chaos_cluster(
    request: pytest.FixtureRequest, chaos_backend: str, pytestconfig: pytest.Config
) -> Iterator[Cluster]:
    """A started `Cluster` (harness/backends/base.py) of the session's backend, built by
    make_backend as a run's is, and torn down after the test, so a test drives either
    backend with the same methods.

    Docker: a `DockerCluster` (harness/backends/docker/cluster.py). Sim: a `SimBackendCluster`
    (harness/backends/sim/adapter.py) with a leader elected; its `.sim` is the `SimCluster`, for
    stepping virtual time. Local: a `LocalCluster` (harness/backends/local/cluster.py). Options
    come from `@pytest.mark.chaos(nodes=3, ...)`: `nodes` (default 3), and the system:
    `system` (harness/systems/: a System, or a name such as "etcd"), or raftnode's
    `read_mode` and `bugs`. A system that does not run on the session's backend
    (System.backends) skips the test.
    """
    from harness.backends import ClusterSpec, make_backend, system_problem
    from harness.systems import system_class
    from harness.systems.raftnode import RaftnodeSystem

    marker = request.node.get_closest_marker("chaos")
    opts: dict[str, Any] = dict(marker.kwargs) if marker else {}
    nodes = int(opts.pop("nodes", 3))
    system = opts.pop("system", None)
    raftnode = {k: opts.pop(k) for k in ("read_mode", "bugs") if k in opts}
    if opts:
        pytest.fail(f"chaos marker: unknown option(s) {sorted(opts)}", pytrace=False)
    if system is not None and raftnode:
        pytest.fail(f"chaos marker: {sorted(raftnode)} are raftnode's, not {system}'s options")
    if isinstance(system, str):
        system = system_class(system)()
    if system is None:  # raftnode as the fixture has always run it: the node's defaults
        system = RaftnodeSystem.with_node_defaults(**raftnode)
    why = system_problem(chaos_backend, type(system))
    if why:
        pytest.skip(why)
    base_dir = request.getfixturevalue("tmp_path") / "local-cluster"
    seed = pytestconfig.getoption("--chaos-seed") or 0
    backend = make_backend(chaos_backend, ClusterSpec(system, nodes, seed, base_dir=base_dir))
    cluster = backend.cluster
    try:
        cluster.start()
        if not backend.live and not backend.run(_leader_within(cluster, 10.0)):
            # Virtual time stands still unless the loop runs: run it until a leader.
            pytest.fail("the simulated cluster elected no leader in 10 s of virtual time")
        yield cluster
    finally:
        cluster.teardown()
        backend.cleanup()
    from harness.backends.docker.cluster import DockerCluster

    if isinstance(cluster, DockerCluster):
        left = cluster.leftovers()
        assert not any(left.values()), f"run {cluster.run_id} left {left}"


async def _leader_within(cluster: Cluster, timeout: float) -> bool:
    """Whether some node leads within `timeout` s of the running loop's clock."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while cluster.leader() is None:
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.01)
    return True


@pytest.fixture
def chaos_run(
    request: pytest.FixtureRequest,
    pytestconfig: pytest.Config,
    chaos_backend: str,
    chaos_store: Path,
    record_property: Callable[[str, object], None],
) -> Callable[..., RunOutcome]:
    """`chaos_run(schedule, seed=None, time_limit=None, backend=None)` runs a schedule (a
    path or a loaded `Schedule`) and returns its `RunOutcome`. Unset arguments come from
    --chaos-seed / --chaos-time-limit / the session's backend. Each run's folder, seed and
    verdicts go into the test's JUnit XML properties and its captured output."""

    def run(
        schedule: Any,
        seed: int | None = None,
        time_limit: float | None = None,
        backend: str | None = None,
    ) -> RunOutcome:
        from harness.runner import run_schedule
        from harness.schedule import Schedule, load_schedule
        from harness.summary import summary_text

        loaded = schedule if isinstance(schedule, Schedule) else load_schedule(schedule)
        outcome = run_schedule(
            loaded,
            backend=backend or chaos_backend,
            store=chaos_store,
            seed=seed if seed is not None else pytestconfig.getoption("--chaos-seed"),
            time_limit=(
                time_limit
                if time_limit is not None
                else pytestconfig.getoption("--chaos-time-limit")
            ),
            say=lambda m: print(m, flush=True),
        )
        for key, value in junit_properties(outcome).items():
            record_property(key, value)
        print(summary_text(outcome.run_dir, outcome.results))
        return outcome

    return run


def junit_properties(outcome: RunOutcome) -> dict[str, str]:
    """What a CI reader needs without opening the store: where, which seed, each verdict."""
    r = outcome.results
    props = {
        "raftquake.run-dir": str(outcome.run_dir.path),
        "raftquake.backend": str(r.get("backend")),
        "raftquake.seed": str(r.get("seed")),
        "raftquake.status": str(r.get("status")),
        "raftquake.valid": _word(r.get("valid")),
    }
    for name, c in r.get("checkers", {}).items():
        props[f"raftquake.checker.{name}"] = _word(c.get("valid"))
    return props


def _word(valid: Any) -> str:
    return {True: "valid", False: "invalid"}.get(valid, str(valid))


# ---- assertions ----------------------------------------------------------------------


def explain(outcome: RunOutcome, checkers: Iterable[str] | None = None) -> str:
    """The run's verdicts, each failing checker's explanation, and where the results are."""
    r = outcome.results
    wanted = set(checkers) if checkers is not None else None
    lines = [
        f"run {r.get('name')} ({r.get('backend')}, seed {r.get('seed')}, "
        f"status {r.get('status')}): {_word(r.get('valid'))}"
    ]
    if r.get("error"):
        lines.append(f"  error: {r['error']}")
    for name, c in r.get("checkers", {}).items():
        reason = c.get("reason")
        lines.append(f"  {name}: {_word(c.get('valid'))}" + (f" ({reason})" if reason else ""))
        if c.get("valid") is False and (wanted is None or name in wanted):
            text = c.get("explanation") or _brief(c)
            body = text.splitlines()
            if len(body) > _EXPLANATION_LINES:
                body = body[:_EXPLANATION_LINES] + [f"... ({len(body)} lines in results.json)"]
            lines += ["    " + ln for ln in body]
    for err in r.get("fault-errors", []) + r.get("heal-errors", []):
        lines.append(f"  fault problem: {err}")
    lines.append(f"  results: {outcome.run_dir.path}")
    return "\n".join(lines)


def _brief(checker_result: dict[str, Any]) -> str:
    import json

    shown = {k: v for k, v in checker_result.items() if k not in ("valid", "checker")}
    return json.dumps(shown, default=str)[:2000]


def assert_valid(outcome: RunOutcome) -> None:
    """Fails the test unless every checker found the run valid (unknown is not valid)."""
    if outcome.results.get("valid") is not True:
        pytest.fail(explain(outcome), pytrace=False)


def assert_caught(outcome: RunOutcome, checker: str | Iterable[str]) -> str:
    """Fails the test unless `checker` (or one of several) found the run invalid.
    Returns the name of the checker that caught it."""
    names = (checker,) if isinstance(checker, str) else tuple(checker)
    results = outcome.results.get("checkers", {})
    missing = [n for n in names if n not in results]
    if len(missing) == len(names):
        pytest.fail(
            f"the run did not use {' or '.join(names)}; it ran {sorted(results)}\n"
            + explain(outcome),
            pytrace=False,
        )
    caught = caught_by(outcome, names)
    if caught is None:
        pytest.fail(
            f"not caught: {' or '.join(names)} found no violation\n" + explain(outcome),
            pytrace=False,
        )
    return caught


def caught_by(outcome: RunOutcome, checker: str | Iterable[str]) -> str | None:
    """The first of `checker` (one name or several) that found the run invalid, else None:
    for a test that tries more than one seed before asserting."""
    names = (checker,) if isinstance(checker, str) else tuple(checker)
    results = outcome.results.get("checkers", {})
    return next((n for n in names if results.get(n, {}).get("valid") is False), None)


def expected_catchers(bugs: Iterable[str]) -> tuple[str, ...]:
    """The checkers that catch these planted bugs, as each bug declares them
    (raftnode/bugs.py, docs/DESIGN.md "Planted bugs"); empty: the run must be valid."""
    from raftnode.bugs import catchers

    return catchers(bugs)


def schedule_catchers(schedule: Schedule) -> tuple[str, ...]:
    """The checkers that should catch a run of `schedule`: its planted bugs' (raftnode), or
    its system's documented weak mode for its workload (etcd with serializable reads,
    etcd's locks); empty: valid."""
    import inspect

    from harness.systems import make_system

    system = make_system(schedule)
    # A plug-in written before expected_findings took the workload is still asked.
    if "workload" in inspect.signature(system.expected_findings).parameters:
        return system.expected_findings(schedule.workload.name)
    return system.expected_findings()


# ---- schedule files as tests ---------------------------------------------------------


def _looks_like_schedule(path: Path) -> bool:
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return True  # let the item report the problem, with the line
    return isinstance(data, dict) and "name" in data and bool({"nemesis", "workload"} & set(data))


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if file_path.suffix in (".yaml", ".yml") and _looks_like_schedule(file_path):
        return ScheduleFile.from_parent(parent, path=file_path)
    return None


class ScheduleFile(pytest.File):
    def collect(self):
        from harness.schedule import ScheduleError, load_schedule

        try:
            name = load_schedule(self.path).name
        except ScheduleError as exc:
            name, error = self.path.stem, exc
        else:
            error = None
        item = ScheduleItem.from_parent(self, name=name, load_error=error)
        item.add_marker(pytest.mark.chaos)
        yield item


class ScheduleItem(pytest.Item):
    def __init__(self, *, load_error: Exception | None = None, **kw):
        super().__init__(**kw)
        self.load_error = load_error

    def runtest(self) -> None:
        if self.load_error is not None:
            pytest.fail(str(self.load_error), pytrace=False)
        from harness.runner import run_schedule
        from harness.schedule import load_schedule

        config = self.config
        backend = resolve_backend(config)
        store = _worker_store(config) if _ships_runs(config) else config.getoption("--chaos-store")
        if store is None:
            store = config._tmp_path_factory.mktemp("chaos-store")  # type: ignore[attr-defined]
        schedule = load_schedule(self.path)
        from harness.backends import backend_problem

        why = backend_problem("sim" if config.getoption("--chaos-hunt") else backend, schedule)
        if why:  # etcd under --chaos-backend sim, say: not this session's to run
            pytest.skip(why)
        if config.getoption("--chaos-hunt"):
            self._hunt(schedule, Path(store))
            return
        outcome = run_schedule(
            schedule,
            backend=backend,
            store=store,
            seed=config.getoption("--chaos-seed"),
            time_limit=config.getoption("--chaos-time-limit"),
            say=lambda m: print(m, flush=True),
        )
        self.user_properties.extend(junit_properties(outcome).items())
        print(explain(outcome))
        catchers = schedule_catchers(schedule)
        if catchers:
            assert_caught(outcome, catchers)
        else:
            assert_valid(outcome)

    def _hunt(self, schedule, store: Path) -> None:
        """--chaos-hunt: search fault plans on the simulation (harness/hunt.py); a found
        failure is shrunk, written as minimal.yaml and replayed, as `raftquake hunt` does."""
        import random

        from harness.hunt import hunt, save_minimal
        from harness.store import new_run_dir

        config = self.config
        seed = config.getoption("--chaos-seed")
        seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
        runs, budget = config.getoption("--chaos-hunt"), config.getoption("--chaos-hunt-budget")
        # --chaos-time-limit: the longest workload the hunt draws (`hunt --time-limit`).
        longest = config.getoption("--chaos-time-limit")
        from harness.systems import make_system

        state = hunt(schedule, store, runs, budget, seed, time_limit=longest)
        from harness.words import plural

        self.user_properties.append(("raftquake.hunt", f"{plural(state.runs, 'run')}, seed {seed}"))
        expected = schedule_catchers(schedule)
        if state.best is None:
            if expected:
                pytest.fail(
                    f"hunt of {schedule.name} ({make_system(schedule).describe()}): no "
                    f"failing run in {plural(state.runs, 'simulated run')} (seed {seed})",
                    pytrace=False,
                )
            return
        found = save_minimal(state, new_run_dir(store / "hunt", schedule.name).path)
        self.user_properties.append(("raftquake.minimal-schedule", str(found.minimal)))
        print(f"hunt: minimal failing schedule {found.minimal}")
        if not expected:
            pytest.fail(
                f"hunt of {schedule.name} found a failing run in "
                f"{plural(state.runs, 'simulated run')} (invalid by "
                f"{', '.join(state.best_checkers)}); minimal schedule: "
                f"{found.minimal} (replay: raftquake run {found.minimal} --backend sim)",
                pytrace=False,
            )

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, pytest.fail.Exception):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, f"schedule {self.name}"
