"""Command-line configuration of one node (`python -m raftnode ...`, contract in docs/DESIGN.md)."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field

from raftnode.bugs import HOST_BUGS
from raftnode.bugs import OFFERED as BUGS
from raftnode.core import READ_MODES
from raftnode.wire import mac_key, parse_addr

# The cluster secret's environment variable: outside argv, so `ps` and the harness's
# recorded command lines do not show it.
SECRET_ENV = "RAFTNODE_SECRET"

# Often enough that the log (and the WAL) stays a few MB under a steady load, rarely
# enough that writing the snapshot (the whole state) costs little per entry.
SNAPSHOT_ENTRIES = 10_000


@dataclass
class NodeConfig:
    id: str
    listen: tuple[str, int]
    peers: dict[str, tuple[str, int]]  # every member, this node included
    data_dir: str
    read_mode: str = "read-index"
    bugs: frozenset[str] = frozenset()
    tick_ms: float = 50.0
    election_ticks: int = 10
    heartbeat_ticks: int = 1
    fsync: bool = True
    request_timeout: float = 10.0  # server side: pending requests older than this answer unknown
    snapshot_entries: int = SNAPSHOT_ENTRIES  # snapshot every this many applied entries; 0 never
    log_level: str = "INFO"
    join: bool = False  # a new member: --peers (the initial configuration) need not hold it
    # The HMAC key of the cluster secret: peers sign their frames with it and a peer frame
    # without a valid MAC is dropped. None only with --no-auth (measurements).
    mac_key: bytes | None = None
    extra: dict = field(default_factory=dict)

    @property
    def core_bugs(self) -> frozenset[str]:
        return frozenset(self.bugs - HOST_BUGS)  # the host's bugs are the host's to act on


def parse_peers(text: str) -> dict[str, tuple[str, int]]:
    peers: dict[str, tuple[str, int]] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, addr = item.partition("=")
        if not sep or not name:
            raise ValueError(f"--peers: expected ID=HOST:PORT, got {item!r}")
        if name in peers:
            raise ValueError(f"--peers: {name!r} listed twice")
        peers[name] = parse_addr(addr)
    if not peers:
        raise ValueError("--peers: expected ID=HOST:PORT,... with at least one member")
    return peers


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m raftnode", description="One raftnode: a Raft key-value server."
    )
    p.add_argument("--id", required=True, help="this node's id, as in --peers")
    p.add_argument("--listen", required=True, metavar="HOST:PORT", help="peers and clients")
    p.add_argument(
        "--peers", required=True, metavar="ID=HOST:PORT,...", help="every member, itself included"
    )
    p.add_argument("--data-dir", required=True, metavar="DIR")
    p.add_argument(
        "--join",
        action="store_true",
        help="a new member, not in --peers (still the cluster's initial configuration): it "
        "waits for the leader to add it (`raftquake kv member add ID=HOST:PORT`)",
    )
    p.add_argument("--read-mode", choices=READ_MODES, default="read-index")
    p.add_argument(
        "--bug",
        action="append",
        default=[],
        choices=BUGS,
        metavar="NAME",
        help="planted bug (repeatable): " + ", ".join(BUGS),
    )
    p.add_argument("--tick-ms", type=float, default=50.0, help="tick interval (default 50)")
    p.add_argument(
        "--election-ticks",
        type=int,
        default=10,
        help="election timeout in ticks, randomized in [n, 2n) (default 10)",
    )
    p.add_argument("--heartbeat-ticks", type=int, default=1, help="default 1")
    p.add_argument(
        "--no-fsync", action="store_true", help="do not fsync the log (unsafe; for measurements)"
    )
    p.add_argument("--request-timeout", type=float, default=10.0, metavar="S")
    p.add_argument(
        "--snapshot-entries",
        type=int,
        default=SNAPSHOT_ENTRIES,
        metavar="N",
        help="snapshot the state machine and compact the log every N applied entries "
        f"(default {SNAPSHOT_ENTRIES}; 0: never)",
    )
    p.add_argument(
        "--secret-file",
        metavar="PATH",
        help=f"the cluster secret (every member's the same; at least 16 characters), read "
        f"from this file; by default from the environment variable {SECRET_ENV}. Peers "
        f"sign every frame with an HMAC of it and drop a peer frame that is not signed so",
    )
    p.add_argument(
        "--no-auth",
        action="store_true",
        help="peers do not sign or check their frames (unsafe: anyone who reaches the port "
        "can send Raft messages; for measurements)",
    )
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return p


def read_secret(
    parser: argparse.ArgumentParser, secret_file: str | None, no_auth: bool
) -> bytes | None:
    """The MAC key from --secret-file or the environment; None with --no-auth. A node
    with neither refuses to start: running unauthenticated must be asked for."""
    if no_auth:
        if secret_file:
            parser.error("--no-auth and --secret-file: choose one")
        return None
    if secret_file:
        try:
            with open(secret_file, encoding="utf-8") as f:
                secret = f.read().strip()
        except OSError as e:
            parser.error(f"--secret-file: cannot read {secret_file}: {e.strerror}")
        where = secret_file
    else:
        secret = os.environ.get(SECRET_ENV, "")
        where = SECRET_ENV
        if not secret:
            parser.error(
                f"no cluster secret: set {SECRET_ENV} or give --secret-file PATH (every "
                f"member the same secret), or --no-auth to run peers unauthenticated"
            )
    try:
        return mac_key(secret)
    except ValueError as e:
        parser.error(f"{where}: {e}")


def parse_args(argv: list[str] | None = None) -> NodeConfig:
    parser = build_parser()
    a = parser.parse_args(argv)
    try:
        listen = parse_addr(a.listen)
    except ValueError as e:
        parser.error(f"--listen: {e}")
    try:
        peers = parse_peers(a.peers)
    except ValueError as e:
        parser.error(str(e))
    if a.id not in peers and not a.join:
        parser.error(f"--peers must list this node ({a.id!r}) too; got {sorted(peers)}")
    if a.snapshot_entries < 0:
        parser.error(f"--snapshot-entries: need 0 (never) or more, got {a.snapshot_entries}")
    if a.tick_ms <= 0 or a.election_ticks < 2 or a.heartbeat_ticks < 1:
        parser.error("timing: need --tick-ms > 0, --election-ticks >= 2, --heartbeat-ticks >= 1")
    key = read_secret(parser, a.secret_file, a.no_auth)
    return NodeConfig(
        id=a.id,
        listen=listen,
        peers=peers,
        data_dir=a.data_dir,
        read_mode=a.read_mode,
        bugs=frozenset(a.bug),
        tick_ms=a.tick_ms,
        election_ticks=a.election_ticks,
        heartbeat_ticks=a.heartbeat_ticks,
        fsync=not a.no_fsync,
        request_timeout=a.request_timeout,
        snapshot_entries=a.snapshot_entries,
        log_level=a.log_level,
        join=a.join,
        mac_key=key,
    )
