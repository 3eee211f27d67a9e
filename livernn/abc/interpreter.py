"""The streaming ABC interpreter: characters in, note events out, as early as each note is
determined. Pure code: no clock, no I/O, no threads; it never raises on any input.

Spec: https://abcnotation.com/wiki/abc:standard:v2.1 ; reference player: abc2midi 4.84
(tests/test_abc_golden.py compares the two over every tune of the corpora).

Layout of one step: ``feed`` walks the characters; outside a tune body whole lines are
collected and read as header fields (tables.py); inside a body the lexer (lexer.py) turns
characters into tokens (tokens.py), and each token is handed to its handler: the musical
ones in notes.py (the beat position, key, accidentals, held note, bar lines), the fields,
voices, parts and tune ends here; repeats.py plays repeats and ornaments.py ornaments.
Anything unreadable is counted in ``skipped`` (and logged at DEBUG level), and the lexer
starts again at the next character, bar line or line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from livernn.abc import tokens as tk
from livernn.abc.backing import NO_CHORD, BackingWriter
from livernn.abc.directives import DirectiveReader
from livernn.abc.events import Event, TuneChange, TuneEnd, TuneStart
from livernn.abc.lexer import _MAX_TEXT, BodyLexer
from livernn.abc.notes import _NO_BAR_ACC, NoteWriter
from livernn.abc.parts import PartsWriter
from livernn.abc.repeats import RepeatMachine
from livernn.abc.state import (
    VOICE_ATTRS,
    InterpreterOptions,
    TuneDefaults,
    VoiceState,
)
from livernn.abc.tables import (
    NO_ACCIDENTALS,
    Meter,
    parse_key,
    parse_meter,
    parse_tempo,
    parse_unit,
)
from livernn.abc.tunes import TUNE_START

__all__ = ["AbcInterpreter", "InterpreterOptions"]

# Modes
_FREE, _HEADER, _BODY = 0, 1, 2
_MAX_VOICES = 16  # voices kept in one tune (a further V: is ignored)
_HEADER_STARTS = frozenset("XTMLQK")
_BOUNDARY = tk.BOUNDARY  # the commonest tokens (special-cased in feed)


class AbcInterpreter(NoteWriter, BackingWriter, PartsWriter, DirectiveReader):
    """Feed ABC text in any pieces; get NoteEvent / TuneStart / Bar / TuneChange / TuneEnd.

    A note comes out as soon as the next token starts or a bar line, space or line end
    ends it (a tied note waits for the note it is tied to). With repeats expanded, ``:|``
    emits the whole repeated section at once, with later onsets. ``copy()`` is cheap: all
    state is immutable values except the lexer's few fields and the small repeat record,
    which a copy shares until one of them changes it (``_rep_w``).
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
        o = self.options
        self._graces_on = bool(o.graces)
        self._grace_div = float(o.grace_divider)
        self._attack = o.chord_attack / 480.0  # abc2midi ticks -> beats
        self._ratio = (4.0 / 3.0, 2.0 / 3.0) if o.broken_2_1 else (1.5, 0.5)
        self._backing_on = bool(o.backing)
        self._dynamics_on = bool(o.dynamics)
        self._harp = bool(o.harp)
        self._fermatas = bool(o.fermatas)
        self._directives_on = bool(o.directives)
        self.reset()

    # ------------------------------------------------------------------ public API
    def reset(self) -> None:
        """Forget everything: back to before the first tune."""
        self._out: list[Event] = []
        self._skipped = 0
        self._tune = 0
        self._mode = _FREE
        self._line = ""
        self._lex = BodyLexer()
        self._start_header()
        self._mode = _FREE

    @property
    def settled(self) -> float:
        """Beat before which every event has been returned: the onset of a note still held
        open (its length, a tie or a broken rhythm may follow), else ``position``."""
        held = self._held
        if held is None:
            return self.position
        return min(self.position, self._rep.played(held.onset))

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
        new._lex = self._lex.copy()
        new._rep_shared = self._rep_shared = True  # copied by the first to change it
        new._out = []
        return new

    def feed(self, text: str) -> list[Event]:
        """Read ``text`` (any number of characters); return the events it determined."""
        out = self._out = []
        push = self._lex.push  # (one lexer for the interpreter's life: reset, not replaced)
        tokens = self._lex.out
        for c in text:
            if self._mode == _BODY:  # (self._body, inlined: this is the hot loop)
                push(c)
                if tokens:
                    for t in tokens:
                        if t is _BOUNDARY:
                            if self._held is not None:
                                self._finalize()
                        elif type(t) is tuple:  # a tk.Note
                            self._on_note(t)
                        else:
                            _HANDLERS[type(t)](self, t)
                    tokens.clear()
                    if self._bk_code != NO_CHORD:
                        self._bk_follow()
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

    # ------------------------------------------------------------------ body
    def _body(self, c: str) -> None:
        """One character of a tune body (feed does the same, inlined): lex it, then act on
        the tokens it finished, and empty the lexer's list."""
        lex = self._lex
        lex.push(c)
        for t in lex.out:
            if t is _BOUNDARY:  # the commonest token: the held note is determined
                if self._held is not None:
                    self._finalize()
            else:
                _HANDLERS[type(t)](self, t)
        lex.out.clear()

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
        self._rhythm = ""
        self._midi: tuple[str, ...] = ()  # %%MIDI lines of the header (directives.py)
        self._parts_spec = ""
        self._key: tuple[int, ...] = NO_ACCIDENTALS
        self._unit = 0.5
        self._start_body_state()

    def _start_body_state(self) -> None:
        self._lex.reset()
        self._start_notes()
        self._start_backing()
        self._rep.marks = self._backing_on
        self._parts = ()  # finished parts, in order (parts.py)
        self._voice = ""  # current voice (V:); "" before any
        self._voices: tuple[tuple[str, VoiceState], ...] = ()  # the other voices' saved state

    def _switch_voice(self, name: str) -> None:
        """``V:name``: https://abcnotation.com/wiki/abc:standard:v2.1#multiple_voices ; each
        voice keeps its own ``VoiceState``."""
        if name == self._voice:
            return
        if len(self._voices) >= _MAX_VOICES and all(v[0] != name for v in self._voices):
            self._skip(1, "too many voices")
            return
        self._finalize(force=True)
        saved = VoiceState(*[getattr(self, a) for a in VOICE_ATTRS])
        others = tuple(v for v in self._voices if v[0] != name and v[0] != self._voice)
        target = next((v[1] for v in self._voices if v[0] == name), None)
        self._voices = (*others, (self._voice, saved))
        self._voice = name
        if target is None:  # a new voice starts at the tune start with the tune's defaults
            d = self._tune_defaults
            machine = RepeatMachine(self._max_repeat)
            machine.marks = self._backing_on
            machine.part_start(0.0, [])  # abc2midi: a |: at the voice's start, nothing else
            target = VoiceState(
                pos=0.0, rep=machine, held=None, tie=False, broken=0, bacc=_NO_BAR_ACC,
                carry=None, deco=0, tup_left=0, tup_factor=1.0, key=d.key,
                key_text=d.key_text, unit=d.unit, meter=d.meter, bar_w=0.0,
            )  # fmt: skip
        for a, v in zip(VOICE_ATTRS, target, strict=True):
            setattr(self, a, v)
        self._rep_shared = True  # saved machines are shared with copies: never mutate

    def _header_line(self, line: str) -> None:
        """A line outside a tune body: https://abcnotation.com/wiki/abc:standard:v2.1#tune_header"""
        s = line.strip()
        if self._mode == _FREE:
            if len(s) >= 2 and s[1] == ":" and s[0] in _HEADER_STARTS:
                self._start_header()
                if s.startswith(TUNE_START):
                    return
            else:
                return
        # _HEADER
        if not s:
            self._mode = _FREE  # a header without K: is abandoned
            return
        if s[0] == "%":
            if s.startswith("%%MIDI") and len(self._midi) < 64:
                self._midi += (s[6:].strip(),)
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
            elif f == "R":
                self._rhythm = value
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
        if self.options.hornpipe and self._rhythm.startswith(("hornpipe", "Hornpipe")):
            # abc2midi (store.c, R:): a>b at 2:1 in the whole tune, and the swing itself
            # in 2/4 and 4/4 only ("Hornpipe must be in 2/4 or 4/4 time")
            self._tune_ratio = (4.0 / 3.0, 2.0 / 3.0)
            m = self._meter
            self._swing = m.den == 4 and m.num in (2, 4)
        for directive in self._midi:
            self._directive(directive)
        self._tempo = tempo or 120.0
        self._tune_defaults = TuneDefaults(self._key, self._key_text, self._unit, self._meter)
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
        self._finalize(force=True)
        end = self.position
        for _, saved in self._voices:
            end = max(end, saved.rep.played(saved.pos))
        if self._parts_spec and self._part_label:
            end = self._play_parts()
        if self._bk_code != NO_CHORD:
            self._bk_advance(end, False)
            self._bk_code = NO_CHORD
        self._out.append(TuneEnd(tune=self._tune, beat=end))
        self._tune += 1
        self._mode = _FREE
        self._line = ""

    def _on_new_tune(self, t: tk.NewTune) -> None:
        """An ``X:`` line in the body: this tune ends, the next one's header starts."""
        self._end_tune()
        self._start_header()

    def _on_tune_break(self, t: tk.TuneBreak) -> None:
        self._end_tune()

    def _on_field(self, t: tk.Field) -> None:
        """A field inside the body (inline ``[K:..]`` or on its own line)."""
        f, value = t.letter, t.value
        tempo = None
        if f == "K":
            self._key = parse_key(value)
            self._key_text = value
            self._bacc = _NO_BAR_ACC
        elif f == "M":
            self._meter = parse_meter(value)
            self._meter_text = value
            self._bk_meter()
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


_Handler = Callable[[AbcInterpreter, Any], None]
#: What each token does (tokens.py -> handler).
# fmt: off
_HANDLERS: dict[type, _Handler] = {
    tuple: AbcInterpreter._on_note,  # tk.Note
    tk.Rest: AbcInterpreter._on_rest, tk.MultiRest: AbcInterpreter._on_multi_rest,
    tk.ChordStart: AbcInterpreter._on_chord_start, tk.ChordEnd: AbcInterpreter._on_chord_end,
    tk.BarLine: AbcInterpreter._on_bar, tk.Ending: AbcInterpreter._on_ending,
    tk.Field: AbcInterpreter._on_field, tk.NewTune: AbcInterpreter._on_new_tune,
    tk.TuneBreak: AbcInterpreter._on_tune_break, tk.LineEnd: AbcInterpreter._on_decoration_reset,
    tk.Tuplet: AbcInterpreter._on_tuplet, tk.Boundary: AbcInterpreter._on_boundary,
    tk.Broken: AbcInterpreter._on_broken, tk.Tie: AbcInterpreter._on_tie,
    tk.Decoration: AbcInterpreter._on_decoration,
    tk.DecorationReset: AbcInterpreter._on_decoration_reset, tk.Skip: AbcInterpreter._on_skip,
    tk.Grace: AbcInterpreter._on_grace, tk.Text: AbcInterpreter._on_text,
    tk.Dynamic: AbcInterpreter._on_dynamic,
    tk.Directive: lambda it, t: it._directive(t.text),
}
# fmt: on
