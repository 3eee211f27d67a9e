"""Where a tune starts and ends: the one definition every part of livernn uses.

A tune starts at a line that begins with ``X:`` (its reference number) and ends at the next
empty line or the next ``X:`` line; text outside tunes (a file header, free text, comments)
belongs to no tune. Spec: https://abcnotation.com/wiki/abc:standard:v2.1#abc_tune ,
https://abcnotation.com/wiki/abc:standard:v2.1#xreference_number and
https://abcnotation.com/wiki/abc:standard:v2.1#empty_lines_and_line-breaking .

Lines are separated by ``"\\n"`` only (as in the streaming interpreter); an "empty" line is
one with nothing but white space. Pure functions, no I/O.
"""

from __future__ import annotations

from typing import NamedTuple

#: The text a line starts with when it starts a tune.
TUNE_START = "X:"


def starts_tune(line: str) -> bool:
    """Does ``line`` (or a line beginning with it) start a new tune?"""
    return line.startswith(TUNE_START)


def is_blank(line: str) -> bool:
    """Is ``line`` empty or white space only (a line that ends the tune before it)?"""
    return not line.strip()


class TuneSpan(NamedTuple):
    """Offsets of one tune in a text: ``text[start:end]`` is the tune (its ``X:`` line up to
    the empty line or ``X:`` line that ends it), ``text[end:stop]`` what follows it up to the
    next tune's ``X:`` line (empty lines, free text)."""

    start: int
    end: int
    stop: int


def tune_spans(text: str) -> list[TuneSpan]:
    """Every tune of ``text``, in order (text before the first ``X:`` line is in none)."""
    spans: list[TuneSpan] = []
    start = end = -1  # the open tune; end = -1 while its music goes on
    pos = 0
    n = len(text)
    while pos < n:
        nl = text.find("\n", pos)
        stop = n if nl < 0 else nl + 1
        line = text[pos : stop if nl < 0 else nl]
        if starts_tune(line):
            if start >= 0:
                spans.append(TuneSpan(start, pos if end < 0 else end, pos))
            start, end = pos, -1
        elif start >= 0 and end < 0 and is_blank(line):
            end = pos
        pos = stop
    if start >= 0:
        spans.append(TuneSpan(start, n if end < 0 else end, n))
    return spans


def split_tunes(text: str) -> list[str]:
    """The tunes of a file as written: each from its ``X:`` line up to the next ``X:`` line,
    what follows a tune included (so ``"".join`` gives the text from the first ``X:`` on)."""
    return [text[s.start : s.stop] for s in tune_spans(text)]


def tune_texts(text: str) -> list[str]:
    """The tunes of a file alone: each from its ``X:`` line to the line before the empty
    line or ``X:`` line that ends it, without the final newline."""
    out: list[str] = []
    for s in tune_spans(text):
        tune = text[s.start : s.end]
        out.append(tune[:-1] if tune.endswith("\n") else tune)
    return out


class TuneTracker:
    """Tune boundaries in a stream of characters (pure; fed one character at a time).

    A tune is in progress once a non-empty line has been seen; it ends at an empty line or
    when a line starts with ``X:``. ``feed`` returns ``None``, or, when a tune has just
    ended, how many of the characters fed so far belong to the next tune (2 when ``X:``
    ended it, 0 for an empty line).
    """

    def __init__(self) -> None:
        self.completed = 0  # tunes ended so far
        self.line = ""  # the current line so far
        self._in_tune = False

    def feed(self, c: str) -> int | None:
        ended: int | None = None
        if c == "\n":
            if not is_blank(self.line):
                self._in_tune = True
            elif self._in_tune:
                self._in_tune = False
                ended = 0
            self.line = ""
        else:
            self.line += c
            if self.line == TUNE_START and self._in_tune:
                self._in_tune = False
                ended = len(TUNE_START)
        if ended is not None:
            self.completed += 1
        return ended
