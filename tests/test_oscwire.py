"""The bounded OSC packet splitter (livernn/oscwire.py) and the attacks that hung python-osc.

The time budget is asserted deterministically: ``split_packet`` counts its steps, and every
datagram must take at most ``len(data) // 4 + 1`` of them, whatever its bytes.
"""

from __future__ import annotations

import contextlib
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket

from livernn.osc import OscError, parse_datagram
from livernn.oscwire import BUNDLE, MAX_DEPTH, MAX_ELEMENTS, PacketError, split_packet
from tests.support.stage import hostile_bundle

HEAD = BUNDLE + (1).to_bytes(8, "big")


def msg(address: str, *args) -> bytes:
    b = OscMessageBuilder(address)
    for a in args:
        b.add_arg(a)
    return b.build().dgram


def element(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def budget_ok(data: bytes) -> None:
    """split_packet either refuses the datagram or opens it within its step budget."""
    try:
        packet = split_packet(data)
    except PacketError:
        return
    assert packet.steps <= len(data) // 4 + 1
    assert len(packet.elements) <= MAX_ELEMENTS
    for el in packet.elements:
        assert el.data.startswith(b"/")


def test_the_twenty_byte_bundle_that_looped_forever_is_refused():
    data = HEAD + struct.pack(">i", -4)
    assert len(data) == 20
    with pytest.raises(PacketError, match="bad bundle element size -4"):
        split_packet(data)
    with pytest.raises(OscError, match="malformed OSC packet"):
        parse_datagram(data)


def test_a_size_pointing_back_is_refused_not_stored_forever():
    ping = msg("/livernn/ping")
    data = HEAD + element(ping) + struct.pack(">i", -(len(ping) + 8))
    with pytest.raises(PacketError, match="bad bundle element size"):
        split_packet(data)


@pytest.mark.parametrize(
    "data, reason",
    [
        (HEAD + struct.pack(">i", 0), "size 0"),
        (HEAD + struct.pack(">i", 6) + b"/a\0\0,\0\0\0", "size 6"),
        (HEAD + struct.pack(">i", 64) + b"/a\0\0,\0\0\0", "size 64"),
        (HEAD + b"\0\0", "cut short"),
        (BUNDLE + b"\0\0\0", "shorter than its header"),
        (HEAD + element(b"#bundle\0\0\0\0\0"), "shorter than its header"),
        (HEAD + element(b"xyz\0"), "not an OSC message"),
        (b"hello", "not an OSC message or bundle"),
        (b"", "not an OSC message or bundle"),
    ],
)
def test_malformed_structure_is_refused_with_a_reason(data, reason):
    with pytest.raises(PacketError, match=reason):
        split_packet(data)


def test_nesting_and_element_count_are_bounded():
    data = msg("/livernn/ping")
    for _ in range(MAX_DEPTH - 1):
        data = HEAD + element(data)
    data = HEAD + element(data)
    assert [e.data for e in split_packet(data).elements] == [msg("/livernn/ping")]
    with pytest.raises(PacketError, match="nested deeper"):
        split_packet(HEAD + element(data))
    many = HEAD + element(msg("/livernn/ping")) * (MAX_ELEMENTS + 1)
    with pytest.raises(PacketError, match=f"more than {MAX_ELEMENTS}"):
        split_packet(many)
    assert len(split_packet(HEAD + element(msg("/a")) * MAX_ELEMENTS).elements) == MAX_ELEMENTS


def test_nested_arrays_in_type_tags_are_refused_in_one_line():
    data = hostile_bundle(_rng_for(5))
    assert b"[[[" in data
    with pytest.raises(OscError, match="arrays are not accepted"):
        parse_datagram(data)


def _rng_for(which: int) -> np.random.Generator:
    """A generator whose first integers(0, 7) is ``which`` (hostile_bundle's choice)."""
    for seed in range(1000):
        if int(np.random.default_rng(seed).integers(0, 7)) == which:
            return np.random.default_rng(seed)
    raise AssertionError("no seed")


def test_every_hostile_bundle_kind_is_refused():
    for which in range(7):
        rng = _rng_for(which)
        data = hostile_bundle(rng)
        budget_ok(data)
        with pytest.raises(OscError):
            parse_datagram(data)


def test_timetags_are_kept_per_element():
    inner = BUNDLE + (12345).to_bytes(8, "big") + element(msg("/b"))
    data = HEAD + element(msg("/a")) + element(inner)
    got = [(e.data, e.timetag) for e in split_packet(data).elements]
    assert got == [(msg("/a"), 1), (msg("/b"), 12345)]


# -- fuzzing -------------------------------------------------------------------------------

_messages = st.builds(
    msg,
    st.sampled_from(["/livernn/ping", "/livernn/tempo", "/livernn/seed", "/x"]),
    st.one_of(st.integers(-(2**31), 2**31 - 1), st.floats(width=32), st.text(max_size=12)),
)


@st.composite
def bundles(draw, depth: int = 0) -> bytes:
    """A valid bundle of messages and (up to MAX_DEPTH) nested bundles."""
    tag = draw(st.integers(0, 2**64 - 1))
    parts = []
    for _ in range(draw(st.integers(0, 5))):
        if depth + 1 < MAX_DEPTH and draw(st.booleans()):
            parts.append(draw(bundles(depth + 1)))
        else:
            parts.append(draw(_messages))
    return BUNDLE + tag.to_bytes(8, "big") + b"".join(element(p) for p in parts)


def _python_osc_messages(data: bytes) -> list[bytes]:
    return [m.message.dgram for m in OscPacket(data).messages]


@settings(max_examples=400, deadline=None)
@given(bundles())
def test_valid_bundles_open_exactly_as_python_osc_opens_them(data):
    packet = split_packet(data)
    assert packet.steps <= len(data) // 4 + 1
    assert sorted(e.data for e in packet.elements) == sorted(_python_osc_messages(data))


@settings(max_examples=1500, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_stay_within_the_budget(data):
    budget_ok(data)
    budget_ok(HEAD + data)


@settings(max_examples=1500, deadline=None)
@given(bundles(), st.data())
def test_mutated_bundles_stay_within_the_budget(data, draw):
    """Structured mutations of valid bundles: rewrite a size-sized word with a hostile int32,
    cut, duplicate or splice a span."""
    b = bytearray(data)
    for _ in range(draw.draw(st.integers(1, 4))):
        op = draw.draw(st.sampled_from(["size", "cut", "dup", "splice"]))
        if not b:
            break
        i = draw.draw(st.integers(0, len(b) - 1)) // 4 * 4
        if op == "size" and i + 4 <= len(b):
            v = draw.draw(st.sampled_from([-4, -8, 0, 1, 3, 2**31 - 1, -(2**31), i, -i, len(b)]))
            b[i : i + 4] = struct.pack(">i", max(-(2**31), min(2**31 - 1, v)))
        elif op == "cut":
            del b[i:]
        elif op == "dup":
            j = draw.draw(st.integers(i, len(b)))
            b[j:j] = b[i:j]
        else:
            b[i:i] = draw.draw(st.sampled_from([HEAD, element(b"/a\0\0,\0\0\0"), b"\xff" * 4]))
    data = bytes(b)
    budget_ok(data)
    with contextlib.suppress(OscError):
        parse_datagram(data)


def test_a_nul_inside_a_seed_is_refused_not_cut_short():
    data = b"/livernn/seed\x00\x00\x00,s\x00\x00X:1\x00abc\x00"
    with pytest.raises(OscError, match="NUL inside"):
        parse_datagram(data)
    trailing = msg("/livernn/seed", "X:1") + b"K:D\x00"
    with pytest.raises(OscError, match="NUL inside"):
        parse_datagram(trailing)
    assert parse_datagram(msg("/livernn/seed", "X:1\nK:D\n")) == [("/livernn/seed", ["X:1\nK:D\n"])]
