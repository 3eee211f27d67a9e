"""The command handlers of time and transport: tempo, start, stop, panic, and playing in
time with the band (``/livernn/link``, ``/livernn/midi_latency``, ``/livernn/osc_latency``;
issue 11). Part of the command table (``livernn/engine/commands.py``; see docs/DESIGN.md).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from livernn.engine import sync
from livernn.engine.commands import handles
from livernn.osc import Command

if TYPE_CHECKING:
    from livernn.engine.core import Engine
    from livernn.engine.voice import Voice


@handles("tempo")
def _tempo(engine: Engine, cmd: Command, targets: list[Voice]) -> str | None:
    err = sync.propose_tempo(engine, cmd.value)  # in sync: asked of the band too
    if err is None:
        engine.tempo = engine.tempo.retempo(cmd.value, engine.clock.now())
    return err


def start_voices(engine: Engine, targets: list[Voice]) -> None:
    """Start the voices that are stopped (the band's transport, or ``/livernn/start``)."""
    playhead = engine.playhead()
    was_silent = not any(v.running for v in engine.voices)
    for v in targets:
        if v.running:
            continue
        v.running = True
        if v.pending_seed is not None:  # seeded while stopped
            engine.seed(v, v.pending_seed[0], playhead)
            continue
        shift = playhead - v.write_beat()
        if shift > 0 and engine.sync.offset is not None:  # whole quanta: still on the grid
            q = sync.quantum(engine)
            shift = math.ceil(shift / q - 1e-9) * q
        if shift > 0:
            v.origin += shift
        v.floor = max(v.floor, playhead)
    if was_silent and any(v.running for v in engine.voices) and engine.sync.clock_out:
        if engine.sync.next_tick is None:
            sync.clock_start(engine, sync.grid(engine, engine._soon()))
        else:
            sync.clock_continue(engine)


def stop_voices(engine: Engine, targets: list[Voice]) -> None:
    """Stop voices and silence them; the last one to stop sends MIDI Stop (``--clock-out``)."""
    was_playing = any(v.running for v in engine.voices)
    for v in targets:
        v.running = False
        if v.deferred_seed is not None:
            v.pending_seed, v.deferred_seed = (v.deferred_seed, None), None
        if v.pending_seed is not None:  # a quantized seed waits for the start
            v.pending_seed = (v.pending_seed[0], None)
        engine.release(v.index)
    if was_playing and not any(v.running for v in engine.voices):
        sync.clock_stop(engine)


@handles("start")
def _start(engine: Engine, cmd: Command, targets: list[Voice]) -> None:
    start_voices(engine, targets)
    if cmd.voice is None:
        sync.propose_playing(engine, True)


@handles("stop")
def _stop(engine: Engine, cmd: Command, targets: list[Voice]) -> None:
    stop_voices(engine, targets)
    if cmd.voice is None:
        sync.propose_playing(engine, False)


@handles("panic")
def _panic(engine: Engine, cmd: Command, targets: list[Voice]) -> None:
    """Silence: every note off and the voices stopped, so nothing sounds until
    ``/livernn/start`` (all voices: all-notes-off on every channel too); the timed
    commands waiting for the same voices are dropped, so none can start them again."""
    stop_voices(engine, targets)
    engine.commands.drop_timed(cmd.voice)
    if cmd.voice is None:
        engine.panic()


@handles("link")
def _link(engine: Engine, cmd: Command, targets: list[Voice]) -> str | None:
    return sync.join_link(engine) if cmd.value else sync.leave_link(engine)


def _latency(engine: Engine, group: str, ms: float) -> str | None:
    sinks = [s for s in engine.sinks if getattr(s, "latency_group", None) == group]
    if not sinks:
        return f"no {group.upper()} output to compensate"
    for s in sinks:
        s.latency = ms / 1000.0
    return None


@handles("midi_latency")
def _midi_latency(engine: Engine, cmd: Command, targets: list[Voice]) -> str | None:
    return _latency(engine, "midi", cmd.value)


@handles("osc_latency")
def _osc_latency(engine: Engine, cmd: Command, targets: list[Voice]) -> str | None:
    return _latency(engine, "osc", cmd.value)
