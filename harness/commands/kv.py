"""`raftquake kv --node HOST:PORT get K | put K V | cas K OLD NEW | txn JSON | status |
member list | member add ID=HOST:PORT | member remove ID`."""

from __future__ import annotations

import argparse
import json
import os
import sys

from harness.commands.flags import SECONDS
from harness.exit_codes import EXIT_DONE, EXIT_NOT_DONE, EXIT_UNKNOWN, EXIT_USAGE

HELP = "a hand-held client for a running raftnode cluster (any node; it follows the leader)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--node",
        required=True,
        action="append",
        metavar="HOST:PORT",
        help="a node to talk to (repeatable; any node will do)",
    )
    p.add_argument("--timeout", type=SECONDS, default=5.0, metavar="S", help="default 5")
    p.add_argument("op", choices=["get", "put", "cas", "txn", "status", "log", "member"])
    p.add_argument(
        "args",
        nargs="*",
        help="get K | put K V | cas K OLD NEW | txn JSON | status | log | "
        "member list | member add ID=HOST:PORT | member remove ID",
    )
    p.epilog = (
        "Values are parsed as JSON when they parse, else taken as strings. A txn is a JSON "
        'list of micro-ops, e.g. \'[["append", "x", 1], ["r", "x", null]]\'; it prints the '
        "micro-ops with each read's value filled in. `member` asks the leader: `list` prints "
        "its configuration (voters, learners, addresses, whether it is committed); `add` "
        "makes a new member a learner, promoted to voter once it caught up; `remove` takes "
        "one out (the leader too). "
        "Exit 0 done, 1 definitely not done (e.g. cas precondition), 3 unknown (timeout)."
    )


def parse_value(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return text


ARITY = {"get": 1, "put": 2, "cas": 3, "txn": 1, "status": 0, "log": 0}
MEMBER_ARITY = {"list": 1, "add": 2, "remove": 2}


def parse_member(args: list[str]) -> tuple[str, str | None, str]:
    """(action, node, addr) of `member list | add ID=HOST:PORT | remove ID`; ValueError."""
    from raftnode import wire

    if not args or args[0] not in MEMBER_ARITY:
        raise ValueError("expected member list | member add ID=HOST:PORT | member remove ID")
    action = args[0]
    if len(args) != MEMBER_ARITY[action]:
        raise ValueError(f"member {action}: expected {MEMBER_ARITY[action] - 1} argument(s)")
    if action == "list":
        return action, None, ""
    if action == "remove":
        return action, args[1], ""
    node, sep, addr = args[1].partition("=")
    if not sep or not node:
        raise ValueError(f"member add: expected ID=HOST:PORT, got {args[1]!r}")
    wire.parse_addr(addr)
    return action, node, addr


def run(args: argparse.Namespace) -> int:
    import asyncio

    from raftnode import wire
    from raftnode.client import FAIL, OK, Client
    from raftnode.config import SECRET_ENV

    want = ARITY.get(args.op, len(args.args))
    if args.op == "member":
        try:
            member = parse_member(args.args)
        except ValueError as e:
            print(f"raftquake kv member: {e}", file=sys.stderr)
            return EXIT_USAGE
    if len(args.args) != want:
        print(
            f"raftquake kv {args.op}: expected {want} argument(s), got {len(args.args)}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.op == "txn":
        try:
            ops = json.loads(args.args[0])
            from raftnode.kv import check_txn

            check_txn(ops)
        except ValueError as e:  # CommandError is one too
            print(f"raftquake kv txn: {e}", file=sys.stderr)
            return EXIT_USAGE
    for n in args.node:
        try:
            wire.parse_addr(n)
        except ValueError as e:
            print(f"raftquake kv: --node: {e}", file=sys.stderr)
            return EXIT_USAGE

    async def go():
        # A membership change is signed with the cluster secret, when this shell has it.
        secret = os.environ.get(SECRET_ENV) if args.op == "member" else None
        async with Client(args.node, timeout=args.timeout, secret=secret) as c:
            if args.op == "get":
                return await c.get(args.args[0])
            if args.op == "put":
                return await c.put(args.args[0], parse_value(args.args[1]))
            if args.op == "cas":
                k, old, new = args.args
                return await c.cas(k, parse_value(old), parse_value(new))
            if args.op == "txn":
                return await c.txn(ops)
            if args.op == "status":
                return await c.status(args.node[0])
            if args.op == "member":
                return await c.member(*member)
            return await c.committed_log(args.node[0])

    res = asyncio.run(go())
    if res.outcome == OK:
        if args.op == "log":
            for e in res.value:
                print(json.dumps(e))
        elif args.op in ("get", "status", "txn", "member"):
            print(json.dumps(res.value))
        else:
            print(json.dumps({"ok": True, "value": res.value}))
        return EXIT_DONE
    if res.outcome == FAIL:
        print(json.dumps({"ok": False, "error": res.error, "value": res.value}))
        print(f"raftquake kv: {args.op} not done: {res.error}", file=sys.stderr)
        return EXIT_NOT_DONE
    print(f"raftquake kv: {args.op} outcome unknown: {res.error}", file=sys.stderr)
    return EXIT_UNKNOWN
