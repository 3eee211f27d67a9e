"""The between-token half of the body lexer (lexer.py): what a character read between
tokens starts (a note, a rest, a bar line, a chord, a decoration, text ...), chords, and the
tokens finished from what was read (notes, rests, tuplets, skips). Also the lexer's states,
kinds and character tables, shared by both halves.

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
# may come between a note and its '>' or '-' (a slur's '(' too: abc2midi plays 'A(>B)' as
# 'A>B'; a tuplet's '(3' settles the held note, _tuplet)
_KEEPS_HELD = frozenset('<>-"()`$y\\.~THuv')
_QUIET_DECOS = frozenset("uvLMOPSJR")  # bowings, accents, mordents, segno...: no effect
_IGNORED = frozenset(" \t\r\\`$y)")  # spacers, slur ends, continuations
_INLINE_FIELDS = frozenset("KMLQPTWINRVUmrsw")
_MAX_TEXT = 256  # longest quoted text / field / decoration read before giving up

# The hot tokens, built without the Python-level __new__ of NamedTuple
_new = tuple.__new__
_Rest, _ChordEnd, _BOUNDARY = tk.Rest, tk.ChordEnd, tk.BOUNDARY


class TokenStarts:
    """The lexer's fields, and what happens between tokens (``BodyLexer`` reads inside
    them). Finished tokens are appended to ``out``. Slots, not a dict: ``BodyLexer.copy``
    is on the hot path of constrained sampling and copies them one by one (half the time
    of a dict copy for these few fields)."""

    __slots__ = (
        "out", "_st", "_bol", "_line_blank", "_buf", "_inchord", "_chord_notes", "_nkind",
        "_nacc", "_nnote", "_noct", "_nnum", "_nslash", "_nden",
    )  # fmt: skip

    def __init__(self) -> None:
        self.out: list[tk.Token] = []
        self.reset()

    def reset(self) -> None:
        """Back to the start of a tune body (``out`` is the reader's: left as it is)."""
        self._st = _S_NONE
        self._bol = True  # at the start of a line
        self._line_blank = True  # nothing but blanks on this line so far
        self._buf = ""  # text of the token being read
        self._inchord = False
        self._chord_notes = False  # a note was read inside the open chord
        # the note, rest or chord length being read
        self._nkind = _K_NOTE
        self._nacc: int | None = None
        self._nnote = (0, 60)  # (letter 0..6, MIDI pitch of the C of its octave)
        self._noct = 0
        self._nnum = -1
        self._nslash = 0
        self._nden = -1

    # ------------------------------------------------------------------ between tokens
    def _none(self, c: str) -> None:
        """A character between tokens."""
        nb = _NOTE_BASE.get(c)
        if nb is not None:  # (self._start_note, inlined: the commonest token)
            if not self._inchord:
                self.out.append(_BOUNDARY)
            self._nnote = nb
            self._noct = 0
            self._nkind = _K_NOTE
            self._nnum = -1
            self._nslash = 0
            self._nden = -1
            self._st = _S_NOTE
            return
        if c in _ACC_CHARS:
            if not self._inchord:
                self.out.append(_BOUNDARY)
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
            self.out.append(_BOUNDARY)
        _BETWEEN.get(c, TokenStarts._other)(self, c)

    def _start_length(self, kind: int) -> None:
        self._nkind = kind
        self._nnum = -1
        self._nslash = 0
        self._nden = -1
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
        self._buf = ""  # kept (a little) for a %%MIDI directive

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
            letter, base = self._nnote
            base += 12 * self._noct
            if self._nslash == 0:  # (self._units, inlined)
                units = float(self._nnum if self._nnum >= 0 else 1)
            else:
                units = self._units()
            self.out.append((letter, base, acc, units, inchord))  # a tk.Note
        elif kind == _K_REST:
            self.out.append(_new(_Rest, (self._units(),)))
        elif kind == _K_MREST:
            self.out.append(tk.MultiRest(self._nnum if self._nnum > 0 else 1))
        else:
            self.out.append(_new(_ChordEnd, (self._units(),)))

    def _tuplet(self, text: str) -> None:
        parts = text.split(":")
        try:
            p = int(parts[0])
            q = int(parts[1]) if len(parts) > 1 and parts[1] else 0
            r = int(parts[2]) if len(parts) > 2 and parts[2] else p
        except ValueError:
            p = 0
            q = r = 0
        self.out.append(_BOUNDARY)  # the held note is not part of the tuplet
        if not 2 <= p <= 9 or not 0 <= q <= 9 or not 1 <= r <= 9:
            self._skip(len(text) + 1, "bad tuplet")
            return
        self.out.append(tk.Tuplet(p, q, r))

    def _skip(self, n: int, why: str) -> None:
        self.out.append(tk.Skip(n, why))


# fmt: off
# What a character between tokens starts (outside a chord; not a note or accidental)
_BETWEEN = {
    "|": TokenStarts._bar_start, ":": TokenStarts._bar_start,
    "z": TokenStarts._rest, "x": TokenStarts._rest, "Z": TokenStarts._rest, "X": TokenStarts._rest,
    ">": TokenStarts._broken, "<": TokenStarts._broken, "-": TokenStarts._tie,
    "[": TokenStarts._bracket, "(": TokenStarts._paren, '"': TokenStarts._quote,
    "!": TokenStarts._bang, "{": TokenStarts._grace, "%": TokenStarts._comment,
    "]": TokenStarts._close_bracket, "+": TokenStarts._ignore,
} | {c: TokenStarts._deco for c in _DECO_CHARS} | {
    c: TokenStarts._ignore for c in _IGNORED | _QUIET_DECOS
}
# fmt: on
