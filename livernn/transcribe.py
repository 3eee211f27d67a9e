"""Notes a performer plays, written as ABC (issue 17, call and response): pure code, no
clock, threads or I/O (see docs/DESIGN.md); the MIDI input hands it note-ons and note-offs
with their beats on livernn's beat line.

One line of melody: a note that starts while another sounds ends the first (the highest of
a chord wins). Onsets are quantised to the tune's unit length (``L:``), and lengths too, at
least one unit (a key released up to 0.6 of a unit early keeps its length); the silence
between notes becomes rests. Pitches are spelled in the key
(https://abcnotation.com/wiki/abc:standard:v2.1#accidentals): a letter the key alters gets
``=`` when played plain, and an accidental is written again whenever the bar so far (at
this octave or any other) would read the note otherwise; sharps in sharp keys, flats in
flat keys. Bar lines come at the meter (from the grid's origin, a bar line of the voice); a
note across one is split and tied. A note's text is written when it ends.
"""

from __future__ import annotations

import math
from fractions import Fraction

from livernn.abc.tables import parse_key, parse_meter, parse_unit

LETTERS = "CDEFGAB"
_NATURAL = (0, 2, 4, 5, 7, 9, 11)  # semitones of C D E F G A B above C
EPS = 1e-9
RELEASE = 0.6  # a note released this much of a unit early keeps its length


def spell(pitch: int, key: tuple[int, ...], flats: bool) -> tuple[int, int]:
    """(letter index C..B, accidental in semitones) for a MIDI pitch: the key's own letter
    when the pitch is in the key, else a plain letter, else one raised in sharp keys and
    lowered in flat ones."""
    pc = pitch % 12
    for i in range(7):
        if (_NATURAL[i] + key[i]) % 12 == pc:
            return i, key[i]
    for i in range(7):
        if _NATURAL[i] == pc:
            return i, 0
    for i in range(7):
        if (_NATURAL[i] + (-1 if flats else 1)) % 12 == pc:
            return i, -1 if flats else 1
    raise AssertionError(pitch)  # unreachable: every pitch class is covered above


def octave_marks(letter: int, acc: int, pitch: int) -> str:
    """The letter with its octave marks (``C`` is middle C, 60; ``c`` 72; ``C,`` 48)."""
    octave = (pitch - _NATURAL[letter] - acc) // 12 - 5  # 0: the octave of middle C
    name = LETTERS[letter]
    if octave >= 1:
        return name.lower() + "'" * (octave - 1)
    return name + "," * (-octave)


class Transcriber:
    """Performer's notes -> ABC text, for one voice, in its current key, meter and unit."""

    def __init__(self, key: str = "C", meter: str = "4/4", unit: str = "", origin: float = 0.0):
        self.key = parse_key(key)
        self.flats = sum(self.key) < 0
        m = parse_meter(meter)
        self.bar = m.bar_beats or 4.0
        self.unit = (parse_unit(unit) if unit else None) or m.default_unit  # beats
        self.origin = origin  # a bar line (global beat)
        self.pos = origin  # where the text written so far ends (global beat, on the grid)
        self.sounding: tuple[int, float] | None = None  # (pitch, onset beat on the grid)
        self.bar_acc: dict[int, int] = {}  # letter+octave -> accidental written in this bar

    # -- the grid -------------------------------------------------------------------------

    def quantise(self, beat: float) -> float:
        return self.origin + round((beat - self.origin) / self.unit) * self.unit

    def _next_bar(self, beat: float) -> float:
        n = math.floor((beat - self.origin) / self.bar + EPS) + 1
        return self.origin + n * self.bar

    # -- input ----------------------------------------------------------------------------

    def note_on(self, beat: float, pitch: int) -> str:
        """A key goes down; the text of what it ended (a note it cuts short)."""
        out = ""
        if self.sounding is not None:
            if pitch < self.sounding[0] and abs(self.quantise(beat) - self.sounding[1]) < EPS:
                return ""  # a lower note of a chord: the highest wins
            out = self._end(beat)
        self.sounding = (pitch, max(self.quantise(beat), self.pos))
        return out

    def note_off(self, beat: float, pitch: int) -> str:
        """A key comes up: the note's text (nothing for a key that no longer sounds)."""
        if self.sounding is None or self.sounding[0] != pitch:
            return ""
        return self._end(beat)

    def flush(self, beat: float) -> str:
        """Up to ``beat``: a note still held ends, the silence after it is written as rests."""
        out = self._end(beat) if self.sounding is not None else ""
        return out + self._rest_to(self.quantise(beat))

    # -- writing --------------------------------------------------------------------------

    def _end(self, beat: float) -> str:
        pitch, onset = self.sounding  # type: ignore[misc]
        self.sounding = None
        # a key comes up early, as players articulate: up to 0.6 of a unit short still counts
        units = max(1, math.floor((beat - onset) / self.unit + RELEASE))
        end = onset + units * self.unit
        return self._rest_to(onset) + self._write(pitch, onset, end)

    def _rest_to(self, beat: float) -> str:
        if beat <= self.pos + EPS:
            return ""
        return self._write(None, self.pos, beat)

    def _write(self, pitch: int | None, start: float, end: float) -> str:
        """A note (None: a rest) from ``start`` to ``end``, split and tied at bar lines."""
        out = []
        t = start
        while t < end - EPS:
            cut = min(end, self._next_bar(t))
            units = Fraction(round((cut - t) / self.unit * 48), 48)  # a bar may end off the grid
            more = cut < end - EPS
            out.append(self._element(pitch, units, tie=more and pitch is not None))
            t = cut
            bars = (t - self.origin) / self.bar
            if abs(bars - round(bars)) < EPS:  # a bar line
                out.append("|")
                self.bar_acc.clear()
                if round(bars) % 4 == 0:
                    out.append("\n")  # four bars a line
        self.pos = end
        return "".join(out)

    def _element(self, pitch: int | None, units: Fraction, tie: bool) -> str:
        n, d = units.numerator, units.denominator
        length = "" if units == 1 else str(n) if d == 1 else f"{n if n > 1 else ''}/{d}"
        if pitch is None:
            return "z" + length
        letter, acc = spell(pitch, self.key, self.flats)
        name = octave_marks(letter, acc, pitch)
        # what the note would mean unmarked: by the accidental written in this bar at this
        # octave (ABC 2.1) or at any octave (some players); marked unless both agree
        same = self.bar_acc.get(name, self.key[letter])
        other = {a for n, a in self.bar_acc.items() if n[0].upper() == LETTERS[letter]}
        sign = ""
        if acc != same or any(a != acc for a in other):
            sign = {-2: "__", -1: "_", 0: "=", 1: "^", 2: "^^"}[acc]
        self.bar_acc[name] = acc
        return sign + name + length + ("-" if tie else "")
