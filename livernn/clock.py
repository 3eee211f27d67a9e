"""Time: a monotonic clock, a fake clock for tests, and the tempo map (beats <-> seconds).

Every deadline is an absolute time on one monotonic clock, so errors never accumulate. The
tempo map is pure: a tempo change re-anchors it at the current beat, so nothing jumps and the
new tempo applies from the next note on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from livernn.errors import ConfigError
from livernn.limits import TEMPO

MIN_BPM = TEMPO.lo
MAX_BPM = TEMPO.hi


class Clock(Protocol):
    """What the engine needs from time."""

    def now(self) -> float:
        """Seconds on a monotonic clock (the origin is arbitrary but fixed)."""
        ...

    def sleep_until(self, deadline: float) -> None:
        """Return at ``deadline`` (or at once when it has passed)."""
        ...


class MonotonicClock:
    """The real clock: ``time.perf_counter`` with a coarse sleep followed by a short spin.

    ``spin`` is how long before the deadline the clock stops sleeping and busy-waits; the
    sleep itself is imprecise by up to a scheduler quantum, the spin is not.
    """

    def __init__(self, spin: float = 0.0008) -> None:
        if spin < 0:
            raise ConfigError("spin must be >= 0")
        self.spin = spin

    def now(self) -> float:
        return time.perf_counter()

    def sleep_until(self, deadline: float) -> None:
        remaining = deadline - time.perf_counter()
        if remaining > self.spin:
            time.sleep(remaining - self.spin)
        while time.perf_counter() < deadline:
            pass


class FakeClock:
    """A clock that only moves when told: ``advance(dt)``, ``set(t)`` or ``sleep_until``."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def advance(self, dt: float) -> float:
        if dt < 0:
            raise ValueError("a clock cannot go backwards")
        self._now += dt
        return self._now

    def set(self, t: float) -> None:
        if t < self._now:
            raise ValueError("a clock cannot go backwards")
        self._now = float(t)

    def sleep_until(self, deadline: float) -> None:
        if deadline > self._now:
            self._now = float(deadline)


def check_bpm(bpm: float) -> float:
    """``bpm`` as a float, or ConfigError when it is not a sane tempo."""
    try:
        bpm = float(bpm)
    except (TypeError, ValueError):
        raise ConfigError(f"tempo must be a number, not {bpm!r}") from None
    return TEMPO.check(bpm)


@dataclass(frozen=True, slots=True)
class TempoMap:
    """A linear map between beats (quarter notes) and seconds on the clock.

    ``beat`` was (or will be) reached at time ``time``; from there on beats pass at ``bpm``.
    Immutable: ``retempo`` returns a new map anchored at a given time.
    """

    time: float = 0.0
    beat: float = 0.0
    bpm: float = 120.0

    @property
    def seconds_per_beat(self) -> float:
        return 60.0 / self.bpm

    def time_at(self, beat: float) -> float:
        return self.time + (beat - self.beat) * 60.0 / self.bpm

    def beat_at(self, t: float) -> float:
        return self.beat + (t - self.time) * self.bpm / 60.0

    def retempo(self, bpm: float, at_time: float) -> TempoMap:
        """The same beat line from ``at_time`` on, continuing at ``bpm`` (no jump)."""
        bpm = check_bpm(bpm)
        return TempoMap(time=at_time, beat=self.beat_at(at_time), bpm=bpm)
