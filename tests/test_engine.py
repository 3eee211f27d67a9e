"""The engine on a fake clock with a recording output: deadlines, tempo, lookahead, seeds,
sampling changes, voices, panic, stop, maximum note length, failures.

A scripted model (tests/support/scripted.py) writes known ABC so every deadline is exact;
tests at the end run the real tiny ONNX model.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livernn.clock import FakeClock
from livernn.config import EngineConfig, VoiceConfig
from livernn.engine import Engine
from livernn.osc import Command
from tests.support.recording import RecordingOutput
from tests.support.scripted import ScriptedModel

T0 = 100.0
SCALE = "X:1\nT:Scale\nM:4/4\nL:1/4\nK:C\nCDEF|GABc|cBAG|FEDC|\n"
SCALE_PITCHES = [60, 62, 64, 65, 67, 69, 71, 72, 72, 71, 69, 67, 65, 64, 62, 60]
LOW = "X:2\nT:Low\nM:3/4\nL:1/4\nK:C\nC,D,E,|F,G,A,|\n"


def make(scripts=(SCALE,), voices=None, clock_start=T0, **kw):
    model = ScriptedModel(list(scripts))
    if voices is None:
        voices = tuple(
            # the script is the text under test here, not a distribution to constrain
            # (constrained sampling: tests/test_constrain.py)
            VoiceConfig(channel=i + 1, rng_seed=i, seed=s[:4], constrain="none")
            for i, s in enumerate(scripts)
        )
    rec = RecordingOutput()
    clock = FakeClock(clock_start)
    eng = Engine(model, [rec], EngineConfig(voices=voices, **kw), clock=clock)
    return eng, rec, clock, model


def ons(rec, voice=None):
    return [(round(s.t - T0, 9), s.pitch) for s in rec.notes("on") if voice in (None, s.voice)]


def offs(rec, voice=None):
    return [(round(s.t - T0, 9), s.pitch) for s in rec.notes("off") if voice in (None, s.voice)]


def test_notes_are_sent_exactly_at_their_deadlines():
    eng, rec, clock, _ = make()
    eng.run_until(T0 + 7.9)
    assert ons(rec) == [(0.5 * k, p) for k, p in enumerate(SCALE_PITCHES)]
    assert offs(rec)[:3] == [(0.5, 60), (1.0, 62), (1.5, 64)]
    assert all(s.duration == pytest.approx(0.5) for s in rec.notes("on"))
    assert max(abs(e) for e in eng.sched_errors) == 0.0


def test_tunes_follow_each_other_on_the_beat_line():
    eng, rec, clock, _ = make()
    eng.run_until(T0 + 16.1)
    times = [t for t, _ in ons(rec)]
    assert times[:33] == [0.5 * k for k in range(33)]  # tune 2 starts right after tune 1
    assert [s.data.title for s in rec.notes("tune")] == ["Scale", "Scale", "Scale"]


def test_tempo_change_applies_from_the_next_note_without_a_jump():
    eng, rec, clock, _ = make()
    eng.run_until(T0 + 1.25)  # E sounds (on at 1.0, due off at beat 3 = 1.5 s)
    eng.submit(Command("tempo", 60.0))
    eng.run_until(T0 + 4.0)
    assert ons(rec)[:5] == [(0.0, 60), (0.5, 62), (1.0, 64), (1.75, 65), (2.75, 67)]
    assert (1.75, 64) in offs(rec)  # the sounding note's off moved with the tempo


def test_generation_stays_within_the_lookahead():
    eng, rec, clock, _ = make(lookahead=0.05)
    for t in np.arange(0.1, 6.0, 0.37):
        eng.run_until(T0 + float(t))
        horizon = eng.tempo.beat_at(clock.now() + 0.05)
        v = eng.voices[0]
        assert horizon <= v.write_beat() <= horizon + 1.0  # written just past the horizon
        assert all(n.on_beat < horizon + 1.0 for n in eng.scheduler.pending())


def test_longer_lookahead_writes_further_ahead():
    eng, rec, clock, _ = make(lookahead=1.0)
    eng.run_until(T0 + 0.01)
    assert eng.voices[0].write_beat() >= eng.tempo.beat_at(clock.now() + 1.0)


def test_temperature_change_applies_to_the_next_character():
    # score 20 at T=1 follows the script; at T=1000 the choice is close to uniform
    eng, rec, clock, _ = make()
    eng.run_until(T0 + 2.0)
    assert rec.text_of() == SCALE[: len(rec.text_of())]
    n = len(rec.text_of())
    eng.submit(Command("temperature", 1000.0))
    eng.run_until(T0 + 4.0)
    later = rec.text_of()[n:]
    assert later and later != SCALE[n : n + len(later)]
    assert eng.voices[0].params.temperature == 1000.0


def test_new_seed_cuts_in_now_and_silences_the_old_tune():
    eng, rec, clock, _ = make((SCALE + LOW,))
    eng.run_until(T0 + 1.2)  # E is sounding
    eng.submit(Command("seed", LOW[:20]))  # "X:2\nT:Low\nM:3/4\nL:1/"
    eng.run_until(T0 + 3.0)
    assert (1.2, 64) in offs(rec)  # released at once
    later = [(t, p) for t, p in ons(rec) if t > 1.0]
    assert later[:3] == [(1.2, 48), (1.7, 50), (2.2, 52)]  # the new tune, from the seed time
    assert rec.sounding() == {(1, 53): 1}  # F, from 2.7 s


def test_new_seed_quantized_to_the_next_bar():
    eng, rec, clock, _ = make((SCALE + LOW,), quantize="bar")
    eng.run_until(T0 + 1.2)  # bar lines at beats 4, 8... = 2.0 s, 4.0 s
    eng.submit(Command("seed", LOW[:20]))
    eng.run_until(T0 + 2.9)
    assert ons(rec) == [(0.0, 60), (0.5, 62), (1.0, 64), (1.5, 65), (2.0, 48), (2.5, 50)]
    assert offs(rec)[3] == (2.0, 65)


def test_voices_have_their_own_channel_and_controls():
    eng, rec, clock, _ = make((SCALE, LOW))
    eng.run_until(T0 + 1.0)
    eng.submit(Command("temperature", 1000.0, voice=1))
    eng.submit(Command("transpose", 12, voice=0))
    eng.run_until(T0 + 3.0)
    assert {s.channel for s in rec.notes("on") if s.voice == 0} == {1}
    assert {s.channel for s in rec.notes("on") if s.voice == 1} == {2}
    assert eng.voices[0].params.temperature == 1.0
    assert eng.voices[1].params.temperature == 1000.0
    assert ons(rec, 0)[:4] == [(0.0, 60), (0.5, 62), (1.0, 64), (1.5, 77)]
    assert ons(rec, 1)[:2] == [(0.0, 48), (0.5, 50)]
    eng.close()
    assert rec.sounding() == {}


def test_panic_silences_everything_until_start():
    eng, rec, clock, _ = make((SCALE, LOW))
    eng.run_until(T0 + 1.2)
    assert len(rec.sounding()) == 2
    eng.submit(Command("panic"))
    eng.run_until(T0 + 1.2)
    assert rec.sounding() == {}
    # the voices' channels (1, 2) and their backing's (bass 2, chords 3 by default)
    assert rec.notes("panic")[0].data == [1, 2, 3]
    eng.run_until(T0 + 6.0)
    assert not any(t > 1.2 for t, _ in ons(rec))  # silence: nothing until start
    eng.submit(Command("start"))
    eng.run_until(T0 + 8.0)
    assert any(t > 6.0 for t, _ in ons(rec, 0)) and any(t > 6.0 for t, _ in ons(rec, 1))


def test_a_voice_panic_silences_that_voice_only():
    eng, rec, clock, _ = make((SCALE, LOW))
    eng.run_until(T0 + 1.2)
    eng.submit(Command("panic", voice=1))
    eng.run_until(T0 + 4.0)
    assert not any(t > 1.2 for t, _ in ons(rec, 1))
    assert any(t > 1.2 for t, _ in ons(rec, 0))


def test_stop_silences_and_start_resumes():
    eng, rec, clock, _ = make((SCALE, LOW))
    eng.run_until(T0 + 1.2)
    eng.submit(Command("stop"))
    eng.run_until(T0 + 5.0)
    assert rec.sounding() == {}
    assert all(t <= 1.2 for t, _ in ons(rec))
    eng.submit(Command("start"))
    eng.run_until(T0 + 6.0)
    assert any(t >= 5.0 for t, _ in ons(rec))
    assert min(t for t, _ in ons(rec) if t > 1.2) == pytest.approx(5.0, abs=0.06)


def test_a_seed_sent_while_stopped_waits_for_start():
    eng, rec, clock, _ = make((SCALE + LOW,), autostart=False)
    eng.run_until(T0 + 1.0)
    eng.submit(Command("seed", LOW[:20]))
    eng.submit(Command("tempo", 60.0))
    eng.run_until(T0 + 2.0)
    assert ons(rec) == []
    eng.submit(Command("start"))
    eng.run_until(T0 + 3.5)
    assert ons(rec) == [(2.0, 48), (3.0, 50)]
    assert rec.notes("on")[0].duration == pytest.approx(1.0)


def test_one_voice_can_stop_alone():
    eng, rec, clock, _ = make((SCALE, LOW))
    eng.run_until(T0 + 1.2)
    eng.submit(Command("stop", voice=0))
    eng.run_until(T0 + 3.0)
    assert all(t <= 1.2 for t, _ in ons(rec, 0))
    assert any(t > 1.2 for t, _ in ons(rec, 1))


def test_maximum_note_length():
    long = "X:1\nT:Drone\nM:4/4\nL:1/4\nK:C\nC16|D16|\n"
    eng, rec, clock, _ = make((long,), max_note=1.0)
    eng.run_until(T0 + 3.0)
    assert ons(rec)[0] == (0.0, 60) and offs(rec)[0] == (1.0, 60)
    assert rec.notes("on")[0].duration == pytest.approx(1.0)
    # even when a slower tempo stretches a note after it started
    eng2, rec2, clock2, _ = make((long,), max_note=2.0)
    eng2.run_until(T0 + 0.5)
    eng2.submit(Command("tempo", 10.0))
    eng2.run_until(T0 + 5.0)
    assert offs(rec2)[0] == pytest.approx((2.0, 60), abs=0.011)


def test_tied_and_held_notes_are_written_out_before_they_are_due():
    tied = "X:1\nT:Ties\nM:4/4\nL:1/4\nK:C\nA2-A2|B C D E|\n"
    eng, rec, clock, _ = make((tied,))
    eng.run_until(T0 + 3.9)
    assert ons(rec) == [(0.0, 69), (2.0, 71), (2.5, 60), (3.0, 62), (3.5, 64)]
    assert offs(rec)[0] == (2.0, 69)


def test_repeats_are_played_again_unless_turned_off():
    rep = "X:1\nT:Rep\nM:4/4\nL:1/4\nK:C\n|:CDEF:|\n"
    eng, rec, clock, _ = make((rep,))
    eng.run_until(T0 + 3.9)
    assert [p for _, p in ons(rec)] == [60, 62, 64, 65] * 2
    eng, rec, clock, _ = make((rep,), expand_repeats=False)
    eng.run_until(T0 + 3.9)
    assert [p for _, p in ons(rec)] == [60, 62, 64, 65] * 2  # as written, then the next tune
    assert len(rec.notes("tune")) == 2


def test_a_control_cuts_a_repeat_at_the_next_bar_line():
    """--repeats follow (the default): a section being replayed stops at its next bar line
    when a control changes, and what the voice writes next plays from there; with
    follow_repeats off (--repeats play) the repeat plays out first."""
    rep = "X:1\nT:Rep\nM:4/4\nL:1/4\nK:C\n|:CDEF|GABc:|\n"
    first = [60, 62, 64, 65, 67, 69, 71, 72]
    for follow, heard, k in ((True, 6.0, 12), (False, 8.0, 16)):
        eng, rec, clock, _ = make((rep,), follow_repeats=follow)
        eng.run_until(T0 + 4.7)  # in the replay (beats 8..16), before its bar line at 12
        assert eng.voices[0].write_beat() == 16.0  # written to the end of the replay
        eng.submit(Command("temperature", 0.9))
        eng.run_until(T0 + 9.9)
        notes = ons(rec)
        assert [p for _, p in notes[:12]] == first + first[:4]
        assert [p for _, p in notes[12:k]] == first[4 : k - 8]  # played out (play only)
        assert notes[k] == (heard, 60)  # the next tune: at the bar line, or after the repeat
        assert len(rec.notes("on")) == len(rec.notes("off")) + len(rec.sounding())


def test_a_voice_never_schedules_a_long_section_again():
    # a 20-bar section (80 beats) ended by :| is over the engine's 64-beat repeat bound
    body = "CDEF|" * 19 + "CDEF:|\n"
    long_rep = "X:1\nT:Long\nM:4/4\nL:1/4\nK:C\n" + body
    section = [60, 62, 64, 65] * 20
    eng, rec, clock, _ = make((long_rep,))
    eng.run_until(T0 + 41.0)  # 80 beats at 120 BPM is 40 s
    assert [p for t, p in ons(rec) if t < 40.0] == section
    assert len(rec.notes("tune")) == 2  # played on into the next tune, not the section again
    eng, rec, clock, _ = make((long_rep,), max_repeat_beats=float("inf"))  # abc2midi's way
    eng.run_until(T0 + 41.0)
    assert [p for t, p in ons(rec) if t < 41.0] == section + [60, 62]
    assert len(rec.notes("tune")) == 1  # the section again: the next tune is 40 s away


def test_key_and_meter_next_condition_the_next_tune_header():
    eng, rec, clock, _ = make((SCALE,))
    eng.run_until(T0 + 1.0)
    eng.submit(Command("key/next", "Dmix"))
    eng.submit(Command("meter/next", "6/8"))
    eng.run_until(T0 + 9.0)
    tunes = [s.data for s in rec.notes("tune")]
    assert (tunes[0].key, tunes[0].meter) == ("C", "4/4")
    assert tunes[1].meter == "6/8" and tunes[1].key.startswith("D")
    second = rec.text_of().split("X:")[2]
    assert "M:6/8\n" in second and "K:Dmix\n" in second


def test_meter_is_written_even_when_the_model_skips_its_line():
    no_meter = "X:1\nT:Free\nL:1/4\nK:C\nCDEF|\n"
    eng, rec, clock, _ = make((no_meter,))
    eng.run_until(T0 + 0.5)
    eng.submit(Command("meter/next", "3/4"))
    eng.run_until(T0 + 4.0)
    second = rec.text_of().split("X:")[2]
    # the engine wrote M: where the model started K:, then let the model write the key
    assert second.startswith("1\nT:Free\nL:1/4\nM:3/4\nK")


def test_prime_feeds_text_without_a_reset():
    eng, rec, clock, model = make((SCALE,))
    eng.run_until(T0 + 1.0)
    eng.submit(Command("prime", "z4|"))
    eng.run_until(T0 + 6.0)
    assert "z4|" in rec.text_of()


def test_reset_restarts_from_the_seed():
    eng, rec, clock, _ = make((SCALE,))
    eng.run_until(T0 + 2.2)
    eng.submit(Command("reset"))
    eng.run_until(T0 + 3.0)
    assert ons(rec)[5:7] == [(2.2, 60), (2.7, 62)]


def test_program_and_channel_changes():
    eng, rec, clock, _ = make(
        (SCALE,), voices=(VoiceConfig(program=40, seed="X:1\n", constrain="none"),)
    )
    assert [(s.channel, s.data) for s in rec.notes("program")] == [(1, 40)]
    eng.run_until(T0 + 0.6)
    eng.submit(Command("channel", 5))
    eng.run_until(T0 + 1.2)
    assert [(s.channel, s.data) for s in rec.notes("program")][-1] == (5, 40)
    chans = [(round(s.t - T0, 3), s.channel, s.kind) for s in rec.sent if s.kind in ("on", "off")]
    assert (1.0, 1, "off") in chans and (1.0, 5, "on") in chans  # the old note ends on channel 1
    eng.close()
    assert rec.sounding() == {}


def test_a_failing_model_releases_notes_and_the_show_goes_on(caplog):
    eng, rec, clock, model = make((SCALE,))
    eng.run_until(T0 + 1.2)
    model.fail_after = model.steps  # every further step fails
    eng.run_until(T0 + 1.8)
    assert eng.errors >= 1
    assert rec.sounding() == {}
    model.fail_after = None
    eng.run_until(T0 + 4.0)
    assert any(t > 2.0 for t, _ in ons(rec))  # reseeded and playing again


def test_bad_commands_change_nothing():
    eng, rec, clock, _ = make((SCALE,))
    replies = []
    eng.reply = lambda addr, address, args: replies.append((address, args))
    before = eng.voices[0].seed
    eng.submit(Command("seed", "X:1\n\u00e9", sender=("127.0.0.1", 1)))
    eng.submit(Command("subscribe", ("127.0.0.1", 9), sender=("127.0.0.1", 1)))
    eng.run_until(T0 + 0.5)
    assert eng.voices[0].seed == before
    assert [a for a, _ in replies] == ["/livernn/error", "/livernn/error"]
    assert "vocabulary" in replies[0][1][0]


def test_close_releases_every_note_and_closes_outputs():
    eng, rec, clock, _ = make((SCALE, LOW))
    eng.run_until(T0 + 1.2)
    assert rec.sounding()
    eng.close()
    eng.close()
    assert rec.sounding() == {} and rec.closed
    assert [s.kind for s in rec.sent].count("close") == 1


# -- the real tiny model ---------------------------------------------------------------------


def test_sixteen_voices_of_the_tiny_model(tiny_model_path):
    from livernn.model import OnnxModel

    n = 16
    model = OnnxModel(tiny_model_path, voices=n)
    rec = RecordingOutput(keep_text=False)
    clock = FakeClock(T0)
    voices = tuple(VoiceConfig(channel=(i % 16) + 1, rng_seed=i) for i in range(n))
    eng = Engine(model, [rec], EngineConfig(voices=voices, max_note=2.0), clock=clock)
    eng.run_until(T0 + 20.0)
    eng.close()
    assert rec.sounding() == {}
    per_voice = {v: len(ons(rec, v)) for v in range(n)}
    assert sum(1 for c in per_voice.values() if c > 0) >= n - 2, per_voice
    on_times = {}
    for s in rec.sent:
        if s.kind == "on":
            on_times.setdefault((s.channel, s.pitch), []).append(s.t)
        elif s.kind == "off" and on_times.get((s.channel, s.pitch)):
            assert s.t - on_times[(s.channel, s.pitch)].pop(0) <= 2.0 + 1e-6
    assert max(abs(e) for e in eng.sched_errors) < 1e-6
    assert eng.errors == 0


def test_tiny_model_seed_notes_are_played_from_the_seed_time(tiny_model_path):
    from livernn.model import OnnxModel

    model = OnnxModel(tiny_model_path, voices=1)
    rec = RecordingOutput()
    clock = FakeClock(T0)
    eng = Engine(model, [rec], EngineConfig(voices=(VoiceConfig(rng_seed=3),)), clock=clock)
    eng.run_until(T0 + 3.3)
    seed = "X:1\nT:Test\nM:4/4\nL:1/4\nK:C\nCEGc|"
    eng.submit(Command("seed", seed))
    eng.run_until(T0 + 6.0)
    after = [(t, p) for t, p in ons(rec) if t >= 3.3]
    assert after[:4] == [(3.3, 60), (3.8, 64), (4.3, 67), (4.8, 72)]
    assert rec.text_of().count(seed) == 1


# -- invariants under any sequence of controls (fake clock) ----------------------------------

_commands = st.one_of(
    st.builds(lambda s: Command("seed", s), st.sampled_from([SCALE[:4], LOW[:20], SCALE[:30]])),
    st.builds(lambda v: Command("stop", voice=v), st.sampled_from([None, 0, 1])),
    st.builds(lambda v: Command("start", voice=v), st.sampled_from([None, 0, 1])),
    st.builds(lambda v: Command("panic", voice=v), st.sampled_from([None, 0, 1])),
    st.builds(lambda v: Command("reset", voice=v), st.sampled_from([None, 0, 1])),
    st.builds(lambda b: Command("tempo", b), st.floats(20, 600)),
    st.builds(
        lambda c, v: Command("channel", c, v), st.integers(1, 16), st.sampled_from([None, 0, 1])
    ),
    st.builds(lambda t: Command("transpose", t), st.integers(-48, 48)),
    st.builds(lambda t: Command("temperature", t), st.floats(0.01, 50)),
    st.builds(lambda m: Command("meter", m), st.sampled_from(["6/8", "3/4"])),
)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0.0, 1.5), _commands), max_size=25),
    st.sampled_from(["now", "bar"]),
)
def test_any_control_sequence_leaves_no_note_on_and_none_too_long(program, quantize):
    eng, rec, clock, _ = make((SCALE, LOW), max_note=1.0, quantize=quantize)
    t = T0
    for dt, cmd in program:
        t += dt
        eng.run_until(t)
        eng.submit(cmd)
    eng.run_until(t + 2.0)
    eng.close()
    assert rec.sounding() == {}
    started: dict[tuple[int, int], float] = {}
    for s in rec.sent:
        key = (s.channel, s.pitch)
        if s.kind == "on":
            assert key not in started, "a note-on for a pitch already sounding (no re-strike off)"
            started[key] = s.t
        elif s.kind == "off" and key in started:
            assert s.t - started.pop(key) <= 1.0 + 1e-6
    assert max(abs(e) for e in eng.sched_errors) < 1e-6
