"""The OSC wire format: a bounded packet splitter in front of python-osc (pure, no I/O).

Why livernn reads bundles itself: python-osc's ``OscBundle`` (1.10) advances its read
position by the element size it reads from the datagram without checking it, so a 20-byte
bundle whose element size is ``-4`` loops forever, and a size pointing back at an earlier
message makes it store that message again and again until memory runs out (issue 14). Here
every bundle is walked with explicit checks before any byte reaches python-osc, which then
parses single messages only (``OscMessage``; linear in its bytes).

Spec: OSC 1.0, https://opensoundcontrol.stanford.edu/spec-1_0.html#osc-packets
- an OSC packet is a message or a bundle; a bundle is ``#bundle\\0``, a 64-bit timetag, then
  elements, each an int32 size (positive, a multiple of 4) followed by exactly that many bytes
  holding a message or a bundle; the elements fill the bundle exactly.

Bounds (each one a reason the packet is refused whole, so nothing of it applies):
``MAX_DEPTH`` nested bundles, ``MAX_ELEMENTS`` messages in one packet. Each step of the walk
either reads an element (at least 8 bytes: its size field and 4 bytes of content) or closes a
bundle (at least 16 bytes), and the position only moves forward, so the work is bounded by
``len(data) // 4 + 1`` steps by construction; ``split_packet`` returns the count so tests can
assert it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from livernn.errors import LivernnError

BUNDLE = b"#bundle\x00"
HEADER = len(BUNDLE) + 8  # the tag and the timetag
IMMEDIATELY = 1  # the timetag that means "now" (OSC 1.0)
MAX_DEPTH = 4  # bundles inside bundles
MAX_ELEMENTS = 256  # messages in one packet


class PacketError(LivernnError):
    """A datagram that is not a well-formed OSC packet; the text is the reply's reason."""


@dataclass(frozen=True, slots=True)
class Element:
    """One message of a packet: its bytes and the timetag of the bundle holding it
    (``IMMEDIATELY`` for a bare message)."""

    data: bytes
    timetag: int = IMMEDIATELY


@dataclass(frozen=True, slots=True)
class Packet:
    elements: tuple[Element, ...]
    steps: int  # loop iterations the walk took (at most len(data) // 4 + 1)


def split_packet(data: bytes) -> Packet:
    """The messages of a datagram, bundles opened; PacketError when it is malformed."""
    if not data.startswith(BUNDLE):
        if not data.startswith(b"/"):
            raise PacketError("not an OSC message or bundle")
        return Packet((Element(bytes(data)),), 1)
    out: list[Element] = []
    # A stack of open bundles: (end offset, timetag, depth); pos walks forward only.
    if len(data) < HEADER:
        raise PacketError("bundle shorter than its header")
    stack = [(len(data), _timetag(data, len(BUNDLE)), 1)]
    pos = HEADER
    steps = 0
    while stack:
        steps += 1
        end, tag, depth = stack[-1]
        if pos == end:
            stack.pop()
            continue
        if end - pos < 4:
            raise PacketError("bundle element size cut short")
        (size,) = struct.unpack_from(">i", data, pos)
        pos += 4
        if size <= 0 or size % 4 or size > end - pos:
            raise PacketError(f"bad bundle element size {size}")
        body = data[pos : pos + size]
        if body.startswith(BUNDLE):
            if depth >= MAX_DEPTH:
                raise PacketError(f"bundles nested deeper than {MAX_DEPTH}")
            if size < HEADER:
                raise PacketError("bundle shorter than its header")
            stack.append((pos + size, _timetag(data, pos + len(BUNDLE)), depth + 1))
            pos += HEADER
            continue
        if not body.startswith(b"/"):
            raise PacketError("bundle element is not an OSC message")
        if len(out) >= MAX_ELEMENTS:
            raise PacketError(f"more than {MAX_ELEMENTS} messages in one packet")
        out.append(Element(bytes(body), tag))
        pos += size
    return Packet(tuple(out), steps)


def _timetag(data: bytes, at: int) -> int:
    (tag,) = struct.unpack_from(">Q", data, at)
    return tag
