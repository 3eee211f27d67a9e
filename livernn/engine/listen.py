"""Call and response (issue 17): what a performer plays into ``--midi-in`` goes into the
voices as ABC (livernn/transcribe.py), so the model knows what was played (see
docs/DESIGN.md). Runs on the engine's thread: the MIDI input's callback only queues.

Modes per voice (``/livernn/midi_in s``, ``livernn.osc.MIDI_IN_MODES``): ``listen`` (the voice falls silent when the
performer starts and answers, continuing the phrase, once the performer has left a gap of
``gap_bars`` bars), ``accompany`` (it plays on; the model reads the phrase, so what it
writes next follows the performer, while its own text goes on unbroken), ``off``. Notes the engine itself is sounding
never count as input (a MIDI loop back into ``--midi-in``).
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass
from typing import Any

from livernn.abc.events import NoteEvent
from livernn.transcribe import Transcriber

__all__ = ["Ear", "Heard", "hear_all", "queue"]

ECHO = 0.05  # s: a note-on of a pitch we struck this recently is our own, come back
MAX_QUEUED = 4096  # incoming MIDI messages waiting for the engine (the oldest go first)


@dataclass(frozen=True, slots=True)
class Heard:
    """One key of the performer's: ``on`` True for a note-on (velocity > 0)."""

    t: float  # engine clock seconds, when it arrived
    pitch: int
    on: bool
    velocity: int = 90


class Ear:
    """A voice's side of the conversation: the phrase being heard."""

    def __init__(self, mode: str = "off", gap_bars: float = 1.0) -> None:
        self.mode = mode
        self.gap_bars = gap_bars
        self.tr: Transcriber | None = None
        self.held: set[int] = set()
        self.last_end = -math.inf  # beat the last key came up
        self.heard_text = ""  # the phrase so far, as written into the voice


def queue() -> collections.deque[Heard]:
    return collections.deque(maxlen=MAX_QUEUED)


def hear_all(engine: Any) -> None:
    """Take what arrived from the MIDI input and what the gaps decide (each tick)."""
    q = engine.heard
    while q:
        h = q.popleft()
        if h.on and h.pitch in engine.sounding.struck(h.t - ECHO):
            engine.ignored.add(h.pitch)  # our own note come back: the feedback guard
            continue
        if not h.on and h.pitch in engine.ignored:
            engine.ignored.discard(h.pitch)
            continue
        if engine.config.midi_thru:
            _thru(engine, h)
        beat = engine.tempo.beat_at(h.t)
        for v in engine.voices:
            if v.ear.mode != "off":
                _key(engine, v, beat, h)
    playhead = engine.playhead()
    for v in engine.voices:
        ear = v.ear
        if ear.tr is not None and not ear.held:
            resume = ear.last_end + ear.gap_bars * v.bar_beats
            if playhead >= resume - 2 * engine.config.lookahead * engine.tempo.bpm / 60.0:
                _answer(engine, v, resume)


def _thru(engine: Any, h: Heard) -> None:
    """``--midi-thru``: the performer's key to the outputs at once, on voice 1's channel,
    held in the registry of sounding notes like the engine's own (panic, stop and the note
    cap end it; played back into --midi-in it is our own note: not heard again)."""
    ch, now = engine.voices[0].cfg.channel, engine.clock.now()
    if h.on:
        nid = next(engine.thru_ids)
        if engine.sounding.on(nid, 0, ch, h.pitch, now):
            engine._note_off(now, 0, ch, h.pitch)
        old = engine.thru.get(h.pitch)
        if old is not None and engine.sounding.off(old) is not None:
            engine._note_off(now, 0, ch, h.pitch)
        engine.thru[h.pitch] = nid
        on = (now, 0, ch, h.pitch, max(1, min(127, h.velocity)), engine.config.max_note)
        engine._each(engine.sinks, "note_on", lambda s: s.note_on(*on))
    else:
        nid = engine.thru.pop(h.pitch, None)
        if nid is not None and engine.sounding.off(nid) is not None:
            engine._note_off(now, 0, ch, h.pitch)


def _key(engine: Any, v: Any, beat: float, h: Heard) -> None:
    ear = v.ear
    if ear.tr is None:
        if not h.on:
            return
        _phrase_starts(engine, v, beat)
    if h.on:
        ear.held.add(h.pitch)
        text = ear.tr.note_on(beat, h.pitch)
    else:
        ear.held.discard(h.pitch)
        text = ear.tr.note_off(beat, h.pitch)
        ear.last_end = max(ear.last_end, ear.tr.pos)
    _write(engine, v, text)


def _phrase_starts(engine: Any, v: Any, beat: float) -> None:
    """The first key of a phrase: the grid is the voice's bar line at or before it."""
    ear = v.ear
    origin = v.bar_on_grid(beat)
    if origin > beat:
        origin -= v.bar_beats
    ear.tr = Transcriber(v.key or "C", v.meter or "4/4", origin=origin)
    ear.heard_text = ""
    if ear.mode == "listen":
        v.listening = True  # silent from the performer's first note
        engine.scheduler.cut(beat, v.index)
        engine._flush_offs()
        for vi, ch, pitch in engine.sounding.release(v.index):
            engine._note_off(engine.clock.now(), vi, ch, pitch)
        v.origin = origin - float(v.interp.settled)


def _write(engine: Any, v: Any, text: str) -> None:
    """Feed the phrase's text to the voice's model, interpreter and automaton as if it had
    written it; its notes are the performer's, so none is scheduled."""
    if not text:
        return
    v.ear.heard_text += text
    v.logits = engine.model.prefill(v.index, text)
    if v.ear.mode == "accompany":
        # the model reads it (its next characters follow the performer); the voice's own
        # text, interpreter and automaton go on where they were: it plays on unbroken
        v.new_text.append(text)
        return
    v.track(text)
    for ev in v.interp.feed(text):
        if not isinstance(ev, NoteEvent):
            v.place(ev, engine.playhead(), engine._soon, math.inf)
    v.bar_written = None


def _answer(engine: Any, v: Any, at: float) -> None:
    """The performer has left the gap: the phrase ends with rests to ``at`` and the voice
    answers from there."""
    ear = v.ear
    _write(engine, v, ear.tr.flush(at))
    ear.tr = None
    ear.last_end = -math.inf
    if ear.mode == "listen":
        v.origin = at - float(v.interp.settled)
        v.listening = False
