"""Playing in time with others (issue 11): an external beat line (Ableton Link, an incoming
MIDI clock) and how livernn's own beat line follows it. Pure code: no clock, no threads, no
I/O (see docs/DESIGN.md); the sources that talk to the world are ``livernn/sync/link.py`` and
``livernn/outputs/clock_in.py``, and the engine applies what ``follow`` decides
(``livernn/engine/sync.py``).

The two beat lines: livernn's global beat line (the tempo map, ``livernn/clock.py``) and the
external one are kept ``offset`` beats apart, so livernn's beats never jump while the
external line only drifts or changes tempo. The *grid* is where the external line has phase
0 for the quantum: livernn beats ``b`` with ``(b - offset) % quantum == 0``; tunes start on it,
so their bar lines land on the band's downbeats. When the external line jumps (a Link
session joined, a MIDI Start), the offset moves by whole quanta and livernn's beat line by
the rest, the least it can (at most half a quantum): the music skips or waits once, and
stays on the grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from livernn.clock import TempoMap

# A difference between the external beat line and livernn's larger than this (seconds) is a
# jump of the external line, not drift: livernn's beat line moves to it at once (see above).
JUMP_SECONDS = 0.004


@dataclass(frozen=True, slots=True)
class External:
    """The external beat line at one instant: ``beat`` at engine time ``time``, going on at
    ``bpm``; ``playing``: its transport (None when it has none)."""

    time: float
    beat: float
    bpm: float
    playing: bool | None = None


class Source(Protocol):
    """An external beat line: Link (``sync/link.py``) or a MIDI clock (``outputs/clock_in.py``)."""

    name: str

    def poll(self, now: float, quantum: float) -> External | None:
        """Where the external line is at engine time ``now``; None while it is not known."""
        ...

    def propose_tempo(self, bpm: float, now: float) -> None:
        """Ask the others for this tempo from ``now`` (a source that cannot: ignored)."""
        ...

    def propose_playing(self, playing: bool, now: float, quantum: float) -> None:
        """Start or stop the others' transport (a source that cannot: ignored)."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Followed:
    """What ``follow`` decided: livernn's new tempo map, the new offset, and the jump of
    livernn's beat line in beats (0.0 while it follows smoothly)."""

    tempo: TempoMap
    offset: float
    jump: float


def follow(
    ours: TempoMap,
    ext: External,
    offset: float | None,
    quantum: float,
    jump_seconds: float = JUMP_SECONDS,
) -> Followed:
    """livernn's tempo map re-anchored on the external line at ``ext.time``. ``offset``
    None: just joined, livernn's beat line goes on unbroken and the grid is where the
    external line puts it."""
    here = ours.beat_at(ext.time)
    if offset is None:
        return Followed(TempoMap(ext.time, here, ext.bpm), here - ext.beat, 0.0)
    d = ext.beat + offset - here  # beats livernn is behind the external line
    if abs(d) * 60.0 / ext.bpm <= jump_seconds:
        return Followed(TempoMap(ext.time, ext.beat + offset, ext.bpm), offset, 0.0)
    jump = d - round(d / quantum) * quantum  # the least move that keeps the grid
    offset -= d - jump
    return Followed(TempoMap(ext.time, ext.beat + offset, ext.bpm), offset, jump)


def align(offset: float, quantum: float, bar: float) -> float:
    """The jump of livernn's beat line (beats, at most half a quantum either way) that puts
    livernn's bar line ``bar`` on the grid: the grid moves with livernn's beat line against
    the external one, so the bar lands on a downbeat when ``jump`` = ``bar - offset`` modulo
    the quantum."""
    jump = (bar - offset) % quantum
    return jump - quantum if jump > quantum / 2 else jump


def grid_at_or_after(beat: float, offset: float, quantum: float) -> float:
    """The first grid point (a downbeat of the external line) at or after ``beat``."""
    n = math.ceil((beat - offset) / quantum - 1e-9)
    return offset + n * quantum
