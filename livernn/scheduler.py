"""Pure note scheduling: a queue of note-ons and note-offs in global beats, and the registry
of notes actually sounding.

No clock and no I/O. The engine turns beats into deadlines with its tempo map when it sends,
so a tempo change moves every note not yet sent (including the note-offs of sounding notes)
without a jump. Channel, transposition and velocity are applied when a note is sent, and each
note-off uses exactly the channel and pitch of its note-on, so no note can be left sounding.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass

OFF = 0  # at the same beat a note-off is sent before a note-on (re-struck notes)
ON = 1


@dataclass(frozen=True, slots=True)
class Note:
    """A note of one voice on the global beat line (pitch before transposition)."""

    id: int
    voice: int
    pitch: int
    velocity: int
    on_beat: float
    off_beat: float
    backing: int = 0  # abc.events MELODY, BASS or CHORD: which channel of the voice plays it
    bits: float = 0.0  # the model's entropy at the characters that wrote it (confidence)


@dataclass(frozen=True, slots=True)
class Due:
    """An action that has come due: ``kind`` is ON or OFF."""

    kind: int
    note: Note
    beat: float


class Scheduler:
    """Note-ons and note-offs ordered by beat; cancelled entries are skipped lazily."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, int, int]] = []  # (beat, kind, seq, note id)
        self._notes: dict[int, Note] = {}
        self._pending_on: set[int] = set()
        self._pending_off: dict[int, float] = {}  # note id -> beat of its live note-off
        self._ids = itertools.count(1)
        self._seq = itertools.count()

    def __len__(self) -> int:
        return len(self._pending_on) + len(self._pending_off)

    def add(
        self,
        voice: int,
        pitch: int,
        velocity: int,
        on_beat: float,
        off_beat: float,
        backing: int = 0,
        bits: float = 0.0,
    ) -> Note:
        """Schedule a note; ``off_beat`` is raised to ``on_beat`` if it is earlier."""
        off = max(off_beat, on_beat)
        note = Note(next(self._ids), voice, pitch, velocity, on_beat, off, backing, bits)
        self._notes[note.id] = note
        self._pending_on.add(note.id)
        self._pending_off[note.id] = note.off_beat
        heapq.heappush(self._heap, (note.on_beat, ON, next(self._seq), note.id))
        heapq.heappush(self._heap, (note.off_beat, OFF, next(self._seq), note.id))
        return note

    def is_pending(self, note_id: int) -> bool:
        """Whether a note's note-on is still to be sent."""
        return note_id in self._pending_on

    def _live(self, entry: tuple[float, int, int, int]) -> bool:
        beat, kind, _, nid = entry
        if kind == ON:
            return nid in self._pending_on
        return self._pending_off.get(nid) == beat

    def _prune(self) -> None:
        heap = self._heap
        while heap and not self._live(heap[0]):
            heapq.heappop(heap)

    def next_beat(self) -> float | None:
        """Beat of the earliest pending action, or None."""
        self._prune()
        return self._heap[0][0] if self._heap else None

    def pop_due(self, beat: float) -> list[Due]:
        """Every pending action at or before ``beat``, in order."""
        out: list[Due] = []
        heap = self._heap
        while True:
            self._prune()
            if not heap or heap[0][0] > beat:
                return out
            b, kind, _, nid = heapq.heappop(heap)
            note = self._notes[nid]
            if kind == ON:
                self._pending_on.discard(nid)
            else:
                if nid in self._pending_on:  # a zero-length note: its on comes first
                    self._pending_on.discard(nid)
                    out.append(Due(ON, note, b))
                del self._pending_off[nid]
                del self._notes[nid]
            out.append(Due(kind, note, b))

    def drop(self, voice: int | None = None) -> None:
        """Forget every pending action (of one voice or all). Sounding notes are the
        caller's to release (see ``Sounding.release``)."""
        for nid in [n for n, note in self._notes.items() if voice is None or note.voice == voice]:
            self._pending_on.discard(nid)
            self._pending_off.pop(nid, None)
            del self._notes[nid]

    def cut(self, at_beat: float, voice: int | None = None) -> None:
        """Make the music stop at ``at_beat``: notes starting there or later are dropped, notes
        still sounding then end there."""
        for nid, note in list(self._notes.items()):
            if voice is not None and note.voice != voice:
                continue
            if note.on_beat >= at_beat and nid in self._pending_on:
                self._pending_on.discard(nid)
                self._pending_off.pop(nid, None)
                del self._notes[nid]
            elif self._pending_off.get(nid, at_beat) > at_beat:
                self._pending_off[nid] = at_beat
                heapq.heappush(self._heap, (at_beat, OFF, next(self._seq), nid))

    def skip(self, before: float) -> None:
        """Notes not yet started that start before beat ``before`` are not played (the beat
        line jumped over them); sounding notes end as planned."""
        for nid in [n for n in self._pending_on if self._notes[n].on_beat < before]:
            self._pending_on.discard(nid)
            self._pending_off.pop(nid, None)
            del self._notes[nid]

    def pending(self, voice: int | None = None) -> list[Note]:
        """Notes not yet started (for views and tests)."""
        return sorted(
            (
                self._notes[n]
                for n in self._pending_on
                if voice is None or self._notes[n].voice == voice
            ),
            key=lambda n: (n.on_beat, n.id),
        )


@dataclass(slots=True)
class _Held:
    voice: int
    channel: int
    pitch: int
    since: float


class Sounding:
    """Notes that have been sent on and not yet off, with reference counts per
    (channel, pitch) so overlapping notes of one pitch never cut each other off wrongly.

    ``on`` returns the (channel, pitch) pairs to turn off first (a re-struck pitch), ``off``
    and ``release`` return the pairs to send note-offs for. Every pair returned by ``on`` as
    struck is eventually returned exactly once by ``off``/``release``/``overdue``.
    """

    def __init__(self) -> None:
        self._held: dict[int, _Held] = {}
        self._count: dict[tuple[int, int], int] = {}

    def __len__(self) -> int:
        return len(self._held)

    def on(self, note_id: int, voice: int, channel: int, pitch: int, t: float) -> bool:
        """Register a note-on; returns True when the same (channel, pitch) was already
        sounding (the caller sends a note-off right before the note-on: a re-strike)."""
        key = (channel, pitch)
        n = self._count.get(key, 0)
        self._count[key] = n + 1
        self._held[note_id] = _Held(voice, channel, pitch, t)
        return n > 0

    def off(self, note_id: int) -> tuple[int, int] | None:
        """Unregister a note; the (channel, pitch) to send off, or None when nothing is due
        (the note is not sounding, or another note still holds that pitch)."""
        held = self._held.pop(note_id, None)
        if held is None:
            return None
        key = (held.channel, held.pitch)
        n = self._count[key] - 1
        if n > 0:
            self._count[key] = n
            return None
        del self._count[key]
        return key

    def release(self, voice: int | None = None) -> list[tuple[int, int, int]]:
        """Unregister every sounding note (of one voice or all); the note-offs to send as
        (voice, channel, pitch)."""
        return self._offs([n for n, h in self._held.items() if voice is None or h.voice == voice])

    def release_channel(self, voice: int, channel: int) -> list[tuple[int, int, int]]:
        """``release`` for the notes of one voice on one channel (its backing, switched off)."""
        held = self._held.items()
        return self._offs([n for n, h in held if h.voice == voice and h.channel == channel])

    def overdue(self, now: float, max_seconds: float) -> list[tuple[int, int, int]]:
        """Unregister notes held ``max_seconds`` or longer; the note-offs to send as
        (voice, channel, pitch)."""
        limit = max_seconds - 1e-9  # since + max - since may round below max
        return self._offs([n for n, h in self._held.items() if now - h.since >= limit])

    def struck(self, since: float) -> set[int]:
        """Pitches of the sounding notes that started at ``since`` or later."""
        return {h.pitch for h in self._held.values() if h.since >= since}

    def oldest(self) -> float | None:
        """When the longest-sounding note started (None: nothing sounds); it must end by
        this time plus the maximum note length."""
        return min((h.since for h in self._held.values()), default=None)

    def _offs(self, ids: list[int]) -> list[tuple[int, int, int]]:
        out: list[tuple[int, int, int]] = []
        for nid in ids:
            voice = self._held[nid].voice
            key = self.off(nid)
            if key is not None:
                out.append((voice, key[0], key[1]))
        return out

    def held(self) -> list[tuple[int, int, int]]:
        """(voice, channel, pitch) of every sounding note."""
        return [(h.voice, h.channel, h.pitch) for h in self._held.values()]
