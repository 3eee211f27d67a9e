"""Notes, rests, chords, grace notes, tuplets and quoted words for the constraint lexer.

Pure code (see docs/DESIGN.md): the ``Lexer`` in ``livernn/constrain/lexer.py`` takes these
steps; a note is allowed only when some length for it fits the bar (``_viable``), so no
dead end is entered.
"""

from __future__ import annotations

from livernn.constrain import tables as T
from livernn.constrain.states import (
    _ACC,
    _CHORD,
    _CHORD_PREFIXES,
    _CHORDS,
    _COMPLETIONS,
    _DECO_PREFIXES,
    _DECOS,
    _LEN_PREFIXES,
    _PER_UNIT,
    _STEPS,
    _TUPLETS,
    ACC,
    CHORD,
    GCH,
    GRACE,
    INLINE_COLON,
    LEN,
    LETTERS,
    OCT,
    SEP,
)


class NoteSteps:
    """The element steps of ``Lexer`` (its state lives in ``Lexer.__slots__``)."""

    __slots__ = ()

    def _note_start(self, c: str) -> bool:
        if c in _ACC:
            if self.tie:
                return False
            self.st, self.buf = ACC, c
            return bool(self.ctx) or self._viable("")
        if self.tie and c != self.tie[0]:
            return False
        self.spell, self.st = c, OCT
        return bool(self.ctx) or self._viable("")

    def _acc(self, c: str) -> bool:
        if self.buf + c in T.ACCIDENTALS:
            self.buf += c
            return True
        if c not in LETTERS:
            return False
        self.spell, self.st = c, OCT
        return bool(self.ctx) or self._viable("")

    def _oct(self, c: str) -> bool:
        if c in ",'":
            marks = self.spell[1:] + c
            if len(marks) > T.MAX_OCTAVE_MARKS or (c == ",") != self.spell[0].isupper():
                return False
            if self.tie and not self.tie[1:].startswith(marks):
                return False
            self.spell += c
            return True
        if self.tie and self.spell != self.tie:
            return False
        if self.ctx == 1:
            self.chord_n += 1
            self.st = CHORD
            return self._chord(c)
        if self.ctx == 2:
            self.grace_n += 1
            self.st = GRACE
            return self._grace(c)
        self.st, self.buf = LEN, ""
        return self._len(c)

    def _len(self, c: str) -> bool:
        p = self.buf + c
        if p in _LEN_PREFIXES and self._viable(p):
            self.buf = p
            return True
        v = _STEPS.get(self.buf)
        if v is None or not self._fits(v):
            return False
        self._complete(v)
        self.st = SEP
        return self._sep(c)

    def _viable(self, p: str) -> bool:
        return any(self._fits(v) for v in _COMPLETIONS[p])

    def _fits(self, v: int) -> bool:
        """Whether a length of ``v`` grid steps may end the element being written."""
        written = self.unit * v // _PER_UNIT
        if written <= 0 or (self.broken and written != self.broken):
            return False
        if self.grace_n and (v < _PER_UNIT or written < T.WHOLE // 8):
            return False
        if self.tup_left:
            if self.tup_len:
                return written == self.tup_len
            return self.room(_scale(written * self.tup_left, self.tup_f))
        return self.room(written)

    def _complete(self, v: int) -> None:
        """A note, rest or chord of ``v`` grid steps ends."""
        written = self.unit * v // _PER_UNIT
        # no broken rhythm after the second note of a pair, a tuplet's note or a tied-to
        # note: abc2midi refuses them ("Notes not equal durations", "Cannot find note")
        pair = bool(self.broken or self.tup_left or self.tie)
        if self.tup_left:
            self.add(_scale(written, self.tup_f))
            self.tup_len = self.tup_len or written
            self.tup_left -= 1
            if not self.tup_left:
                self.tup_f, self.tup_len = None, 0
        else:
            self.add(written)
        self.prev_note, self.prev_len, self.notes = True, written, self.notes + 1
        self.pair = pair
        self.need = self.broken = self.deco_n = self.gch_n = self.grace_n = 0
        self.tie = ""
        self.after_bar = False

    def _bracket_ok(self) -> bool:
        chord = self.need != 1 and not self.tie and not self.tup_left and self._viable("")
        inline = not self.need and not self.tie and not self.tup_left and self.fill == 0
        return chord or inline and self.field_ok("K", self.fin) or self.ending_ok(1, self.fin)

    def _bracket(self, c: str) -> bool:
        if self.need2:
            if c != "2":
                return False
            self.start_ending(2)
            self.st = SEP
            return True
        if c in LETTERS or c in _ACC:
            if self.need == 1 or self.tie or self.tup_left or not self._viable(""):
                return False
            self.ctx, self.chord_n, self.kind = 1, 0, _CHORD
            return self._note_start(c)
        if c in "KML":
            if (
                self.need
                or self.tie
                or self.tup_left
                or self.fill
                or not self.field_ok(c, self.fin)
            ):
                return False
            self.st, self.field = INLINE_COLON, c
            return True
        if c == "1" and self.ending_ok(1, self.fin):
            self.start_ending(1)
            self.st = SEP
            return True
        return False

    def _chord(self, c: str) -> bool:
        if c == "]":
            if self.chord_n < 2:
                return False
            self.ctx, self.st, self.buf = 0, LEN, ""
            return True
        if self.chord_n >= T.MAX_CHORD_NOTES:
            return False
        if c in _ACC or c in LETTERS:
            return self._note_start(c)
        return False

    def _grace(self, c: str) -> bool:
        if c == "/" and not self.buf and not self.grace_n:
            self.buf = "/"
            return True
        if c == "}":
            if not self.grace_n and not self.free:
                return False
            self.st, self.ctx, self.need, self.prev_note = SEP, 0, 1, False
            return True
        if self.grace_n >= T.MAX_GRACE_NOTES or not (c in _ACC or c in LETTERS):
            return False
        self.ctx = 2
        return self._note_start(c)

    def _quoted(self, c: str) -> bool:
        gch = self.st == GCH
        end, words, prefixes = (
            ('"', _CHORDS, _CHORD_PREFIXES) if gch else ("!", _DECOS, _DECO_PREFIXES)
        )
        if c == end:
            if self.buf not in words and not self.free:  # (free: a seed's annotation)
                return False
            if gch:
                self.gch_n, self.chords = 1, True
            else:
                self.deco_n += 1
            self.st, self.buf, self.need, self.prev_note = SEP, "", max(self.need, 2), False
            return True
        if self.buf + c not in prefixes:
            return False
        self.buf += c
        return True

    def _tuplet_viable(self) -> bool:
        shortest = self.unit * min(_STEPS.values()) // _PER_UNIT
        return any(self.room(_scale(shortest * int(p), f)) for p, f in _TUPLETS.items())

    def _paren(self, c: str) -> bool:
        f = _TUPLETS.get(c)
        if f is not None:
            if self.tup_left or self.broken or self.need == 1:
                return False
            self.tup_left, self.tup_f, self.tup_len = int(c), f, 0
            self.st, self.need = SEP, 2
            return self._viable("")
        if self.slur:
            return False
        self.slur, self.need, self.st = 1, self.need or 2, SEP
        return self._sep(c)


def _scale(ticks: int, ratio: tuple[int, int]) -> int:
    """``ticks`` times a tuplet's ratio, rounded half to even as ``round`` does."""
    n, d = ratio
    q, r = divmod(ticks * n, d)
    return q + (2 * r > d or (2 * r == d and q % 2 == 1))
