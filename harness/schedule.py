"""YAML fault schedules: load, validate, expand into a plan.

The format is docs/DESIGN.md's "Schedule (YAML)". Validation is strict: an unknown
field or value is an error naming the file and the line, never ignored, because
a typo in a fault schedule silently turns a chaos run into a calm one.

`fault_plan` expands the nemesis entries into concrete fault windows. It uses
only the schedule (and its seed), so a schedule run twice with the same seed
gets the same plan.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from checkers.registry import CHECKER_NAMES as CHECKERS
from harness.nemesis import FAULTS, TIMING_KEYS, FaultError
from harness.nemesis.package import package_plan
from harness.numeric import SEED, TIME_LIMIT, NumberRule
from workloads import WORKLOADS as WORKLOAD_KINDS

if TYPE_CHECKING:
    from harness.systems.base import System

WORKLOADS = tuple(WORKLOAD_KINDS)
OPERATIONS = ("read", "write", "cas")  # the register workload's
# A nemesis entry's own keys (harness/nemesis/: TIMING_KEYS); the rest are its fault's
# options.
TIMING = TIMING_KEYS


class ScheduleError(ValueError):
    """A schedule that cannot be run, with where and what was expected."""

    def __init__(self, source: str, line: int | None, message: str):
        self.source, self.line, self.message = source, line, message
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class SystemSpec:
    """The system under test (harness/systems/): a built-in name, `module:Class`, or
    `/abs/path/file.py:Class` (made absolute on load), and its options, parsed (raftnode's
    from `node:` too), the system's defaults filled in for those not given."""

    name: str = "raftnode"
    options: tuple[tuple[str, Any], ...] = ()

    def option(self, key: str, default: Any = None) -> Any:
        """The option's value, else `default` (a schedule built in code, not parsed, may
        leave options to the system's defaults)."""
        return dict(self.options).get(key, default)

    def with_options(self, changes: dict[str, Any]) -> SystemSpec:
        """The same system with `changes` to its options."""
        return replace(self, options=tuple({**dict(self.options), **changes}.items()))


BINDINGS = ("node", "leader", "any")


@dataclass(frozen=True)
class WorkloadSpec:
    name: str = "register"
    keys: int = 8
    concurrency: int = 10
    rate: float = 200.0  # operations per second over all clients; 0 = as fast as possible
    mix: dict[str, float] = field(default_factory=lambda: {"read": 0.5, "write": 0.3, "cas": 0.2})
    # Where each client sends an operation first (docs/schedules.md "Clients"): `node`, its own node
    # (client slot i -> node i mod N), as a client configured with one endpoint; `leader`,
    # wherever it last found the leader; `any`, a random node each time. All follow the
    # leader a node names within an operation.
    # Default `node`: measured (benchmarks/bench_detection.py), it catches the bugs a
    # deposed leader shows (stale reads, expired leases) where `leader` mostly does not,
    # since leader-following clients leave a cut-off leader at their first stalled write
    # and never come back to it.
    binding: str = "node"
    timeout: float = 2.0  # seconds an operation may take before it ends `info`
    attempt_timeout: float | None = None  # seconds one node gets; None: `timeout`/8, >= 0.25
    # Independent keys Jepsen's way: after this many operations a key is retired and the
    # slots working on it move to a fresh one (0: the same `keys` keys all run long).
    # list-append and rw-register: writes per key before it is retired (0: Elle's 32).
    ops_per_key: int = 0
    # The workload's own fields (workloads/: each declares its `options`), parsed; one
    # not given here has the workload's default.
    options: dict[str, Any] = field(default_factory=dict)

    def option(self, name: str) -> Any:
        """The workload's own field `name` as the schedule set it, else its default."""
        if name in self.options:
            return self.options[name]
        return WORKLOAD_KINDS[self.name].options[name].default


@dataclass(frozen=True)
class FaultSpec:
    """One nemesis entry as written: a fault, its options and its timing."""

    fault: str
    options: dict[str, Any]
    at: float | None = None
    start: float | None = None
    every: float | None = None
    duration: float | None = None  # `for`: heal after this many seconds; None = at the end
    line: int = field(default=0, compare=False)  # where it was written, for messages


@dataclass(frozen=True)
class PackageSpec:
    """A nemesis package as written: faults drawn at random from `families` every
    `interval` seconds on average, each lasting between `duration`'s bounds, from
    `start` to the end of the workload (harness/nemesis/package.py)."""

    families: tuple[str, ...]
    interval: float = 5.0
    duration: tuple[float, float] = (1.0, 5.0)
    start: float = 0.0
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class FinalSpec:
    heal: bool = True
    recover: float = 10.0


@dataclass(frozen=True)
class Schedule:
    name: str
    nodes: int = 5
    time_limit: float = 60.0
    seed: int | None = None
    system: SystemSpec = SystemSpec()
    workload: WorkloadSpec = WorkloadSpec()
    nemesis: tuple[FaultSpec | PackageSpec, ...] = ()
    final: FinalSpec = FinalSpec()
    checkers: tuple[str, ...] = CHECKERS
    source: str = "<schedule>"

    @property
    def node_names(self) -> list[str]:
        return [f"n{i}" for i in range(1, self.nodes + 1)]


@dataclass(frozen=True)
class PlannedFault:
    """A fault window of a run: start it at `start`, heal it at `end` (None: at the final heal)."""

    start: float
    end: float | None
    spec: FaultSpec


# --- reading YAML with line numbers -------------------------------------------------------


def _scalar(node: yaml.Node) -> Any:
    return yaml.constructor.SafeConstructor().construct_object(node, deep=True)


def _to_python(node: yaml.Node, lines: dict[tuple, int], path: tuple = ()) -> Any:
    """Turn a composed YAML node into plain values, recording each path's line (1-based)."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            out[key] = _to_python(value_node, lines, (*path, key))
            lines[(*path, key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(item, lines, (*path, i)) for i, item in enumerate(node.value)]
    return _scalar(node)


class _Reader:
    """Typed access to a parsed mapping that reports errors at the right line."""

    def __init__(self, source: str, lines: dict[tuple, int]):
        self.source, self.lines = source, lines

    def error(self, path: tuple, message: str) -> ScheduleError:
        # Fall back to the nearest enclosing path that has a line.
        p = path
        while p and p not in self.lines:
            p = p[:-1]
        return ScheduleError(self.source, self.lines.get(p), message)

    def mapping(self, value: Any, path: tuple, allowed: tuple[str, ...], what: str) -> dict:
        if not isinstance(value, dict):
            raise self.error(path, f"{what} must be a mapping, got {_kind(value)}")
        for key in value:
            if key not in allowed:
                raise self.error(
                    (*path, key),
                    f"unknown field {key!r} in {what}; expected one of: {', '.join(allowed)}",
                )
        return value

    def number(
        self,
        value: Any,
        path: tuple,
        minimum: float = 0.0,
        integer: bool = False,
        rule: NumberRule | None = None,
    ):
        rule = rule or NumberRule(minimum, integer)
        if not rule.accepts(value):
            raise self.error(path, f"{_dotted(path)} must be {rule.expected()}, got {value!r}")
        return value

    def choice(self, value: Any, path: tuple, choices: tuple[str, ...]) -> str:
        if value not in choices:
            raise self.error(
                path, f"{_dotted(path)} is {value!r}; expected one of: {', '.join(choices)}"
            )
        return value


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


def _dotted(path: tuple) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out or "schedule"


# --- validation ---------------------------------------------------------------------------


def parse_schedule(text: str, source: str = "<schedule>") -> Schedule:
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise ScheduleError(
            source, line, f"not valid YAML: {getattr(exc, 'problem', exc)}"
        ) from None
    if root is None:
        raise ScheduleError(source, None, "empty schedule; expected a mapping with at least 'name'")
    lines: dict[tuple, int] = {}
    data = _to_python(root, lines)
    r = _Reader(source, lines)
    top = (
        "name",
        "nodes",
        "time-limit",
        "seed",
        "system",
        "node",
        "workload",
        "nemesis",
        "final",
        "checkers",
    )
    r.mapping(data, (), top, "the schedule")
    if not isinstance(data.get("name"), str) or not data["name"].strip():
        raise r.error(("name",), "name must be a non-empty string (it names the results folder)")
    name = data["name"]
    if "/" in name or name in (".", ".."):
        raise r.error(("name",), f"name {name!r} must not contain '/'")
    time_limit = float(r.number(data.get("time-limit", 60), ("time-limit",), rule=TIME_LIMIT))
    seed = data.get("seed")
    if seed is not None:
        r.number(seed, ("seed",), rule=SEED)

    system, system_cls = _parse_system(r, data.get("system", "raftnode"), source, data.get("node"))
    # Left out, `nodes` is the system's own size (one server for postgres, 3 for galera).
    nodes = r.number(
        data.get("nodes", system_cls.default_nodes or 5), ("nodes",), minimum=1, integer=True
    )
    fewest = system_cls.min_nodes
    if nodes < fewest:
        raise r.error(("nodes",), f"{system.name} needs at least {fewest} nodes, got {nodes}")
    wrong = system_cls.check_nodes(nodes)
    if wrong:
        raise r.error(("nodes",) if "nodes" in data else ("system",), wrong)
    workload = _parse_workload(r, data.get("workload", {}))
    supported = system_cls.workloads
    if workload.name not in supported:
        why = system_cls.refused_workloads.get(workload.name)
        raise r.error(
            ("workload", "name"),
            f"{system.name} does not run the {workload.name} workload"
            + (f" ({why})" if why else "")
            + "; it runs: "
            + ", ".join(supported),
        )
    names = [f"n{i}" for i in range(1, nodes + 1)]
    raw_nemesis = data.get("nemesis") or []
    if not isinstance(raw_nemesis, list):
        raise r.error(("nemesis",), f"nemesis must be a list of faults, got {_kind(raw_nemesis)}")
    nemesis = tuple(
        _parse_fault(r, entry, ("nemesis", i), names) for i, entry in enumerate(raw_nemesis)
    )
    final = _parse_final(r, data.get("final", {}))

    checkers = data.get("checkers", default_checkers(system_cls.unchecked, workload))
    if not isinstance(checkers, list) or not checkers:
        raise r.error(("checkers",), f"checkers must be a non-empty list of: {', '.join(CHECKERS)}")
    for i, c in enumerate(checkers):
        r.choice(c, ("checkers", i), CHECKERS)
    return Schedule(
        name=name,
        nodes=nodes,
        time_limit=time_limit,
        seed=seed,
        system=system,
        workload=workload,
        nemesis=nemesis,
        final=final,
        checkers=tuple(checkers),
        source=source,
    )


def default_checkers(unchecked: Collection[str], workload: WorkloadSpec) -> list[str]:
    """A schedule without `checkers:` runs every checker that has something to read: the
    history checker of its workload (linearizable for register, elle for list-append, set
    for set), the node-record checkers, less those its system gives nothing to
    (`unchecked`; etcd: log-agreement)."""
    history = {w.checker for w in WORKLOAD_KINDS.values()}
    own = WORKLOAD_KINDS[workload.name].checker
    return [c for c in CHECKERS if c not in unchecked and (c == own or c not in history)]


def _parse_system(
    r: _Reader, raw: Any, source: str, node: Any = None
) -> tuple[SystemSpec, type[System]]:
    """`system: NAME` or `system: {name: NAME, OPTION: VALUE, ...}`, checked against the
    system's own OPTIONS (harness/systems/); with the System class it names. `node`:
    the schedule's `node:` section, raftnode's options as schedules wrote them before
    they were a system's (still read, for raftnode only)."""
    from harness.systems import OptionError, SystemNotFound, system_class

    p = ("system",)
    options = {}
    if isinstance(raw, dict):
        if not isinstance(raw.get("name"), str):
            raise r.error(p, "system: in the long form needs name: (raftnode, etcd, module:Class)")
        options = {k: v for k, v in raw.items() if k != "name"}
        name = raw["name"]
    elif isinstance(raw, str):
        name = raw
    else:
        raise r.error(p, f"system must be a name or a mapping with name:, got {_kind(raw)}")
    module, _, attr = name.rpartition(":")
    if module.endswith(".py") and not Path(module).is_absolute():
        # Relative to the schedule's folder, and kept absolute so that the copy of the
        # schedule in the results folder still finds it.
        name = f"{(Path(source).parent / module).resolve()}:{attr}"
    try:
        cls = system_class(name)
        parsed = cls.validate(options)
    except SystemNotFound as exc:
        raise r.error((*p, "name") if isinstance(raw, dict) else p, str(exc)) from None
    except OptionError as exc:
        raise r.error((*p, exc.option, *exc.at), str(exc)) from None
    if node:
        parsed = {**_parse_node(r, node, cls), **parsed}
    # Every option as the run will use it, defaults filled in: the copy of the schedule
    # in the results folder then says what ran, and a later default cannot change what
    # it replays.
    filled = {k: v for k, v in cls.defaults().items() if v is not None}
    return SystemSpec(name, tuple({**filled, **parsed}.items())), cls


def _parse_node(r: _Reader, raw: Any, cls: type[System]) -> dict[str, Any]:
    """`node:` (read-mode, bugs, snapshot-entries), the older spelling of raftnode's
    system options, parsed as those; an option given both here and under `system:` is
    an error, as is `node:` with another system."""
    from harness.systems import OptionError
    from harness.systems.raftnode import RaftnodeSystem

    p = ("node",)
    if not issubclass(cls, RaftnodeSystem):
        raise r.error(
            p,
            f"node: holds raftnode's options (read-mode, bugs); {cls.name} takes its own "
            f"in the long form, system: {{name: {cls.name}, OPTION: VALUE}}",
        )
    r.mapping(raw, p, tuple(cls.OPTIONS), "node")
    given = r.lines.get(("system",))
    for key in raw:
        if ("system", key) in r.lines:
            raise r.error(
                (*p, key),
                f"{key} is given twice, here and under system: (line {given}); node: is "
                "the older spelling of raftnode's system options: keep one",
            )
    try:
        return cls.validate(raw, prefix="node.")
    except OptionError as exc:
        raise r.error((*p, exc.option, *exc.at), str(exc)) from None


GENERIC_WORKLOAD_FIELDS = (
    "name",
    "keys",
    "concurrency",
    "rate",
    "mix",
    "binding",
    "timeout",
    "attempt-timeout",
    "ops-per-key",
)


def _parse_workload(r: _Reader, raw: Any) -> WorkloadSpec:
    """The generic fields every workload has, then the workload's own (its `options`)."""
    p = ("workload",)
    raw = raw or {}
    if not isinstance(raw, dict):
        raise r.error(p, f"workload must be a mapping, got {_kind(raw)}")
    default = WorkloadSpec()
    name = r.choice(raw.get("name", default.name), (*p, "name"), WORKLOADS)
    kind = WORKLOAD_KINDS[name]
    r.mapping(raw, p, (*GENERIC_WORKLOAD_FIELDS, *kind.options), "workload")
    keys = raw.get("keys", kind.default_keys)
    keys = r.number(keys, (*p, "keys"), minimum=1, integer=True)
    concurrency = r.number(
        raw.get("concurrency", default.concurrency), (*p, "concurrency"), minimum=1, integer=True
    )
    rate = float(r.number(raw.get("rate", default.rate), (*p, "rate")))
    mix = raw.get("mix", dict(kind.default_mix))
    r.mapping(mix, (*p, "mix"), kind.operations, f"workload.mix of {name}")
    for op, weight in mix.items():
        r.number(weight, (*p, "mix", op))
    if sum(mix.values()) <= 0:
        raise r.error((*p, "mix"), "workload.mix needs at least one positive weight")
    binding = r.choice(raw.get("binding", default.binding), (*p, "binding"), BINDINGS)
    timeout = float(r.number(raw.get("timeout", default.timeout), (*p, "timeout"), minimum=0.1))
    attempt = raw.get("attempt-timeout")
    if attempt is not None:
        attempt = float(r.number(attempt, (*p, "attempt-timeout"), minimum=0.05))
    ops_per_key = r.number(raw.get("ops-per-key", 0), (*p, "ops-per-key"), integer=True)
    options = {}  # every one of the workload's own, given or its default
    for field_name, option in kind.options.items():
        try:
            options[field_name] = (
                option.parse(raw[field_name]) if field_name in raw else option.default
            )
        except ValueError as exc:
            raise r.error((*p, field_name), f"workload.{field_name} {exc}") from None
    return WorkloadSpec(
        name,
        keys,
        concurrency,
        rate,
        {k: float(v) for k, v in mix.items()},
        binding,
        timeout,
        attempt,
        ops_per_key,
        options,
    )


def _parse_final(r: _Reader, raw: Any) -> FinalSpec:
    raw = r.mapping(raw or {}, ("final",), ("heal", "recover"), "final")
    heal = raw.get("heal", True)
    if not isinstance(heal, bool):
        raise r.error(("final", "heal"), f"final.heal must be true or false, got {heal!r}")
    recover = float(r.number(raw.get("recover", 10), ("final", "recover")))
    return FinalSpec(heal=heal, recover=recover)


PACKAGE_FIELDS = ("package", "interval", "for", "start")


def _parse_package(r: _Reader, raw: dict, path: tuple) -> PackageSpec:
    r.mapping(raw, path, PACKAGE_FIELDS, "a nemesis package")
    families = raw["package"]
    if families == "all":
        families = list(FAULTS)
    if not isinstance(families, list) or not families:
        raise r.error(
            (*path, "package"),
            f"package must be a list of fault families ({', '.join(FAULTS)}) or 'all'",
        )
    for i, family in enumerate(families):
        r.choice(family, (*path, "package", i), tuple(FAULTS))
    interval = float(r.number(raw.get("interval", 5), (*path, "interval")))
    if interval <= 0:
        raise r.error((*path, "interval"), "interval must be > 0 seconds")
    length = raw.get("for", [1, 5])
    if not isinstance(length, list):
        length = [length, length]
    if len(length) != 2:
        raise r.error((*path, "for"), "for must be seconds, or [shortest, longest]")
    low, high = (float(r.number(x, (*path, "for", i))) for i, x in enumerate(length))
    if not 0 < low <= high:
        raise r.error((*path, "for"), f"for must be 0 < shortest <= longest, got {length}")
    start = float(r.number(raw.get("start", 0), (*path, "start")))
    return PackageSpec(
        tuple(dict.fromkeys(families)), interval, (low, high), start, r.lines.get(path, 0)
    )


def _parse_fault(r: _Reader, raw: Any, path: tuple, names: list[str]) -> FaultSpec | PackageSpec:
    if isinstance(raw, dict) and "package" in raw:
        return _parse_package(r, raw, path)
    if not isinstance(raw, dict) or "fault" not in raw:
        raise r.error(path, "each nemesis entry must be a mapping with 'fault' or 'package'")
    fault = r.choice(raw["fault"], (*path, "fault"), tuple(FAULTS))
    allowed = ("fault", *TIMING, *FAULTS[fault].options)
    r.mapping(raw, path, allowed, f"a {fault} fault")
    timing = {k: float(r.number(raw[k], (*path, k))) for k in TIMING if k in raw}
    if "at" in timing and ("start" in timing or "every" in timing):
        raise r.error(path, "use either 'at' or 'start'/'every', not both")
    if "at" not in timing and "every" not in timing:
        raise r.error(path, f"a {fault} fault needs 'at' (once) or 'every' (repeated)")
    if "every" in timing and timing["every"] <= 0:
        raise r.error((*path, "every"), "every must be > 0 seconds")
    if "every" in timing and "for" in timing and timing["for"] >= timing["every"]:
        raise r.error((*path, "for"), "for must be shorter than every, so windows do not overlap")

    # The fault checks its own options (harness/nemesis/); its error names the option,
    # so the message points at that option's line.
    given = {k: v for k, v in raw.items() if k != "fault" and k not in TIMING}
    try:
        options = FAULTS[fault].validate(given, names)
    except FaultError as exc:
        raise r.error((*path, *exc.option), str(exc)) from None
    return FaultSpec(
        fault=fault,
        options=options,
        at=timing.get("at"),
        start=timing.get("start"),
        every=timing.get("every"),
        duration=timing.get("for"),
        line=r.lines.get(path, 0),
    )


def load_schedule(path: str | Path) -> Schedule:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ScheduleError(str(path), None, f"cannot read schedule: {exc.strerror}") from None
    return parse_schedule(text, source=str(path))


# --- plans and serialisation --------------------------------------------------------------


def with_seed(schedule: Schedule, seed: int | None = None) -> Schedule:
    """The schedule as it will run: an explicit seed wins, then the file's, else a fresh one."""
    if seed is None:
        seed = (
            schedule.seed if schedule.seed is not None else random.SystemRandom().randrange(2**31)
        )
    return replace(schedule, seed=seed)


def fault_plan(schedule: Schedule) -> list[PlannedFault]:
    """Concrete fault windows within the workload's time limit, in start order."""
    plan: list[PlannedFault] = []
    for k, spec in enumerate(schedule.nemesis):
        if isinstance(spec, PackageSpec):
            # Its own random stream per entry: adding a fault elsewhere in the schedule
            # does not change what a package draws.
            rng = random.Random(f"{schedule.seed}/package/{k}")
            for start, end, family, options in package_plan(
                rng,
                list(spec.families),
                schedule.node_names,
                spec.start,
                schedule.time_limit,
                spec.interval,
                spec.duration,
            ):
                fault = FaultSpec(fault=family, options=options, line=spec.line)
                plan.append(PlannedFault(start=start, end=end, spec=fault))
            continue
        if spec.at is not None:
            starts = [spec.at]
        else:
            starts, t = [], spec.start or 0.0
            while t < schedule.time_limit:
                starts.append(t)
                t += spec.every
        for t in starts:
            if t >= schedule.time_limit:
                continue
            end = t + spec.duration if spec.duration is not None else None
            plan.append(PlannedFault(start=t, end=end, spec=spec))
    plan.sort(key=lambda p: (p.start, p.spec.line))
    return plan


def fault_families(schedule: Schedule) -> set[str]:
    """Every fault family the schedule can apply, its packages' included."""
    out: set[str] = set()
    for spec in schedule.nemesis:
        out.update(spec.families if isinstance(spec, PackageSpec) else (spec.fault,))
    return out


def to_dict(schedule: Schedule) -> dict[str, Any]:
    """The schedule in its YAML shape (for `schedule.yaml` in the results)."""
    nemesis: list[dict[str, Any]] = []
    for f in schedule.nemesis:
        if isinstance(f, PackageSpec):
            nemesis.append(
                {
                    "package": list(f.families),
                    "interval": f.interval,
                    "for": list(f.duration),
                    "start": f.start,
                }
            )
            continue
        entry: dict[str, Any] = {"fault": f.fault}
        for key, value in (("at", f.at), ("start", f.start), ("every", f.every)):
            if value is not None:
                entry[key] = value
        if f.duration is not None:
            entry["for"] = f.duration
        entry.update(f.options)
        nemesis.append(entry)
    w = schedule.workload
    return {
        "name": schedule.name,
        "nodes": schedule.nodes,
        "time-limit": schedule.time_limit,
        "seed": schedule.seed,
        "system": _system_dict(schedule.system),
        "workload": {
            "name": w.name,
            "keys": w.keys,
            "concurrency": w.concurrency,
            "rate": w.rate,
            "mix": dict(w.mix),
            "binding": w.binding,
            "timeout": w.timeout,
            **({"attempt-timeout": w.attempt_timeout} if w.attempt_timeout else {}),
            "ops-per-key": w.ops_per_key,
            # Its own fields, every one with the value the run used, in YAML's shapes.
            **{k: _yaml_value(w.option(k)) for k in WORKLOAD_KINDS[w.name].options},
        },
        "nemesis": nemesis,
        "final": {"heal": schedule.final.heal, "recover": schedule.final.recover},
        "checkers": list(schedule.checkers),
    }


def _yaml_value(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _system_dict(system: SystemSpec) -> dict[str, Any] | str:
    """`system:` as written back: the name alone, or the long form with its options."""
    if not system.options:
        return system.name
    return {"name": system.name, **{k: _yaml_value(v) for k, v in system.options}}


def dump_schedule(schedule: Schedule) -> str:
    return yaml.safe_dump(to_dict(schedule), sort_keys=False)
