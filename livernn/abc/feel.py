"""Session feel in the notes of a tune body (issue 13; docs/DESIGN.md, "ABC interpreter:
session feel"): grace notes (graces.py), abc2midi's R:hornpipe swing, dynamics (``!p!`` ..
``!fff!``, crescendo and diminuendo; ``!>!`` and ``!accent!`` sound as in abc2midi: not at
all), and the chord names handed to the backing (backing.py). A mixin of ``NoteWriter``
(notes.py). Pure code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from livernn.abc import ornaments as orn
from livernn.abc import tokens as tk
from livernn.abc.backing import NO_CHORD, chord_code
from livernn.abc.graces import parse_graces, split_host
from livernn.abc.state import Held
from livernn.abc.tables import NATURALS, Meter

if TYPE_CHECKING:
    from livernn.abc.repeats import RepeatMachine

_EPS = 1e-9

#: abc2midi's dynamics (store.c event_handle_instruction): each sets ``%%MIDI beat`` to the
#: velocities of the first note of a bar, of a note on a beat of the meter, of the others.
DYNAMICS: dict[str, tuple[int, int, int]] = {
    "ppp": (30, 20, 10), "pp": (45, 35, 20), "p": (60, 50, 35), "mp": (75, 65, 50),
    "mf": (90, 80, 65), "f": (105, 95, 80), "ff": (120, 110, 95), "fff": (127, 125, 110),
    "crescendo(": (15, 15, 15), "<(": (15, 15, 15), "crescendo)": (15, 15, 15),
    "<)": (15, 15, 15), "diminuendo(": (-15, -15, -15), ">(": (-15, -15, -15),
    "diminuendo)": (-15, -15, -15), ">)": (-15, -15, -15),
}  # fmt: skip
_RAMPS = frozenset(n for n in DYNAMICS if n[-1] in "()")


def beat_spacing(m: Meter, n: int) -> float:
    """Beats between strong beats for ``%%MIDI beat ... n`` (n < 0: the meter's default
    stress, 0: the bar, else n beats of the meter)."""
    if n < 0:
        return m.accent
    return n * 4.0 / (m.den or 4) if n else (m.bar_beats or 4.0)


class FeelWriter:
    """Graces, hornpipe swing and chord names of one voice of a tune body."""

    # set by AbcInterpreter / NoteWriter / BackingWriter
    _unit: float
    _meter: Meter
    _key: tuple[int, ...]
    _bacc: tuple[int | None, ...]
    _pos: float
    _bar_w: float
    _tup_left: int
    _broken: int
    _held: Held | None
    _graces: tuple[tuple[int, float], ...]
    _graces_on: bool
    _grace_div: float
    _hp_last: float
    _hp_wait: bool
    _ornaments: bool
    _expand: bool
    _backing_on: bool
    _bk_code: int
    _bk_voice: str | None
    _voice: str
    _velocity: int
    _dynamics_on: bool
    _dyn: tuple[int, int, int, int] | None

    if TYPE_CHECKING:  # (NoteWriter's and BackingWriter's)

        def _finalize(self, force: bool = False) -> None: ...
        def _emit(self, pitch: int, onset: float, dur: float) -> None: ...
        def _rep_w(self) -> RepeatMachine: ...
        def _bk_chord(self, code: int, t: float) -> None: ...

    def _hornpipe(self, units: float) -> None:
        """abc2midi's ``hornp`` (store.c): in an R:hornpipe tune in 4/4 (2/4), an eighth
        (a sixteenth) written ``1/n`` of the unit, after one of the same length and starting
        on an odd eighth (sixteenth) of the bar, is played as if ``>`` came before it."""
        length = units * self._unit / 4.0  # whole notes, as written
        last, self._hp_last = self._hp_last, length
        self._hp_wait = False
        if self._tup_left > 0:
            self._hp_last = -1.0  # a tuplet note's length never has numerator 1
            return
        per = 8 if self._meter.num == 4 else 16
        inv = 1.0 / units
        if abs(length * per - 1.0) > _EPS or abs(inv - round(inv)) > 1e-6:
            return
        at = (self._pos - self._bar_w) / 4.0 * per
        n = round(at)
        if abs(at - n) > 1e-6:
            return
        if n % 2 == 0:
            self._hp_wait = True  # the next note may swing with this one: hold it
        elif abs(last - length) < _EPS and self._held is not None:
            self._broken = 1

    def _on_grace(self, t: tk.Grace) -> None:
        """``{...}``: the group waits for its host (graces.py); its accidentals hold to the
        end of the bar."""
        if not self._graces_on:
            return
        self._hp_last = -1.0
        self._hp_wait = False
        self._finalize()
        graces = list(self._graces)
        for letter, base, acc, units, counts in parse_graces(t.text):
            if acc is not None:
                if self._bacc[letter] != acc:
                    b = list(self._bacc)
                    b[letter] = acc
                    self._bacc = tuple(b)
                off = acc
            else:
                off = self._bacc[letter]
                if off is None:
                    off = self._key[letter]
            beats = units * self._unit / self._grace_div if counts else 0.0
            if len(graces) < 32:
                graces.append((base + NATURALS[letter] + off, beats))
        self._graces = tuple(graces)

    def _on_dynamic(self, t: tk.Dynamic) -> None:
        """``!p!`` .. ``!fff!``: the velocities of the bar's first note, of notes on a beat
        of the meter, and of the others, from here (abc2midi's ``%%MIDI beat a b c 1``);
        ``!crescendo(!``, ``!crescendo)!`` (and ``!<(!``, ``!<)!``) add 15 to each, the
        diminuendo marks take 15 away (``beatmod``), as abc2midi plays them."""
        if not self._dynamics_on:
            return
        a, b, c = DYNAMICS[t.name]
        n = 1  # strong: every beat of the meter
        if t.name in _RAMPS:
            v = self._velocity
            la, lb, lc, n = self._dyn or (v + 25, v + 15, v, -1)
            a, b, c = (max(0, min(127, x)) for x in (la + a, lb + b, lc + c))
        self._dyn = (a, b, c, n)

    def _on_text(self, t: tk.Text) -> None:
        """Quoted text: a chord name is played by the backing (backing.py) from the cursor;
        other text does nothing. Only one voice's chord names are played (the first's)."""
        if not self._backing_on:
            return
        named = chord_code(t.text)
        if named is None:
            return
        code, known = named
        if not known and self._bk_code == NO_CHORD:
            return  # abc2midi plays no backing in a tune without a chord name it knows
        if self._bk_voice is None:
            self._bk_voice = self._voice
        elif self._bk_voice != self._voice:
            return
        self._finalize()
        if self._expand:
            played = self._rep_w().chord(code, self._pos)
            if played is not None:
                self._bk_chord(code, played)
        else:
            self._bk_chord(code, self._pos)

    def _play_graces(self, held: Held) -> Held:
        """Play the host's grace notes (graces.py); the host, later and shorter."""
        notes, onset, dur = split_host(held.graces, held.onset, held.dur)
        for p, on, d in notes:
            self._emit(p, on, d)
        return Held(held.pitches, onset, dur, *held[3:9], ())

    def _host_graces(self, held: Held) -> Held:
        """Play a held note's graces as it is emitted; the host, later and shorter."""
        if held.deco & orn.STACCATO and self._ornaments and held.pitches:
            # abc2midi shortens a staccato note before its graces take their time from it:
            # they come out of the half that sounds
            notes, onset, half = split_host(held.graces, held.onset, held.dur / 2.0)
            for p, on, d in notes:
                self._emit(p, on, d)
            return Held(held.pitches, onset, 2.0 * half, *held[3:9], ())
        return self._play_graces(held)
