"""Chord backing: quoted chord names (``"Am"``, ``"G/B"``, ``"D7"``) played as a bass and
chord accompaniment, as abc2midi 4.84 plays them by default (``-NGUI`` turns it off; see
docs/DESIGN.md, "ABC interpreter: session feel"). Pure code.

abc2midi (store.c ``event_handle_gchord``, ``setup_chordnames``, ``setbeat``; genmidi.c
``configure_gchord``, ``dogchords``): a chord name is a root ``A``..``G`` with up to two
``#``/``b``, a type read up to a space, ``(``, ``/`` or ``)`` (an unknown type plays major),
and an optional ``/X`` bass note. A lower-case root plays the bass alone. Text starting with
``^ _ < > @`` is an annotation, and a digit a fingering. Each meter has a pattern
(``fzczfzcz`` in 4/4: bass, rest, chord, rest ... in eighths): it starts again at every bar
line, and each slot (bar length / pattern length) plays the chord that sounds at its start,
for the whole slot: ``f`` the bass (root, or the ``/X`` note) at MIDI 36 + pitch class,
``c`` the chord at 48 + its notes (an inversion lifts the notes below the bass note by an
octave), ``b`` both. Nothing sounds before the tune's first chord name; the chord lasts
until the next one. Bass and chords have their own roles (events.BASS, events.CHORD), with
abc2midi's velocities (80 and 75).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from livernn.abc.events import BASS, CHORD, NoteEvent
from livernn.abc.tables import NATURALS, Meter

if TYPE_CHECKING:
    from livernn.abc.repeats import RepeatMachine
    from livernn.abc.state import Held

__all__ = ["PATTERNS", "chord_code", "chord_pitches", "parse_pattern", "pattern_for"]

#: A pattern: (action, start, length) in slots, and the beats of one slot.
Pattern = tuple[tuple[tuple[str, float, float], ...], float]

#: abc2midi's named chords (store.c setup_chordnames), in its order.
CHORD_TYPES: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("", (0, 4, 7)), ("m", (0, 3, 7)), ("7", (0, 4, 7, 10)), ("m7", (0, 3, 7, 10)),
    ("m7b5", (0, 3, 6, 10)), ("maj7", (0, 4, 7, 11)), ("M7", (0, 4, 7, 11)),
    ("6", (0, 4, 7, 9)), ("m6", (0, 3, 7, 9)), ("aug", (0, 4, 8)), ("+", (0, 4, 8)),
    ("aug7", (0, 4, 8, 10)), ("dim", (0, 3, 6)), ("dim7", (0, 3, 6, 9)),
    ("9", (0, 4, 7, 10, 14)), ("m9", (0, 3, 7, 10, 14)), ("maj9", (0, 4, 7, 11, 14)),
    ("M9", (0, 4, 7, 11, 14)), ("11", (0, 4, 7, 10, 14, 17)), ("dim9", (0, 3, 6, 9, 13)),
    ("sus", (0, 5, 7)), ("sus4", (0, 4, 7)), ("sus9", (0, 2, 7)), ("sus2", (0, 2, 7)),
    ("7sus2", (0, 2, 7, 10)), ("7sus4", (0, 5, 7, 10)), ("7sus9", (0, 2, 7, 10)),
    ("5", (0, 7)),
)  # fmt: skip
_TYPE_INDEX = {name: i for i, (name, _) in enumerate(CHORD_TYPES)}

#: abc2midi's default pattern per meter (store.c setbeat); other meters have none.
PATTERNS: dict[tuple[int, int], str] = {
    (2, 2): "fzczfzcz", (4, 4): "fzczfzcz", (2, 4): "fzcz", (6, 4): "fzczfzczfzcz",
    (3, 8): "fzczcz", (5, 8): "fzbcz", (5, 4): "fzbcz", (7, 8): "fzbczcz", (7, 4): "fzbczcz",
    (3, 4): "fzczcz", (6, 8): "fzcfzc", (9, 8): "fzcfzcfzc", (12, 8): "fzcfzcfzcfzc",
}  # fmt: skip

BASS_BASE, CHORD_BASE = 36, 48  # abc2midi's fun.base and gchord.base
BASS_VELOCITY, CHORD_VELOCITY = 80, 75  # fun.vel and gchord.vel
NO_CHORD = -1  # no chord name yet: the pattern is silent
_BASS_ONLY = len(CHORD_TYPES)  # a lower-case root: bass only


def _pitch_class(text: str, i: int) -> tuple[int, int]:
    """Pitch class of the letter at ``text[i]`` and its ``#``/``b`` (up to two), and the
    index after them."""
    pc = NATURALS["CDEFGAB".index(text[i].upper())]
    i += 1
    for _ in range(2):
        if i < len(text) and text[i] == "#":
            pc += 1
            i += 1
        elif i < len(text) and text[i] == "b":
            pc -= 1
            i += 1
    return pc % 12, i


def chord_code(text: str) -> tuple[int, bool] | None:
    """The chord a quoted text names, as one int (root + 12 * (bass + 1) + 156 * type),
    and whether abc2midi knows its type; None when the text is not a chord name (an
    annotation, a fingering, other text)."""
    i = 1 if text.startswith("(") else 0
    if i >= len(text) or text[i] not in "ABCDEFGabcdefg":
        return None
    lower = text[i].islower()
    root, i = _pitch_class(text, i)
    j = i
    while j < len(text) and j - i < 9 and text[j] not in " (/)":
        j += 1
    kind = _TYPE_INDEX.get(text[i:j], -1)
    known = kind >= 0
    if not known:
        kind = 0  # abc2midi: an unknown type plays major
    if lower:
        kind = _BASS_ONLY
    bass = -1
    if j < len(text) and text[j] == "/" and j + 1 < len(text) and text[j + 1] in "ABCDEFGabcdefg":
        bass, _ = _pitch_class(text, j + 1)
    return root + 12 * (bass + 1) + 156 * kind, known


def chord_pitches(code: int) -> tuple[int, tuple[int, ...]]:
    """(bass pitch, chord pitches) of a chord code (genmidi.c configure_gchord)."""
    root, rest = code % 12, code // 12
    bass, kind = rest % 13 - 1, rest // 13
    low = BASS_BASE + (root if bass < 0 else bass)
    if kind >= _BASS_ONLY:
        return low, ()
    intervals = CHORD_TYPES[kind][1]
    first = 0
    if bass >= 0:
        for j, iv in enumerate(intervals):
            if (root + iv) % 12 == bass % 12:
                first = j
    notes = tuple(
        CHORD_BASE + root + iv + (12 if j < first else 0) for j, iv in enumerate(intervals)
    )
    return low, notes


def parse_pattern(text: str, bar_beats: float) -> Pattern | None:
    """A ``%%MIDI gchord`` string (``fzczfzcz``, ``f2c2``): its slots, which share the bar
    (genmidi.c set_gchords); None when unreadable. ``g``..``k``, ``G``..``K`` (single chord
    notes) play as rests here."""
    slots: list[tuple[str, float, float]] = []
    at, i = 0.0, 0
    while i < len(text) and len(slots) < 39 and text[i] in "zcfbghijkGHIJKx":
        action = text[i] if text[i] in "zcfb" else "z"
        i += 1
        n = ""
        while i < len(text) and text[i].isdigit() and len(n) < 3:
            n += text[i]
            i += 1
        length = float(int(n)) if n else 1.0
        slots.append((action, at, length))
        at += length
    if at <= 0 or bar_beats <= 0:
        return None
    return tuple(slots), bar_beats / at


def pattern_for(meter: Meter) -> Pattern:
    """The default pattern of a meter; no slots when abc2midi has none for it."""
    found = parse_pattern(PATTERNS.get((meter.num, meter.den), ""), meter.bar_beats)
    return found if found is not None else ((), 0.0)


def slot_notes(
    action: str, code: int, onset: float, beats: float, tune: int, vel: tuple[int, int]
) -> list[NoteEvent]:
    """The notes of one pattern slot (genmidi.c dogchords) for chord ``code``, with the
    (bass, chord) velocities ``vel``."""
    if code == NO_CHORD or action == "z":
        return []
    bass, chord = chord_pitches(code)
    if action == "c" and not chord:
        action = "f"  # abc2midi: a bass-only chord plays its bass on chord slots
    out: list[NoteEvent] = []
    if action in "fb" and vel[0] > 0:
        out.append(NoteEvent(bass, onset, beats, vel[0], tune, BASS))
    if action in "bc" and vel[1] > 0:
        out.extend(NoteEvent(p, onset, beats, vel[1], tune, CHORD) for p in chord)
    return out


#: Markers among the notes the repeat machine plays back (their "pitch" is negative): a bar
#: line ``|``, another bar line (``||``, ``:|`` ...), and a chord name (``CHORD_MARK - code``).
SINGLE_MARK = -1
BAR_MARK = -2
CHORD_MARK = -3


class BackingWriter:
    """The accompaniment of one tune, in played beats (after repeats): a mixin of
    ``AbcInterpreter``. Its state is immutable values, so ``copy()`` shares it."""

    # set by AbcInterpreter / NoteWriter
    _out: list
    _tune: int
    _meter: Meter
    _voice: str
    _backing_on: bool
    _held: Held | None
    _rep: RepeatMachine
    position: float

    def _start_backing(self) -> None:
        """The state at a tune body's start."""
        self._bk_code = NO_CHORD  # the sounding chord; NO_CHORD before the first name
        self._bk_voice: str | None = None  # the voice whose chord names are played
        self._bk_bar = 0.0  # played beat where the pattern last started (a bar line)
        self._bk_k = 0  # next slot of the pattern
        self._bk_bars = 0  # bars with notes counted (abc2midi's barno)
        self._bk_pat, self._bk_slot = pattern_for(self._meter)
        self._bk_sound = True  # %%MIDI gchordoff silences the slots (the pattern goes on)
        self._bk_vel = (BASS_VELOCITY, CHORD_VELOCITY)  # %%MIDI bassvol, chordvol

    def _bk_advance(self, t: float, inclusive: bool) -> None:
        """Play the slots that start before ``t`` (or at ``t``)."""
        pat, slot = self._bk_pat, self._bk_slot
        k, n = self._bk_k, len(self._bk_pat)
        limit = t + 1e-9 if inclusive else t - 1e-9
        while k < n:
            action, start, length = pat[k]
            at = round(self._bk_bar + start * slot, 9)
            if at > limit:
                break
            if self._bk_code != NO_CHORD and self._bk_sound:
                notes = slot_notes(
                    action, self._bk_code, at, length * slot, self._tune, self._bk_vel
                )
                self._out.extend(notes)
            k += 1
        self._bk_k = k

    def _bk_follow(self) -> None:
        """Play the backing's slots that start before ``settled``."""
        if self._bk_voice != self._voice:
            return
        # exclusive: a slot on the held note's onset comes with that note, so the engine
        # gets the melody and the backing of one beat together (a bass note sent alone
        # would hold generation back by the engine's guard just before the melody note)
        held = self._held
        t = self._rep.played(held.onset) if held is not None else self.position
        self._bk_advance(t, False)

    def _bk_bar_line(self, t: float, single: bool) -> None:
        """A bar line at played beat ``t``: the pattern starts again (genmidi.c
        ``checkbar``). Only ``|`` always does; ``||``, ``|]``, ``|:``, ``:|``, ``::`` do when
        the bar is full, or before the first bar with notes (``softcheckbar``)."""
        length = t - self._bk_bar
        if not single and self._bk_bars > 0 and length < self._meter.bar_beats - 1e-9:
            return
        if self._bk_code != NO_CHORD:
            self._bk_advance(t, False)
        if length > 1e-9:
            self._bk_bars += 1
        self._bk_bar = t
        self._bk_k = 0

    def _bk_chord(self, code: int, t: float) -> None:
        """A chord name at played beat ``t``: the slots from ``t`` play it."""
        self._bk_advance(t, False)  # (before the first chord: silent slots)
        self._bk_code = code

    def _bk_meter(self) -> None:
        self._bk_pat, self._bk_slot = pattern_for(self._meter)

    def _bk_marker(self, mark: int, t: float) -> None:
        """A bar line or a chord name played back by the repeat machine."""
        if mark >= BAR_MARK:
            self._bk_bar_line(t, mark == SINGLE_MARK)
        else:
            self._bk_chord(CHORD_MARK - mark, t)
