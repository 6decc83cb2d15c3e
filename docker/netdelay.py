"""Delays what a node receives, on kernels without tc netem: iptables sends the node's
inbound packets to an NFQUEUE, and this holds each for DELAY ms, then accepts it.

    python3 netdelay.py --queue 7 --delay-ms 100 [--ready FILE]

One constant delay keeps packets in their arrival order, as netem's plain `delay` does,
so TCP sees latency, not reordering. Standard library only (it runs in the node image):
a raw netlink socket speaking nfnetlink_queue, the protocol libnetfilter_queue wraps.
Runs until SIGTERM or SIGINT; the packets it still holds then are accepted, so stopping
it never drops traffic (and with `--queue-bypass` on the rule, nor does its absence).
"""

from __future__ import annotations

import argparse
import collections
import select
import signal
import socket
import struct
import sys
import time
from pathlib import Path

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET = (NFNL_SUBSYS_QUEUE << 8) | 0
NFQNL_MSG_VERDICT = (NFNL_SUBSYS_QUEUE << 8) | 1
NFQNL_MSG_CONFIG = (NFNL_SUBSYS_QUEUE << 8) | 2
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NLMSG_ERROR = 2
NFQA_CFG_CMD, NFQA_CFG_PARAMS, NFQA_CFG_QUEUE_MAXLEN = 1, 2, 3
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1  # the packet's metadata only: its id is all a verdict needs
NFQA_PACKET_HDR, NFQA_VERDICT_HDR = 1, 2
NF_ACCEPT = 1
HEADER = struct.Struct("=IHHII")  # struct nlmsghdr


def attribute(kind: int, payload: bytes) -> bytes:
    n = 4 + len(payload)
    return struct.pack("=HH", n, kind) + payload + b"\0" * (-n % 4)


def message(kind: int, queue: int, attrs: bytes, seq: int, flags: int = NLM_F_REQUEST) -> bytes:
    # struct nfgenmsg: family, version 0, the queue number (big-endian), then attributes.
    body = struct.pack("!BBH", socket.AF_UNSPEC, 0, queue) + attrs
    return HEADER.pack(HEADER.size + len(body), kind, flags, seq, 0) + body


def messages(data: bytes):
    """(type, payload) of each netlink message in one datagram."""
    off = 0
    while off + HEADER.size <= len(data):
        length, kind, _, _, _ = HEADER.unpack_from(data, off)
        if length < HEADER.size:
            return
        yield kind, data[off + HEADER.size : off + length]
        off += (length + 3) & ~3


def packet_id(payload: bytes) -> int | None:
    off = 4  # past the nfgenmsg
    while off + 4 <= len(payload):
        n, kind = struct.unpack_from("=HH", payload, off)
        if n < 4:
            return None
        if kind & 0x7FFF == NFQA_PACKET_HDR:
            return struct.unpack_from("!I", payload, off + 4)[0]
        off += (n + 3) & ~3
    return None


class Queue:
    def __init__(self, num: int):
        self.num = num
        self.seq = 0
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.bind((0, 0))
        self._config(attribute(NFQA_CFG_CMD, struct.pack("!BBH", NFQNL_CFG_CMD_BIND, 0, 0)))
        self._config(attribute(NFQA_CFG_PARAMS, struct.pack("!IB", 0, NFQNL_COPY_META)))
        self._config(attribute(NFQA_CFG_QUEUE_MAXLEN, struct.pack("!I", 65536)))

    def _config(self, attrs: bytes) -> None:
        self.seq += 1
        flags = NLM_F_REQUEST | NLM_F_ACK
        self.sock.send(message(NFQNL_MSG_CONFIG, self.num, attrs, self.seq, flags))
        for kind, payload in messages(self.sock.recv(65536)):
            if kind == NLMSG_ERROR:
                (code,) = struct.unpack_from("=i", payload)  # -errno; 0 is the ACK
                if code:
                    raise OSError(-code, f"binding NFQUEUE {self.num}")

    def accept(self, pid: int) -> None:
        self.seq += 1
        verdict = attribute(NFQA_VERDICT_HDR, struct.pack("!II", NF_ACCEPT, pid))
        self.sock.send(message(NFQNL_MSG_VERDICT, self.num, verdict, self.seq))


def run(queue: Queue, delay_s: float, stopping) -> None:
    held: collections.deque[tuple[float, int]] = collections.deque()  # (release, id)
    while not stopping():
        now = time.monotonic()
        while held and held[0][0] <= now:
            queue.accept(held.popleft()[1])
        timeout = held[0][0] - now if held else 0.5
        try:
            readable, _, _ = select.select([queue.sock], [], [], max(0.0, timeout))
        except InterruptedError:
            continue
        if not readable:
            continue
        data = queue.sock.recv(1 << 16)
        release = time.monotonic() + delay_s
        for kind, payload in messages(data):
            if kind == NFQNL_MSG_PACKET and (pid := packet_id(payload)) is not None:
                held.append((release, pid))
    for _, pid in held:
        queue.accept(pid)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--queue", type=int, required=True, help="NFQUEUE number")
    p.add_argument("--delay-ms", type=float, required=True)
    p.add_argument("--ready", type=Path, help="file to create once the queue is bound")
    args = p.parse_args(argv)
    if args.delay_ms < 0:
        p.error("--delay-ms must be >= 0")
    stop = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.append(True))
    try:
        queue = Queue(args.queue)
    except OSError as e:
        print(f"netdelay: {e}", file=sys.stderr)
        return 1
    if args.ready:
        args.ready.write_text(f"{args.delay_ms:g}\n")
    print(f"netdelay: queue {args.queue}, holding packets {args.delay_ms:g} ms", flush=True)
    run(queue, args.delay_ms / 1000.0, lambda: bool(stop))
    return 0


if __name__ == "__main__":
    sys.exit(main())
