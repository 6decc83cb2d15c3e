"""Framing for everything on a node's port: a 4-byte big-endian length, then UTF-8 JSON.

One port serves peers and clients. A frame holding ``"m"`` is a Raft message from a
peer (``{"m": Message.to_dict()}``, one-way: answers travel on the receiver's own
connection to the sender). A frame holding ``"op"`` is a client request; the node
answers on the same connection with a frame carrying the request's ``"id"``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import struct
from collections.abc import Iterable

LENGTH = struct.Struct(">I")
MAX_FRAME = 64 * 1024 * 1024


class FrameError(Exception):
    pass


# Compact JSON, with one encoder for every call (wire frames, WAL records): json.dumps
# with any non-default argument builds a new JSONEncoder per call, which costs more than
# encoding a small message.
compact_json = json.JSONEncoder(separators=(",", ":")).encode


# Key order is the encoder's, not the writer's: two nodes' copies of one command must hash
# alike however their JSON was written.
_canonical_json = json.JSONEncoder(separators=(",", ":"), sort_keys=True).encode


def log_digest(prev: str, entries: Iterable[tuple[int, object]]) -> str:
    """A digest of a log prefix, extended by `entries` ((term, command) pairs, in index
    order) from the digest `prev` of the prefix before them ("" for the empty log).

    A snapshot records the digest of the entries it replaced, and the committed-log dump
    (log.jsonl) starts with it: two nodes agree on a prefix, compacted or not, exactly when
    their digests at its last index are equal (checkers/raft/log_agreement.py)."""
    h = prev
    for term, command in entries:
        body = _canonical_json([term, command])
        h = hashlib.sha256(f"{h}{body}".encode()).hexdigest()
    return h


def encode(obj: object) -> bytes:
    body = compact_json(obj).encode()
    return LENGTH.pack(len(body)) + body


class FrameDecoder:
    """Incremental decoder for a byte stream (used by asyncio Protocols)."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[object]:
        self._buf += data
        out: list[object] = []
        buf = self._buf
        off = 0
        n = len(buf)
        while n - off >= 4:
            (length,) = LENGTH.unpack_from(buf, off)
            if length > MAX_FRAME:
                raise FrameError(f"frame of {length} bytes exceeds the limit of {MAX_FRAME}")
            if n - off - 4 < length:
                break
            try:
                out.append(json.loads(bytes(buf[off + 4 : off + 4 + length])))
            except ValueError as e:
                raise FrameError(f"frame is not JSON: {e}") from e
            off += 4 + length
        if off:
            del buf[:off]
        return out


async def read_frame(reader: asyncio.StreamReader) -> object:
    head = await reader.readexactly(4)
    (length,) = LENGTH.unpack(head)
    if length > MAX_FRAME:
        raise FrameError(f"frame of {length} bytes exceeds the limit of {MAX_FRAME}")
    body = await reader.readexactly(length)
    try:
        return json.loads(body)
    except ValueError as e:
        raise FrameError(f"frame is not JSON: {e}") from e


def parse_addr(text: str) -> tuple[str, int]:
    """'HOST:PORT' -> (host, port), with a clear error."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)
