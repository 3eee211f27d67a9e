"""Typed state of the interpreter: its options, and the immutable values it keeps between
characters (a held note, a voice's saved state, a finished part). All are NamedTuples or
frozen dataclasses, so ``AbcInterpreter.copy()`` can share them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from livernn.errors import ConfigError

if TYPE_CHECKING:
    from livernn.abc.repeats import RepeatMachine
    from livernn.abc.tables import Meter

#: Notes recorded for a part (P:), newest first: ((pitch | velocity << 7, onset from the part
#: start, duration), older cells).
Cells = tuple[tuple[int, float, float], "Cells"] | None


@dataclass(frozen=True, slots=True)
class InterpreterOptions:
    """How the interpreter plays what it reads."""

    expand_repeats: bool = True  # play ':|' sections (and endings) again, as abc2midi does
    max_note_beats: float = 16.0  # longer notes (and ties) are cut to this many beats
    max_rest_beats: float = 64.0  # longer rests (z99, Z99) are cut to this many beats
    velocity: int = 80  # MIDI velocity of a note off the beat, 1..127
    accents: bool = True  # +25 on the first note of a bar, +15 on strong beats (as abc2midi)
    ornaments: bool = True  # trills, rolls, staccato and fermatas as abc2midi plays them
    # A ':|' whose section is longer than this many (written) beats plays on instead of
    # repeating. abc2midi has no such bound (inf); the live engine sets one, so a model that
    # writes one endless section cannot schedule minutes of music ahead of the playhead.
    max_repeat_beats: float = float("inf")
    # Session feel (issue 13), each as abc2midi 4.84 plays by default; ``plain()`` turns
    # them all off and gives the interpreter's output before them (abc2midi -NGRA -NGUI,
    # R: dropped, %%MIDI chordattack 0).
    graces: bool = True  # {g}A: grace notes take time from the next note (off: -NGRA)
    grace_divider: int = 4  # a grace note lasts its written length / this (gracedivider)
    chord_attack: int = 10  # ticks (480 per beat) between the onsets of a chord's notes
    hornpipe: bool = True  # R:hornpipe swings pairs of equal notes (as a>b at 2:1)
    broken_2_1: bool = False  # a>b at 2:1 instead of 3:1 (abc2midi -CS)
    harp: bool = False  # a roll repeats its note (abc2midi -HARP)
    fermatas: bool = True  # a fermata doubles the note (off: abc2midi -NFER)
    backing: bool = True  # "Am" chord names as bass and chord accompaniment (off: -NGUI)
    dynamics: bool = True  # !p!..!fff! set the velocities, !crescendo(! / !diminuendo(! ramp
    directives: bool = True  # %%MIDI ratio, chordattack, gracedivider, gchord, beat ...

    @classmethod
    def plain(cls, **changes: object) -> InterpreterOptions:
        """Every session-feel option off: the notes as written (what the simplified
        comparison runs abc2midi for: -NGRA -NGUI, no R:, %%MIDI chordattack 0)."""
        base: dict[str, object] = {
            "graces": False, "chord_attack": 0, "hornpipe": False, "backing": False,
            "dynamics": False, "directives": False,
        }  # fmt: skip
        base.update(changes)
        return cls(**base)  # type: ignore[arg-type]

    def __post_init__(self) -> None:
        if not 1 <= self.velocity <= 127:
            raise ConfigError(f"velocity must be 1..127, got {self.velocity}")
        if not self.max_note_beats > 0 or not self.max_rest_beats > 0:
            raise ConfigError("max_note_beats and max_rest_beats must be > 0")
        if not self.max_repeat_beats > 0:
            raise ConfigError("max_repeat_beats must be > 0")
        if not 1 <= self.grace_divider <= 64 or not 0 <= self.chord_attack <= 480:
            raise ConfigError("grace_divider must be 1..64 and chord_attack 0..480 ticks")


class Held(NamedTuple):
    """A note (or chord, or rest) written but not yet played: a tie or a broken rhythm may
    still change it."""

    pitches: tuple[int, ...]  # () for a rest
    onset: float  # written beat
    dur: float  # beats
    deco: int  # decoration flags (ornaments.py)
    unit: float  # unit note length when it was written (rolls depend on it)
    letter: int  # letter index 0..6, -1 for chords of several notes and rests
    base: int  # MIDI pitch of the C of its octave
    units: float  # written length in unit lengths (a broken rhythm needs equal ones)
    last: float  # duration of its last tied part
    graces: tuple[tuple[int, float], ...]  # grace notes before it (pitch, beats), graces.py


class Carry(NamedTuple):
    """An accidental carried through a tie into the next bar."""

    letter: int
    acc: int


class TuneDefaults(NamedTuple):
    """What the header set: a new voice (V:) starts with it."""

    key: tuple[int, ...]
    key_text: str
    unit: float
    meter: Meter


class VoiceState(NamedTuple):
    """What each voice (V:) keeps for itself: its own time line from the tune start, key,
    unit, accidentals and repeats, as in abc2midi (one MIDI track per voice). The field
    names are the interpreter's attributes without their leading underscore."""

    pos: float
    rep: RepeatMachine
    held: Held | None
    tie: bool
    broken: int
    bacc: tuple[int | None, ...]
    carry: Carry | None
    deco: int
    tup_left: int
    tup_factor: float
    key: tuple[int, ...]
    key_text: str
    unit: float
    meter: Meter
    bar_w: float


#: The interpreter attribute behind each VoiceState field.
VOICE_ATTRS = tuple("_" + f for f in VoiceState._fields)


class Part(NamedTuple):
    """A finished part (P:) of the body, to be played again at the tune end."""

    label: str
    cells: Cells
    length: float  # played beats
