"""The musical state of a tune body and what the body's tokens do to it: the beat position,
key and bar accidentals, the held note (ties, broken rhythms), chords, tuplets, decorations,
accents, and the notes handed to the repeat machine (repeats.py) and ornaments (ornaments.py).

``NoteWriter`` is the base of ``AbcInterpreter`` (interpreter.py): it owns the state that
``_start_notes`` sets, and the interpreter owns the header, voices, parts and streaming.
Spec: https://abcnotation.com/wiki/abc:standard:v2.1#the_tune_body
"""

from __future__ import annotations

import logging

from livernn.abc import ornaments as orn
from livernn.abc import tokens as tk
from livernn.abc.events import Bar, Event, NoteEvent
from livernn.abc.feel import FeelWriter, beat_spacing
from livernn.abc.repeats import DOUBLE_REP, MAX_TAPE, PLAY_ON_REP, REP_BAR, RepeatMachine, bar_kinds
from livernn.abc.state import Carry, Cells, Held
from livernn.abc.tables import NATURALS, Meter

log = logging.getLogger("livernn.abc.interpreter")

_MAX_CHORD = 16  # notes kept in one chord
_NO_BAR_ACC: tuple[int | None, ...] = (None,) * 7
_TUPLET_Q = {2: 3, 3: 2, 4: 3, 6: 2, 8: 3}  # q of (p when the tune does not say
_EPS = 1e-9
_new = tuple.__new__


class NoteWriter(FeelWriter):
    """Notes, rests, chords and bar lines of one voice of a tune body."""

    # set by AbcInterpreter
    _out: list[Event]
    _tune: int
    _skipped: int
    _max_note: float
    _max_rest: float
    _max_repeat: float
    _velocity: int
    _accents: bool
    _expand: bool
    _ornaments: bool
    _graces_on: bool
    _harp: bool
    _fermatas: bool
    _grace_div: float
    _attack: float
    _ratio: tuple[float, float]
    _key: tuple[int, ...]
    _unit: float
    _meter: Meter

    def _start_notes(self) -> None:
        """The state of a tune body before its first note."""
        self._pos = 0.0  # written beat of the cursor
        self._bacc = _NO_BAR_ACC  # accidentals written in this bar, per letter
        self._carry: Carry | None = None  # an accidental carried through a tie
        self._chord: tuple[int, ...] = ()  # pitches of the open chord
        self._chord_units = 1.0
        self._chord_note: tuple[int, int] = (-1, 60)  # (letter, base) of its first note
        self._held: Held | None = None
        self._tie = False
        self._broken = 0
        self._deco = 0
        self._tup_left = 0
        self._tup_factor = 1.0
        self._bar_w = 0.0  # written beat of the last bar line (for accents)
        self._rep = RepeatMachine(self._max_repeat)
        self._rep_shared = False  # True: a copy() may share _rep (change it via _rep_w)
        self._tempo = 120.0  # the tune's Q: (trills depend on it, as in abc2midi)
        self._part_label = ""  # the part being written ("" before any P: in the body)
        self._part_origin = 0.0
        self._part_cells: Cells = None
        self._part_count = 0
        self._graces: tuple[tuple[int, float], ...] = ()  # grace notes waiting for a host
        self._dyn: tuple[int, int, int, int] | None = None  # after !p!..!fff!, %%MIDI beat
        self._swing = False  # R:hornpipe (set by the interpreter when the body starts)
        self._hp_last = -1.0  # written length of the last note, for the hornpipe swing
        self._hp_wait = False  # the held note may swing with the next: it waits for it
        self._tune_ratio = self._ratio  # a>b: (first, second) factors (%%MIDI ratio)

    def _rep_w(self) -> RepeatMachine:
        """The repeat machine, to change it: first copied when a copy() may share it."""
        if self._rep_shared:
            self._rep = self._rep.copy()
            self._rep_shared = False
        return self._rep

    @property
    def position(self) -> float:
        """Beat (quarter notes from the tune start) the writing cursor has reached."""
        return self._rep.played(self._pos)

    def _skip(self, n: int, why: str) -> None:
        self._skipped += n
        if log.isEnabledFor(logging.DEBUG):
            log.debug("tune %d beat %.3f: skipped %d char(s): %s", self._tune, self._pos, n, why)

    # ------------------------------------------------------------------ token handlers
    def _on_note(self, t: tk.Note) -> None:
        """https://abcnotation.com/wiki/abc:standard:v2.1#accidentals : an accidental holds
        to the end of the bar; a tie carries it into the next."""
        letter, base, acc, units, in_chord = t
        if acc is not None:
            if self._bacc[letter] != acc:
                b = list(self._bacc)
                b[letter] = acc
                self._bacc = tuple(b)
            off = acc
        else:
            off = self._bacc[letter]
            if off is None:
                carry = self._carry
                off = (
                    carry.acc if carry is not None and carry.letter == letter else self._key[letter]
                )
        pitch = base + NATURALS[letter] + off
        if in_chord:
            if not self._chord:
                self._chord_units = units
                self._chord_note = (letter, base)
            if len(self._chord) < _MAX_CHORD:
                self._chord += (pitch,)
            else:
                self._skip(1, "too many notes in a chord")
            return
        if self._swing:
            self._hornpipe(units)
        self._place((pitch,), units, letter, base)

    def _on_rest(self, t: tk.Rest) -> None:
        self._place((), t.units, -1, 0)
        self._hp_last = -1.0
        self._hp_wait = False

    def _on_multi_rest(self, t: tk.MultiRest) -> None:
        beats = t.bars * (self._meter.bar_beats or 4.0)
        self._place((), beats / self._unit, -1, 0)
        self._hp_last = -1.0
        self._hp_wait = False

    def _on_chord_start(self, t: tk.ChordStart) -> None:
        self._finalize()
        self._chord = ()

    def _on_chord_end(self, t: tk.ChordEnd) -> None:
        """The chord's length multiplies that of its first note."""
        pitches = self._chord
        self._chord = ()
        letter, base = self._chord_note if len(pitches) == 1 else (-1, 0)
        self._place(pitches, self._chord_units * t.units, letter, base)
        self._hp_last = -1.0
        self._hp_wait = False

    def _on_boundary(self, t: tk.Boundary) -> None:
        self._finalize()

    def _on_broken(self, t: tk.Broken) -> None:
        self._deco = 0  # abc2midi drops decorations written before a '>'
        if self._held is not None:
            self._broken += t.direction
        else:
            self._skip(1, "broken rhythm without a note")

    def _on_tie(self, t: tk.Tie) -> None:
        if t.in_chord or (self._held is not None and self._held.pitches):
            self._tie = True
        else:
            self._skip(1, "tie without a note")

    def _on_decoration(self, t: tk.Decoration) -> None:
        self._deco = t.flags if t.replace else self._deco | t.flags

    def _on_decoration_reset(self, t: tk.DecorationReset | tk.LineEnd) -> None:
        self._deco = 0

    def _on_skip(self, t: tk.Skip) -> None:
        self._skip(t.n, t.why)

    def _on_ending(self, t: tk.Ending) -> None:
        """``[1``, ``[2`` ...: an ending starts (``|1`` and ``:|2`` come with a bar line)."""
        self._finalize(force=True)
        if self._expand:
            buf: list[tuple[int, float, float]] = []
            self._rep_w().bar(PLAY_ON_REP, self._pos, t.number, buf)
            self._play(buf)

    def _on_tuplet(self, t: tk.Tuplet) -> None:
        q = t.q or _TUPLET_Q.get(t.p, 3 if self._meter.compound else 2)
        self._tup_factor = q / t.p
        self._tup_left = t.r

    # ------------------------------------------------------------------ notes
    def _place(self, pitches: tuple[int, ...], units: float, letter: int, base: int) -> None:
        """A note, chord or rest of ``units`` unit lengths starts at the cursor."""
        self._carry = None
        if units <= 0:
            self._skip(1, "zero length")
            self._deco = 0
            return
        dur = units * self._unit
        if self._tup_left > 0:
            dur *= self._tup_factor
            self._tup_left -= 1
        deco = self._deco
        self._deco = 0
        if deco & orn.FERMATA and pitches and self._ornaments and self._fermatas:
            dur *= 2.0
        held = self._held
        # https://abcnotation.com/wiki/abc:standard:v2.1#broken_rhythm ; abc2midi applies a
        # > or < only between notes of the same written length, not to staccato or fermatas
        if (
            self._broken
            and held is not None
            and abs(held.units - units) < _EPS
            and not ((held.deco ^ deco) & orn.STACCATO or (held.deco | deco) & orn.FERMATA)
        ):
            k = min(abs(self._broken), 3)
            if k == 1:
                long_, short = self._tune_ratio
            else:
                short = 0.5**k
                long_ = 2.0 - short
            f_prev, f_this = (long_, short) if self._broken > 0 else (short, long_)
            hdur = held.dur + held.last * (f_prev - 1.0)  # a tied note: only its last part
            held = Held(held.pitches, held.onset, hdur, *held[3:])
            self._held = held
            self._pos = round(held.onset + hdur, 9)
            dur *= f_this
        self._broken = 0
        cap = self._max_note if pitches else self._max_rest
        if dur > cap:
            dur = cap
        onset = self._pos
        if self._tie and held is not None and pitches and pitches == held.pitches:
            if held.graces:  # the host's own length is final: its graces are played now
                held = self._play_graces(held)
            total = min(held.dur + dur, self._max_note)
            self._held = Held(
                pitches, held.onset, total, held.deco | deco, held.unit, held.letter, held.base,
                units, dur, (),
            )  # fmt: skip
            self._pos = round(held.onset + total, 9)
            self._tie = False
            return
        if held is not None:
            self._tie = False
            self._emit_held(held)
        # Held(...) without the Python-level __new__ of NamedTuple: this runs for every note
        graces = self._graces
        if graces:
            self._graces = ()
        self._held = _new(
            Held, (pitches, onset, dur, deco, self._unit, letter, base, units, dur, graces)
        )
        self._pos = round(onset + dur, 9)

    def _finalize(self, force: bool = False) -> None:
        """The held note can no longer change (unless it is tied and not forced)."""
        held = self._held
        if held is None or ((self._tie or self._broken or self._hp_wait) and not force):
            return
        self._hp_wait = False
        self._held = None
        self._tie = False
        self._broken = 0
        self._emit_held(held)

    def _emit_held(self, held: Held) -> None:
        if held.graces:
            held = self._host_graces(held)
        pitches = held.pitches
        if not pitches:
            return
        onset, dur, deco = held.onset, held.dur, held.deco  # (by name: cheaper than unpacking)
        emit = self._emit
        if deco and self._ornaments:
            letter, base = held.letter, held.base
            if deco & (orn.TRILL | orn.ROLL) and letter >= 0:
                up_l = (letter + 1) % 7
                up = base + (12 if letter == 6 else 0) + NATURALS[up_l] + self._key[up_l]
                if deco & orn.TRILL:
                    notes = orn.trill(pitches[0], up, onset, dur, orn.trill_step(self._tempo))
                elif self._harp:
                    notes = orn.harp_roll(pitches[0], onset, dur, held.unit)
                else:
                    lo_l = (letter + 6) % 7
                    lo = base - (12 if letter == 0 else 0) + NATURALS[lo_l] + self._key[lo_l]
                    notes = orn.roll(pitches[0], up, lo, onset, dur, held.unit)
                for p, on, d in notes:
                    emit(p, on, d)
                return
            if deco & orn.STACCATO:
                dur *= 0.5
        if self._attack and len(pitches) > 1:  # abc2midi's chordattack: a stagger
            a = self._attack
            for i, p in enumerate(pitches):
                if dur > i * a:
                    emit(p, onset + i * a, dur - i * a)
            return
        for p in pitches:
            emit(p, onset, dur)

    def _emit(self, pitch: int, onset: float, dur: float) -> None:
        if pitch < 0:
            pitch = 0
        elif pitch > 127:
            pitch = 127
        if dur > self._max_note:
            dur = self._max_note
        if dur <= 0:
            return
        vel = self._velocity
        if self._dyn is not None:  # after a dynamic or %%MIDI beat: abc2midi's beat a b c n
            loud, med, vel, n = self._dyn
            if self._accents:
                off = round(onset - self._bar_w, 6)
                m = self._meter
                beat = beat_spacing(m, n)
                if off == 0.0:
                    vel = loud
                elif off > 0.0 and off % beat < 1e-6:
                    vel = med
            if vel < 1:
                vel = 1
        elif self._accents:  # abc2midi's beat stress: first note of the bar, strong beats
            off = round(onset - self._bar_w, 6)
            if off == 0.0:
                vel += 25
            elif off > 0.0 and off % self._meter.accent < 1e-6:
                vel += 15
            if vel > 127:
                vel = 127
        pv = pitch | vel << 7  # pitch and velocity in one int on the repeat tape
        if self._expand:
            rep = self._rep if not self._rep_shared else self._rep_w()
            played = rep.note(pv, onset, dur)
            if played is not None:
                self._play_one(pv, played, dur)
        else:
            self._play_one(pv, onset, dur)

    def _play(self, notes: list[tuple[int, float, float]]) -> None:
        """Notes heard now: (pitch | velocity << 7, onset in played beats, duration)."""
        out = self._out
        tune = self._tune
        for pv, on, d in notes:
            if pv < 0:  # a bar line or chord name played back: the backing follows
                if self._bk_voice in (None, self._voice):
                    self._bk_marker(pv, on)
                continue
            out.append(NoteEvent(pv & 127, on, d, pv >> 7, tune))
            if self._part_label and self._part_count < MAX_TAPE:  # recorded for P: replays
                self._part_cells = ((pv, on - self._part_origin, d), self._part_cells)
                self._part_count += 1

    def _play_one(self, pv: int, on: float, d: float) -> None:
        """One note heard now (``_play`` for one note, without a list: once per note)."""
        self._out.append(NoteEvent(pv & 127, on, d, pv >> 7, self._tune))
        if self._part_label and self._part_count < MAX_TAPE:  # recorded for P: replays
            self._part_cells = ((pv, on - self._part_origin, d), self._part_cells)
            self._part_count += 1

    def _on_bar(self, t: tk.BarLine) -> None:
        """A bar line (``|``, ``||``, ``|]``, ``[|``, ``:|``, ``|:``, ``::`` ...)."""
        sym, ending = t.symbol, t.ending
        if "|" not in sym and not sym.startswith("::"):
            self._skip(len(sym), f"not a bar line: {sym!r}")
            return
        kind = bar_kinds(sym)
        self._hp_wait = False  # a note after a bar line never swings
        self._finalize(force=kind in (REP_BAR, DOUBLE_REP) or ending > 0)
        if self._tie and self._held is not None and self._held.letter >= 0:
            letter = self._held.letter
            acc = self._bacc[letter]
            self._carry = Carry(letter, acc) if acc is not None else None
        self._bacc = _NO_BAR_ACC
        self._broken = 0
        self._deco = 0
        self._bar_w = self._pos
        if self._graces and sym in ("|", "||"):
            self._graces = ()  # abc2midi drops graces with a bar line before their host
        if (
            self._backing_on
            and self._bk_voice in (None, self._voice)
            and not (self._expand and self._rep.skipping)
        ):
            self._bk_bar_line(self.position, sym == "|")
        if self._expand:
            buf: list[tuple[int, float, float]] = []
            rep = self._rep_w()
            rep.bar(kind, self._pos, 0, buf)
            if ending:
                rep.bar(PLAY_ON_REP, self._pos, ending, buf)
            self._play(buf)
        self._out.append(Bar(self._tune, self.position))
