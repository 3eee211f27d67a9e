"""Following an incoming MIDI clock (``--clock-in PORT``, issue 11): pure code, no clock,
threads or I/O (see docs/DESIGN.md). ``outputs/clock_in.py`` hands it the port's messages
with their arrival times on the engine clock.

MIDI clock (MIDI 1.0, "System Real Time"): 24 Timing Clock messages (0xF8) per quarter note;
Start (0xFA) means the next Timing Clock is beat 0, Stop (0xFC) halts the song position,
Continue (0xFB) goes on from it, Song Position Pointer (0xF2) sets it in sixteenths while
stopped.

Tempo and phase come from a least-squares line through the arrival times of the last
``WINDOW`` ticks (two beats): with arrival jitter of +-1 ms the line's error is a fraction of
that. Response time: a tempo change is fully in the estimate after ``WINDOW`` ticks (two
beats); a tick that arrives more than ``STEP_SECONDS`` off the line (a jump of tempo, not
jitter) is left out of the line, and ``STEPS`` of them in a row (a new tempo) restart it, so
a big change is followed within ``STEPS`` ticks (a quarter of a beat).
"""

from __future__ import annotations

import collections
import math
from collections.abc import Iterable
from dataclasses import dataclass

from livernn.limits import TEMPO
from livernn.sync import External

PPQ = 24  # MIDI clock ticks per quarter note
WINDOW = 48  # ticks in the line: two beats
RESTART = 6  # ticks in the line before one can be judged off it
STEP_SECONDS = 0.004  # a tick this far off the line is late (left out of it) ...
STEPS = 6  # ... and this many in a row, evenly spaced, a change of tempo: a new line
MAX_LOST = 3  # ticks lost in a row that are still counted; more is a pause of the clock
TICKS_PER_SIXTEENTH = 6  # Song Position Pointer units


@dataclass(frozen=True, slots=True)
class Transport:
    """A transport change heard on the clock input: "start", "stop" or "continue"."""

    what: str
    time: float


class ClockFollower:
    """Timing Clock, Start, Stop, Continue and Song Position in; an ``External`` beat line out."""

    def __init__(self, window: int = WINDOW) -> None:
        self.window = window
        self._ticks: collections.deque[tuple[int, float]] = collections.deque(maxlen=window)
        self._outliers: list[tuple[int, float]] = []  # ticks off the line, in a row
        self._last: float | None = None  # when the last tick came
        self._maybe_lost = 0  # ticks the last gap says may have been lost
        self.lost = 0  # ticks counted as lost
        self._count = 0  # ticks heard since the line started (the line's x)
        self.position = 0  # song position of the next tick, in ticks
        self.playing = False
        self._anchor: tuple[int, int] | None = None  # (tick count, song position) of a tick
        self.transport: collections.deque[Transport] = collections.deque(maxlen=16)

    def feed(self, status: int, t: float, data: tuple[int, ...] = ()) -> None:
        """One message: its status byte, arrival time (engine clock), data bytes."""
        if status == 0xF8:
            self._tick(t)
        elif status == 0xFA:
            self.position = 0
            self.playing = True
            self._anchor = None
            self.transport.append(Transport("start", t))
        elif status == 0xFB:
            self.playing = True
            self._anchor = None
            self.transport.append(Transport("continue", t))
        elif status == 0xFC:
            self.playing = False
            self.transport.append(Transport("stop", t))
        elif status == 0xF2 and len(data) == 2 and not self.playing:
            self.position = (data[0] | data[1] << 7) * TICKS_PER_SIXTEENTH
            self._anchor = None

    def _tick(self, t: float) -> None:
        fit = self._fit()
        if fit is not None and self._last is not None and fit[1] > 0:
            gap = (t - self._last) / fit[1]
            # Two ticks' gap: a tick lost on the way (a MIDI system that misses a cycle) or a
            # late one (the next then comes at once). The next gap tells which: a whole tick
            # after it, the tick was lost and counts; less, it was late.
            if self._maybe_lost and gap >= 0.75:
                self._count += self._maybe_lost
                if self.playing and self._anchor is not None:
                    self.position += self._maybe_lost
                if self._ticks and self._ticks[-1][1] == self._last:
                    c, last = self._ticks.pop()
                    self._ticks.append((c + self._maybe_lost, last))
                self.lost += self._maybe_lost
            missed = math.floor(gap + 0.25) - 1
            self._maybe_lost = missed if 0 < missed <= MAX_LOST else 0
        off = fit is not None and len(self._ticks) >= RESTART
        if off:
            a, b = fit
            off = abs(a + b * self._count - t) > STEP_SECONDS
        if off:  # one late tick is jitter (left out); STEPS in a row are a new tempo
            self._outliers.append((self._count, t))
            if len(self._outliers) >= STEPS:
                if _steady(self._outliers, fit[1]):  # evenly spaced: a new tempo
                    self._ticks.clear()
                    self._ticks.extend(self._outliers)
                    self._outliers.clear()
                else:  # bunched (a stall let them through at once): still the old line
                    self._outliers.pop(0)
        else:
            self._outliers.clear()
            self._ticks.append((self._count, t))
        self._last = t
        if self.playing:
            if self._anchor is None:
                self._anchor = (self._count, self.position)
            self.position += 1
        self._count += 1

    def _fit(self) -> tuple[float, float] | None:
        """(a, b): tick number n arrives at a + b n (least squares); None under 2 ticks."""
        return _line(self._ticks) if len(self._ticks) >= 2 else None

    def bpm(self) -> float | None:
        return _bpm(self._fit())

    def external(self, now: float) -> External | None:
        """The beat line at ``now`` (beats from song position 0); None before two ticks,
        while stopped, and after a start or continue until its first tick."""
        fit = self._fit()
        bpm = _bpm(fit)
        if fit is None or bpm is None or not self.playing or self._anchor is None:
            return None
        a, b = fit
        count, pos = self._anchor
        ticks = (now - a) / b - count  # ticks since the anchor tick, read off the line
        return External(now, (pos + ticks) / PPQ, bpm, True)


def _line(ticks: Iterable[tuple[int, float]]) -> tuple[float, float]:
    """(a, b): the least-squares line y = a + b x through (x, y) points (two or more)."""
    pts = list(ticks)
    n = len(pts)
    mx = sum(x for x, _ in pts) / n
    my = sum(y for _, y in pts) / n
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    b = sum((x - mx) * (y - my) for x, y in pts) / sxx
    return my - b * mx, b


def _bpm(fit: tuple[float, float] | None) -> float | None:
    if fit is None or fit[1] <= 0:
        return None
    return min(TEMPO.hi, max(TEMPO.lo, 60.0 / (PPQ * fit[1])))


def _steady(ticks: list[tuple[int, float]], was: float) -> bool:
    """Ticks on a line of their own (within half the step threshold) with a step between half
    and twice the old one: a new tempo, not a burst after a stall."""
    a, b = _line(ticks)
    return (
        0.5 * was < b < 2.0 * was and max(abs(a + b * x - y) for x, y in ticks) < STEP_SECONDS / 2
    )
