"""Sending: notes out on time, every note-on with its note-off, and the ways to silence
(release, panic, close, suspend). A part of ``Engine`` (livernn/engine/core.py), split out
to keep each module small; pure of threads (see docs/DESIGN.md).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

from livernn.clock import TempoMap
from livernn.engine import sync
from livernn.scheduler import ON, Note

log = logging.getLogger("livernn.engine.core")

EPS_BEATS = 1e-9  # beats <-> seconds round-trips are not exact
EARLY = 1e-4  # seconds: an output call due this soon is made now

_seq = itertools.count()


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

    # -- latency compensation: each output is sent its own ``latency`` ahead of a deadline;
    # the engine pops what is due ``lead`` (the largest) ahead and holds the calls of the
    # outputs with less in ``_delayed`` (time, seq, output, method, args) until their time.

    def lead(self) -> float:
        return max((s.latency for s in self.sinks), default=0.0)

    def _at(self, deadline: float, group: Sequence[Any], what: str, args: tuple) -> None:
        """``output.<what>(t, *args)`` for each output of a group at ``deadline`` minus its
        latency: now when that has come, else held."""
        now = self.clock.now()
        for o in group:
            at = deadline - getattr(o, "latency", 0.0)
            if at <= now + EARLY:
                self._call(o, what, now, args)
            else:
                heapq.heappush(self._delayed, (at, next(_seq), o, what, args))

    def _call(self, o: Any, what: str, t: float, args: tuple) -> None:
        self._each((o,), what, lambda o: getattr(o, what)(t, *args))

    def _send_delayed(self) -> None:
        q = self._delayed
        while q and q[0][0] <= self.clock.now() + EARLY:
            _, _, o, what, args = heapq.heappop(q)
            self._call(o, what, self.clock.now(), args)

    def _flush_offs(self) -> None:
        """Before a release: the held note-offs go now, the held note-ons never (an output
        must not start a note the others were told to end)."""
        held, self._delayed = sorted(self._delayed), []
        t = self.clock.now()
        for _, _, o, what, args in held:
            if what in ("note_off", "clock"):
                self._call(o, what, t, args)

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
        limit = self.tempo.beat_at(now + self.config.lookahead + self.lead()) + EPS_BEATS
        for note in self.early.pop_due(limit, self.scheduler.is_pending):
            out = self._outgoing(note)
            if out is None:
                continue
            ch, pitch, vel, dur = out
            bits = None if note.backing else note.bits
            at = self.tempo.time_at(note.on_beat)  # its timetag: minus the output's latency
            for o in self._early_sinks:
                a = (now, at - o.latency, note.voice, ch, pitch, vel, dur, bits)
                self._each((o,), "note_ahead", lambda s, a=a: s.note_ahead(*a))

    def _next_deadline(self) -> float:
        """The earliest engine time something is due: a note-on or note-off, a timed command
        (engine/inbox.py), an early note (engine/early.py); inf when nothing is."""
        lead = self.lead()  # outputs sent ahead (latency compensation): the engine with them
        nb = self.scheduler.next_beat()
        t = self.tempo.time_at(nb) - lead if nb is not None else math.inf
        if self.sync.next_tick is not None:  # --clock-out
            t = min(t, self.tempo.time_at(self.sync.next_tick) - lead)
        if self._delayed:
            t = min(t, self._delayed[0][0])
        t = min(t, self.commands.next_due())
        if self.early is not None:
            eb = self.early.next_beat(self.scheduler.is_pending)
            if eb is not None:
                t = min(t, self.tempo.time_at(eb) - self.config.lookahead - lead)
        return t

    def _send_due(self) -> None:
        if self.closed:  # nothing may start after the closing note-offs
            return
        if self.early is not None:
            self._send_early()  # first: a note due now is told before it sounds
        self._send_delayed()
        now = self.clock.now()
        lead = self.lead()
        until = self.tempo.beat_at(now + lead) + EPS_BEATS
        if self.sync.next_tick is not None:
            for beat, msg in sync.clock_due(self, until):
                deadline = self.tempo.time_at(beat)
                self.clock_errors.append(self.clock.now() - deadline + lead)
                self._at(deadline, self.clock_sinks, "clock", (msg,))
        due = self.scheduler.pop_due(until)
        for d in due:
            t = self.clock.now()
            deadline = self.tempo.time_at(d.beat)
            self.sched_errors.append(t - deadline + lead)
            self.sched_voices.append(d.note.voice)
            note = d.note
            v = self.voices[note.voice]
            if d.kind == ON:
                out = self._outgoing(note)
                if out is None:
                    continue
                ch, pitch, vel, dur = out
                if self.sounding.on(note.id, v.index, ch, pitch, t):
                    self._at(deadline, self.sinks, "note_off", (v.index, ch, pitch))
                self._at(deadline, self.sinks, "note_on", (v.index, ch, pitch, vel, dur))
                if not note.backing:
                    c = (v.index, pitch, note.bits)
                    self._at(deadline, self.monitors, "confidence", c)
            else:
                held = self.sounding.off(note.id)
                if held is not None:
                    self._at(deadline, self.sinks, "note_off", (v.index, held[0], held[1]))
        for voice, ch, pitch in self.sounding.overdue(now, self.config.max_note):
            self._note_off(self.clock.now(), voice, ch, pitch)

    def release(self, voice: int | None = None) -> None:
        """Note-offs for every sounding note of a voice (or all) now; forget pending ones."""
        self._flush_offs()
        t = self.clock.now()
        for vi, ch, pitch in self.sounding.release(voice):
            self._note_off(t, vi, ch, pitch)
        self.scheduler.drop(voice)

    def release_backing(self, voice: int) -> None:
        """Note-offs now for a voice's sounding backing notes (its bass and chord channels)."""
        v = self.voices[voice]
        self._flush_offs()
        t = self.clock.now()
        for ch in {v.cfg.bass_channel, v.cfg.chord_channel} - {v.cfg.channel}:
            for vi, c, pitch in self.sounding.release_channel(voice, ch):
                self._note_off(t, vi, c, pitch)

    def panic(self) -> None:
        self.release(None)
        sync.clock_stop(self)
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
        sync.clock_stop(self)
        if self.sync.source is not None:
            self._each([self.sync.source], "close", lambda s: s.close())
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
