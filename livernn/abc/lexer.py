"""The lexer of a tune body: one character at a time, a small state machine recognises notes,
rests, chords, bar lines, inline fields, tuplets, decorations, text, comments and field
lines, and hands finished tokens to the interpreter's musical actions (``_end_note``,
``_bar``, ``_ending``, ``_field``, ``_tuplet`` in interpreter.py). No regular expressions:
one dispatch on the current state per character.

Spec: https://abcnotation.com/wiki/abc:standard:v2.1#the_tune_body
``AbcLexer`` is a mixin of ``AbcInterpreter``: it owns no state of its own.
"""

from __future__ import annotations

from livernn.abc import ornaments as orn

# Lexer states inside a tune body
_S_NONE = 0  # between tokens
_S_NOTE = 1  # note letter / rest seen: octave marks and length follow
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

_NOTE_BASE = {c: (i, 60) for i, c in enumerate("CDEFGAB")} | {
    c: (i, 72) for i, c in enumerate("cdefgab")
}
_DIGITS = frozenset("0123456789")
_ACC_CHARS = {"^": 1, "_": -1, "=": 0}
_DECO_CHARS = {".": orn.STACCATO, "~": orn.ROLL, "T": orn.TRILL, "H": orn.FERMATA}
_KEEPS_HELD = frozenset('<>-")`$y\\.~THuv')  # may come between a note and its '>' or '-'
_QUIET_DECOS = frozenset("uvLMOPSJR")  # bowings, accents, mordents, segno...: no effect
_IGNORED = frozenset(" \t\r\\`$y)")  # spacers, slur ends, continuations
_INLINE_FIELDS = frozenset("KMLQPTWINRVUmrsw")
_BANG_DECOS = {"trill": orn.TRILL, "fermata": orn.FERMATA, "staccato": orn.STACCATO}
_TUPLET_Q = {2: 3, 3: 2, 4: 3, 6: 2, 8: 3}
_MAX_TEXT = 256  # longest quoted text / field / decoration read before giving up


class AbcLexer:
    """Character-level scanning of a tune body (mixed into ``AbcInterpreter``)."""

    def _body(self, c: str) -> None:
        st = self._st
        if c == "\n":
            self._newline(st)
            return
        if self._line_blank and c not in " \t\r":
            self._line_blank = False
        if st == _S_NONE:
            if self._bol:
                self._bol = False
                if c.isalpha() and c.isascii():
                    self._st = _S_BOL
                    self._buf = c
                    return
            self._none(c)
        elif st == _S_NOTE:
            if c in _DIGITS:
                if self._nphase == 0:
                    self._nnum = (self._nnum if self._nnum > 0 else 0) * 10 + ord(c) - 48
                    if self._nnum > 9999:
                        self._nnum = 9999
                else:
                    self._nden = (self._nden if self._nden > 0 else 0) * 10 + ord(c) - 48
                    if self._nden > 9999:
                        self._nden = 9999
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
        elif st == _S_ACC:
            if c in _ACC_CHARS:
                if c == "=":
                    self._nacc = 0
                elif self._nacc is not None and -3 < self._nacc + _ACC_CHARS[c] < 3:
                    self._nacc += _ACC_CHARS[c]
                else:
                    self._skip(1, "too many accidentals")
            elif c in _NOTE_BASE:
                self._st = _S_NONE
                self._none(c)
            else:
                self._skip(1, "accidental without a note")
                self._nacc = None
                self._st = _S_NONE
                self._none(c)
        elif st == _S_BAR:
            if c in "|:]":
                if self._buf[-1] == "]" and c != "]":  # '[|]:|' is '[|]' then ':|'
                    self._bar(self._buf, 0)
                    self._buf = c
                elif len(self._buf) < 8:
                    self._buf += c
                else:
                    self._skip(1, "bar line too long")
            elif c in _DIGITS:
                self._st = _S_NONE
                self._bar(self._buf, ord(c) - 48)
            else:
                self._st = _S_NONE
                self._bar(self._buf, 0)
                self._none(c)
        elif st == _S_QUOTE:
            if c == '"':
                self._st = _S_NONE
            elif len(self._buf) < _MAX_TEXT:
                self._buf += c
            else:
                self._st = _S_NONE
                self._skip(len(self._buf) + 1, "unterminated quoted text")
        elif st == _S_BANG:
            if c == "!":
                name = self._buf
                self._st = _S_NONE
                self._deco = _BANG_DECOS.get(name, 0)  # abc2midi: it replaces earlier ones
            elif c in " \t|" or len(self._buf) >= 40:
                # a lone '!' is the line-break marker: read what followed it as music
                rest = self._buf
                self._st = _S_NONE
                for r in rest:
                    self._body(r)
                self._body(c)
            else:
                self._buf += c
        elif st == _S_GRACE:
            if c == "}":
                self._st = _S_NONE
            elif len(self._buf) < _MAX_TEXT:
                self._buf += c  # grace notes are not played (as abc2midi -NGRA)
            else:
                self._st = _S_NONE
                self._skip(len(self._buf) + 1, "unterminated grace notes")
        elif st == _S_BRACKET:
            self._st = _S_NONE
            if c in _DIGITS:
                self._ending(ord(c) - 48)
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
        elif st == _S_FIELD0:
            if c == ":":
                self._st = _S_INFIELD
                self._buf += c
            else:
                self._st = _S_NONE
                self._begin_chord()
                self._none(self._buf)
                self._none(c)
        elif st == _S_INFIELD:
            if c == "]":
                self._st = _S_NONE
                self._field(self._buf[0], self._buf[2:].strip())
            elif len(self._buf) < _MAX_TEXT:
                self._buf += c
            else:
                self._st = _S_NONE
                self._skip(len(self._buf) + 2, "unterminated inline field")
        elif st == _S_PAREN:
            if c in _DIGITS:
                self._st = _S_TUPLET
                self._buf = c
            else:
                self._st = _S_NONE  # a slur: no effect on the notes
                self._none(c)
        elif st == _S_TUPLET:
            if (c in _DIGITS or c == ":") and len(self._buf) < 8:
                self._buf += c
            else:
                self._st = _S_NONE
                self._tuplet(self._buf)
                self._none(c)
        elif st == _S_COMMENT:
            pass
        elif st == _S_BOL:
            letter = self._buf
            if c == ":":
                self._st = _S_FIELDLINE
                self._buf = letter + ":"
            else:
                self._st = _S_NONE
                self._none(letter)
                self._body(c)
        elif st == _S_FIELDLINE and len(self._buf) < _MAX_TEXT:
            self._buf += c

    def _newline(self, st: int) -> None:
        if st != _S_NONE:
            self._st = _S_NONE
            if st == _S_NOTE:
                self._end_note()
            elif st == _S_BAR:
                self._bar(self._buf, 0)
            elif st == _S_FIELDLINE:
                f, value = self._buf[0], self._buf[2:].split("%")[0].strip()
                if f == "X":
                    self._end_tune()
                    self._start_header()
                    return
                self._field(f, value)
            elif st == _S_BOL:
                self._none(self._buf)
                self._body("\n")
                return
            elif st == _S_TUPLET:
                self._tuplet(self._buf)
            elif st == _S_QUOTE:
                self._skip(len(self._buf) + 1, "unterminated quoted text")
            elif st == _S_GRACE:
                self._skip(len(self._buf) + 1, "unterminated grace notes")
            elif st == _S_INFIELD:
                self._skip(len(self._buf) + 1, "unterminated inline field")
            elif st == _S_FIELD0:
                self._skip(len(self._buf) + 1, "unterminated '['")
            elif st == _S_BRACKET:
                self._begin_chord()  # '[' at a line end: a chord written over two lines
            elif st == _S_ACC:
                self._skip(1, "accidental without a note")
                self._nacc = None
            elif st == _S_BANG:
                for r in self._buf:
                    self._body(r)
                self._body("\n")
                return
            # _S_COMMENT, _S_PAREN: nothing to finish
        if self._inchord and self._line_blank:
            self._skip(1, "unterminated chord")
            self._inchord = False
            self._chord = ()
        if self._line_blank:
            self._end_tune()
            return
        # the held note waits: abc2midi reads 'A\n>B' as a broken rhythm
        self._deco = 0  # decorations do not reach past the end of a line
        self._bol = True
        self._line_blank = True

    def _none(self, c: str) -> None:
        """A character between tokens."""
        nb = _NOTE_BASE.get(c)
        if nb is not None:
            if self._held is not None and not self._inchord:
                self._finalize()  # the next note starts: the held one is determined
            self._nkind = _K_NOTE
            self._nletter, self._nbase = nb
            self._noct = 0
            self._nnum = -1
            self._nslash = 0
            self._nden = -1
            self._nphase = 0
            self._st = _S_NOTE
            return
        if c in _ACC_CHARS:
            if self._held is not None and not self._inchord:
                self._finalize()
            self._nacc = _ACC_CHARS[c]
            self._st = _S_ACC
            return
        if self._inchord:
            if c == "|":
                self._skip(1, "unterminated chord")
                self._inchord = False
                self._chord = ()
            else:
                self._chord_char(c)
                return
        if c in " \t\r":
            return  # the held note waits: abc2midi reads 'A >B' as a broken rhythm
        if self._held is not None and c not in _KEEPS_HELD:
            self._finalize()
        if c == "|":
            self._st = _S_BAR
            self._buf = "|"
            return
        if c == "z" or c == "x" or c == "Z" or c == "X":
            self._finalize()
            self._nkind = _K_MREST if c in "ZX" else _K_REST
            self._nnum = -1
            self._nslash = 0
            self._nden = -1
            self._nphase = 0
            self._st = _S_NOTE
        elif c == ">" or c == "<":
            self._deco = 0  # abc2midi drops decorations written before a '>'
            if self._held is not None:
                self._broken += 1 if c == ">" else -1
            else:
                self._skip(1, "broken rhythm without a note")
        elif c == "-":
            if self._held is not None and self._held[0]:
                self._tie = True
            else:
                self._skip(1, "tie without a note")
        elif c in _DECO_CHARS:
            self._deco |= _DECO_CHARS[c]
        elif c == ":":
            self._st = _S_BAR
            self._buf = ":"
        elif c == "[":
            self._st = _S_BRACKET
        elif c == "(":
            self._finalize()
            self._deco = 0  # abc2midi drops decorations written before a '('
            self._st = _S_PAREN
        elif c == '"':
            self._deco = 0  # abc2midi drops decorations written before quoted text
            self._st = _S_QUOTE
            self._buf = ""
        elif c == "!":
            self._st = _S_BANG
            self._buf = ""
        elif c == "{":
            self._finalize()
            self._st = _S_GRACE
            self._buf = ""
        elif c == "%":
            self._st = _S_COMMENT
        elif c in _IGNORED or c in _QUIET_DECOS or c == "+":
            pass
        elif c == "]":
            self._skip(1, "']' without '['")
        else:
            self._deco = 0
            self._skip(1, f"unexpected {c!r}")

    def _chord_char(self, c: str) -> None:
        """A non-note character inside ``[...]``."""
        if c == "]":
            self._inchord = False
            if not self._chord:
                self._skip(2, "empty chord")
                return
            self._nkind = _K_CHORD
            self._nnum = -1
            self._nslash = 0
            self._nden = -1
            self._nphase = 0
            self._st = _S_NOTE
        elif c == "-":
            self._tie = True
        elif c in _DECO_CHARS or c in _QUIET_DECOS or c in _IGNORED or c in "()\t ":
            pass
        else:
            self._skip(1, f"unexpected {c!r} in a chord")

    def _begin_chord(self) -> None:
        self._finalize()
        self._inchord = True
        self._chord = ()
