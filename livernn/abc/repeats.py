"""Repeat expansion: repeats are played as written, the way abc2midi plays them.

Spec: https://abcnotation.com/wiki/abc:standard:v2.1#repeat_bar_symbols
Rules (checked against abc2midi 4.84):
- A section starts at the tune start, at ``|:``, and right after each ``:|`` that is not in
  a first ending. ``||`` and ``|]`` do not start one.
- ``:|`` plays the section again without its endings, so the repeated notes come out at
  once with later onsets; ``::`` is ``:|`` then ``|:``.
- Endings (``[1``, ``|1``, ``[2``, ``:|2``) are played once, as written, and not recorded.
  After a later ending closed by ``||``/``|]``, the section goes on recording: a following
  ``:|`` repeats the body before the endings plus what came after them (abc2midi does).

The recorded notes are an immutable linked list, so copying the interpreter is O(1) here.
"""

from __future__ import annotations

Note = tuple[int, float, float]  # pitch, onset, duration
# A cons list: None or (note, previous cell). Newest first.
Cells = tuple[Note, "Cells"] | None

MAX_SECTION_NOTES = 4096  # longer sections are not repeated (keeps bursts and memory bounded)


class Repeats:
    """The current section: its recorded notes (onsets relative to the section, endings
    left out), whether it is recording, and which ending we are in."""

    __slots__ = ("origin", "length", "recording", "cells", "count", "ending", "overflow")

    def __init__(self, start: float = 0.0) -> None:
        self.start_section(start)

    def copy(self) -> Repeats:
        r = Repeats.__new__(Repeats)
        r.origin = self.origin
        r.length = self.length
        r.recording = self.recording
        r.cells = self.cells
        r.count = self.count
        r.ending = self.ending
        r.overflow = self.overflow
        return r

    def start_section(self, pos: float) -> None:
        self.origin = pos  # absolute beat of the section's relative time 0
        self.length = 0.0  # recorded beats (while not recording)
        self.recording = True
        self.cells: Cells = None
        self.count = 0
        self.ending = 0
        self.overflow = False

    def record(self, pitch: int, onset: float, duration: float) -> None:
        if not self.recording or self.overflow:
            return
        if self.count >= MAX_SECTION_NOTES:
            self.overflow = True
            self.cells = None
            return
        self.cells = ((pitch, onset - self.origin, duration), self.cells)
        self.count += 1

    def begin_ending(self, number: int, pos: float) -> None:
        """``[1``, ``|1``, ``[2`` ...: endings are played once and never recorded."""
        if self.recording:
            self.length = pos - self.origin
            self.recording = False
        self.ending = max(number, 1)

    def end_ending(self, pos: float) -> None:
        """``||``, ``|]`` or ``[|`` after a later ending: recording goes on (abc2midi repeats
        the body and what follows the endings at the next ``:|``)."""
        if self.ending >= 2 and not self.recording:
            self.origin = pos - self.length
            self.recording = True
            self.ending = 0

    def end_repeat(self, pos: float) -> tuple[list[Note], float]:
        """``:|`` at ``pos``: the notes to play again (shifted) and the new position."""
        if self.ending >= 2:  # a ':|' closing a later ending: nothing more to repeat
            self.start_section(pos)
            return [], pos
        if self.recording:
            self.length = pos - self.origin
        length = self.length
        replay: list[Note] = []
        if length > 0 and not self.overflow:
            cell = self.cells
            while cell is not None:
                p, on, d = cell[0]
                if on < length - 1e-9:
                    replay.append((p, on + pos, d))
                cell = cell[1]
            replay.reverse()
        new_pos = pos + length if length > 0 and not self.overflow else pos
        if self.ending == 1:  # first ending: the second comes next, the section goes on
            self.recording = False
        else:
            self.start_section(new_pos)
        return replay, new_pos
