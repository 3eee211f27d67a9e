"""The engine in time with the band (issue 11): it follows an external beat line (Ableton
Link, a MIDI clock in), puts each tune's bar lines on the band's downbeats, passes tempo and
transport on, and sends MIDI clock out (see docs/DESIGN.md). Pure of threads: the engine
calls ``poll`` at the start of every tick and ``clock_due`` when it sends.

The decisions are ``livernn/sync/__init__.py``'s (pure); this module applies them: a jump of
the beat line forward skips the notes it passes over (a voice skips what it has not written
yet), one backward makes the music wait and ends the notes sounding.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

from livernn.clock import TempoMap
from livernn.config import SyncConfig
from livernn.sync import JUMP_SECONDS, Source, align, follow, grid_at_or_after
from livernn.sync.clockin import PPQ

if TYPE_CHECKING:
    from livernn.engine.core import Engine

log = logging.getLogger(__name__)

TIMING_CLOCK, START, CONTINUE, STOP, SONG_POSITION = 0xF8, 0xFA, 0xFB, 0xFC, 0xF2


class Sync:
    """The engine's sync state: its source, the offset to the external beat line, the
    transport last seen, and the MIDI clock out."""

    def __init__(self, config: SyncConfig) -> None:
        self.config = config
        self.source: Source | None = None
        self.offset: float | None = None  # livernn beat minus external beat
        self.playing: bool | None = None
        self.jumps = 0
        # MIDI clock out: livernn beat of the next tick and of song position 0, and what
        # goes out just before the next tick (Start, Song Position + Continue)
        self.clock_out = config.clock_out
        self.next_tick: float | None = None
        self.song_zero = 0.0
        self.before_tick: list[tuple[int, ...]] = []
        self.stopped = False  # Stop sent, no Start or Continue since


def quantum(engine: Engine) -> float:
    """Beats of the grid: ``--quantum``, else the bar of voice 1's current meter."""
    q = engine.sync.config.quantum
    return float(q) if q else max(engine.voices[0].bar_beats, 1e-3)


def attach(engine: Engine, source: Source | None) -> None:
    """Follow ``source`` (None: keep time alone again); the previous source is closed."""
    s = engine.sync
    if s.source is not None and s.source is not source:
        s.source.close()
    s.source, s.offset, s.playing = source, None, None
    for v in engine.voices:
        v.grid = None if source is None else (lambda b: grid(engine, b))
        if source is None and v.held is not None:
            v.held = None  # (its notes were never scheduled: the next tune starts plain)


def grid(engine: Engine, beat: float) -> float:
    """The first downbeat of the band at or after livernn beat ``beat``."""
    s = engine.sync
    return beat if s.offset is None else grid_at_or_after(beat, s.offset, quantum(engine))


def poll(engine: Engine) -> None:
    """Re-anchor livernn's tempo map on the external line (and its transport)."""
    s = engine.sync
    src = s.source
    if src is None:
        return
    now = engine.clock.now()
    q = quantum(engine)
    ext = src.poll(now, q)
    playing = getattr(src, "playing", None)
    if playing is not None and s.playing is not None and playing != s.playing:
        transport(engine, playing)
    s.playing = playing
    if ext is None:
        return
    joined = s.offset is None
    f = follow(engine.tempo, ext, s.offset, q, getattr(src, "jump_seconds", JUMP_SECONDS))
    jump = f.jump
    if jump:  # livernn's beat line goes on unbroken here; ``apply_jump`` moves it (and the grid)
        engine.tempo = TempoMap(ext.time, engine.tempo.beat_at(ext.time), ext.bpm)
        s.offset = f.offset - jump
    else:
        engine.tempo, s.offset = f.tempo, f.offset
    v0 = engine.voices[0]
    if joined and v0.running and v0.bars:  # a tune is playing: its bars onto the grid now
        jump = align(s.offset, q, v0.next_bar(engine.playhead()))
    if joined:  # a tune begun before the grid was known (no bar line yet) begins again on it
        for v in engine.voices:
            if v.running and not v.bars and v.held is None:
                engine.seed(v, v.seed, engine.playhead())
    if abs(jump) > 1e-9:
        apply_jump(engine, jump)


def apply_jump(engine: Engine, jump: float) -> None:
    """Move livernn's beat line ``jump`` beats (with the grid, which moves with it)."""
    s = engine.sync
    now = engine.clock.now()
    here = engine.tempo.beat_at(now)
    engine.tempo = TempoMap(now, here + jump, engine.tempo.bpm)
    assert s.offset is not None
    s.offset += jump
    s.jumps += 1
    if jump > 0:  # the notes passed over are not played; voices skip what they would write
        engine.scheduler.skip(here + jump)
        for v in engine.voices:
            v.catching_up = True
    else:  # the music waits: what sounds ends now instead of holding over the wait
        engine._flush_offs()
        for vi, ch, pitch in engine.sounding.release(None):
            engine._note_off(now, vi, ch, pitch)
    if s.next_tick is not None:  # the clock out goes on from the next tick after the jump
        s.next_tick = next_tick_at(s.song_zero, here + jump)
    log.info("beat line moved %+.3f beats onto the band's grid", jump)


def transport(engine: Engine, playing: bool) -> None:
    """The band started or stopped: so do all voices (quantized seeds wait for it)."""
    from livernn.engine.transport import start_voices, stop_voices

    log.info("the band %s: so does livernn", "started" if playing else "stopped")
    (start_voices if playing else stop_voices)(engine, engine.voices)


def propose_tempo(engine: Engine, bpm: float) -> str | None:
    """``/livernn/tempo`` while in sync: asked of the band (an error with a MIDI clock in)."""
    src = engine.sync.source
    if src is None:
        return None
    if src.name == "midi clock":
        return "the tempo follows the MIDI clock in (--clock-in)"
    src.propose_tempo(bpm, engine.clock.now())
    return None


def propose_playing(engine: Engine, playing: bool) -> None:
    src = engine.sync.source
    if src is not None:
        engine.sync.playing = playing  # our own change is not heard back as the band's
        src.propose_playing(playing, engine.clock.now(), quantum(engine))


# -- MIDI clock out ------------------------------------------------------------------------


def next_tick_at(zero: float, beat: float) -> float:
    """The first clock tick (24 a beat from ``zero``) at or after ``beat``."""
    return zero + math.ceil((beat - zero) * PPQ - 1e-6) / PPQ


def clock_stop(engine: Engine) -> None:
    """MIDI Stop now, once: the ticks go on (receivers keep the tempo), the song waits."""
    s = engine.sync
    if s.clock_out and not s.stopped:
        s.stopped = True
        engine._at(engine.clock.now(), engine.clock_sinks, "clock", ((STOP,),))


def clock_start(engine: Engine, beat: float) -> None:
    """Start (song position 0) just before the tick at ``beat``, then ticks on."""
    s = engine.sync
    s.stopped = False
    s.song_zero = beat
    s.next_tick = beat
    s.before_tick = [(START,)]


def clock_continue(engine: Engine) -> None:
    """After a stop: the song position of the next sixteenth, then Continue before its tick."""
    s = engine.sync
    if s.next_tick is None:
        return
    s.stopped = False
    sixteenths = math.ceil((s.next_tick - s.song_zero) * 4 - 1e-6)
    s.next_tick = s.song_zero + sixteenths / 4
    pos = int(sixteenths) & 0x3FFF
    s.before_tick = [(SONG_POSITION, pos & 0x7F, pos >> 7), (CONTINUE,)]


def clock_due(engine: Engine, beat: float) -> list[tuple[float, tuple[int, ...]]]:
    """The clock messages due up to livernn beat ``beat``: (beat, bytes), in order."""
    s = engine.sync
    out: list[tuple[float, tuple[int, ...]]] = []
    while s.next_tick is not None and s.next_tick <= beat:
        out.extend((s.next_tick, m) for m in s.before_tick)
        s.before_tick = []
        out.append((s.next_tick, (TIMING_CLOCK,)))
        s.next_tick = s.song_zero + (round((s.next_tick - s.song_zero) * PPQ) + 1) / PPQ
    return out


# -- joining and leaving -------------------------------------------------------------------


def join_link(engine: Engine) -> str | None:
    """``/livernn/link 1`` (and ``--link``): join the Link session; an error reason or None."""
    src = engine.sync.source
    if src is not None:
        return None if src.name == "link" else "following a MIDI clock (--clock-in): not Link"
    from livernn.sync.link import LinkSource

    attach(engine, LinkSource(engine.tempo.bpm, engine.clock.now, engine.commands.wake))
    log.info("joined the Link session (quantum %g beats)", quantum(engine))
    return None


def leave_link(engine: Engine) -> str | None:
    src = engine.sync.source
    if src is None or src.name != "link":
        return None
    attach(engine, None)
    log.info("left the Link session")
    return None
