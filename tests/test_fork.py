"""A state you can fork (issue 17): loop, rewind, mutate, bookmark and recall over OSC's
commands, on the shipped model with the performer's defaults, on a fake clock.

Loops and recalls restore the random generator, so they replay exactly the same notes;
every fork lands on a bar line; the stage promises hold (every note-on gets its note-off).
"""

from __future__ import annotations

import pytest

from livernn.clock import FakeClock
from livernn.config import EngineConfig, VoiceConfig
from livernn.engine import Engine
from livernn.osc import Command, Context, OscError, to_command
from livernn.paths import DEFAULT_MODEL
from tests.support.recording import RecordingOutput

T0 = 100.0
REEL = "X:1\nT:Reel\nM:4/4\nL:1/8\nK:G\n"
pytestmark = pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="no shipped model")


def engine(voices: int = 1):
    from livernn.model import OnnxModel

    rec, clock = RecordingOutput(), FakeClock(T0)
    vcs = tuple(VoiceConfig(channel=i + 1, rng_seed=7 + i, seed=REEL) for i in range(voices))
    eng = Engine(
        OnnxModel(DEFAULT_MODEL, voices=voices), [rec], EngineConfig(voices=vcs), clock=clock
    )
    return eng, rec, clock


def melody(rec, voice: int = 0, after: float = 0.0) -> list[tuple[float, int]]:
    """(beat after T0, pitch) of the voice's melody note-ons at or after ``after`` beats."""
    return [
        (round((s.t - T0) * 2, 6), s.pitch)  # 120 BPM: two beats a second
        for s in rec.notes("on")
        if s.voice == voice and s.channel == voice + 1 and (s.t - T0) * 2 >= after - 1e-6
    ]


def balanced(rec) -> bool:
    return len(rec.notes("on")) == len(rec.notes("off")) + sum(rec.sounding().values())


def test_a_loop_replays_the_same_bars_exactly_until_it_ends():
    eng, rec, clock = engine()
    eng.run_until(T0 + 9.1)  # some bars written
    eng.submit(Command("loop", 2))
    eng.run_until(T0 + 9.2)
    v = eng.voices[0]
    start = v.bars[-1]  # the loop starts on a bar line: the next one (a pickup may put the
    assert v.forks.loop is not None  # bar lines off the whole beats: the model decides)
    eng.run_until(T0 + start / 2 + 8 * 2 + 0.1)  # four times round a 2-bar loop (8 beats)
    rounds = [
        [
            (round(b - start - 8 * k, 6), p)
            for b, p in melody(rec, after=start + 8 * k)
            if b < start + 8 * (k + 1)
        ]
        for k in range(4)
    ]
    assert rounds[0] and rounds[0] == rounds[1] == rounds[2] == rounds[3]
    assert all(b >= 0 for b, _ in rounds[0])  # nothing before its bar line
    eng.submit(Command("loop", 0))  # at beat start + 32: the fifth round has begun
    eng.run_until(T0 + start / 2 + 26.0)
    after = [
        (round(b - start - 40, 6), p) for b, p in melody(rec, after=start + 40) if b < start + 48
    ]
    assert after != rounds[0]  # the loop ended: the model writes on
    assert balanced(rec)


def test_recall_replays_what_followed_the_bookmark_exactly():
    eng, rec, clock = engine()
    eng.run_until(T0 + 6.1)
    eng.submit(Command("bookmark", "verse"))
    eng.run_until(T0 + 6.2)
    mark = eng.bookmarks["verse"][0].beat  # the last bar line written
    eng.run_until(T0 + 16.0)
    original = [(round(b - mark, 6), p) for b, p in melody(rec, after=mark) if b < mark + 8]
    eng.submit(Command("recall", "verse"))
    eng.run_until(T0 + 16.1)
    at = eng.voices[0].bars[-1]
    eng.run_until(T0 + at / 2 + 5.0)
    again = [(round(b - at, 6), p) for b, p in melody(rec, after=at) if b < at + 8]
    assert original and again == original
    assert balanced(rec)


def test_one_voice_starts_from_another_voices_bookmark():
    eng, rec, clock = engine(voices=2)
    eng.run_until(T0 + 6.1)
    eng.submit(Command("bookmark", "a", voice=0))
    eng.run_until(T0 + 6.2)
    mark = eng.bookmarks["a"][0].beat
    eng.run_until(T0 + 12.0)
    original = [(round(b - mark, 6), p) for b, p in melody(rec, 0, after=mark) if b < mark + 8]
    eng.submit(Command("recall", "a", voice=1))
    eng.run_until(T0 + 12.1)
    at = eng.voices[1].bars[-1]
    eng.run_until(T0 + at / 2 + 5.0)
    copied = [(round(b - at, 6), p) for b, p in melody(rec, 1, after=at) if b < at + 8]
    assert original and copied == original  # voice 2 plays what voice 1 played
    assert balanced(rec)


def test_rewind_and_mutate_go_on_from_a_bar_line_back():
    eng, rec, clock = engine()
    eng.run_until(T0 + 10.1)
    v = eng.voices[0]
    bars = [s.beat for s in v.forks.ring]
    eng.submit(Command("mutate", (2, 1.4)))
    eng.run_until(T0 + 10.2)
    at = v.bars[-1]
    assert v.params.temperature == 1.4  # from the bar line at: (whole beats or not: a pickup)
    assert v.interp.settled == pytest.approx(at - v.origin)  # written on from the snapshot
    assert min(bars, key=lambda b: abs(b - (at - 8))) == pytest.approx(at - 8, abs=4)
    eng.submit(Command("rewind", 1))
    eng.run_until(T0 + 20.0)
    assert melody(rec, after=at) and balanced(rec)
    with pytest.raises(Exception, match="bars back"):
        eng.apply(Command("rewind", 64))  # not that many bars remembered yet: refused
    assert eng.apply(Command("recall", "nothing")) == "no bookmark named nothing"


def test_the_addresses():
    ctx = Context(voices=2)
    assert to_command("/livernn/mutate", [2, 1.3], ctx).value == (2, pytest.approx(1.3))
    assert to_command("/livernn/voice/2/loop", [0], ctx).voice == 1
    assert to_command("/livernn/bookmark", ["chorus-1"], ctx).value == "chorus-1"
    for address, args in (
        ("/livernn/mutate", [2]),
        ("/livernn/rewind", [0]),
        ("/livernn/loop", [65]),
        ("/livernn/recall", ["two words"]),
    ):
        with pytest.raises(OscError):
            to_command(address, args, ctx)
