"""Tokens of a tune body: what the lexer (lexer.py) hands the interpreter (interpreter.py).

Small immutable values: NamedTuples, read by name, except the commonest, the note, a plain
tuple. Tokens without fields are singletons (``BOUNDARY``, ``CHORD_START`` ...). Spec of
the constructs they stand for: https://abcnotation.com/wiki/abc:standard:v2.1#the_tune_body
"""

from __future__ import annotations

from typing import NamedTuple

#: A note and its length: https://abcnotation.com/wiki/abc:standard:v2.1#pitch ,
#: #accidentals , #note_lengths. ``(letter, base, acc, units, in_chord)``: letter 0..6 =
#: C D E F G A B; base: MIDI pitch of the C of its octave (octave marks applied); acc: written
#: accidental in semitones (=: 0), None when none is written; units: length in unit note
#: lengths (L:); in_chord: inside [...], one note of a chord. The one token that is a plain
#: tuple, not a NamedTuple: it is built for every note, and a plain tuple is built and
#: unpacked in a fraction of the time (its type, ``tuple``, tells it from the others).
Note = tuple[int, int, int | None, float, bool]


class Rest(NamedTuple):
    """``z`` or ``x`` and its length: https://abcnotation.com/wiki/abc:standard:v2.1#rests"""

    units: float


class MultiRest(NamedTuple):
    """``Z`` or ``X``: whole bars of rest (``Z4``)."""

    bars: int


class ChordStart(NamedTuple):
    """``[`` of a chord: https://abcnotation.com/wiki/abc:standard:v2.1#chords_and_unisons"""


class ChordEnd(NamedTuple):
    """``]`` of a chord with at least one note, and the chord's length multiplier."""

    units: float


class BarLine(NamedTuple):
    """A bar line (``|``, ``||``, ``:|``, ``|:``, ``::``, ``[|`` ...) and the ending number
    written right after it (``:|2``; 0: none).
    https://abcnotation.com/wiki/abc:standard:v2.1#repeat_bar_symbols"""

    symbol: str
    ending: int


class Ending(NamedTuple):
    """``[1``, ``[2``: https://abcnotation.com/wiki/abc:standard:v2.1#first_and_second_repeats"""

    number: int


class Field(NamedTuple):
    """A field in the body, inline (``[K:D]``) or on its own line (not ``X:``).
    https://abcnotation.com/wiki/abc:standard:v2.1#use_of_fields_within_the_tune_body"""

    letter: str
    value: str


class NewTune(NamedTuple):
    """An ``X:`` line in the body: the tune ends and a new header starts."""


class TuneBreak(NamedTuple):
    """An empty line: the tune ends.
    https://abcnotation.com/wiki/abc:standard:v2.1#empty_lines_and_line-breaking"""


class LineEnd(NamedTuple):
    """The end of a music line (decorations do not reach past it)."""


class Tuplet(NamedTuple):
    """``(p:q:r``, checked (2 <= p <= 9, 0 <= q <= 9, 1 <= r <= 9; q = 0: from the meter).
    https://abcnotation.com/wiki/abc:standard:v2.1#duplets_triplets_quadruplets_etc"""

    p: int
    q: int
    r: int


class Boundary(NamedTuple):
    """A token that can follow a note starts: the held note is determined (unless tied or
    in a broken rhythm)."""


class Broken(NamedTuple):
    """``>`` (+1) or ``<`` (-1): https://abcnotation.com/wiki/abc:standard:v2.1#broken_rhythm"""

    direction: int


class Tie(NamedTuple):
    """``-``: https://abcnotation.com/wiki/abc:standard:v2.1#ties_and_slurs"""

    in_chord: bool


class Decoration(NamedTuple):
    """Decoration flags (ornaments.py) for the next note: ``.~TH`` add to those written
    before, ``!name!`` replaces them. https://abcnotation.com/wiki/abc:standard:v2.1#decorations"""

    flags: int
    replace: bool


class DecorationReset(NamedTuple):
    """Quoted text, a slur or an unreadable character: decorations before it are dropped
    (as abc2midi does)."""


class Grace(NamedTuple):
    """``{...}``: grace notes (the text between the braces, read by graces.py), played
    before the next note in time taken from it.
    https://abcnotation.com/wiki/abc:standard:v2.1#grace_notes"""

    text: str


class Text(NamedTuple):
    """Quoted text ``"..."`` (a chord name such as ``"Am"`` or ``"G/B"``, or an annotation).
    https://abcnotation.com/wiki/abc:standard:v2.1#chord_symbols"""

    text: str


class Dynamic(NamedTuple):
    """``!p!`` .. ``!fff!``, ``!crescendo(!`` / ``!<(!`` ... : a change of loudness from here.
    https://abcnotation.com/wiki/abc:standard:v2.1#decorations"""

    name: str


class Directive(NamedTuple):
    """A ``%%MIDI ...`` line in the body (directives.py): what follows ``%%MIDI``."""

    text: str


class Skip(NamedTuple):
    """``n`` characters that could not be read, and why."""

    n: int
    why: str


Token = (
    Note | Rest | MultiRest | ChordStart | ChordEnd | BarLine | Ending | Field | NewTune
    | TuneBreak | LineEnd | Tuplet | Boundary | Broken | Tie | Decoration | DecorationReset
    | Grace | Text | Dynamic | Directive | Skip
)  # fmt: skip

BOUNDARY = Boundary()
CHORD_START = ChordStart()
NEW_TUNE = NewTune()
TUNE_BREAK = TuneBreak()
LINE_END = LineEnd()
DECORATION_RESET = DecorationReset()
TIE = Tie(False)
CHORD_TIE = Tie(True)
BROKEN_LONG_SHORT = Broken(1)
BROKEN_SHORT_LONG = Broken(-1)
