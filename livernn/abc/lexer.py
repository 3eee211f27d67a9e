"""The tokenizer of a tune body: characters in, tokens (tokens.py) out, one character at a
time. A small state machine of its own recognises notes, rests, chords, bar lines, inline
fields, field lines, tuplets, decorations, quoted text, grace notes and comments; it knows
nothing of keys, time or the notes it has read (that is the interpreter's). No regular
expressions: one dispatch on the current state per character; it never raises.

Spec: https://abcnotation.com/wiki/abc:standard:v2.1#the_tune_body
"""

from __future__ import annotations

from livernn.abc import ornaments as orn
from livernn.abc import tokens as tk

# States (between tokens, or inside one)
_S_NONE = 0  # between tokens
_S_NOTE = 1  # note letter / rest / chord ']' seen: octave marks and length follow
_S_ACC = 2  # accidental(s) seen, the note letter follows
_S_BAR = 3  # bar line characters | : ] (and an ending number)
_S_BRACKET = 4  # '[' seen: chord, inline field, ending or '[|'
_S_FIELD0 = 5  # '[X' seen: ':' makes it an inline field
_S_INFIELD = 6  # inside '[X:...]'
_S_QUOTE = 7  # inside "..."
_S_BANG = 8  # inside !decoration! (or a lone '!' line-break marker)
_S_GRACE = 9  # inside {...}
_S_PAREN = 10  # '(' seen: tuplet or slur
_S_TUPLET = 11  # (p:q:r
_S_COMMENT = 12  # % to the end of the line
_S_BOL = 13  # a letter at the start of a line: ':' makes it a field line
_S_FIELDLINE = 14  # a field line inside the body, up to the newline

# Kinds of the token being read in _S_NOTE
_K_NOTE, _K_REST, _K_MREST, _K_CHORD = 0, 1, 2, 3

# https://abcnotation.com/wiki/abc:standard:v2.1#pitch
_NOTE_BASE = {c: (i, 60) for i, c in enumerate("CDEFGAB")} | {
    c: (i, 72) for i, c in enumerate("cdefgab")
}
_DIGITS = frozenset("0123456789")
_ACC_CHARS = {"^": 1, "_": -1, "=": 0}  # https://abcnotation.com/wiki/abc:standard:v2.1#accidentals
# https://abcnotation.com/wiki/abc:standard:v2.1#decorations
_DECO_CHARS = {".": orn.STACCATO, "~": orn.ROLL, "T": orn.TRILL, "H": orn.FERMATA}
_DECO_TOKENS = {c: tk.Decoration(f, False) for c, f in _DECO_CHARS.items()}
_BANG_DECOS = {"trill": orn.TRILL, "fermata": orn.FERMATA, "staccato": orn.STACCATO}
_KEEPS_HELD = frozenset('<>-")`$y\\.~THuv')  # may come between a note and its '>' or '-'
_QUIET_DECOS = frozenset("uvLMOPSJR")  # bowings, accents, mordents, segno...: no effect
_IGNORED = frozenset(" \t\r\\`$y)")  # spacers, slur ends, continuations
_INLINE_FIELDS = frozenset("KMLQPTWINRVUmrsw")
_new = tuple.__new__
_MAX_TEXT = 256  # longest quoted text / field / decoration read before giving up


class BodyLexer:
    """Tokens of a tune body. ``push(c)`` reads one character and appends the tokens it
    finished to ``out`` (the reader empties it); ``copy()`` is a cheap snapshot."""

    def __init__(self) -> None:
        self.out: list[tk.Token] = []
        self._st = _S_NONE
        self._bol = True  # at the start of a line
        self._line_blank = True  # nothing but blanks on this line so far
        self._buf = ""  # text of the token being read
        self._inchord = False
        self._chord_notes = False  # a note was read inside the open chord
        # the note, rest or chord length being read
        self._nkind = _K_NOTE
        self._nacc: int | None = None
        self._nletter = 0
        self._nbase = 60
        self._noct = 0
        self._nnum = -1
        self._nslash = 0
        self._nden = -1
        self._nphase = 0

    def copy(self) -> BodyLexer:
        new = object.__new__(BodyLexer)
        new.__dict__.update(self.__dict__)
        new.out = []
        return new

    def push(self, c: str) -> None:
        """Read one character."""
        if c == "\n":
            self._newline(self._st)
            return
        if self._line_blank and c not in " \t\r":
            self._line_blank = False
        st = self._st
        if st == _S_NOTE and c in _DIGITS:  # (the commonest states, inlined)
            if self._nphase == 0:
                self._nnum = min((self._nnum if self._nnum > 0 else 0) * 10 + ord(c) - 48, 9999)
            else:
                self._nden = min((self._nden if self._nden > 0 else 0) * 10 + ord(c) - 48, 9999)
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

    def _note_state(self, c: str) -> None:
        """Octave marks and the length after a note letter, rest or chord."""
        if c in _DIGITS:
            if self._nphase == 0:
                self._nnum = min((self._nnum if self._nnum > 0 else 0) * 10 + ord(c) - 48, 9999)
            else:
                self._nden = min((self._nden if self._nden > 0 else 0) * 10 + ord(c) - 48, 9999)
        elif c == "/":
            self._nphase = 1
            self._nslash += 1
        elif c == "'" and self._nkind == _K_NOTE and self._nphase == 0 and self._nnum < 0:
            self._noct += 1
        elif c == "," and self._nkind == _K_NOTE and self._nphase == 0 and self._nnum < 0:
            self._noct -= 1
        else:
            self._st = _S_NONE
            self._end_note()
            self._none(c)

    def _acc_state(self, c: str) -> None:
        if c in _ACC_CHARS:
            if c == "=":
                self._nacc = 0
            elif self._nacc is not None and -3 < self._nacc + _ACC_CHARS[c] < 3:
                self._nacc += _ACC_CHARS[c]
            else:
                self._skip(1, "too many accidentals")
        elif c in _NOTE_BASE:  # (the accidental said BOUNDARY already)
            self._nletter, self._nbase = _NOTE_BASE[c]
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
                self.out.append(tk.BarLine(self._buf, 0))
                self._buf = c
            elif len(self._buf) < 8:
                self._buf += c
            else:
                self._skip(1, "bar line too long")
        elif c in _DIGITS:
            self._st = _S_NONE
            self.out.append(tk.BarLine(self._buf, ord(c) - 48))
        else:
            self._st = _S_NONE
            self.out.append(tk.BarLine(self._buf, 0))
            self._none(c)

    def _quote_state(self, c: str) -> None:
        if c == '"':
            self._st = _S_NONE
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
        elif len(self._buf) < _MAX_TEXT:
            self._buf += c  # grace notes are not played (as abc2midi -NGRA)
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
        pass

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

    # ------------------------------------------------------------------ between tokens
    def _none(self, c: str) -> None:
        """A character between tokens."""
        nb = _NOTE_BASE.get(c)
        if nb is not None:  # (self._start_note, inlined: the commonest token)
            if not self._inchord:
                self.out.append(tk.BOUNDARY)
            self._nletter, self._nbase = nb
            self._noct = 0
            self._nkind = _K_NOTE
            self._nnum = -1
            self._nslash = 0
            self._nden = -1
            self._nphase = 0
            self._st = _S_NOTE
            return
        if c in _ACC_CHARS:
            if not self._inchord:
                self.out.append(tk.BOUNDARY)
            self._nacc = _ACC_CHARS[c]
            self._st = _S_ACC
            return
        if self._inchord:
            if c != "|":
                self._chord_char(c)
                return
            self._skip(1, "unterminated chord")
            self._inchord = False
        if c in " \t\r":
            return  # the held note waits: abc2midi reads 'A >B' as a broken rhythm
        if c not in _KEEPS_HELD:
            self.out.append(tk.BOUNDARY)
        _BETWEEN.get(c, BodyLexer._other)(self, c)

    def _start_length(self, kind: int) -> None:
        self._nkind = kind
        self._nnum = -1
        self._nslash = 0
        self._nden = -1
        self._nphase = 0
        self._st = _S_NOTE

    def _bar_start(self, c: str) -> None:
        self._st = _S_BAR
        self._buf = c

    def _rest(self, c: str) -> None:
        self._start_length(_K_MREST if c in "ZX" else _K_REST)

    def _broken(self, c: str) -> None:
        self.out.append(tk.BROKEN_LONG_SHORT if c == ">" else tk.BROKEN_SHORT_LONG)

    def _tie(self, c: str) -> None:
        self.out.append(tk.TIE)

    def _deco(self, c: str) -> None:
        self.out.append(_DECO_TOKENS[c])

    def _bracket(self, c: str) -> None:
        self._st = _S_BRACKET

    def _paren(self, c: str) -> None:
        self.out.append(tk.DECORATION_RESET)  # abc2midi drops decorations before a '('
        self._st = _S_PAREN

    def _quote(self, c: str) -> None:
        self.out.append(tk.DECORATION_RESET)  # abc2midi drops decorations before text
        self._st = _S_QUOTE
        self._buf = ""

    def _bang(self, c: str) -> None:
        self._st = _S_BANG
        self._buf = ""

    def _grace(self, c: str) -> None:
        self._st = _S_GRACE
        self._buf = ""

    def _comment(self, c: str) -> None:
        self._st = _S_COMMENT

    def _ignore(self, c: str) -> None:
        pass

    def _close_bracket(self, c: str) -> None:
        self._skip(1, "']' without '['")

    def _other(self, c: str) -> None:
        self.out.append(tk.DECORATION_RESET)
        self._skip(1, f"unexpected {c!r}")

    # ------------------------------------------------------------------ chords
    def _chord_char(self, c: str) -> None:
        """A non-note character inside ``[...]``."""
        if c == "]":
            self._inchord = False
            if not self._chord_notes:
                self._skip(2, "empty chord")
                return
            self._start_length(_K_CHORD)
        elif c == "-":
            self.out.append(tk.CHORD_TIE)
        elif c in _DECO_CHARS or c in _QUIET_DECOS or c in _IGNORED or c in "()\t ":
            pass
        else:
            self._skip(1, f"unexpected {c!r} in a chord")

    def _begin_chord(self) -> None:
        self.out.append(tk.CHORD_START)
        self._inchord = True
        self._chord_notes = False

    # ------------------------------------------------------------------ finished tokens
    def _units(self) -> float:
        num = self._nnum if self._nnum >= 0 else 1
        if self._nslash == 0:
            return float(num)
        den = self._nden if self._nden > 0 else (1 << min(self._nslash, 10))
        return num / den

    def _end_note(self) -> None:
        kind = self._nkind
        if kind == _K_NOTE:
            acc = self._nacc
            self._nacc = None
            inchord = self._inchord
            if inchord:
                self._chord_notes = True
            base = self._nbase + 12 * self._noct
            if self._nslash == 0:  # (self._units, inlined)
                units = float(self._nnum if self._nnum >= 0 else 1)
            else:
                units = self._units()
            # tk.Note(...) without the Python-level __new__ of NamedTuple: notes are hot
            self.out.append(_new(tk.Note, (self._nletter, base, acc, units, inchord)))
        elif kind == _K_REST:
            self.out.append(tk.Rest(self._units()))
        elif kind == _K_MREST:
            self.out.append(tk.MultiRest(self._nnum if self._nnum > 0 else 1))
        else:
            self.out.append(tk.ChordEnd(self._units()))

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
        self.out.append(tk.Tuplet(p, q, r))

    def _skip(self, n: int, why: str) -> None:
        self.out.append(tk.Skip(n, why))


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
    # _S_COMMENT, _S_PAREN: nothing to finish
    return False


# fmt: off
_STATES = (  # indexed by state (_S_NONE is handled in push)
    BodyLexer._none, BodyLexer._note_state, BodyLexer._acc_state, BodyLexer._bar_state,
    BodyLexer._bracket_state, BodyLexer._field0_state, BodyLexer._infield_state,
    BodyLexer._quote_state, BodyLexer._bang_state, BodyLexer._grace_state,
    BodyLexer._paren_state, BodyLexer._tuplet_state, BodyLexer._comment_state,
    BodyLexer._bol_state, BodyLexer._fieldline_state,
)

# What a character between tokens starts (outside a chord; not a note or accidental)
_BETWEEN = {
    "|": BodyLexer._bar_start, ":": BodyLexer._bar_start,
    "z": BodyLexer._rest, "x": BodyLexer._rest, "Z": BodyLexer._rest, "X": BodyLexer._rest,
    ">": BodyLexer._broken, "<": BodyLexer._broken, "-": BodyLexer._tie,
    "[": BodyLexer._bracket, "(": BodyLexer._paren, '"': BodyLexer._quote,
    "!": BodyLexer._bang, "{": BodyLexer._grace, "%": BodyLexer._comment,
    "]": BodyLexer._close_bracket, "+": BodyLexer._ignore,
} | {c: BodyLexer._deco for c in _DECO_CHARS} | {
    c: BodyLexer._ignore for c in _IGNORED | _QUIET_DECOS
}
# fmt: on
