"""Controls heard within a bar (issue 17): a key or meter asked for live goes into the
stream at the next bar line as an inline field, and the model, the interpreter and the
constrained sampler all go on in it; ``/next`` keeps it for the next tune's header.

The shipped model plays on a fake clock with the performer's defaults (constraints on,
repeats on); abc2midi (default flags) judges the text from outside.
"""

from __future__ import annotations

import re

import pytest

from livernn.abc.tunes import tune_texts
from livernn.clock import FakeClock
from livernn.config import EngineConfig, VoiceConfig
from livernn.engine import Engine
from livernn.osc import Command, Context, OscError, to_command
from livernn.paths import DEFAULT_MODEL
from tests.support.abccheck import check_tune, have_abc2midi
from tests.support.recording import RecordingOutput

T0 = 100.0
pytestmark = pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="no shipped model")


def engine(seed: str = "X:1\n", rng_seed: int = 3):
    from livernn.model import OnnxModel

    rec, clock = RecordingOutput(), FakeClock(T0)
    cfg = EngineConfig(voices=(VoiceConfig(channel=1, rng_seed=rng_seed, seed=seed),))
    return Engine(OnnxModel(DEFAULT_MODEL), [rec], cfg, clock=clock), rec, clock


def play_until(eng, clock, done, limit: float = 600.0, step: float = 0.5) -> None:
    t = clock.now()
    while not done() and t < T0 + limit:
        t += step
        eng.run_until(t)


REEL = "X:1\nT:Reel\nM:4/4\nL:1/8\nK:G\n"


@pytest.mark.skipif(not have_abc2midi(), reason="needs abc2midi")
@pytest.mark.parametrize("rng_seed", [3, 4, 5, 6])
def test_key_and_meter_change_at_the_next_bar_line(rng_seed):
    eng, rec, clock = engine(REEL, rng_seed)
    play_until(eng, clock, lambda: rec.text_of().count("|") >= 3)
    written = len(rec.text_of())
    eng.submit(Command("meter", "6/8"))
    eng.submit(Command("key", "Dmix"))
    play_until(eng, clock, lambda: "[M:6/8][K:Dmix]" in rec.text_of()[written:], step=0.01)
    text = rec.text_of()
    at = text.index("[M:6/8][K:Dmix]", written)
    # right after the first bar line written after the command
    assert text[written:at].count("|") <= 1 and text[:at].rstrip(" \n").endswith("|")
    # the interpreter read it: the voice reports the new key and meter
    info = eng.status()["voices"][0]
    assert info["key"].startswith("D") and info["meter"] == "6/8", text[at:]
    # the rest of the tune is in 6/8: abc2midi counts its bars in the new meter. (When
    # the change falls inside a repeated section, abc2midi also counts the replay of the
    # bars written before it in 6/8, "... in repeat": those are the old meter's bars.)
    play_until(eng, clock, lambda: len(tune_texts(rec.text_of())) >= 2)
    tune = tune_texts(rec.text_of())[0]
    v = check_tune(tune)
    wrong = [w for w in v.bar_warnings if not w.endswith("in repeat")]
    assert v.clean and not wrong, (v.errors, wrong, tune)


def test_next_keeps_them_for_the_next_tune_header():
    eng, rec, clock = engine(REEL)
    play_until(eng, clock, lambda: rec.text_of().count("|") >= 3)
    eng.submit(Command("meter/next", "3/4"))
    eng.submit(Command("key/next", "Ador"))
    play_until(eng, clock, lambda: len(tune_texts(rec.text_of())) >= 2)
    first, second = tune_texts(rec.text_of())[:2]
    assert "[M:" not in first and "[K:" not in first
    head = second.split("\nK:")[0]
    assert re.search(r"\nM:3/4\n", head + "\n") and "\nK:Ador\n" in second


def test_the_addresses():
    ctx = Context(voices=2)
    assert to_command("/livernn/key/next", ["Dmix"], ctx).name == "key/next"
    c = to_command("/livernn/voice/2/meter/next", ["6/8"], ctx)
    assert (c.name, c.value, c.voice) == ("meter/next", "6/8", 1)
    with pytest.raises(OscError, match="not a meter"):
        to_command("/livernn/meter/next", ["six"], ctx)


def test_each_melody_note_says_how_unsure_the_model_was():
    """Model confidence out (issue 17.6): right after each melody note-on, the model's
    entropy at the characters that wrote it; a sure model (scripted, one character at
    score 20) says almost nothing, an unsure one (uniform logits, the constrained sampler
    keeping its text playable) says a lot."""
    from tests.support.scripted import ScriptedModel

    scale = "X:1\nT:Scale\nM:4/4\nL:1/4\nK:C\nCDEF|GABc|\n"
    seen = {}
    for score, seed, level in ((20.0, scale[:4], "none"), (0.0, scale[:28], "meter")):
        model = ScriptedModel([scale], score=score)
        rec, clock = RecordingOutput(), FakeClock(T0)
        vc = VoiceConfig(rng_seed=1, seed=seed, constrain=level)
        cfg = EngineConfig(voices=(vc,))
        eng = Engine(model, [rec], cfg, clock=clock)
        eng.run_until(T0 + 6.0)
        melody = eng.voices[0].cfg.channel
        sent = [
            s for s in rec.sent if s.kind == "confidence" or (s.kind, s.channel) == ("on", melody)
        ]
        ons = [s for s in sent if s.kind == "on"]
        assert len(ons) >= 4
        for k, s in enumerate(sent):  # every melody note-on is followed by its confidence
            if s.kind == "on":
                c = sent[k + 1]
                assert (c.kind, c.pitch, c.voice, c.t) == ("confidence", s.pitch, s.voice, s.t)
        seen[score] = [s.data for s in sent if s.kind == "confidence"]
        assert eng.status()["voices"][0]["bits"] >= 0.0  # the view's figure
    assert max(seen[20.0]) < 0.01
    assert min(seen[0.0]) > 1.0  # at least one character from ~90 equally likely


def test_a_phrase_heard_is_written_into_the_voice_and_answered_after_a_gap():
    """Call and response on the engine's side (the MIDI port is tests/test_midi_in.py):
    in listen mode the voice falls silent at the performer's first note, writes the phrase
    into its own text as ABC, and answers one bar after the performer stops."""
    from livernn.engine.listen import Heard

    eng, rec, clock = engine(REEL)
    eng.submit(Command("midi_in", "listen"))
    eng.run_until(T0 + 3.0)
    v = eng.voices[0]
    assert v.ear.mode == "listen" and rec.notes("on")
    t = clock.now()
    phrase = [62, 64, 66, 67, 69, 71, 73, 74]  # D major, eighths at 120 BPM: 0.25 s each
    for i, p in enumerate(phrase):  # as a keyboard plays it: each key when it happens
        for when, on in ((t + 0.25 * i + 0.01, True), (t + 0.25 * i + 0.2, False)):
            eng.run_until(when)
            eng.heard.append(Heard(when, p, on))
    end = t + 0.25 * len(phrase)
    eng.run_until(end + 0.05)
    ours = [s for s in rec.notes("on") if s.t > t + 0.011]
    assert ours == []  # silent while the performer plays
    text = rec.text_of()
    assert "DEFGAB^cd" in text.replace("|", "").replace("\n", "")  # in G: F sharp by the key
    gap = 60.0 / 120 * v.bar_beats  # one bar
    eng.run_until(end + gap + 3.0)
    answer = [s.t for s in rec.notes("on") if s.t > t + 0.011]
    assert answer and min(answer) >= end + gap - 0.3  # the answer, after the gap
    assert v.listening is False


def test_our_own_notes_coming_back_are_not_heard():
    from livernn.engine.listen import Heard

    eng, rec, clock = engine(REEL)
    eng.submit(Command("midi_in", "listen"))
    t = T0
    while not eng.sounding.held() and t < T0 + 10:
        t += 0.01
        eng.run_until(t)
    (_, _, pitch), *_ = eng.sounding.held()
    eng.heard.append(Heard(clock.now(), pitch, True))  # a loop from our output to our input
    eng.run_until(clock.now() + 0.01)
    assert eng.voices[0].ear.tr is None and not eng.voices[0].listening
    eng.heard.append(Heard(clock.now(), pitch, False))
    eng.run_until(clock.now() + 0.01)
    assert pitch not in eng.ignored


def test_midi_thru_plays_the_performer_and_panic_silences_it():
    """--midi-thru: each key goes out at once on voice 1's channel, with its note-off; one
    held at panic is released; our own thru note played back in is not heard again."""
    from livernn.engine.listen import Heard

    eng, rec, clock = engine(REEL)
    eng = Engine(
        eng.model, [rec], EngineConfig(voices=eng.config.voices, midi_thru=True), clock=clock
    )
    eng.run_until(T0 + 1.0)
    t = clock.now()
    eng.heard.append(Heard(t, 50, True, 70))
    eng.run_until(t + 0.001)
    thru = [s for s in rec.notes("on") if s.pitch == 50 and s.t >= t]
    assert len(thru) == 1 and thru[0].velocity == 70 and thru[0].channel == 1
    eng.heard.append(Heard(clock.now(), 50, True))  # the same note, looped back at once
    eng.run_until(clock.now() + 0.001)
    assert len([s for s in rec.notes("on") if s.pitch == 50 and s.t >= t]) == 1
    eng.submit(Command("panic"))
    eng.run_until(clock.now() + 0.01)
    assert rec.sounding() == {}
    eng.heard.append(Heard(clock.now(), 50, False))  # its key comes up after the panic
    eng.run_until(clock.now() + 0.01)
    assert len(rec.notes("on")) == len(rec.notes("off"))


def test_in_accompany_mode_the_voice_plays_on_and_the_phrase_steers_it():
    from livernn.engine.listen import Heard

    eng, rec, clock = engine(REEL)
    eng.submit(Command("midi_in", "accompany"))
    eng.run_until(T0 + 3.0)
    t = clock.now()
    for i, p in enumerate([43, 47, 50, 55]):  # G,, B,, D, G,: below the tune (the feedback
        # guard ignores a key on a pitch the voice struck in the last 50 ms)
        for when, on in ((t + 0.25 * i + 0.01, True), (t + 0.25 * i + 0.2, False)):
            eng.run_until(when)
            eng.heard.append(Heard(when, p, on))
    eng.run_until(t + 3.0)
    v = eng.voices[0]
    assert not v.listening and v.ear.mode == "accompany"
    assert "G,,B,,D,G," in v.ear.heard_text.replace("|", "").replace("\n", "").replace("z", "")
    echoed = iter(rec.text_of())  # echoed between the voice's own characters, in order
    assert all(c in echoed for c in v.ear.heard_text)
    ours = [s.t for s in rec.notes("on") if t < s.t < t + 1.0]
    assert ours  # it kept playing while the performer did
