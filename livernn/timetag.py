"""OSC time: NTP timetags <-> the engine clock, timed messages in, timed bundles out (pure).

An OSC timetag (OSC 1.0) is an NTP timestamp: seconds since 1900-01-01 in its high 32 bits, the
fraction of a second in its low 32; the value 1 means "immediately". The engine runs on its
own monotonic clock (livernn/clock.py), so a timetag becomes an engine time through the offset
between the wall clock (seconds since 1970, ``time.time``) and the engine clock, measured from
the two clocks themselves (``measure_offset``); ``Offset`` measures it again every second, so a
stepped wall clock is followed within a second. No clock is read here except through the
callables passed in, and nothing sleeps: a timed command waits in the engine's inbox
(livernn/engine/inbox.py). See docs/DESIGN.md, "The OSC address space".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from livernn.limits import MAX_TIMETAG_AHEAD
from livernn.osc import OscError, parse_message
from livernn.oscwire import BUNDLE, IMMEDIATELY, PacketError, split_packet

NTP_EPOCH = 2_208_988_800  # seconds from 1900-01-01 (NTP) to 1970-01-01 (Unix)
FRACTION = 1 << 32  # the low 32 bits count 2**-32 s
MAX_TAG = (1 << 64) - 1
NEVER_WAITS = frozenset({"panic"})  # applied at once whatever its bundle's timetag

Now = Callable[[], float]


def ntp_to_unix(tag: int) -> float:
    """Seconds since 1970 of an NTP timestamp (era 0: 1900 to 2036)."""
    return (tag >> 32) - NTP_EPOCH + (tag & (FRACTION - 1)) / FRACTION


def unix_to_ntp(t: float) -> int:
    """The NTP timestamp of ``t`` seconds since 1970 (rounded to 2**-32 s, clamped to 64 bits)."""
    whole = math.floor(t)
    frac = round((t - whole) * FRACTION)
    return max(0, min(MAX_TAG, ((whole + NTP_EPOCH) << 32) + frac))


def measure_offset(engine: Now, wall: Now, tries: int = 5) -> float:
    """wall - engine seconds: the wall clock read between two engine readings, from the
    try whose two readings are closest together (the least disturbed by the OS)."""
    best, gap = 0.0, math.inf
    for _ in range(max(1, tries)):
        a = engine()
        w = wall()
        b = engine()
        if b - a < gap:
            best, gap = w - (a + b) / 2, b - a
    return best


class Offset:
    """The wall - engine offset, measured when first needed and again when ``max_age``
    engine seconds old. One per thread (the receive thread's in, the echo's out)."""

    def __init__(self, engine: Now, wall: Now, max_age: float = 1.0) -> None:
        self.engine = engine
        self.wall = wall
        self.max_age = max_age
        self._value = 0.0
        self._at = -math.inf

    def value(self, now: float) -> float:
        if not now - self._at < self.max_age:  # also after a clock that went backwards
            self._value = measure_offset(self.engine, self.wall)
            self._at = now
        return self._value

    def to_engine(self, tag: int, now: float) -> float:
        """The engine time of a timetag."""
        return ntp_to_unix(tag) - self.value(now)

    def to_ntp(self, t: float, now: float) -> int:
        """The timetag of engine time ``t``."""
        return unix_to_ntp(t + self.value(now))


def parse_timed(data: bytes) -> list[tuple[int, str, list[Any]]]:
    """(timetag, address, args) of every message in a datagram, each with the timetag of the
    innermost bundle holding it (``IMMEDIATELY`` for a bare message); OscError when malformed."""
    try:
        elements = split_packet(data).elements
    except PacketError as e:
        raise OscError(f"malformed OSC packet: {e}") from None
    return [(el.timetag, *parse_message(el.data)) for el in elements]


def due_times(
    tags: Sequence[int], offset: Offset, now: float, max_ahead: float = MAX_TIMETAG_AHEAD
) -> list[float | None]:
    """When each timetag falls due on the engine clock: None for "immediately" and for a
    time already past (applied at once). OscError when any is more than ``max_ahead``
    seconds ahead, so nothing of that datagram applies."""
    out: list[float | None] = []
    for tag in tags:
        if tag == IMMEDIATELY:
            out.append(None)
            continue
        at = offset.to_engine(tag, now)
        if at - now > max_ahead:
            raise OscError(
                f"bundle timetag {at - now:.1f} s ahead, more than {max_ahead:g} s: refused"
            )
        out.append(at if at > now else None)
    return out


def bundle(tag: int, messages: Sequence[bytes]) -> bytes:
    """An OSC bundle: ``#bundle``, the timetag, then each message with its int32 size."""
    parts = [BUNDLE, tag.to_bytes(8, "big")]
    for m in messages:
        parts += [len(m).to_bytes(4, "big"), m]
    return b"".join(parts)
