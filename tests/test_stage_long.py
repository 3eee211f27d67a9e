"""Long sets: an hour of playback simulated on the fake clock (seconds of real time).

* Time: every note lands exactly where an independently integrated tempo map puts it, after
  an hour and sixty tempo changes (no drift), and the engine's own scheduling error is zero.
* Bounds: queues, registries and per-voice buffers stay small; traced memory stops growing.
* The real tiny model with a live coder steering it, and a model that writes uniformly random
  characters (garbage), each play an hour without an exception, every event in range.
"""

from __future__ import annotations

import gc
import math

import numpy as np
import pytest

from livernn.abc.repeats import MAX_TAPE
from livernn.clock import FakeClock
from livernn.config import EngineConfig, VoiceConfig
from livernn.engine import TEXT_TAIL, Engine
from livernn.osc import Command
from tests.support.scripted import ScriptedModel
from tests.support.stage import CheckingOutput

T0 = 86_400.0 * 3  # a machine up for three days: large clock values lose float precision
HOUR = 3600.0
SCALE = "X:1\nT:Scale\nM:4/4\nL:1/4\nK:C\nCDEF GABc|cBAG FEDC|\n"  # quarter notes: 1 beat
STEER = "X:2\nT:Steer\nM:3/4\nL:1/8\nK:D\nd2 f2 a2|b3 a g2|\n"


def assert_bounded(eng: Engine, pending: int = 50) -> None:
    """Everything that could grow over a set is small. ``pending``: note actions queued
    ahead (a repeat sign releases a whole section at once, up to the interpreter's tape)."""
    s = eng.scheduler
    assert len(s) <= 2 * pending and len(s._notes) <= pending
    assert len(s._heap) <= 2 * len(s._notes) + 64  # cancelled entries do not pile up
    assert len(eng.sounding) <= 16 * len(eng.voices)
    assert eng.commands.qsize() == 0  # the one command queue (the inbox)
    for v in eng.voices:
        assert len(v.tail) <= TEXT_TAIL and len(v.forced) < 1000 and not v.new_text
        assert len(v.line) < 5000


class TempoLine:
    """The beat line rebuilt from the tempo changes the test made (independent of the
    engine's TempoMap): beat_at(t) integrates BPM over time piece by piece."""

    def __init__(self, t0: float, bpm: float) -> None:
        self.changes = [(t0, 0.0, bpm)]  # (time, beat, bpm)

    def change(self, t: float, bpm: float) -> None:
        self.changes.append((t, self.beat_at(t), bpm))

    def beat_at(self, t: float) -> float:
        i = max(k for k, c in enumerate(self.changes) if c[0] <= t)
        t0, b0, bpm = self.changes[i]
        return b0 + (t - t0) * bpm / 60.0


def test_an_hour_with_sixty_tempo_changes_does_not_drift():
    model = ScriptedModel([SCALE, STEER])
    out = CheckingOutput(max_note=8.0)
    ons: list[tuple[float, int]] = []
    out.note_on = _tap(out.note_on, ons)
    clock = FakeClock(T0)
    # the scripts are the text under test (their notes sit on the beat grid checked below),
    # not a distribution to constrain
    voices = (
        VoiceConfig(channel=1, seed="X:1\n", constrain="none"),
        VoiceConfig(channel=2, seed="X:2\n", constrain="none"),
    )
    eng = Engine(model, [out], EngineConfig(voices=voices, tempo=120.0), clock=clock)
    line = TempoLine(T0, 120.0)
    rng = np.random.default_rng(7)
    objects = []
    for minute in range(60):
        bpm = float(rng.choice([40.0, 72.5, 96.0, 120.0, 133.3, 180.0, 240.0, 300.0]))
        eng.submit(Command("tempo", bpm))
        line.change(clock.now(), bpm)
        if minute % 7 == 3:  # steer the other voice; voice 1 is the ruler
            eng.submit(Command("seed", STEER[:12], voice=1))
        eng.run_until(T0 + 60.0 * (minute + 1))
        assert_bounded(eng)
        if minute in (10, 59):
            ons_so_far = len(ons)
            gc.collect()
            objects.append(len(gc.get_objects()) - ons_so_far)  # the test's own list aside
    eng.close()
    assert out.verdict() == []
    assert out.ons > 2 * 60 * 60  # two voices, an hour, at least a note a second each
    # The engine's own measure of lateness is exactly zero on a fake clock...
    assert max(abs(e) for e in eng.sched_errors) < 1e-6
    # ...and, measured independently, every note of voice 1 is still on its beat grid.
    off_grid = [
        (t - T0, line.beat_at(t))
        for t, v in ons
        if v == 0 and abs(line.beat_at(t) - round(line.beat_at(t))) > 1e-6
    ]
    assert off_grid == []
    assert sum(1 for _, v in ons if v == 0) > 5000
    # Memory: no container objects pile up over the last 49 minutes (the engine's deque of
    # scheduling errors holds floats, which the collector does not track; it has a maxlen).
    assert objects[1] - objects[0] < 500, objects
    assert eng.sched_errors.maxlen is not None


def _tap(f, log):
    def note_on(t, voice, channel, pitch, velocity, duration):
        log.append((t, voice))
        f(t, voice, channel, pitch, velocity, duration)

    return note_on


# A live coder's hour: every 20 s of the set one of these, in turn.
SET = [
    Command("temperature", 0.8),
    Command("seed", "X:1\nT:Reel\nM:4/4\nL:1/8\nK:D\n", voice=0),
    Command("tempo", 150.0),
    Command("prime", "|:d2fd A2FA|"),
    Command("key", "Ador"),
    Command("meter", "6/8", voice=1),
    Command("top_k", 10),
    Command("stop", voice=1),
    Command("panic"),  # silence until start
    Command("start"),
    Command("transpose", -12, voice=1),
    Command("temperature", 1.3, voice=0),
    Command("tempo", 90.0),
    Command("reset", voice=1),
    Command("top_p", 0.9),
    Command("channel", 5, voice=0),
    Command("velocity", 0.5),
    Command("rng_seed", 11),
]


def play_an_hour(
    model, voices, commands, every: float, max_note: float = 4.0, constrain: str = "meter"
):
    out = CheckingOutput(max_note=max_note)
    clock = FakeClock(T0)
    vcs = tuple(
        VoiceConfig(channel=i + 1, rng_seed=i, seed="X:1\n", constrain=constrain)
        for i in range(voices)
    )
    eng = Engine(model, [out], EngineConfig(voices=vcs, max_note=max_note), clock=clock)
    n = int(HOUR / every)
    for k in range(n):
        eng.submit(commands[k % len(commands)])
        eng.run_until(T0 + every * (k + 1))
        if k % 30 == 0:
            assert_bounded(eng, pending=voices * MAX_TAPE)
    assert_bounded(eng, pending=voices * MAX_TAPE)
    eng.close()
    return out, eng


@pytest.mark.slow
def test_an_hour_of_the_tiny_model_with_a_live_coder(tiny_model_path):
    from livernn.model import OnnxModel

    out, eng = play_an_hour(OnnxModel(tiny_model_path, voices=2), 2, SET, every=20.0)
    assert out.verdict() == []
    assert eng.errors == 0
    assert out.ons > 1000 and out.tunes > 10
    assert max(abs(e) for e in eng.sched_errors) < 1e-6


@pytest.mark.slow
def test_an_hour_of_garbage_from_a_random_model(random_model_path):
    """Uniformly random characters: the performer keeps priming a tune header (as a live
    coder would), so the interpreter is fed random headers, random tune bodies (notes, chords,
    tuplets, repeats, ties, inline fields) and plain garbage in turn."""
    from livernn.model import OnnxModel

    model = OnnxModel(random_model_path, voices=1)
    prime = [Command("prime", "\n\nX:1\nT:g\nK:C\n"), Command("tempo", 80.0)]
    # garbage is the point: sampled freely (constrained, a uniform model writes valid ABC)
    out, eng = play_an_hour(model, 1, prime, every=15.0, constrain="none")  # a header every 30 s
    assert out.verdict() == []  # every event in range, every note ended, no note too long
    assert eng.errors == 0  # no exception from the model, sampler or interpreter
    assert out.ons > 500
    v = eng.voices[0]
    assert v.chars > 50_000 and v.describe()["skipped"] > 0
    assert math.isfinite(eng.tempo.beat_at(eng.clock.now()))
