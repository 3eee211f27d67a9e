"""The constraint automaton's state and its step function, one character at a time.

Pure code (no clock, threads or I/O; see docs/DESIGN.md). ``Lexer.step(c)`` moves to the
state after ``c`` and says whether ``c`` was allowed (the caller restores a snapshot when it
was not); ``Lexer.recover(c)`` reads a character that was not allowed, as a performer's text
is read. The bar lines, repeats and pickups are decided in ``livernn/constrain/bars.py``.
"""

from __future__ import annotations

import operator

from livernn.constrain import bars
from livernn.constrain import tables as T
from livernn.constrain.lenient import Lenient
from livernn.constrain.notes import NoteSteps
from livernn.constrain.states import (
    _ACC,
    _NOTE,
    _PREFIXES,
    _REST,
    _TEXT_BAD,
    _WORDSET,
    ACC,
    BAR,
    BFREE,
    BRACKET,
    CHORD,
    DECO,
    FIELD_COLON,
    FIELD_VAL,
    FREE,
    GCH,
    GRACE,
    HDR,
    HDR_COLON,
    HDR_VAL,
    INLINE_COLON,
    INLINE_VAL,
    LEN,
    LETTERS,
    LINE,
    OCT,
    PAREN,
    SEP,
    TOP,
    X_COLON,
    X_NUM,
)


class Lexer(NoteSteps, Lenient, bars.Bars):
    """Where the text stands: lexer state, header, and (from ``bars.Bars``) the bar."""

    __slots__ = (
        "st", "buf", "field", "hdr", "seen", "unit_given", "notes", "need", "prev_note",
        "prev_len", "kind", "broken", "tie", "deco_n", "gch_n", "space", "slur", "spell",
        "ctx", "chord_n", "grace_n", "tup_left", "tup_f", "tup_len", "length", "pair",
        "meter_text", "hornpipe", "bar_fin",
    )  # fmt: skip

    def __init__(self, meter: bool) -> None:
        super().__init__(meter)
        self.st, self.buf, self.field, self.hdr, self.seen = TOP, "", "", False, ""
        self.length = 0  # characters of the tune so far (from its X:)
        self.unit_given, self.meter_text, self.hornpipe = 0, "", False
        # whether the tune was being steered to its end when the bar line in progress began:
        # a bar line is judged by that to its last character (crossing STEER_AT inside ``::``
        # must not refuse what its first ``:`` was let in for)
        self.bar_fin = False
        self._start_body()
        self.st = TOP

    # -- snapshots: the automaton tries a character and comes back --------------------

    def _snapshot(self) -> tuple:
        return _GET(self)

    def _restore(self, snap: tuple) -> None:
        _SET(self, snap)

    def _key(self) -> tuple:
        """The state as far as it decides the mask (text fields by length only)."""
        snap = list(_GET(self))
        if (self.st == HDR_VAL and self.field in T.TEXT_FIELDS) or self.st in (FREE, BFREE):
            snap[_BUF] = (len(self.buf) >= T.MAX_TEXT, bool(self.buf.strip()))
        # steered or not now, and after the character tried (a mask tries one): two states on
        # either side of STEER_AT must not share a cached mask
        snap[_LENGTH] = (self.fin, self.length + 1 > T.STEER_AT)
        snap[_NOTES] = self.notes > 0
        if self.st >= LINE:  # the header's bookkeeping no longer decides anything
            for i in _HEADER_ONLY:
                snap[i] = None
            if not self.tie:  # a note's letter matters only to a tie
                snap[_SPELL] = (self.spell[:1].isupper(), self.spell[1:])
        return tuple(snap)

    @property
    def fin(self) -> bool:
        """Past ``STEER_AT`` characters of the tune: only the ways to its end are left."""
        return self.length > T.STEER_AT

    # -- one character ---------------------------------------------------------------

    def step(self, c: str) -> bool:
        self.length = 0 if self.st == TOP else self.length + 1  # characters after X
        return _STEP[self.st](self, c)

    def _top(self, c: str) -> bool:
        if c != "X":
            return False
        self.st = X_COLON
        return True

    def _x_colon(self, c: str) -> bool:
        if c != ":":
            return False
        self.st, self.buf = X_NUM, ""
        return True

    def _x_num(self, c: str) -> bool:
        if c == "\n" and self.buf:
            self.st, self.buf, self.seen, self.hdr = HDR, "", "", True
            self.unit_given, self.bar, self.meter_text, self.hornpipe = 0, 0, "", False
            return True
        if not c.isdigit() or len(self.buf) >= T.MAX_NUMBER or (c == "0" and not self.buf):
            return False
        self.buf += c
        return True

    def _hdr(self, c: str) -> bool:
        if "T" not in self.seen:
            ok = c == "T"
        else:
            ok = c in T.TEXT_FIELDS or (c in T.ONCE_FIELDS and c not in self.seen)
            ok = ok or (c == "K" and "M" in self.seen)  # a tune says its meter
            if len(self.seen) >= T.MAX_HEADER_LINES:  # enough: on to the tune
                ok = c == "K" and "M" in self.seen or c == "M" and "M" not in self.seen
        if ok:
            self.st, self.field = HDR_COLON, c
        return ok

    def _hdr_colon(self, c: str) -> bool:
        if c != ":":
            return False
        self.st, self.buf = HDR_VAL, ""
        return True

    def _hdr_val(self, c: str) -> bool:
        f, buf = self.field, self.buf
        if f in T.TEXT_FIELDS:
            if c == "\n":
                if not buf.strip():
                    return False
                self.st, self.buf, self.seen = HDR, "", self.seen + f
                return True
            if c in _TEXT_BAD or len(buf) >= T.MAX_TEXT or (c in " :" and buf[-1:] in ("", " ")):
                return False  # (a value starting with : or | looks like a bar line to abc2midi)
            self.buf += c
            return True
        v = buf[1:] if buf.startswith(" ") else buf
        if f == "M" and self.hornpipe:
            f = "m"
        elif f == "R" and "M" in self.seen and self.meter_text not in T.HORNPIPE_METERS:
            f = "r"
        if c == "\n":
            if v not in _WORDSET[f]:
                return False
            self._header_field(self.field, v)
            return True
        if c == " " and not buf:
            self.buf = " "
            return True
        if v + c not in _PREFIXES[f]:
            return False
        self.buf += c
        return True

    def _header_field(self, f: str, v: str) -> None:
        """A header line ``f:v`` ends (also one read leniently)."""
        if f == "M":
            self.meter_text = v
            self.set_bar(v)
        elif f == "L":
            self.unit_given = T.unit_ticks(v)
        elif f == "R":
            self.hornpipe = v.lower() == "hornpipe"
        if f == "K":
            self._start_body()
        else:
            self.st, self.buf, self.seen = HDR, "", self.seen + f

    def _start_body(self) -> None:
        self.unit = self.unit_given or T.default_unit(self.bar)
        self.st, self.buf, self.hdr = LINE, "", False
        self.reset_bars()
        self.notes = 0
        self._drop()

    def _drop(self) -> None:
        """Forget the element in progress (the bar is kept)."""
        self.need, self.prev_note, self.prev_len, self.kind = 0, False, 0, 0
        self.broken, self.tie, self.deco_n, self.gch_n, self.space = 0, "", 0, 0, False
        self.slur, self.spell, self.ctx, self.chord_n, self.grace_n = 0, "", 0, 0, 0
        self.tup_left, self.tup_f, self.tup_len = 0, None, 0
        self.pair = False  # the last note ended a broken pair (abc2midi refuses a chain)

    # -- the body: a line starts -------------------------------------------------------

    def _line(self, c: str) -> bool:
        if c == "\n":
            if not self.can_end(self.notes, self.need):
                return False
            self._end_tune()
            return True
        if (self.fin or self.final) and self.can_end(self.notes, self.need):
            return False
        if c in "KML":
            if not self.field_ok(c, self.fin):
                return False
            self.st, self.field = FIELD_COLON, c
            return True
        if c == " ":
            return False
        self.st = SEP
        return self._sep(c)

    def _end_tune(self) -> None:
        self.st, self.buf, self.hdr = TOP, "", False

    def _field_colon(self, c: str) -> bool:
        if c != ":":
            return False
        self.st, self.buf = FIELD_VAL if self.st == FIELD_COLON else INLINE_VAL, ""
        return True

    def _field_val(self, c: str) -> bool:
        end = "\n" if self.st == FIELD_VAL else "]"
        if c == end:
            if self.buf not in _WORDSET[self.field]:
                return False
            self._body_field(self.field, self.buf)
            return True
        if self.buf + c not in _PREFIXES[self.field]:
            return False
        self.buf += c
        return True

    def _body_field(self, f: str, v: str) -> None:
        """A body field (``K:`` line or ``[K:]`` inline) ends (also one read leniently)."""
        if f == "M":
            self.set_meter(v)
        elif f == "L":
            self.unit = T.unit_ticks(v) or self.unit
        self.st = LINE if self.st in (FIELD_VAL, BFREE) else SEP
        self.buf = ""

    # -- the body: between elements ----------------------------------------------------

    def _sep(self, c: str) -> bool:
        need = self.need
        ending = (self.fin or self.final) and self.after_bar
        if ending and c != "\n" and self.can_end(self.notes, need):
            return False
        if c == " ":
            if self.space or need:
                return False
            self.space, self.prev_note = True, False
            return True
        if c == "\n":
            if not self.after_bar or need or self.tup_left or self.need2:
                return False
            self.st, self.space = LINE, False
            return True
        if self.need2:  # after :| in a first ending: [2
            if c != "[":
                return False
            self.st = BRACKET
            return True
        self.space = False
        if c in LETTERS or c in _ACC or c == "z":
            if c == "z" and (need == 1 or self.broken or self.tie):
                return False
            self.ctx, self.spell = 0, ""
            self.kind = _REST if c == "z" else _NOTE
            if c == "z":
                self.st, self.buf = LEN, ""
                return self._viable("")
            return self._note_start(c)
        if c == "[":
            ok = self._bracket_ok()
            self.st = BRACKET
            return ok
        if c in '"!{.uv' and (need == 1 or self.tup_left or not self._viable("")):
            return False
        if c == '"':
            if self.gch_n or not self.chord_name_ok():
                return False
            self.st, self.buf = GCH, ""
            return True
        if c == "!" or c in T.LETTER_DECORATIONS:
            if self.deco_n >= 2:
                return False
            if c == "!":
                self.st, self.buf = DECO, ""
            else:
                self.deco_n, self.need, self.prev_note = self.deco_n + 1, 2, False
            return True
        if c == "{":
            host = max(self.unit, T.WHOLE // 8)
            if self.grace_n or not self.room(host) or 0 < self.broken < host:
                return False
            self.st, self.buf = GRACE, ""
            return True
        if c == "(":
            tuplet = not (self.tup_left or self.broken or need == 1) and self._tuplet_viable()
            if self.tie or not (tuplet or not self.slur and self._viable("")):
                return False
            self.st = PAREN
            return True
        if c == ")":
            if not (self.slur and self.prev_note):
                return False
            self.slur = 0
            return True
        if c == "-":
            if self.fin or not (self.prev_note and self.kind == _NOTE and not self.tup_left):
                return False  # no new ties on the way to the end
            self.tie, self.need, self.prev_note = self.spell, 1, False
            return True
        if c in "<>":
            if not (self.prev_note and self.kind != _REST and not self.tup_left) or self.pair:
                return False
            # R:hornpipe: abc2midi swings the tune itself, and its swing and a written broken
            # rhythm refuse each other ("d/c/B>A": "Notes not equal durations")
            if not self.room(self.prev_len) or self.hornpipe:
                return False
            self.broken, self.need, self.prev_note = self.prev_len, 2, False
            return True
        if c in "|:":
            if (need and not self.tie) or self.tup_left:
                return False
            self.st, self.buf, self.bar_fin = BAR, c, self.fin
            return self.bar_viable(c, self.fin, bool(self.tie))
        return False

    # -- notes, rests, chords ----------------------------------------------------------

    def _bar(self, c: str) -> bool:
        p = self.buf + c
        fin = self.bar_fin
        if self.bar_viable(p, fin, bool(self.tie)):
            self.buf = p
            return True
        if not self.bar_ok(self.buf, fin, bool(self.tie)):
            return False
        self.bar_done(self.buf, fin)
        self.prev_note = self.space = False
        self.st = SEP
        return self._sep(c)

    def unstick(self) -> None:
        """Out of a state that allows nothing (never reached from the model's own text):
        the element in progress is dropped and the bar is not counted."""
        self.free = True
        self._drop()
        if self.st > LINE:
            self.st = SEP


_NAMES = bars.Bars.SLOTS + Lexer.__slots__
_GET = operator.attrgetter(*_NAMES)


def _setter(names: tuple[str, ...]):
    """``f(obj, values)`` that sets every slot in one unpacking assignment: the inverse of
    ``_GET``, generated as ``collections.namedtuple`` and ``dataclasses`` generate code
    (a setattr loop over 43 slots was the larger half of a mask's cost)."""
    targets = ", ".join(f"o.{n}" for n in names)
    scope: dict = {}
    exec(f"def set_all(o, v):\n    ({targets},) = v\n", scope)  # noqa: S102 (names are ours)
    return scope["set_all"]


_SET = _setter(_NAMES)
_BUF, _LENGTH, _NOTES, _SPELL = (_NAMES.index(n) for n in ("buf", "length", "notes", "spell"))
_HEADER_ONLY = tuple(_NAMES.index(n) for n in ("seen", "hdr", "unit_given", "meter_text"))
_STEP = {
    TOP: Lexer._top, X_COLON: Lexer._x_colon, X_NUM: Lexer._x_num, HDR: Lexer._hdr,
    HDR_COLON: Lexer._hdr_colon, HDR_VAL: Lexer._hdr_val, FREE: Lexer._free,
    LINE: Lexer._line, SEP: Lexer._sep, ACC: Lexer._acc, OCT: Lexer._oct, LEN: Lexer._len,
    BRACKET: Lexer._bracket, CHORD: Lexer._chord, GRACE: Lexer._grace, GCH: Lexer._quoted,
    DECO: Lexer._quoted, BAR: Lexer._bar, PAREN: Lexer._paren,
    INLINE_COLON: Lexer._field_colon, INLINE_VAL: Lexer._field_val,
    FIELD_COLON: Lexer._field_colon, FIELD_VAL: Lexer._field_val, BFREE: Lexer._free,
}  # fmt: skip
