"""Parts (``P:``): a tune's parts recorded as they are played, and played again at the tune
end in the order the header's ``P:`` gives (``P:ABA``), as abc2midi 4.84 does. A mixin of
``AbcInterpreter`` (see docs/DESIGN.md, module map). Pure code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from livernn.abc.events import Event, NoteEvent
from livernn.abc.state import Cells, Part
from livernn.abc.tables import expand_parts

if TYPE_CHECKING:
    from livernn.abc.repeats import RepeatMachine

_MAX_PARTS = 64  # parts kept in one tune


class PartsWriter:
    """The parts of one tune body."""

    # set by AbcInterpreter / NoteWriter
    _out: list[Event]
    _tune: int
    _expand: bool
    _pos: float
    _parts: tuple[Part, ...]
    _parts_spec: str
    _part_label: str
    _part_origin: float
    _part_cells: Cells
    _part_count: int
    position: float

    if TYPE_CHECKING:  # (NoteWriter's)

        def _finalize(self, force: bool = False) -> None: ...
        def _rep_w(self) -> RepeatMachine: ...
        def _play(self, notes: list[tuple[int, float, float]]) -> None: ...

    def _close_part(self) -> None:
        if self._part_label and len(self._parts) < _MAX_PARTS:
            length = self.position - self._part_origin
            self._parts += (Part(self._part_label, self._part_cells, length),)

    def _start_part(self, label: str) -> None:
        """``P:X`` in the body: part X starts here (the header's ``P:`` gives the order)."""
        self._finalize(force=True)
        self._close_part()
        self._part_label = label if label.isalpha() else ""
        if self._parts_spec and self._expand:
            buf: list[tuple[int, float, float]] = []
            self._rep_w().part_start(self._pos, buf)
            self._play(buf)
        self._part_origin = self.position
        self._part_cells = None
        self._part_count = 0

    def _play_parts(self) -> float:
        """At the tune end, play the parts the header's order asks for after those written
        (``P:ABA``: part A again, a da capo), as abc2midi does."""
        self._close_part()
        self._part_label = ""
        written = [part.label for part in self._parts]
        order = expand_parts(self._parts_spec)
        end = self.position
        if len(order) <= len(written) or order[: len(written)] != written:
            return end
        stored = {part.label: (part.cells, part.length) for part in self._parts}
        for label in order[len(written) :]:
            if label not in stored:
                continue
            cells, length = stored[label]
            notes = []
            while cells is not None:
                notes.append(cells[0])
                cells = cells[1]
            for p, on, d in reversed(notes):
                self._out.append(NoteEvent(p & 127, on + end, d, p >> 7, self._tune))
            end = round(end + length, 9)
        return end
