"""Signed frames (raftnode/wire.py): what a node's decoder makes of a peer frame signed
with the cluster's key, with another key, tampered with, or not signed at all."""

from __future__ import annotations

import hashlib
import hmac

from raftnode import wire

KEY = wire.mac_key("the-cluster-secret-0123456789")
MSG = {"m": {"type": "append", "src": "n1", "dst": "n2", "term": 3, "commit": 7}}


def test_the_mac_is_plain_hmac_sha256_of_the_json():
    """Anyone can check a frame with a standard HMAC: nothing of our own in between."""
    frame = wire.encode_signed(MSG, wire.Mac(KEY))
    body = wire.compact_json(MSG).encode()
    assert frame[4] == wire.SIGNED
    assert frame[5:37] == hmac.digest(KEY, body, hashlib.sha256)
    assert frame[37:] == body and int.from_bytes(frame[:4], "big") == len(frame) - 4


def test_signed_frames_with_the_key_are_authentic_even_fed_a_byte_at_a_time():
    data = wire.encode_signed(MSG, wire.Mac(KEY)) + wire.encode({"op": "get", "key": "k"})
    d = wire.FrameDecoder(KEY)
    got = []
    for i in range(len(data)):
        got += d.feed(data[i : i + 1])
    assert got == [(MSG, True), ({"op": "get", "key": "k"}, False)]
    assert d.forged == 0


def test_another_key_or_a_changed_byte_is_dropped_and_counted():
    other = wire.encode_signed(MSG, wire.Mac(wire.mac_key("some-other-secret-0123456")))
    tampered = bytearray(wire.encode_signed(MSG, wire.Mac(KEY)))
    tampered[-3] ^= 0x01  # a digit of the commit index
    good = wire.encode_signed({"m": {"type": "heartbeat"}}, wire.Mac(KEY))
    d = wire.FrameDecoder(KEY)
    assert d.feed(other + bytes(tampered) + good) == [({"m": {"type": "heartbeat"}}, True)]
    assert d.forged == 2


def test_without_a_key_nothing_is_authentic():
    d = wire.FrameDecoder()
    assert d.feed(wire.encode_signed(MSG, wire.Mac(KEY)) + wire.encode(MSG)) == [
        (MSG, False),
        (MSG, False),
    ]


def test_mac_is_hmac_sha256_for_keys_of_every_length():
    for key in (b"", b"k", KEY, b"x" * 64, b"y" * 65, b"z" * 200):
        for body in (b"", b"{}", b"a" * 1000):
            assert wire.Mac(key).digest(body) == hmac.digest(key, body, hashlib.sha256)
