"""Sending: notes out on time, every note-on with its note-off, and the ways to silence
(release, panic, close, suspend). A part of ``Engine`` (livernn/engine/core.py), split out
to keep each module small; pure of threads (see docs/DESIGN.md).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

from livernn.clock import TempoMap
from livernn.scheduler import ON, Note

log = logging.getLogger("livernn.engine.core")

EPS_BEATS = 1e-9  # beats <-> seconds round-trips are not exact


class Sending:
    """The engine's sending half (its state lives in ``Engine``)."""

    # -- sending ---------------------------------------------------------------------------

    def _each(self, group: Sequence[Any], what: str, call: Callable[[Any], None]) -> None:
        """``call(output)`` for every output of a group, at once (the interface method is
        named in ``call``; ``what`` names it in the log); one broken output must not silence
        the others."""
        for o in group:
            try:
                call(o)
            except Exception as e:
                if o.name not in self._failed_outputs:
                    self._failed_outputs.add(o.name)
                    log.error("output %s failed in %s: %s", o.name, what, e)

    def _note_off(self, t: float, voice: int, ch: int, pitch: int) -> None:
        self._each(self.sinks, "note_off", lambda s: s.note_off(t, voice, ch, pitch))

    def program(self, t: float, channel: int, number: int) -> None:
        self._each(self.sinks, "program", lambda s: s.program(t, channel, number))

    def _outgoing(self, note: Note) -> tuple[int, int, int, float] | None:
        """(channel, pitch, velocity, seconds) of a note-on as it would go out now; None when
        it does not sound (transposed out of range, its backing switched off)."""
        v = self.voices[note.voice]
        pitch = note.pitch + v.cfg.transpose
        if not 0 <= pitch <= 127 or (note.backing and not v.cfg.backing):
            return None  # /livernn/backing 0
        vel = max(1, min(127, round(note.velocity * v.cfg.velocity)))
        dur = min(
            self.tempo.time_at(note.off_beat) - self.tempo.time_at(note.on_beat),
            self.config.max_note,
        )
        return v.channel_of(note.backing), pitch, vel, dur

    def _send_early(self) -> None:
        """Tell the early sinks (``--osc-out-bundles``) of every note due within the lookahead."""
        if self.closed:
            return
        now = self.clock.now()
        limit = self.tempo.beat_at(now + self.config.lookahead) + EPS_BEATS
        for note in self.early.pop_due(limit, self.scheduler.is_pending):
            out = self._outgoing(note)
            if out is None:
                continue
            ch, pitch, vel, dur = out
            bits = None if note.backing else note.bits
            a = (now, self.tempo.time_at(note.on_beat), note.voice, ch, pitch, vel, dur, bits)
            self._each(self._early_sinks, "note_ahead", lambda s, a=a: s.note_ahead(*a))

    def _next_deadline(self) -> float:
        """The earliest engine time something is due: a note-on or note-off, a timed command
        (engine/inbox.py), an early note (engine/early.py); inf when nothing is."""
        nb = self.scheduler.next_beat()
        t = self.tempo.time_at(nb) if nb is not None else math.inf
        t = min(t, self.commands.next_due())
        if self.early is not None:
            eb = self.early.next_beat(self.scheduler.is_pending)
            if eb is not None:
                t = min(t, self.tempo.time_at(eb) - self.config.lookahead)
        return t

    def _send_due(self) -> None:
        if self.closed:  # nothing may start after the closing note-offs
            return
        if self.early is not None:
            self._send_early()  # first: a note due now is told before it sounds
        now = self.clock.now()
        due = self.scheduler.pop_due(self.tempo.beat_at(now) + EPS_BEATS)
        for d in due:
            t = self.clock.now()
            self.sched_errors.append(t - self.tempo.time_at(d.beat))
            self.sched_voices.append(d.note.voice)
            note = d.note
            v = self.voices[note.voice]
            if d.kind == ON:
                out = self._outgoing(note)
                if out is None:
                    continue
                ch, pitch, vel, dur = out
                if self.sounding.on(note.id, v.index, ch, pitch, t):
                    self._note_off(t, v.index, ch, pitch)
                on = (t, v.index, ch, pitch, vel, dur)
                self._each(self.sinks, "note_on", lambda s, on=on: s.note_on(*on))
                if not note.backing:
                    c = (t, v.index, pitch, note.bits)
                    self._each(self.monitors, "confidence", lambda m, c=c: m.confidence(*c))
            else:
                held = self.sounding.off(note.id)
                if held is not None:
                    self._note_off(t, v.index, held[0], held[1])
        for voice, ch, pitch in self.sounding.overdue(now, self.config.max_note):
            self._note_off(self.clock.now(), voice, ch, pitch)

    def release(self, voice: int | None = None) -> None:
        """Note-offs for every sounding note of a voice (or all) now; forget pending ones."""
        t = self.clock.now()
        for vi, ch, pitch in self.sounding.release(voice):
            self._note_off(t, vi, ch, pitch)
        self.scheduler.drop(voice)

    def release_backing(self, voice: int) -> None:
        """Note-offs now for a voice's sounding backing notes (its bass and chord channels)."""
        v = self.voices[voice]
        t = self.clock.now()
        for ch in {v.cfg.bass_channel, v.cfg.chord_channel} - {v.cfg.channel}:
            for vi, c, pitch in self.sounding.release_channel(voice, ch):
                self._note_off(t, vi, c, pitch)

    def panic(self) -> None:
        self.release(None)
        channels = sorted({ch for v in self.voices for ch in v.channels()})
        t = self.clock.now()
        self._each(self.sinks, "panic", lambda s: s.panic(t, channels))

    def close(self) -> None:
        """Silence everything and close the outputs (idempotent); a MIDI port adds its own
        all-notes-off as it closes."""
        if self.closed:
            return
        self.closed = True
        self.commands.drop_timed()  # a timed command waiting now never applies
        if self.early is not None:
            self.early.clear()
        for v in self.voices:
            v.running = False
        self.release(None)
        t = self.clock.now()
        everyone = list(dict.fromkeys([*self.sinks, *self.monitors]))  # each once, in order
        self._each(everyone, "close", lambda o: o.close(t))

    def suspend(self) -> None:
        """Ctrl-Z: silence everything now and remember the beat, so ``resume`` carries on
        from it (the music waits instead of rushing to catch up)."""
        self.panic()
        self._suspended_beat = self.playhead()

    def resume(self) -> None:
        """After a suspension: the tempo map is re-anchored at the beat where it stopped."""
        beat = self._suspended_beat
        if beat is not None:
            self.tempo = TempoMap(time=self.clock.now(), beat=beat, bpm=self.tempo.bpm)
            self._suspended_beat = None
