"""The system under test, as a plug-in: Jepsen's DB and Client protocols in one object.

A `System` says everything the Docker backend (harness/backends/docker/) and the run
driver need to know about the software on the nodes; they know nothing else about it:

- `image()`: how its image is built (an ImageSpec: a Dockerfile and its files, on the
  shared offline base made from Debian's packages, content-hash tagged);
- `command(node, ips)`: the command line that starts member `node` of the membership
  `ips` (node id -> address), run by node-ctl inside the member's container, on a data
  directory under DATA_DIR that survives kills;
- `statuses(addrs, timeout)`: each member's own view (role, term, leader) for readiness,
  the nemesis's leader targets and the report;
- `open_client(addrs, timeout, ...)`: a client whose get/put/cas give Results with the
  history's ok / fail / unknown rules (raftnode/client.py's `Result`);
- `collect(node, out, addr)`: what is kept once the run is over, beyond the member's
  console output (copied for every system as console.log): files, and
  events.jsonl (DESIGN "Node events") where the system's own log allows;
- `refuses(family)`: the fault families it cannot take, with why (the fault is then a
  fault problem, never faked).

A schedule names its system (`system: etcd`, `system: {name: etcd, reads: serializable}`,
or an import path `mypkg.mysystem:MySystem`); each system declares its options in
OPTIONS, checked like every other schedule field (harness/schedule.py).
"""

from __future__ import annotations

import abc
from pathlib import Path
from typing import Any, ClassVar

# How a system's image is built; plug-ins import it from here.
from harness.backends.docker.image import ImageSpec

# What every system's client gives back: one Result per operation, its outcome ok, fail
# (certainly did not happen) or unknown (may have happened): the history's ok/fail/info.
# raftnode's client defines them (the node's package needs nothing outside itself).
from raftnode.client import FAIL, OK, UNKNOWN, Result

DATA_DIR = "/data/node"  # the member's data, on the node's volume


__all__ = ["DATA_DIR", "FAIL", "ImageSpec", "OK", "UNKNOWN", "OptionError", "Result", "System"]


class OptionError(ValueError):
    """An option a system does not take, or a value it does not accept."""

    def __init__(self, option: str | None, message: str):
        self.option = option
        super().__init__(message)


class System(abc.ABC):
    name: ClassVar[str]
    # option -> its allowed values (a tuple), or a type its values must have; and defaults.
    OPTIONS: ClassVar[dict[str, tuple | type]] = {}
    DEFAULTS: ClassVar[dict[str, Any]] = {}
    client_port: ClassVar[int]
    # Checkers with nothing to read for this system, and why: a schedule without `checkers:`
    # leaves them out; one that names them gets them marked not applicable, outside the
    # verdict (harness/verdict.py), rather than an "unknown" that would hide the rest.
    unchecked: ClassVar[dict[str, str]] = {}
    # The workloads (workloads/) its client can carry out: register needs get/put/cas,
    # list-append and set need txn.
    workloads: ClassVar[tuple[str, ...]] = ("register",)
    # Whether the simulation backend can run it (only raftnode: the simulation steps
    # raftnode's own core).
    simulated: ClassVar[bool] = False

    def __init__(self, **options: Any):
        self.options = {**self.DEFAULTS, **self.validate(options)}

    @classmethod
    def validate(cls, options: dict[str, Any]) -> dict[str, Any]:
        """The options checked against OPTIONS; OptionError names the first bad one."""
        for key, value in options.items():
            if key not in cls.OPTIONS:
                known = ", ".join(cls.OPTIONS) or "none"
                raise OptionError(key, f"{cls.name} has no option {key!r}; its options: {known}")
            allowed = cls.OPTIONS[key]
            if isinstance(allowed, tuple) and value not in allowed:
                raise OptionError(
                    key, f"{cls.name} option {key} is {value!r}; expected one of: "
                    + ", ".join(map(str, allowed)),
                )  # fmt: skip
            if isinstance(allowed, type) and not isinstance(value, allowed):
                raise OptionError(
                    key, f"{cls.name} option {key} must be a {allowed.__name__}, got {value!r}"
                )
        return dict(options)

    def describe(self) -> str:
        """How results name it: "etcd (reads: serializable)"."""
        opts = {k: v for k, v in self.options.items() if v != self.DEFAULTS.get(k)}
        said = ", ".join(f"{k}: {v}" for k, v in opts.items())
        return f"{self.name} ({said})" if said else self.name

    def expected_findings(self) -> tuple[str, ...]:
        """The checkers that should find a run of the system as configured invalid: a
        planted bug's, or a documented weak mode's (etcd's serializable reads); empty:
        its runs should be valid. The pytest plugin holds a schedule to it."""
        return ()

    # ---- Jepsen's DB --------------------------------------------------------------------

    @abc.abstractmethod
    def image(self) -> Any:
        """The harness/backends/docker/image.py ImageSpec of this system's image."""

    @abc.abstractmethod
    def command(self, node: str, ips: dict[str, str]) -> list[str]:
        """The command line of member `node`, given every member's address."""

    def environment(self) -> dict[str, str]:
        """Extra environment for the member's process."""
        return {}

    def refuses(self, family: str) -> str | None:
        """Why this system cannot take faults of `family` ("clock", ...); None: it can."""
        return None

    @abc.abstractmethod
    def statuses(self, addrs: dict[str, str], timeout: float) -> dict[str, dict[str, Any] | None]:
        """node id -> its status ({"role", "term", "leader", ...}) or None when it does not
        answer; every node asked at once, so a paused one costs one timeout."""

    def collect(self, node: str, out: Path, addr: str) -> None:
        """After the run, with the member's console output in out/console.log and what
        `kept_files` names copied into out/: write what else the checkers read."""
        return None

    # Paths inside the container copied into nodes/<id>/ at the end (a folder with a
    # trailing "/." copies its contents).
    kept_files: ClassVar[tuple[str, ...]] = ()

    # ---- Jepsen's Client ----------------------------------------------------------------

    @abc.abstractmethod
    def open_client(self, addrs: dict[str, str], timeout: float, **options: Any) -> Any:
        """A client (get/put/cas/close, each giving raftnode.client.Result) of the members
        at `addrs`. options: client_id, rng, home (a node id), spread, attempt_timeout."""
