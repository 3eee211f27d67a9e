"""The tokenizer of a tune body: characters in, tokens (tokens.py) out, one character at a
time. A small state machine of its own recognises notes, rests, chords, bar lines, inline
fields, field lines, tuplets, decorations, quoted text, grace notes and comments; it knows
nothing of keys, time or the notes it has read (that is the interpreter's). No regular
expressions: one dispatch on the current state per character; it never raises.

This module reads inside a token (a note's length, a bar line, quoted text, a field ...);
between.py decides what a character between tokens starts.

Spec: https://abcnotation.com/wiki/abc:standard:v2.1#the_tune_body
"""

from __future__ import annotations

from livernn.abc import tokens as tk
from livernn.abc.between import (
    _ACC_CHARS,
    _BANG_DECOS,
    _DECO_CHARS,
    _DIGITS,
    _INLINE_FIELDS,
    _K_NOTE,
    _MAX_TEXT,
    _NOTE_BASE,
    _QUIET_DECOS,
    _S_ACC,
    _S_BANG,
    _S_BAR,
    _S_BOL,
    _S_BRACKET,
    _S_COMMENT,
    _S_FIELD0,
    _S_FIELDLINE,
    _S_GRACE,
    _S_INFIELD,
    _S_NONE,
    _S_NOTE,
    _S_QUOTE,
    _S_TUPLET,
    TokenStarts,
)  # fmt: skip
from livernn.abc.feel import DYNAMICS

__all__ = ["_MAX_TEXT", "BodyLexer"]

_new = tuple.__new__  # tokens built without the Python-level __new__ of NamedTuple
_BarLine = tk.BarLine


class BodyLexer(TokenStarts):
    """Tokens of a tune body. ``push(c)`` reads one character and appends the tokens it
    finished to ``out`` (the reader empties it); ``copy()`` is a cheap snapshot. The
    in-token states are here, what happens between tokens in ``TokenStarts`` (between.py)."""

    __slots__ = ()

    def copy(self) -> BodyLexer:
        """A snapshot with its own (empty) ``out``."""
        new = object.__new__(BodyLexer)
        new.out = []
        new._st, new._bol, new._line_blank = self._st, self._bol, self._line_blank
        new._buf, new._inchord, new._chord_notes = self._buf, self._inchord, self._chord_notes
        new._nkind, new._nacc, new._nnote = self._nkind, self._nacc, self._nnote
        new._noct, new._nnum, new._nslash, new._nden = (
            self._noct,
            self._nnum,
            self._nslash,
            self._nden,
        )
        return new

    def push(self, c: str) -> None:
        """Read one character."""
        if c == "\n":
            self._newline(self._st)
            return
        if self._line_blank and c not in " \t\r":
            self._line_blank = False
        st = self._st
        if st == _S_NOTE:  # octave marks and the length after a note letter, rest or chord
            if c in _DIGITS:
                if self._nslash == 0:  # before any '/': the numerator
                    n = (self._nnum if self._nnum > 0 else 0) * 10 + ord(c) - 48
                    self._nnum = n if n < 9999 else 9999
                else:
                    n = (self._nden if self._nden > 0 else 0) * 10 + ord(c) - 48
                    self._nden = n if n < 9999 else 9999
            elif c == "/":
                self._nslash += 1
            elif c == "'" and self._nkind == _K_NOTE and self._nslash == 0 and self._nnum < 0:
                self._noct += 1
            elif c == "," and self._nkind == _K_NOTE and self._nslash == 0 and self._nnum < 0:
                self._noct -= 1
            else:
                self._st = _S_NONE
                self._end_note()
                self._none(c)
        elif st == _S_NONE:
            if self._bol:
                self._bol = False
                if c.isalpha() and c.isascii():
                    self._st = _S_BOL
                    self._buf = c
                    return
            self._none(c)
        else:
            _STATES[st](self, c)

    # ------------------------------------------------------------------ states

    def _acc_state(self, c: str) -> None:
        if c in _ACC_CHARS:
            if c == "=":
                self._nacc = 0
            elif self._nacc is not None and -3 < self._nacc + _ACC_CHARS[c] < 3:
                self._nacc += _ACC_CHARS[c]
            else:
                self._skip(1, "too many accidentals")
        elif c in _NOTE_BASE:  # (the accidental said BOUNDARY already)
            self._nnote = _NOTE_BASE[c]
            self._noct = 0
            self._start_length(_K_NOTE)
        else:
            self._skip(1, "accidental without a note")
            self._nacc = None
            self._st = _S_NONE
            self._none(c)

    def _bar_state(self, c: str) -> None:
        if c in "|:]":
            if self._buf[-1] == "]" and c != "]":  # '[|]:|' is '[|]' then ':|'
                self.out.append(_new(_BarLine, (self._buf, 0)))
                self._buf = c
            elif len(self._buf) < 8:
                self._buf += c
            else:
                self._skip(1, "bar line too long")
        elif c in _DIGITS:
            self._st = _S_NONE
            self.out.append(_new(_BarLine, (self._buf, ord(c) - 48)))
        else:
            self._st = _S_NONE
            self.out.append(_new(_BarLine, (self._buf, 0)))
            self._none(c)

    def _quote_state(self, c: str) -> None:
        if c == '"':
            self._st = _S_NONE
            self.out.append(tk.Text(self._buf))
        elif len(self._buf) < _MAX_TEXT:
            self._buf += c
        else:
            self._st = _S_NONE
            self._skip(len(self._buf) + 1, "unterminated quoted text")

    def _bang_state(self, c: str) -> None:
        if c == "!":
            self._st = _S_NONE
            # abc2midi: it replaces the decorations before it
            self.out.append(tk.Decoration(_BANG_DECOS.get(self._buf, 0), True))
            if self._buf in DYNAMICS:
                self.out.append(tk.Dynamic(self._buf))
        elif c in " \t|" or len(self._buf) >= 40:
            # a lone '!' is the line-break marker: read what followed it as music
            self._st = _S_NONE
            for r in self._buf:
                self.push(r)
            self.push(c)
        else:
            self._buf += c

    def _grace_state(self, c: str) -> None:
        if c == "}":
            self._st = _S_NONE
            self.out.append(tk.Grace(self._buf))  # (the interpreter may ignore it: -NGRA)
        elif len(self._buf) < _MAX_TEXT:
            self._buf += c
        else:
            self._st = _S_NONE
            self._skip(len(self._buf) + 1, "unterminated grace notes")

    def _bracket_state(self, c: str) -> None:
        self._st = _S_NONE
        if c in _DIGITS:
            self.out.append(tk.Ending(ord(c) - 48))
        elif c == "|":
            self._st = _S_BAR
            self._buf = "[|"
        elif c in _INLINE_FIELDS:
            self._st = _S_FIELD0
            self._buf = c
        elif c in _NOTE_BASE or c in _ACC_CHARS or c in _DECO_CHARS or c in _QUIET_DECOS:
            self._begin_chord()
            self._none(c)
        else:
            self._skip(1, "'[' without a chord")
            self._none(c)

    def _field0_state(self, c: str) -> None:
        if c == ":":
            self._st = _S_INFIELD
            self._buf += c
        else:
            self._st = _S_NONE
            self._begin_chord()
            self._none(self._buf)
            self._none(c)

    def _infield_state(self, c: str) -> None:
        if c == "]":
            self._st = _S_NONE
            self.out.append(tk.Field(self._buf[0], self._buf[2:].strip()))
        elif len(self._buf) < _MAX_TEXT:
            self._buf += c
        else:
            self._st = _S_NONE
            self._skip(len(self._buf) + 2, "unterminated inline field")

    def _paren_state(self, c: str) -> None:
        if c in _DIGITS:
            self._st = _S_TUPLET
            self._buf = c
        else:
            self._st = _S_NONE  # a slur: no effect on the notes
            self._none(c)

    def _tuplet_state(self, c: str) -> None:
        if (c in _DIGITS or c == ":") and len(self._buf) < 8:
            self._buf += c
        else:
            self._st = _S_NONE
            self._tuplet(self._buf)
            self._none(c)

    def _comment_state(self, c: str) -> None:
        if len(self._buf) < 80:
            self._buf += c

    def _bol_state(self, c: str) -> None:
        letter = self._buf
        if c == ":":
            self._st = _S_FIELDLINE
            self._buf = letter + ":"
        else:
            self._st = _S_NONE
            self._none(letter)
            self.push(c)

    def _fieldline_state(self, c: str) -> None:
        if len(self._buf) < _MAX_TEXT:
            self._buf += c

    # ------------------------------------------------------------------ line ends
    def _newline(self, st: int) -> None:
        if st != _S_NONE:
            self._st = _S_NONE
            if _finish_at_newline(self, st):
                return
        if self._inchord and self._line_blank:
            self._skip(1, "unterminated chord")
            self._inchord = False
        if self._line_blank:
            self.out.append(tk.TUNE_BREAK)
            return
        # the held note waits: abc2midi reads 'A\n>B' as a broken rhythm
        self.out.append(tk.LINE_END)  # decorations do not reach past the end of a line
        self._bol = True
        self._line_blank = True


def _finish_at_newline(lx: BodyLexer, st: int) -> bool:
    """A line ends inside a token: finish or drop it. True when the newline is dealt with."""
    if st == _S_NOTE:
        lx._end_note()
    elif st == _S_BAR:
        lx.out.append(tk.BarLine(lx._buf, 0))
    elif st == _S_FIELDLINE:
        f, value = lx._buf[0], lx._buf[2:].split("%")[0].strip()
        if f == "X":
            lx.out.append(tk.NEW_TUNE)
            return True
        lx.out.append(tk.Field(f, value))
    elif st == _S_BOL:
        lx._none(lx._buf)
        lx.push("\n")
        return True
    elif st == _S_TUPLET:
        lx._tuplet(lx._buf)
    elif st == _S_QUOTE:
        lx._skip(len(lx._buf) + 1, "unterminated quoted text")
    elif st == _S_GRACE:
        lx._skip(len(lx._buf) + 1, "unterminated grace notes")
    elif st == _S_INFIELD:
        lx._skip(len(lx._buf) + 1, "unterminated inline field")
    elif st == _S_FIELD0:
        lx._skip(len(lx._buf) + 1, "unterminated '['")
    elif st == _S_BRACKET:
        lx._begin_chord()  # '[' at a line end: a chord written over two lines
    elif st == _S_ACC:
        lx._skip(1, "accidental without a note")
        lx._nacc = None
    elif st == _S_BANG:
        for r in lx._buf:
            lx.push(r)
        lx.push("\n")
        return True
    elif st == _S_COMMENT and lx._buf.startswith("%MIDI"):
        lx.out.append(tk.Directive(lx._buf[5:].strip()))
    # _S_PAREN: nothing to finish
    return False


# fmt: off
_STATES = (  # indexed by state (_S_NONE and _S_NOTE are read in push)
    None, None, BodyLexer._acc_state, BodyLexer._bar_state,
    BodyLexer._bracket_state, BodyLexer._field0_state, BodyLexer._infield_state,
    BodyLexer._quote_state, BodyLexer._bang_state, BodyLexer._grace_state,
    BodyLexer._paren_state, BodyLexer._tuplet_state, BodyLexer._comment_state,
    BodyLexer._bol_state, BodyLexer._fieldline_state,
)

# fmt: on
