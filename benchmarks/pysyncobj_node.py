"""A PySyncObj key-value node behind the same client protocol as raftnode (benchmark peer).

PySyncObj has no network client API of its own, so this wraps a SyncObj (in-memory log,
no journal file: it does not fsync) with a small asyncio front speaking raftnode's framed
JSON: {"op": "put"|"get"|"status"}. Writes and reads both go through PySyncObj's log
(reads as replicated calls, so they are linearizable like raftnode's). Any node forwards
commands to the leader itself, as PySyncObj does.

    python benchmarks/pysyncobj_node.py --raft HOST:PORT --partners HOST:PORT,... --listen HOST:PORT
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pysyncobj import SyncObj, SyncObjConf, replicated  # noqa: E402

from raftnode import wire  # noqa: E402


class KV(SyncObj):
    def __init__(self, raft: str, partners: list[str], append_period: float, tick: float):
        conf = SyncObjConf(
            dynamicMembershipChange=False, appendEntriesPeriod=append_period, autoTickPeriod=tick
        )
        super().__init__(raft, partners, conf=conf)
        self._data: dict[str, object] = {}

    @replicated
    def put(self, key, value):
        self._data[key] = value
        return value

    @replicated
    def get(self, key):
        return self._data.get(key)


class Front(asyncio.Protocol):
    def __init__(self, kv: KV):
        self.kv = kv
        self.dec = wire.FrameDecoder()
        self.transport = None
        self.loop = asyncio.get_running_loop()

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        for req, _signed in self.dec.feed(data):
            self.handle(req)

    def reply(self, obj):
        if not self.transport.is_closing():
            self.transport.write(wire.encode(obj))

    def handle(self, req):
        rid, op = req.get("id"), req.get("op")
        if op == "status":
            st = self.kv.getStatus()
            leader = st.get("leader")
            self.reply(
                {
                    "id": rid,
                    "ok": True,
                    "value": {
                        "leader": str(leader) if leader else None,
                        "self": str(st.get("self")),
                    },
                }
            )
            return

        def done(result, error, rid=rid):
            if error == 0:  # FAIL_REASON.SUCCESS
                resp = {"id": rid, "ok": True, "value": result}
            else:
                resp = {"id": rid, "ok": False, "error": f"pysyncobj-{error}", "definite": False}
            self.loop.call_soon_threadsafe(self.reply, resp)

        if op == "put":
            self.kv.put(req["key"], req.get("value"), callback=done)
        elif op == "get":
            self.kv.get(req["key"], callback=done)
        else:
            self.reply({"id": rid, "ok": False, "error": "bad-request", "definite": True})


async def serve(args) -> None:
    kv = KV(args.raft, [p for p in args.partners.split(",") if p], args.append_period, args.tick)
    host, port = wire.parse_addr(args.listen)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Front(kv), host, port, reuse_address=True)
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, lambda: stop.done() or stop.set_result(None))
    await stop
    server.close()
    kv.destroy()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--raft", required=True)
    p.add_argument("--partners", required=True)
    p.add_argument("--listen", required=True)
    # PySyncObj replicates on a timer of appendEntriesPeriod (default 0.1 s) unless a new
    # command triggers a send; the benchmark runs both its default and a 10 ms period.
    p.add_argument("--append-period", type=float, default=0.1)
    p.add_argument("--tick", type=float, default=0.05, help="autoTickPeriod (default 0.05)")
    asyncio.run(serve(p.parse_args()))


if __name__ == "__main__":
    main()
