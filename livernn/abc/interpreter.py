"""The streaming ABC interpreter: characters in, note events out, as early as each note is
determined. Pure code: no clock, no I/O, no threads; it never raises on any input.

Spec: https://abcnotation.com/wiki/abc:standard:v2.1 ; reference player: abc2midi 4.84
(tests/test_abc_golden.py compares the two over every tune of the corpora).

Layout of one step: ``feed`` walks the characters; outside a tune body whole lines are
collected and read as header fields (tables.py); inside a body the lexer (lexer.py, a mixin)
recognises notes, rests, chords, bar lines, fields, tuplets, decorations and text, and hands
finished tokens to the musical actions here (``_end_note``/``_place``, ``_bar``, ``_field``),
which keep the beat position, key, accidentals, voices and parts; repeats.py plays repeats
and ornaments.py ornaments. Anything unreadable is counted in ``skipped`` (and logged at DEBUG level), and
the lexer starts again at the next character, bar line or line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from livernn.abc import ornaments as orn
from livernn.abc.events import Bar, Event, NoteEvent, TuneChange, TuneEnd, TuneStart
from livernn.abc.lexer import (
    _K_MREST,
    _K_NOTE,
    _K_REST,
    _MAX_TEXT,
    _S_NONE,
    _TUPLET_Q,
    AbcLexer,
)
from livernn.abc.repeats import DOUBLE_REP, MAX_TAPE, PLAY_ON_REP, REP_BAR, RepeatMachine, bar_kinds
from livernn.abc.tables import (
    NATURALS,
    NO_ACCIDENTALS,
    Meter,
    expand_parts,
    parse_key,
    parse_meter,
    parse_tempo,
    parse_unit,
)
from livernn.errors import ConfigError

log = logging.getLogger(__name__)

Cells = tuple[tuple[int, float, float], "Cells"] | None  # newest first


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

    def __post_init__(self) -> None:
        if not 1 <= self.velocity <= 127:
            raise ConfigError(f"velocity must be 1..127, got {self.velocity}")
        if not self.max_note_beats > 0 or not self.max_rest_beats > 0:
            raise ConfigError("max_note_beats and max_rest_beats must be > 0")
        if not self.max_repeat_beats > 0:
            raise ConfigError("max_repeat_beats must be > 0")


# Modes
_FREE, _HEADER, _BODY = 0, 1, 2
_MAX_CHORD = 16  # notes kept in one chord
_MAX_VOICES = 16  # voices kept in one tune (a further V: is ignored)
_MAX_PARTS = 64  # parts kept in one tune
_NO_BAR_ACC: tuple[int | None, ...] = (None,) * 7
_EPS = 1e-9

# A note waiting for a tie or broken rhythm: pitches, onset, duration, decorations,
# unit length, letter index (-1 for chords and rests), octave base (MIDI of C), written
# length in units, duration of its last tied part.
Held = tuple[tuple[int, ...], float, float, int, float, int, int, float, float]


class AbcInterpreter(AbcLexer):
    """Feed ABC text in any pieces; get NoteEvent / TuneStart / Bar / TuneChange / TuneEnd.

    A note comes out as soon as the next token starts or a bar line, space or line end
    ends it (a tied note waits for the note it is tied to). With repeats expanded, ``:|``
    emits the whole repeated section at once, with later onsets. ``copy()`` is cheap: all
    state is immutable values except the small repeat record.
    """

    def __init__(self, options: InterpreterOptions | None = None) -> None:
        self.options = options if options is not None else InterpreterOptions()
        self._max_note = float(self.options.max_note_beats)
        self._accents = bool(self.options.accents)
        self._max_rest = float(self.options.max_rest_beats)
        self._velocity = int(self.options.velocity)
        self._expand = bool(self.options.expand_repeats)
        self._ornaments = bool(self.options.ornaments)
        self._max_repeat = float(self.options.max_repeat_beats)
        self.reset()

    # ------------------------------------------------------------------ public API
    def reset(self) -> None:
        """Forget everything: back to before the first tune."""
        self._out: list[Event] = []
        self._skipped = 0
        self._tune = 0
        self._mode = _FREE
        self._line = ""
        self._start_header()
        self._mode = _FREE

    @property
    def position(self) -> float:
        """Beat (quarter notes from the tune start) the writing cursor has reached."""
        return self._rep.played(self._pos)

    @property
    def settled(self) -> float:
        """Beat before which every event has been returned: the onset of a note still held
        open (its length, a tie or a broken rhythm may follow), else ``position``."""
        held = self._held
        if held is None:
            return self.position
        return min(self.position, self._rep.played(held[1]))

    @property
    def tune(self) -> int:
        """Index of the current tune (0-based; the next one between tunes)."""
        return self._tune

    @property
    def skipped(self) -> int:
        """Characters ignored as invalid so far."""
        return self._skipped

    @property
    def in_tune(self) -> bool:
        """True inside a tune body (after its K: field, before its end)."""
        return self._mode == _BODY

    def copy(self) -> AbcInterpreter:
        """An independent snapshot (cheap: O(1) in the length of the tune)."""
        new = object.__new__(AbcInterpreter)
        new.__dict__.update(self.__dict__)
        new._rep = self._rep.copy()
        new._out = []
        return new

    def feed(self, text: str) -> list[Event]:
        """Read ``text`` (any number of characters); return the events it determined."""
        out = self._out = []
        for c in text:
            if self._mode == _BODY:
                self._body(c)
            elif c == "\n":
                line, self._line = self._line, ""
                self._header_line(line)
            elif len(self._line) < _MAX_TEXT:
                self._line += c
        return out

    def flush(self) -> list[Event]:
        """End of input: finish the pending token and end the current tune."""
        out = self._out = []
        if self._mode != _BODY and self._line:
            line, self._line = self._line, ""
            self._header_line(line)
        if self._mode == _BODY:
            self._body("\n")
            if self._mode == _BODY:  # (a blank line may have ended it already)
                self._end_tune()
        elif self._mode == _HEADER:
            self._mode = _FREE
        return out

    # ------------------------------------------------------------------ header
    def _start_header(self) -> None:
        self._mode = _HEADER
        self._title = ""
        self._key_text = "C"
        self._meter_text = "4/4"
        self._meter: Meter = parse_meter("none")
        self._meter_given = False
        self._unit_given: float | None = None
        self._tempo_text = ""
        self._parts_spec = ""
        self._key: tuple[int, ...] = NO_ACCIDENTALS
        self._unit = 0.5
        self._start_body_state()

    def _start_body_state(self) -> None:
        self._pos = 0.0
        self._st = _S_NONE
        self._bol = True
        self._line_blank = True
        self._buf = ""
        self._bacc = _NO_BAR_ACC
        self._carry: tuple[int, int] | None = None  # (letter, accidental) through a tie
        self._nkind = _K_NOTE
        self._nacc: int | None = None
        self._nletter = 0
        self._nbase = 60
        self._noct = 0
        self._nnum = -1
        self._nslash = 0
        self._nden = -1
        self._nphase = 0
        self._inchord = False
        self._chord: tuple[int, ...] = ()
        self._chord_units = 1.0
        self._chord_note: tuple[int, int] = (-1, 60)
        self._held: Held | None = None
        self._tie = False
        self._broken = 0
        self._deco = 0
        self._tup_left = 0
        self._tup_factor = 1.0
        self._bar_w = 0.0  # written beat of the last bar line (for accents)
        self._rep = RepeatMachine(self._max_repeat)
        self._tempo = 120.0  # the tune's Q: (trills depend on it, as in abc2midi)
        self._parts: tuple[tuple[str, Cells, float], ...] = ()  # finished parts, in order
        self._part_label = ""  # the part being written ("" before any P: in the body)
        self._part_origin = 0.0
        self._part_cells: Cells = None
        self._part_count = 0
        self._voice = ""  # current voice (V:); "" before any
        self._voices: tuple[tuple[str, tuple], ...] = ()  # the other voices' saved state

    # Per-voice state: each voice (V:) has its own time line from the tune start, its own
    # key, unit, accidentals and repeats, as in abc2midi (one MIDI track per voice).
    _VOICE_FIELDS = (
        "_pos", "_rep", "_held", "_tie", "_broken", "_bacc", "_carry", "_deco",
        "_tup_left", "_tup_factor", "_key", "_key_text", "_unit", "_meter", "_bar_w",
    )  # fmt: skip

    def _switch_voice(self, name: str) -> None:
        if name == self._voice:
            return
        if len(self._voices) >= _MAX_VOICES and all(v[0] != name for v in self._voices):
            self._skip(1, "too many voices")
            return
        self._finalize(force=True)
        saved = tuple(getattr(self, f) for f in self._VOICE_FIELDS)
        others = tuple(v for v in self._voices if v[0] != name and v[0] != self._voice)
        target = next((v[1] for v in self._voices if v[0] == name), None)
        self._voices = (*others, (self._voice, saved))
        self._voice = name
        if target is None:  # a new voice starts at the tune start with the tune's defaults
            key, key_text, unit, meter = self._tune_defaults
            machine = RepeatMachine(self._max_repeat)
            machine.part_start(0.0, [])  # abc2midi: a |: at the voice's start, nothing else
            target = (0.0, machine, None, False, 0, _NO_BAR_ACC, None, 0, 0, 1.0,
                      key, key_text, unit, meter, 0.0)  # fmt: skip
        for f, v in zip(self._VOICE_FIELDS, target, strict=True):
            setattr(self, f, v)
        self._rep = self._rep.copy()  # saved machines are shared with copies: never mutate

    def _header_line(self, line: str) -> None:
        s = line.strip()
        if self._mode == _FREE:
            if len(s) >= 2 and s[1] == ":" and s[0] in "XTMLQK":
                self._start_header()
                if s[0] == "X":
                    return
            else:
                return
        # _HEADER
        if not s:
            self._mode = _FREE  # a header without K: is abandoned
            return
        if s[0] == "%":
            return
        if len(s) >= 2 and s[1] == ":" and s[0].isalpha():
            f, value = s[0], s[2:].split("%")[0].strip()
            if f == "X":
                self._start_header()
            elif f == "T":
                if not self._title:
                    self._title = value
            elif f == "M":
                self._meter_text = value
                self._meter = parse_meter(value)
                self._meter_given = True
            elif f == "L":
                self._unit_given = parse_unit(value)
            elif f == "Q":
                self._tempo_text = value
            elif f == "P":
                self._parts_spec = value
            elif f == "K":
                self._key_text = value
                self._key = parse_key(value)
                self._begin_body()
            return
        # not a field: abc2midi ignores such lines in a header
        self._skip(len(line), "text in a tune header")

    def _begin_body(self) -> None:
        if not self._meter_given:
            self._meter = parse_meter("4/4")
        self._unit = self._unit_given if self._unit_given else self._meter.default_unit
        tempo = parse_tempo(self._tempo_text, self._unit) if self._tempo_text else None
        self._start_body_state()
        self._tempo = tempo or 120.0
        self._tune_defaults = (self._key, self._key_text, self._unit, self._meter)
        self._mode = _BODY
        self._out.append(
            TuneStart(
                tune=self._tune,
                title=self._title,
                key=self._key_text,
                meter=self._meter_text if self._meter_given else "",
                unit=self._unit,
                tempo=tempo,
                bar_beats=self._meter.bar_beats,
            )
        )

    def _end_tune(self) -> None:
        self._st = _S_NONE
        self._finalize(force=True)
        end = self.position
        for _, saved in self._voices:
            end = max(end, saved[1].played(saved[0]))
        if self._parts_spec and self._part_label:
            end = self._play_parts()
        self._out.append(TuneEnd(tune=self._tune, beat=end))
        self._tune += 1
        self._mode = _FREE
        self._line = ""

    def _skip(self, n: int, why: str) -> None:
        self._skipped += n
        if log.isEnabledFor(logging.DEBUG):
            log.debug("tune %d beat %.3f: skipped %d char(s): %s", self._tune, self._pos, n, why)

    # ------------------------------------------------------------------ musical actions
    def _ending(self, number: int) -> None:
        """``[1``, ``[2`` ...: an ending starts (``|1`` and ``:|2`` come through ``_bar``)."""
        self._finalize(force=True)
        if self._expand:
            buf: list[tuple[int, float, float]] = []
            self._rep.bar(PLAY_ON_REP, self._pos, number, buf)
            self._play(buf)

    def _units(self) -> float:
        num = self._nnum if self._nnum >= 0 else 1
        if self._nslash == 0:
            return float(num)
        den = self._nden if self._nden > 0 else (1 << min(self._nslash, 10))
        return num / den

    def _end_note(self) -> None:
        kind = self._nkind
        units = self._units()
        if kind == _K_NOTE:
            letter = self._nletter
            acc = self._nacc
            self._nacc = None
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
                        carry[1] if carry is not None and carry[0] == letter else self._key[letter]
                    )
            base = self._nbase + 12 * self._noct
            pitch = base + NATURALS[letter] + off
            if self._inchord:
                if not self._chord:
                    self._chord_units = units
                    self._chord_note = (letter, base)
                if len(self._chord) < _MAX_CHORD:
                    self._chord += (pitch,)
                else:
                    self._skip(1, "too many notes in a chord")
                return
            self._place((pitch,), units, letter, base)
        elif kind == _K_REST:
            self._place((), units, -1, 0)
        elif kind == _K_MREST:
            bars = self._nnum if self._nnum > 0 else 1
            beats = bars * (self._meter.bar_beats or 4.0)
            self._place((), beats / self._unit, -1, 0)
        else:  # chord with its length multiplier
            pitches = self._chord
            self._chord = ()
            letter, base = self._chord_note if len(pitches) == 1 else (-1, 0)
            self._place(pitches, self._chord_units * units, letter, base)

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
        if deco & orn.FERMATA and pitches and self._ornaments:
            dur *= 2.0
        held = self._held
        # abc2midi applies a > or < only between notes of the same written length, and not
        # to staccato or fermata notes
        if (
            self._broken
            and held is not None
            and abs(held[7] - units) < _EPS
            and not ((held[3] ^ deco) & orn.STACCATO or (held[3] | deco) & orn.FERMATA)
        ):
            k = min(abs(self._broken), 3)
            short = 0.5**k
            long_ = 2.0 - short
            f_prev, f_this = (long_, short) if self._broken > 0 else (short, long_)
            hdur = held[2] + held[8] * (f_prev - 1.0)  # a tied note: only its last part
            held = (*held[:2], hdur, *held[3:])
            self._held = held
            self._pos = round(held[1] + hdur, 9)
            dur *= f_this
        self._broken = 0
        cap = self._max_note if pitches else self._max_rest
        if dur > cap:
            dur = cap
        onset = self._pos
        if self._tie and held is not None and pitches and pitches == held[0]:
            total = min(held[2] + dur, self._max_note)
            self._held = (
                pitches,
                held[1],
                total,
                held[3] | deco,
                held[4],
                held[5],
                held[6],
                units,
                dur,
            )
            self._pos = round(held[1] + total, 9)
            self._tie = False
            return
        if held is not None:
            self._tie = False
            self._emit_held(held)
        self._held = (pitches, onset, dur, deco, self._unit, letter, base, units, dur)
        self._pos = round(onset + dur, 9)

    def _finalize(self, force: bool = False) -> None:
        """The held note can no longer change (unless it is tied and not forced)."""
        held = self._held
        if held is None or ((self._tie or self._broken) and not force):
            return
        self._held = None
        self._tie = False
        self._broken = 0
        self._emit_held(held)

    def _emit_held(self, held: Held) -> None:
        pitches, onset, dur, deco, unit, letter, base, _, _ = held
        if not pitches:
            return
        emit = self._emit
        if deco and self._ornaments:
            if deco & (orn.TRILL | orn.ROLL) and letter >= 0:
                up_l = (letter + 1) % 7
                up = base + (12 if letter == 6 else 0) + NATURALS[up_l] + self._key[up_l]
                if deco & orn.TRILL:
                    notes = orn.trill(pitches[0], up, onset, dur, orn.trill_step(self._tempo))
                else:
                    lo_l = (letter + 6) % 7
                    lo = base - (12 if letter == 0 else 0) + NATURALS[lo_l] + self._key[lo_l]
                    notes = orn.roll(pitches[0], up, lo, onset, dur, unit)
                for p, on, d in notes:
                    emit(p, on, d)
                return
            if deco & orn.STACCATO:
                dur *= 0.5
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
        if self._accents:  # abc2midi's beat stress: first note of the bar, strong beats
            off = round(onset - self._bar_w, 6)
            if off == 0.0:
                vel += 25
            elif off > 0.0 and off % self._meter.accent < 1e-6:
                vel += 15
            if vel > 127:
                vel = 127
        pv = pitch | vel << 7  # pitch and velocity in one int on the repeat tape
        if self._expand:
            buf: list[tuple[int, float, float]] = []
            self._rep.note(pv, onset, dur, buf)
            self._play(buf)
        else:
            self._play([(pv, onset, dur)])

    def _play(self, notes: list[tuple[int, float, float]]) -> None:
        """Notes heard now: (pitch | velocity << 7, onset in played beats, duration)."""
        out = self._out
        tune = self._tune
        for pv, on, d in notes:
            out.append(NoteEvent(pv & 127, on, d, pv >> 7, tune))
            if self._part_label:
                self._part_record(pv, on, d)

    def _bar(self, sym: str, ending: int) -> None:
        """A bar line ``sym`` (``|``, ``||``, ``|]``, ``[|``, ``:|``, ``|:``, ``::`` ...)."""
        if "|" not in sym and not sym.startswith("::"):
            self._skip(len(sym), f"not a bar line: {sym!r}")
            return
        kind = bar_kinds(sym)
        self._finalize(force=kind in (REP_BAR, DOUBLE_REP) or ending > 0)
        if self._tie and self._held is not None and self._held[5] >= 0:
            letter = self._held[5]
            acc = self._bacc[letter]
            self._carry = (letter, acc) if acc is not None else None
        self._bacc = _NO_BAR_ACC
        self._broken = 0
        self._deco = 0
        self._bar_w = self._pos
        if self._expand:
            buf: list[tuple[int, float, float]] = []
            self._rep.bar(kind, self._pos, 0, buf)
            if ending:
                self._rep.bar(PLAY_ON_REP, self._pos, ending, buf)
            self._play(buf)
        self._out.append(Bar(self._tune, self.position))

    def _tuplet(self, text: str) -> None:
        parts = text.split(":")
        try:
            p = int(parts[0])
            q = int(parts[1]) if len(parts) > 1 and parts[1] else 0
            r = int(parts[2]) if len(parts) > 2 and parts[2] else p
        except ValueError:
            p = 0
            q = r = 0
        if not 2 <= p <= 9 or not 0 <= q <= 9 or not 1 <= r <= 9:
            self._skip(len(text) + 1, "bad tuplet")
            return
        if q == 0:
            q = _TUPLET_Q.get(p, 3 if self._meter.compound else 2)
        self._tup_factor = q / p
        self._tup_left = r

    def _field(self, f: str, value: str) -> None:
        """A field inside the body (inline ``[K:..]`` or on its own line)."""
        tempo = None
        if f == "K":
            self._key = parse_key(value)
            self._key_text = value
            self._bacc = _NO_BAR_ACC
        elif f == "M":
            self._meter = parse_meter(value)
            self._meter_text = value
        elif f == "L":
            unit = parse_unit(value)
            if unit is None:
                self._skip(len(value) + 2, "bad L: field")
                return
            self._unit = unit
        elif f == "Q":
            tempo = parse_tempo(value, self._unit)
            if tempo is None:
                self._skip(len(value) + 2, "bad Q: field")
                return
            self._tempo = tempo
        elif f == "P":
            self._start_part(value[:1])
            return
        elif f == "V":
            self._switch_voice(value.split()[0] if value.split() else "")
            return
        else:
            return  # T: P: W: w: N: ... have no effect on the notes
        self._out.append(TuneChange(self._tune, self.position, f, value, tempo))

    # ------------------------------------------------------------------ parts (P:)
    def _part_record(self, pitch: int, onset: float, dur: float) -> None:
        if self._part_count < MAX_TAPE:
            self._part_cells = ((pitch, onset - self._part_origin, dur), self._part_cells)
            self._part_count += 1

    def _close_part(self) -> None:
        if self._part_label and len(self._parts) < _MAX_PARTS:
            length = self.position - self._part_origin
            self._parts += ((self._part_label, self._part_cells, length),)

    def _start_part(self, label: str) -> None:
        """``P:X`` in the body: part X starts here (the header's ``P:`` gives the order)."""
        self._finalize(force=True)
        self._close_part()
        self._part_label = label if label.isalpha() else ""
        if self._parts_spec and self._expand:
            buf: list[tuple[int, float, float]] = []
            self._rep.part_start(self._pos, buf)
            self._play(buf)
        self._part_origin = self.position
        self._part_cells = None
        self._part_count = 0

    def _play_parts(self) -> float:
        """At the tune end, play the parts the header's order asks for after those written
        (``P:ABA``: part A again, a da capo), as abc2midi does."""
        self._close_part()
        self._part_label = ""
        written = [label for label, _, _ in self._parts]
        order = expand_parts(self._parts_spec)
        end = self.position
        if len(order) <= len(written) or order[: len(written)] != written:
            return end
        stored = {label: (cells, length) for label, cells, length in self._parts}
        for label in order[len(written) :]:
            if label not in stored:
                continue
            cells, length = stored[label]
            notes = []
            while cells is not None:
                notes.append(cells[0])
                cells = cells[1]
            for p, on, d in reversed(notes):
                self._out.append(NoteEvent(p & 127, on + end, d, p >> 7, self._tune))
            end = round(end + length, 9)
        return end
