"""Repeat expansion: repeats are played as written, the way abc2midi plays them.

Spec: https://abcnotation.com/wiki/abc:standard:v2.1#repeat_bar_symbols
Rules (checked against abc2midi 4.84):
- A section starts at the tune start, at ``|:``, and right after each ``:|``. ``||`` and
  ``|]`` do not start one.
- ``:|`` plays the section again (without its first ending ``[1``/``|1``), so the repeated
  notes come out at once with later onsets; ``::`` is ``:|`` then ``|:``.
- Second endings (``[2``, ``:|2``) are played once, as written, and are not recorded.

The recorded notes are an immutable linked list, so copying the interpreter is O(1) here.
"""

from __future__ import annotations

Note = tuple[int, float, float]  # pitch, onset, duration
# A cons list: None or (note, previous cell). Newest first.
Cells = tuple[Note, "Cells"] | None

MAX_SECTION_NOTES = 4096  # longer sections are not repeated (keeps bursts and memory bounded)


class Repeats:
    """Where the current section started, what it holds, and which ending we are in."""

    __slots__ = ("start", "cells", "count", "ending", "body_end", "overflow")

    def __init__(self, start: float = 0.0) -> None:
        self.start = start
        self.cells: Cells = None
        self.count = 0
        self.ending = 0  # 0: no ending; 1: first ending (not recorded); >= 2: later ending
        self.body_end = start  # where the first ending began
        self.overflow = False

    def copy(self) -> Repeats:
        r = Repeats.__new__(Repeats)
        r.start = self.start
        r.cells = self.cells
        r.count = self.count
        r.ending = self.ending
        r.body_end = self.body_end
        r.overflow = self.overflow
        return r

    def record(self, pitch: int, onset: float, duration: float) -> None:
        if self.ending == 0 and not self.overflow:
            if self.count >= MAX_SECTION_NOTES:
                self.overflow = True
                self.cells = None
                return
            self.cells = ((pitch, onset, duration), self.cells)
            self.count += 1

    def start_section(self, pos: float) -> None:
        self.start = pos
        self.body_end = pos
        self.cells = None
        self.count = 0
        self.ending = 0
        self.overflow = False

    def begin_ending(self, number: int, pos: float) -> None:
        if number <= 1:
            if self.ending == 0:
                self.body_end = pos
            self.ending = 1
        else:
            self.ending = number

    def end_ending(self, pos: float) -> None:
        """A double bar / thick bar closes a later ending: the next section starts here."""
        if self.ending >= 2:
            self.start_section(pos)

    def end_repeat(self, pos: float) -> tuple[list[Note], float]:
        """``:|`` at ``pos``: the notes to play again (shifted) and the new position."""
        if self.ending >= 2:  # a ':|' closing a later ending: nothing more to repeat
            self.start_section(pos)
            return [], pos
        body_end = self.body_end if self.ending == 1 else pos
        length = body_end - self.start
        replay: list[Note] = []
        if length > 0 and not self.overflow:
            shift = pos - self.start
            cell = self.cells
            while cell is not None:
                p, on, d = cell[0]
                if on < body_end - 1e-9:
                    replay.append((p, on + shift, d))
                cell = cell[1]
            replay.reverse()
        new_pos = pos + max(length, 0.0) if not self.overflow else pos
        self.start_section(new_pos)
        return replay, new_pos
