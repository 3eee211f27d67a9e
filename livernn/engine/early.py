"""Notes told ahead of their time (``--osc-out-bundles``): a heap of placed notes by beat.

The engine puts every note it places here when a sink wants notes early (the OSC echo as
timetagged bundles, livernn/outputs/osc_out.py) and takes them out once they are due within
the lookahead, so the echo leaves up to the lookahead before the note's deadline; a note the
scheduler no longer holds (cut by a seed, a stop, a panic) is skipped, never told. Pure: beats
only, no clock (see docs/DESIGN.md).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

from livernn.scheduler import Note


class Early:
    """Placed notes ordered by their on-beat (then by placement); each comes out once."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Note]] = []

    def __len__(self) -> int:
        return len(self._heap)

    def add(self, note: Note, pending: Callable[[int], bool], live: int) -> None:
        """Keep a note until it is told; ``live``: notes the scheduler holds, so stale
        entries are swept before they outnumber the live ones (the heap stays bounded)."""
        heapq.heappush(self._heap, (note.on_beat, note.id, note))
        if len(self._heap) > 2 * live + 64:
            self._heap = [e for e in self._heap if pending(e[1])]
            heapq.heapify(self._heap)

    def next_beat(self, pending: Callable[[int], bool]) -> float | None:
        """The on-beat of the earliest note still pending, or None."""
        heap = self._heap
        while heap and not pending(heap[0][1]):
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def pop_due(self, beat: float, pending: Callable[[int], bool]) -> list[Note]:
        """Every pending note starting at or before ``beat``, in order (the others that
        come out are dropped)."""
        out: list[Note] = []
        heap = self._heap
        while heap and heap[0][0] <= beat:
            _, nid, note = heapq.heappop(heap)
            if pending(nid):
                out.append(note)
        return out

    def clear(self) -> None:
        self._heap.clear()
