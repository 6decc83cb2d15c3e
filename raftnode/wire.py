"""Framing for everything on a node's port: a 4-byte big-endian length, then UTF-8 JSON.

One port serves peers and clients. A frame holding ``"m"`` is a Raft message from a
peer (``{"m": Message.to_dict()}``, one-way: answers travel on the receiver's own
connection to the sender). A frame holding ``"op"`` is a client request; the node
answers on the same connection with a frame carrying the request's ``"id"``.

A signed frame (peers' frames, when the cluster has a secret) puts a marker byte and an
HMAC-SHA256 of the JSON between the length and the JSON: ``length | 0x01 | mac(32) |
json``, the length counting all three. JSON never starts with 0x01, so one decoder reads
both kinds. No nonce or sequence number: a replayed frame is a duplicated message, which
Raft already tolerates (the network may duplicate, delay and reorder); what the MAC rules
out is a message no member wrote.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import struct
from collections.abc import Iterable

LENGTH = struct.Struct(">I")
MAX_FRAME = 64 * 1024 * 1024
SIGNED = 0x01  # first body byte of a signed frame
MAC_BYTES = 32  # HMAC-SHA256
MIN_SECRET = 16  # characters of a cluster secret, at least


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


def mac_key(secret: str) -> bytes:
    """The HMAC key of a cluster secret (as given: RAFTNODE_SECRET, --secret-file). A
    derived key, so the secret itself is never what the MAC function sees."""
    if len(secret) < MIN_SECRET:
        raise ValueError(f"a cluster secret needs at least {MIN_SECRET} characters")
    return hashlib.sha256(b"raftnode peer frame mac v1\0" + secret.encode()).digest()


class Mac:
    """HMAC-SHA256 under one key (RFC 2104), its two keyed hash states set up once and
    copied for each frame: hmac.digest sets the key up again on every call, and an hmac
    object's copy() goes through more layers, each costing more than a small frame's
    hashing (4.4 and 3.3 against 2.5 us a frame, measured here). The result is plain
    HMAC-SHA256 (tests/raftnode/test_wire_auth.py checks it against hmac.digest)."""

    def __init__(self, key: bytes) -> None:
        block = hashlib.sha256().block_size
        if len(key) > block:
            key = hashlib.sha256(key).digest()
        key = key.ljust(block, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def digest(self, body: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(body)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def verify(self, mac: bytes, body: bytes) -> bool:
        return hmac.compare_digest(mac, self.digest(body))


_SIGNED_BYTE = bytes((SIGNED,))


def encode_signed(obj: object, mac: Mac) -> bytes:
    body = compact_json(obj).encode()
    return LENGTH.pack(1 + MAC_BYTES + len(body)) + _SIGNED_BYTE + mac.digest(body) + body


class FrameDecoder:
    """Incremental decoder for a byte stream (used by asyncio Protocols).

    `feed` returns (frame, authentic) pairs: authentic when the frame was signed and its
    MAC checks out under `key`. A signed frame whose MAC does not is not returned at all
    (its JSON is not even parsed): it is counted in `forged`, for the caller to collect.
    Without a key a signed frame is read as an unsigned one (nothing to check it with)."""

    def __init__(self, key: bytes | None = None) -> None:
        self._buf = bytearray()
        self.mac = Mac(key) if key is not None else None
        self.forged = 0

    def feed(self, data: bytes) -> list[tuple[object, bool]]:
        self._buf += data
        out: list[tuple[object, bool]] = []
        buf = self._buf
        off = 0
        n = len(buf)
        while n - off >= 4:
            (length,) = LENGTH.unpack_from(buf, off)
            if length > MAX_FRAME:
                raise FrameError(f"frame of {length} bytes exceeds the limit of {MAX_FRAME}")
            if n - off - 4 < length:
                break
            start = off + 4
            off = start + length
            authentic = False
            if length and buf[start] == SIGNED:
                if length < 1 + MAC_BYTES:
                    raise FrameError(f"signed frame of {length} bytes is too short for its MAC")
                mac = bytes(buf[start + 1 : start + 1 + MAC_BYTES])
                start += 1 + MAC_BYTES
                body = bytes(buf[start:off])
                if self.mac is not None:
                    if not self.mac.verify(mac, body):
                        self.forged += 1
                        continue
                    authentic = True
            else:
                body = bytes(buf[start:off])
            try:
                out.append((json.loads(body), authentic))
            except ValueError as e:
                raise FrameError(f"frame is not JSON: {e}") from e
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
