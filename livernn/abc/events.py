"""Events produced by the streaming ABC interpreter (the contract between the interpreter
and the engine). Times are in beats = quarter notes, counted from the start of the tune.

Pure data: no clock, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NoteEvent:
    """A note whose pitch, onset and duration are all known."""

    pitch: int  # MIDI 0..127
    onset: float  # beats from the start of the tune
    duration: float  # beats, > 0, capped by the interpreter's maximum
    velocity: int = 80  # 1..127
    tune: int = 0  # index of the tune in the stream (0-based)
    backing: int = 0  # MELODY, or BASS / CHORD: accompaniment from a chord name ("Am")


MELODY, BASS, CHORD = 0, 1, 2  # NoteEvent.backing: what plays the note (abc2midi's channels)


@dataclass(frozen=True, slots=True)
class TuneStart:
    """A tune's header has been read (the K: field ends the header)."""

    tune: int
    title: str
    key: str  # as written, e.g. "D Major", "Ador"
    meter: str  # as written, e.g. "6/8", "C|"
    unit: float  # default note length in beats (L:1/8 -> 0.5)
    tempo: float | None  # Q: in quarter-note BPM, None when the tune gives none
    bar_beats: float  # beats in one bar of the meter (6/8 -> 3.0)


@dataclass(frozen=True, slots=True)
class Bar:
    """A bar line was passed; ``beat`` is the position of the playhead after it."""

    tune: int
    beat: float


@dataclass(frozen=True, slots=True)
class TuneChange:
    """An inline field changed key, meter, unit length or tempo mid-tune."""

    tune: int
    beat: float
    field: str  # "K", "M", "L" or "Q"
    value: str
    tempo: float | None = None  # new quarter-note BPM for "Q"


@dataclass(frozen=True, slots=True)
class TuneEnd:
    """The tune ended (a final bar followed by a blank line, a new X:, or end of input)."""

    tune: int
    beat: float


Event = NoteEvent | TuneStart | Bar | TuneChange | TuneEnd
