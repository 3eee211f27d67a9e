"""Text that was not written under the mask (a seed, a prime), read as a performer wrote it.

Pure code (see docs/DESIGN.md): the ``Lexer`` in ``livernn/constrain/lexer.py`` calls
``recover(c)`` for a character its grammar does not allow; the bar it lands in is not
counted, an unknown field line is read to its end, and nothing is refused.
"""

from __future__ import annotations

from livernn.constrain import tables as T
from livernn.constrain.states import (
    BFREE,
    BRACKET,
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
    LETTERS,
    LINE,
    SEP,
    TOP,
    X_COLON,
    X_NUM,
)


class Lenient:
    """The lenient steps of ``Lexer`` (its state lives in ``Lexer.__slots__``)."""

    __slots__ = ()

    def recover(self, c: str) -> None:
        """Read ``c``, which the grammar does not allow here, as a performer wrote it."""
        st = self.st
        if st < LINE:
            self._recover_header(c)
        elif st in (GCH, DECO, GRACE):  # an annotation, an unknown decoration ...
            self.free = True  # (the model may close it whatever it holds)
            if c == {GCH: '"', DECO: "!", GRACE: "}"}[st]:
                self.st, self.buf = SEP, ""
            elif c == "\n":
                self._drop()
                self.st = LINE
            elif len(self.buf) < T.MAX_TEXT:
                self.buf += c
        elif st in (FIELD_VAL, INLINE_VAL, INLINE_COLON, FIELD_COLON):
            end = "\n" if st in (FIELD_VAL, FIELD_COLON) else "]"
            if c == end:
                self._body_field(self.field, self.buf.strip())
            elif len(self.buf) < T.MAX_TEXT and c != "\n":
                self.buf += c if st in (FIELD_VAL, INLINE_VAL) else ""
        elif st == BFREE:
            pass  # a line too long to keep: the rest is skipped
        elif st == BRACKET and c in "KML" and not self.fill:
            # an inline field where the grammar would not write one (the engine's [M:6/8]
            # at a bar line, asked for live): the bars are counted in it from here
            self.st, self.field = INLINE_COLON, c
        elif st == LINE and c.isalpha() and c not in LETTERS or st == LINE and c == "%":
            self.st, self.buf = BFREE, c  # a field line (P:, w: ...) or a comment
        else:
            self._recover_body(c)

    def _recover_body(self, c: str) -> None:
        at_line = self.st == LINE
        if not self.free:  # the bar as the performer wrote it, not counted
            snap = self._snapshot()
            self.free = True
            if self.step(c):
                return
            self._restore(snap)
        self.free = True
        self._drop()
        self.st = LINE if at_line else SEP
        snap = self._snapshot()
        if self.step(c):  # without the element in progress
            return
        self._restore(snap)
        if c == "\n":  # a blank line ends the tune, as in the interpreter
            if at_line:
                self._end_tune()
            else:
                self.st = LINE
        # anything else is skipped

    def _recover_header(self, c: str) -> None:
        st = self.st
        line = {
            X_COLON: "X", X_NUM: "X:" + self.buf, HDR_COLON: self.field,
            HDR_VAL: f"{self.field}:{self.buf}", FREE: self.buf,
        }.get(st, "")  # fmt: skip
        if c == "\n":
            if st == HDR:  # a blank line: the tune ended in its header
                self._end_tune()
            elif st != TOP:
                self.st, self.buf = FREE, line
                self._free_end()
        elif st == HDR and not c.isalpha():  # music without a K: line
            self._start_body()
            snap = self._snapshot()
            if not self.step(c):
                self._restore(snap)
                self.recover(c)
        elif st != FREE or len(line) < T.MAX_TEXT:
            self.st, self.buf = FREE, line + c

    def _free(self, c: str) -> bool:
        """A line read leniently (a header field, or a body field line) goes on."""
        if c == "\n":
            self._free_end()
            return True
        if len(self.buf) >= T.MAX_TEXT:
            return False
        self.buf += c
        return True

    def _free_end(self) -> None:
        line, self.buf = self.buf, ""
        f, colon, v = line[:1], line[1:2], line[2:]
        if self.st == BFREE:
            self.st = LINE
            if colon == ":" and f in "KML":
                self.st = FIELD_VAL
                self._body_field(f, v.strip())
            elif (f, colon) == ("X", ":"):  # a new tune without a blank line
                self.st, self.hdr, self.seen, self.unit_given, self.bar = HDR, True, "", 0, 0
                self.length = len(line)
        elif not self.hdr:
            self.st = HDR if (f, colon) == ("X", ":") else TOP
            self.hdr = self.st == HDR
            self.length = len(line) + 1
            self.seen, self.unit_given, self.bar = "", 0, 0
        elif colon == ":" and f.isalpha():
            if f == "K":
                self._start_body()
            else:
                if f == "M":
                    self.set_bar(v)
                elif f == "L":
                    self.unit_given = T.unit_ticks(v)
                self.st, self.seen = HDR, self.seen + f
        else:
            self.st = HDR
