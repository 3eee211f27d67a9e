"""The engine with the session feel (issue 13) on a fake clock: chord names played as
backing on the voice's bass and chord channels, ``/livernn/backing`` switching it, stop and
panic silencing it, every note-on with one note-off, grace notes sent on time, and the
scheduling error with graces and backing against without them, in one run."""

from __future__ import annotations

from dataclasses import replace

import pytest

from livernn.abc import AbcInterpreter, InterpreterOptions, NoteEvent
from livernn.clock import FakeClock
from livernn.config import EngineConfig, VoiceConfig
from livernn.engine import Engine
from livernn.osc import Command
from tests.support.recording import RecordingOutput
from tests.support.scripted import ScriptedModel

T0 = 100.0
REEL = (
    'X:1\nT:Reel\nM:4/4\nL:1/8\nK:D\n"D"{g}A2 FA dAFA|"G"B2 GB "A7"{a}c2 ec|'
    '"D"[DA]2 fd "Bm"{gAg}B2 AF|"G"G2 BG "A"A4|\n'
)


def make(script: str = REEL, feel: InterpreterOptions | None = None, **voice: object):
    model = ScriptedModel([script])
    cfg = VoiceConfig(channel=1, rng_seed=0, seed=script[:4], constrain="none", **voice)
    rec = RecordingOutput()
    clock = FakeClock(T0)
    config = EngineConfig(voices=(cfg,), feel=feel or InterpreterOptions())
    eng = Engine(model, [rec], config, clock=clock)
    return eng, rec


def test_chord_names_are_played_on_the_bass_and_chord_channels() -> None:
    eng, rec = make()
    eng.run_until(T0 + 7.9)
    by_channel: dict[int, list[int]] = {}
    for s in rec.notes("on"):
        by_channel.setdefault(s.channel, []).append(s.pitch)
    assert set(by_channel) == {1, 2, 3}
    assert by_channel[2][:2] == [38, 38]  # "D": the bass plays D2 on beats 1 and 3
    assert by_channel[3][:3] == [50, 54, 57]  # and the chord D F# A on beat 2
    assert max(abs(e) for e in eng.sched_errors) == 0.0  # graces and backing on time
    # and no note came too late to be placed (the engine would have shifted the tune): the
    # melody, graces included, is sent exactly at the interpreter's onsets (120 BPM)
    it = AbcInterpreter()
    expected = sorted(
        round(e.onset * 0.5, 6)
        for e in it.feed(REEL) + it.flush()
        if isinstance(e, NoteEvent) and not e.backing and e.onset * 0.5 < 7.9
    )
    assert sorted(round(s.t - T0, 6) for s in rec.notes("on") if s.channel == 1) == expected


def test_backing_channels_and_programs_are_the_voices() -> None:
    eng, rec = make(bass_channel=5, chord_channel=6, bass_program=32, chord_program=24)
    eng.run_until(T0 + 4.0)
    assert {s.channel for s in rec.notes("on")} == {1, 5, 6}
    assert sorted((s.channel, s.data) for s in rec.notes("program")) == [(5, 32), (6, 24)]


def test_the_backing_switch_silences_it_at_once_and_brings_it_back() -> None:
    eng, rec = make()
    eng.run_until(T0 + 0.6)  # the first bass note (D, 0 .. 0.25 s) is over; a chord sounds
    assert any(ch == 3 for ch, _ in rec.sounding())
    eng.submit(Command("backing", 0))
    eng.run_until(T0 + 0.61)
    assert not any(ch in (2, 3) for ch, _ in rec.sounding())  # released at once
    eng.run_until(T0 + 2.0)
    late = [s for s in rec.notes("on") if s.t > T0 + 0.61]
    assert late and all(s.channel == 1 for s in late)
    eng.submit(Command("backing", 1))
    eng.run_until(T0 + 4.0)
    assert any(s.channel in (2, 3) for s in rec.notes("on") if s.t > T0 + 2.0)


@pytest.mark.parametrize("how", ["stop", "panic"])
def test_stop_and_panic_silence_the_backing_and_every_on_gets_one_off(how: str) -> None:
    eng, rec = make()
    eng.run_until(T0 + 0.6)
    assert rec.sounding()
    eng.submit(Command(how))
    eng.run_until(T0 + 0.61)
    assert rec.sounding() == {}
    if how == "panic":
        assert rec.notes("panic")[0].data == [1, 2, 3]
    eng.close()
    ons = [(s.channel, s.pitch) for s in rec.notes("on")]
    offs = [(s.channel, s.pitch) for s in rec.notes("off")]
    assert sorted(ons) == sorted(offs)


def test_scheduling_error_with_graces_and_backing_against_without() -> None:
    """One run each on the fake clock: the error is the send time against the deadline."""
    errors = {}
    for name, feel in (("on", InterpreterOptions()), ("off", InterpreterOptions.plain())):
        eng, rec = make(feel=feel)
        eng.run_until(T0 + 7.9)
        errors[name] = (len(rec.notes("on")), max(abs(e) for e in eng.sched_errors))
    assert errors["on"][0] > 2 * errors["off"][0]  # the backing and graces were played
    assert errors["on"][1] == errors["off"][1] == 0.0


def test_plain_feel_has_no_backing_even_when_switched_on() -> None:
    eng, rec = make(feel=replace(InterpreterOptions.plain(), backing=False))
    eng.run_until(T0 + 4.0)
    assert {s.channel for s in rec.notes("on")} == {1}
