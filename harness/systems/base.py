"""The system under test, as a plug-in: Jepsen's DB and Client protocols in one object.

A `System` says everything the backends (harness/backends/) and the run driver need to
know about the software on the nodes; they know nothing else about it:

- `image()`: how its image is built (an ImageSpec: a Dockerfile and its files, on the
  shared offline base made from Debian's packages, content-hash tagged);
- `command(node, ips)`: the command line that starts member `node` of the membership
  `ips` (node id -> address), run by node-ctl inside the member's container, on a data
  directory under DATA_DIR that survives kills;
- `statuses(addrs, timeout)`: each member's own view (role, term, leader) for readiness,
  the nemesis's leader targets and the report;
- `open_client(addrs, timeout, options)`: a `Client` (below) whose operations give
  Results with the history's ok / fail / unknown rules (raftnode/client.py's `Result`),
  behaving as its `ClientOptions` say;
- `collect(node, out, addr)`: what is kept once the run is over, beyond the member's
  console output (copied for every system as console.log): files, and
  events.jsonl (DESIGN "Node events") where the system's own log allows;
- `refuses(family)`: the fault families it cannot take, with why (the fault is then a
  fault problem, never faked);
- `recover(members)` (optional, every `recover_every` seconds while a Docker cluster is
  up): the system's own recovery where its documentation leaves a step to the operator
  (Galera: bootstrapping a cluster killed whole whose primary component pc.recovery
  cannot restore), through `Members`.

What a system offers beyond that is declared, never probed for:

- `backends`: where it runs. Every system runs on "docker"; "sim" (the simulation steps
  raftnode's own core) and "local" (raftnode processes on 127.0.0.1) only run raftnode;
- `capabilities`: optional parts it implements. "membership": `member()` and
  `join_command()`, which the membership fault uses (the cluster shrinks and grows). A
  fault family named after a capability the system does not declare is refused, with
  the reason, like any fault the system cannot take;
- `workloads`: the workloads (workloads/) its client carries out.

A schedule names its system (`system: etcd`, `system: {name: etcd, reads: serializable}`,
or an import path `mypkg.mysystem:MySystem`); each system declares its options in
OPTIONS, checked like every other schedule field (harness/schedule.py).
"""

from __future__ import annotations

import abc
import random
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, ClassVar, Protocol

# How a system's image is built; plug-ins import it from here.
from harness.image import ImageSpec

# What every system's client gives back: one Result per operation, its outcome ok, fail
# (certainly did not happen) or unknown (may have happened): the history's ok/fail/info.
# raftnode's client defines them (the node's package needs nothing outside itself).
from raftnode.client import FAIL, OK, UNKNOWN, Result

# A system's options are declared as a workload's are (workloads/base.py): a default, a
# parse that turns the YAML value into the system's value or says what was expected, and
# a line of help.
from workloads.base import ItemError, Option, integer, list_of, number, one_of

DATA_DIR = "/data/node"  # the member's data, on the node's volume

# The optional capabilities a system may declare (System.capabilities), and what each
# means it implements. A fault family of the same name needs it.
CAPABILITIES: dict[str, str] = {
    "membership": "member() and join_command(): the membership fault removes, wipes and "
    "adds members",
}

# A status as a member reports it: at least "role", "term" and "leader" (JSON).
Status = dict[str, Any]
# A key of a transaction's micro-op or a bank account: registers are named by either.
Key = str | int

__all__ = [
    "CAPABILITIES",
    "DATA_DIR",
    "ClientOptions",
    "FAIL",
    "OK",
    "UNKNOWN",
    "Client",
    "ImageSpec",
    "Key",
    "Members",
    "NoTransactions",
    "Option",
    "OptionError",
    "Result",
    "Status",
    "System",
    "integer",
    "list_of",
    "number",
    "one_of",
]


@dataclass(frozen=True)
class ClientOptions:
    """How one client process behaves (System.open_client, Cluster.open_client): every
    system's client takes these, the run driver sets them per workload slot."""

    client_id: str | None = None  # names it to the system (deduplication)
    rng: random.Random | None = None  # its random choices (seeded: reproducible)
    home: str | None = None  # the node it sends to first
    spread: bool = False  # a random node each time
    attempt_timeout: float | None = None  # how long one node gets (None: the client's share)
    # A request a node does not answer in time ends the operation unknown at once rather
    # than being retried elsewhere (the run driver's clients, as Jepsen's:
    # docs/finding-bugs.md); a system whose client follows its own library's retry rules
    # ignores it (kwargs(own_retries=True)).
    give_up_on_timeout: bool = False

    def kwargs(self, own_retries: bool = False) -> dict[str, Any]:
        """The options as a client constructor's keyword arguments (the same objects: a
        shared rng stays shared); own_retries: without give_up_on_timeout."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        if own_retries:
            del out["give_up_on_timeout"]
        return out


class Client(Protocol):
    """What `System.open_client` gives: one logical client process, one operation at a
    time, each an async call whose Result is ok (it happened), fail (it certainly did not)
    or unknown (it may have: the history's info). Workloads call these
    (docs/DESIGN.md "Systems under test"); a system's client carries out the workloads
    its `System.workloads` lists, and answers the others' calls FAIL, sending nothing."""

    async def get(self, key: str) -> Result:
        """The register's value (None: never written)."""
        ...

    async def put(self, key: str, value: Any) -> Result: ...

    async def cas(self, key: str, expected: Any, new: Any) -> Result:
        """Writes `new` if the register holds `expected`; FAIL "precondition" if not."""
        ...

    async def txn(self, ops: list[list[Any]]) -> Result:
        """Micro-ops `["r", k, None]`, `["w", k, v]`, `["append", k, v]` as one
        transaction; ok value: the micro-ops with each read's value filled in."""
        ...

    async def transfer(self, frm: Key, to: Key, amount: int) -> Result:
        """Moves `amount` between two registers in one transaction; FAIL "insufficient"
        (nothing written) when `frm` holds less."""
        ...

    async def close(self) -> None: ...


class NoTransactions:
    """For the client of a system that lists no transactional workload (its
    `System.workloads`): txn and transfer fail, nothing sent, as the Client protocol asks."""

    async def txn(self, ops: list[list[Any]]) -> Result:
        return Result(FAIL, None, "transactions are not offered by this client")

    async def transfer(self, frm: Key, to: Key, amount: int) -> Result:
        return Result(FAIL, None, "transfers are not offered by this client")


class Members(Protocol):
    """What a system's own recovery (`System.recover`) may see and do to its members, as
    an operator of the system would: the Docker backend gives it. It acts only when
    `faulted()` is None: the harness's faults are the experiment, and are left alone."""

    nodes: list[str]

    def statuses(self, timeout: float = 1.0) -> dict[str, Status | None]: ...

    def faulted(self) -> str | None:
        """Why the members must be left alone now (a fault in force: a member killed
        and not yet restarted, one paused, a partition); None: no fault is."""
        ...

    def running(self, node: str) -> bool:
        """Whether the member's process is alive (False: killed, or it exited)."""
        ...

    def command(self, node: str) -> list[str]:
        """The member's own command line (System.command's)."""
        ...

    def exec(self, node: str, cmd: list[str]) -> tuple[int, str]:
        """A command in the member's box: its exit status and output."""
        ...

    def stop(self, node: str) -> None:
        """Stops the member's process (and every process it started)."""
        ...

    def start(self, node: str, command: list[str]) -> None:
        """Starts the member with `command` (its own, or the recovery's variant)."""
        ...

    def say(self, message: str, nodes: list[str] | None = None) -> None:
        """Tells the run's output and the console log of `nodes` (default: every one)."""
        ...


class OptionError(ValueError):
    """An option a system does not take, or a value it does not accept. `option` names it
    (None: the options as a whole); `at` is where inside its value (a list item's index),
    so a schedule can name the line."""

    def __init__(self, option: str | None, message: str, at: tuple[int, ...] = ()):
        self.option = option
        self.at = at
        super().__init__(message)


class System(abc.ABC):
    name: ClassVar[str]
    # Its options as a schedule writes them (`system: {name: NAME, OPTION: VALUE}`): each
    # an Option (default, parse, help). Plug-ins written before Option may still give a
    # tuple of the allowed values or a type the value must have, with the default in
    # DEFAULTS.
    OPTIONS: ClassVar[dict[str, Option | tuple[Any, ...] | type]] = {}
    DEFAULTS: ClassVar[dict[str, Any]] = {}
    client_port: ClassVar[int]
    # Checkers with nothing to read for this system, and why: a schedule without `checkers:`
    # leaves them out; one that names them gets them marked not applicable, outside the
    # verdict (harness/verdict.py), rather than an "unknown" that would hide the rest.
    unchecked: ClassVar[dict[str, str]] = {}
    # The workloads (workloads/) its client can carry out: register needs get/put/cas,
    # list-append, rw-register and set need txn, bank txn and transfer.
    workloads: ClassVar[tuple[str, ...]] = ("register",)
    # Why it does not run a workload, for those it was decided against: a schedule that
    # names one is refused with this reason (workload -> reason).
    refused_workloads: ClassVar[dict[str, str]] = {}
    # The backends that can run it (harness/backends/): Docker runs any system's image;
    # the simulation steps raftnode's core and `local` starts raftnode processes.
    backends: ClassVar[tuple[str, ...]] = ("docker",)
    # Optional capabilities it implements (CAPABILITIES above).
    capabilities: ClassVar[frozenset[str]] = frozenset()
    # The fewest members it makes sense with (a schedule with fewer is refused at its
    # `nodes:` line): 3 for a primary with replicas and a Sentinel quorum, or an ensemble.
    min_nodes: ClassVar[int] = 1
    # `nodes:` when a schedule leaves it out (None: the schedule's own default, 5); see
    # check_nodes for the sizes it takes beyond min_nodes.
    default_nodes: ClassVar[int | None] = None
    # Seconds its members may take to become ready on Docker (at least the backend's own
    # default): a Galera member waits for the founder, then for a state transfer.
    ready_timeout: ClassVar[float] = 30.0

    def __init__(self, **options: Any):
        # Python keywords cannot hold a hyphen: read_mode= is the option read-mode.
        known = self.option_specs()
        given = {k.replace("_", "-") if k not in known else k: v for k, v in options.items()}
        self.options: dict[str, Any] = {**self.defaults(), **self.validate(given)}

    @classmethod
    def option_specs(cls) -> dict[str, Option]:
        """Every option as an Option (the older tuple and type forms turned into one)."""
        return {key: _as_option(cls, key, spec) for key, spec in cls.OPTIONS.items()}

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {key: spec.default for key, spec in cls.option_specs().items()}

    @classmethod
    def validate(cls, options: dict[str, Any], prefix: str | None = None) -> dict[str, Any]:
        """The options given, each parsed by its Option; OptionError names the first bad
        one (and, in a list, the item). `prefix` starts each message's option name
        (default "<system> option ")."""
        specs = cls.option_specs()
        said = f"{cls.name} option " if prefix is None else prefix
        out: dict[str, Any] = {}
        for key, value in options.items():
            if key not in specs:
                known = ", ".join(specs) or "none"
                raise OptionError(key, f"{cls.name} has no option {key!r}; its options: {known}")
            try:
                out[key] = specs[key].parse(value)
            except ItemError as exc:
                raise OptionError(key, f"{said}{key}{exc}", (exc.index,)) from None
            except ValueError as exc:
                raise OptionError(key, f"{said}{key} {exc}") from None
        return out

    @classmethod
    def check_nodes(cls, nodes: int) -> str | None:
        """Why a cluster of `nodes` members cannot be this system (a single server, an
        even Galera cluster); None: it can. The schedule parser names the line."""
        return None

    def describe(self) -> str:
        """How results name it: "etcd (reads: serializable)"."""
        defaults = self.defaults()
        opts = {k: v for k, v in self.options.items() if v != defaults.get(k)}
        said = ", ".join(f"{k}: {_said(v)}" for k, v in opts.items())
        return f"{self.name} ({said})" if said else self.name

    def expected_findings(self, workload: str | None = None) -> tuple[str, ...]:
        """The checkers that should find a run of the system as configured invalid, running
        `workload` (None: any it runs): a planted bug's, or a documented weak mode's
        (etcd's serializable reads, its locks); empty: its runs should be valid. The pytest
        plugin holds a schedule to it."""
        return ()

    # ---- Jepsen's DB --------------------------------------------------------------------

    @abc.abstractmethod
    def image(self) -> ImageSpec:
        """How its image is built (harness/image.py; the Docker backend builds it)."""

    @abc.abstractmethod
    def command(self, node: str, ips: dict[str, str]) -> list[str]:
        """The command line of member `node`, given every member's address."""

    def environment(self) -> dict[str, str]:
        """Extra environment for the member's process."""
        return {}

    def refuses(self, family: str) -> str | None:
        """Why this system cannot take faults of `family` ("clock", ...); None: it can.
        A system that overrides it calls this one for the families its undeclared
        capabilities rule out."""
        if family in CAPABILITIES and family not in self.capabilities:
            return (
                f"{self.name} does not offer {family} changes: the {family} fault needs "
                f"the system's {CAPABILITIES[family].split(':')[0]}, and "
                f"{type(self).__name__}.capabilities does not declare {family!r}"
            )
        return None

    @abc.abstractmethod
    def statuses(self, addrs: dict[str, str], timeout: float) -> dict[str, Status | None]:
        """node id -> its status ({"role", "term", "leader", ...}) or None when it does not
        answer; every node asked at once, so a paused one costs one timeout. A status may
        say `"ready": False` (a Galera member still joining): it answers, but the run does
        not start on it until it is ready."""

    # Seconds between calls of `recover` while a Docker cluster is up; None: never.
    recover_every: ClassVar[float | None] = None

    def recover(self, members: Members) -> None:
        """The system's own recovery, where its documentation gives a step to an
        operator rather than doing it itself: called every `recover_every` seconds from a
        thread of the backend's, with the members to look at and act on. It keeps what it
        needs between calls (how long the cluster has been down), acts only while
        `members.faulted()` is None, never wipes data, and says what it does and why
        (`members.say`). An exception is reported and the next call comes as usual."""
        return None

    def collect(self, node: str, out: Path, addr: str) -> None:
        """After the run, with the member's console output in out/console.log and what
        `kept_files` names copied into out/: write what else the checkers read."""
        return None

    # Paths inside the container copied into nodes/<id>/ at the end (a folder with a
    # trailing "/." copies its contents).
    kept_files: ClassVar[tuple[str, ...]] = ()

    # ---- Jepsen's DB on hosts (the ssh backend, harness/backends/ssh/) ------------------
    # A system declares "ssh" in `backends` when these suffice to run it on a host.

    # Debian packages a host needs: installed through apt where dpkg lacks them.
    debian_packages: ClassVar[tuple[str, ...]] = ()
    # Ports its members talk to each other on besides client_port (packet faults shape
    # them too).
    peer_ports: ClassVar[tuple[int, ...]] = ()

    def host_files(self) -> tuple[Path, ...]:
        """Local folders copied to each host into <dir>/pkg/ (on the member's PYTHONPATH):
        a system that ships as source (raftnode) rather than as a Debian package."""
        return ()

    def host_command(self, node: str, ips: dict[str, str], data_dir: str) -> list[str]:
        """The member's command line on a host, with its data in `data_dir`: command()'s,
        DATA_DIR replaced (its kept_files are read from there likewise)."""
        return [a.replace(DATA_DIR, data_dir) for a in self.command(node, ips)]

    # ---- optional: membership changes (capability "membership") -------------------------

    def member(
        self, addrs: list[str], action: str, node: str | None = None, addr: str = ""
    ) -> Result:
        """A membership request through any of `addrs` (it reaches the leader): "list"
        (ok value: {"voters", "learners", "addrs", "committed", "leader"}), "add" (node
        at addr, as a learner promoted once caught up) or "remove" (node)."""
        raise NotImplementedError(self._lacks("membership"))

    def join_command(self, node: str, ip: str, initial: dict[str, str]) -> list[str]:
        """The command line of a new member `node` at `ip`, outside the initial
        configuration (`initial`: node -> ip), which waits to be added."""
        raise NotImplementedError(self._lacks("membership"))

    def _lacks(self, capability: str) -> str:
        return f"{self.name} does not declare the {capability!r} capability"

    # ---- Jepsen's Client ----------------------------------------------------------------

    @abc.abstractmethod
    def open_client(
        self,
        addrs: dict[str, str],
        timeout: float,
        options: ClientOptions = ClientOptions(),
    ) -> Client:
        """A client of the members at `addrs` (node id -> address), operations giving up
        after `timeout` s, behaving as `options` say (ClientOptions: its id, rng, home
        node, spread, attempt timeout, giving up on a silent node)."""


def _as_option(cls: type[System], key: str, spec: Option | tuple[Any, ...] | type) -> Option:
    """An OPTIONS entry as an Option: a tuple is its allowed values, a type what the value
    must be; their default is DEFAULTS'."""
    if isinstance(spec, Option):
        return spec
    default = cls.DEFAULTS.get(key)
    if isinstance(spec, tuple):
        return Option(default, one_of(spec), "")
    return Option(default, _instance_of(spec), "")


def _instance_of(kind: type) -> Callable[[object], object]:
    def parse(value: object) -> object:
        if not isinstance(value, kind):
            raise ValueError(f"must be a {kind.__name__}, got {value!r}")
        return value

    return parse


def _said(value: object) -> str:
    """An option's value as results name it: a list's items, comma-separated."""
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return str(value)
