"""In time with the band (issue 11), pure parts and the engine on a fake clock: following an
external beat line (smoothly, across tempo changes and jumps), tunes on the band's grid with
their pickups, MIDI clock in (a jittery source) and out, and latency compensation.

The end-to-end tests are tests/test_link.py (a second Link peer in a private network
namespace) and tests/test_clock_jack.py (MIDI clock through a real JACK server)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from livernn.clock import FakeClock, TempoMap
from livernn.config import EngineConfig, SyncConfig, VoiceConfig
from livernn.engine import Engine, sync
from livernn.osc import Command
from livernn.outputs.base import NoteSink
from livernn.sync import JUMP_SECONDS, External, align, follow, grid_at_or_after
from livernn.sync.clockin import PPQ, ClockFollower
from tests.support.recording import RecordingOutput
from tests.support.scripted import ScriptedModel

T0 = 50.0
# a tune with a one-beat pickup: its bar lines are at tune beats 1, 5, 9 ...
PICKUP = "X:1\nT:Up\nM:4/4\nL:1/4\nK:C\nG|CDEF|GABc|cBAG|FEDC|\n"


# -- following an external line (pure) -----------------------------------------------------


def test_join_keeps_livernns_beat_line_and_sets_the_grid():
    ours = TempoMap(10.0, 3.0, 120.0)
    f = follow(ours, External(12.0, 100.25, 90.0), None, 4.0)
    assert f.tempo.beat_at(12.0) == pytest.approx(ours.beat_at(12.0))
    assert f.tempo.bpm == 90.0 and f.jump == 0.0
    assert f.offset == pytest.approx(7.0 - 100.25)
    g = grid_at_or_after(7.0, f.offset, 4.0)  # the next external downbeat, in our beats
    assert (g - f.offset) % 4.0 == pytest.approx(0.0) and 7.0 <= g < 11.0


def test_a_tempo_change_by_the_band_is_followed_without_a_jump():
    ext = TempoMap(0.0, 0.0, 120.0)
    ours = follow(TempoMap(0.0, 5.0, 120.0), External(0.0, 0.0, 120.0), None, 4).tempo
    offset = 5.0
    ext = ext.retempo(150.0, 1.0)  # the band speeds up at t = 1
    f = follow(ours, External(1.001, ext.beat_at(1.001), 150.0), offset, 4.0)
    assert f.jump == 0.0 and f.offset == offset
    assert f.tempo.beat_at(3.0) == pytest.approx(ext.beat_at(3.0) + offset)


@pytest.mark.parametrize("shift", [0.3, 1.7, 2.2, -0.9, 5.5, -6.1])
def test_a_jump_of_the_band_keeps_livernns_grid_and_moves_the_least(shift):
    q = 4.0
    ours, offset = TempoMap(0.0, 10.0, 120.0), 10.0 - 2.0  # ext beat 2.0 at t = 0
    f = follow(ours, External(0.0, 2.0 + shift, 120.0), offset, q)
    assert abs(f.jump) <= q / 2 + 1e-9
    assert (f.offset - offset) % q == pytest.approx(0.0) or (f.offset - offset) % q == (
        pytest.approx(q)
    )
    assert f.tempo.beat_at(0.0) == pytest.approx(10.0 + f.jump)


def test_drift_below_the_jump_threshold_is_followed_smoothly():
    d = 0.5 * JUMP_SECONDS * 2.0  # beats at 120 BPM: half the threshold
    f = follow(TempoMap(0.0, 0.0, 120.0), External(0.0, d, 120.0), 0.0, 4.0)
    assert f.jump == 0.0 and f.tempo.beat_at(0.0) == pytest.approx(d)


@pytest.mark.parametrize("bar", [0.0, 1.0, 2.5, 3.9, 13.0])
def test_align_puts_a_bar_line_on_a_downbeat(bar):
    offset, q = 0.75, 4.0
    j = align(offset, q, bar)
    assert abs(j) <= q / 2
    assert (bar - (offset + j)) % q in (pytest.approx(0.0), pytest.approx(q))


# -- MIDI clock in (pure) ------------------------------------------------------------------


def _ticks(f, bpm, t0, n, rng, jitter=0.001, start_tick=0):
    dt = 60.0 / (bpm * PPQ)
    true = []
    for i in range(n):
        t = t0 + (start_tick + i) * dt
        true.append(t)
        f.feed(0xF8, t + rng.uniform(-jitter, jitter))
    return true


def test_clock_in_follows_a_jittery_source_within_a_fraction_of_the_jitter():
    rng = np.random.default_rng(1)
    f = ClockFollower()
    f.feed(0xFA, 0.999)
    true = _ticks(f, 120.0, 1.0, 24 * 8, rng)
    assert f.bpm() == pytest.approx(120.0, rel=0.002)
    errs = []
    for _ in range(200):  # the beat line read between ticks, against the true ticks
        k = int(rng.integers(len(true) - 10, len(true)))
        ext = f.external(true[k])
        errs.append(abs(ext.beat - k / PPQ) * 60.0 / 120.0)
    assert max(errs) < 0.0008  # seconds: the jitter is +-1 ms


def test_clock_in_start_is_beat_zero_and_song_position_sets_the_continue():
    f = ClockFollower()
    rng = np.random.default_rng(2)
    _ticks(f, 100.0, 0.0, 30, rng, jitter=0.0)  # running while stopped: tempo only
    assert f.external(0.3) is None
    assert f.bpm() == pytest.approx(100.0)
    dt = 60.0 / (100 * PPQ)
    f.feed(0xFA, 30 * dt - 0.001)
    assert f.external(30 * dt) is None  # no tick since the start yet
    f.feed(0xF8, 30 * dt)
    assert f.external(30 * dt).beat == pytest.approx(0.0, abs=1e-6)
    assert f.external(30 * dt + 0.6).beat == pytest.approx(1.0, abs=1e-6)
    f.feed(0xFC, 31 * dt)
    assert f.external(31 * dt) is None and not f.playing
    f.feed(0xF8, 31 * dt)  # the clock runs on while stopped
    f.feed(0xF2, 31 * dt, (16, 0))  # sixteenth 16: beat 4
    f.feed(0xFB, 31.5 * dt)
    f.feed(0xF8, 32 * dt)
    assert f.external(32 * dt).beat == pytest.approx(4.0, abs=1e-6)


def test_clock_in_follows_a_tempo_step_within_a_beat():
    f = ClockFollower()
    rng = np.random.default_rng(3)
    f.feed(0xFA, -0.01)
    true = _ticks(f, 120.0, 0.0, 96, rng, jitter=0.0005)
    t_end = true[-1]
    dt = 60.0 / (150 * PPQ)
    for i in range(1, 25):  # one beat at 150
        f.feed(0xF8, t_end + i * dt + rng.uniform(-0.0005, 0.0005))
    assert f.bpm() == pytest.approx(150.0, rel=0.01)


# -- the engine on the band's grid (fake clock, fake source) -------------------------------


class FakeSource:
    """An external beat line on the fake clock: a tempo map, maybe playing."""

    name = "fake"

    def __init__(self, line: TempoMap, playing: bool | None = None, name: str = "fake") -> None:
        self.name = name
        self.line = line
        self.playing = playing
        self.proposed: list[float] = []

    def poll(self, now, quantum):
        return External(now, self.line.beat_at(now), self.line.bpm, self.playing)

    def propose_tempo(self, bpm, now):
        self.proposed.append(bpm)
        self.line = self.line.retempo(bpm, now)

    def propose_playing(self, playing, now, quantum):
        self.playing = playing

    def close(self):
        pass


def make(script=PICKUP, source=None, sinks=(), **kw):
    model = ScriptedModel([script])
    rec = RecordingOutput()
    clock = FakeClock(T0)
    voices = (VoiceConfig(rng_seed=0, seed=script[:4], constrain="none"),)
    eng = Engine(model, [rec, *sinks], EngineConfig(voices=voices, **kw), clock=clock)
    if source is not None:
        sync.attach(eng, source)
    return eng, rec, clock


def test_each_tune_puts_its_first_bar_line_on_the_bands_downbeat():
    band = TempoMap(T0, 0.37, 100.0)  # the band is 0.37 beats into its bar at T0
    eng, rec, clock = make(source=FakeSource(band), tempo=100.0)
    eng.run_until(T0 + 30.0)
    ons = rec.notes("on")
    assert len(ons) > 30
    beats = [band.beat_at(s.t) for s in ons]
    pitches = [s.pitch for s in ons]
    # every C that starts a bar (CDEF|) is on the band's beat 1; the pickup G a beat before
    firsts = [b for b, p, q in zip(beats[1:], pitches[1:], pitches[:-1], strict=True)
              if p == 60 and q == 67]  # fmt: skip
    assert len(firsts) >= 2
    for b in firsts:
        assert b % 4.0 == pytest.approx(0.0, abs=1e-6) or b % 4.0 == pytest.approx(4.0)
    assert all(abs(e) < 1e-9 for e in eng.sched_errors)


def test_a_tempo_change_by_the_band_moves_the_next_note():
    src = FakeSource(TempoMap(T0, 0.0, 120.0))
    eng, rec, clock = make(source=src)
    eng.run_until(T0 + 4.0)
    src.line = src.line.retempo(60.0, T0 + 4.0)
    eng.run_until(T0 + 12.0)
    after = [s.t for s in rec.notes("on") if s.t > T0 + 4.0]
    gaps = np.diff(after)
    assert gaps[1:6] == pytest.approx([1.0] * 5)  # quarter notes at 60 BPM from the change
    assert eng.tempo.bpm == 60.0


def test_livernns_tempo_is_proposed_to_the_band():
    src = FakeSource(TempoMap(T0, 0.0, 120.0))
    eng, rec, clock = make(source=src)
    eng.run_until(T0 + 1.0)
    eng.submit(Command("tempo", 90.0))
    eng.run_until(T0 + 3.0)
    assert src.proposed == [90.0] and eng.tempo.bpm == 90.0


def test_a_jump_of_the_band_keeps_the_bars_on_its_downbeats_and_no_note_hangs():
    src = FakeSource(TempoMap(T0, 0.0, 120.0))
    eng, rec, clock = make(source=src)
    eng.run_until(T0 + 5.0)
    src.line = TempoMap(T0 + 5.0, src.line.beat_at(T0 + 5.0) + 1.3, 120.0)  # a session joined
    eng.run_until(T0 + 40.0)
    assert eng.sync.jumps >= 1
    later = [s for s in rec.notes("on") if s.t > T0 + 6.0]
    pairs = zip(later, later[1:], strict=False)
    bar_ones = [src.line.beat_at(b.t) for a, b in pairs if (a.pitch, b.pitch) == (67, 60)]
    assert bar_ones and all(min(b % 4, 4 - b % 4) < 1e-6 for b in bar_ones)
    eng.close()
    assert not rec.sounding()


def test_the_bands_transport_starts_and_stops_livernn():
    src = FakeSource(TempoMap(T0, 0.0, 120.0), playing=True)
    eng, rec, clock = make(source=src)
    eng.run_until(T0 + 2.0)
    src.playing = False
    eng.run_until(T0 + 4.0)
    assert not eng.voices[0].running and not rec.sounding()
    n = len(rec.notes("on"))
    src.playing = True
    eng.run_until(T0 + 8.0)
    assert eng.voices[0].running and len(rec.notes("on")) > n


def test_a_quantized_seed_starts_on_the_bands_next_downbeat():
    band = TempoMap(T0, 0.6, 120.0)
    eng, rec, clock = make("X:1\nM:4/4\nL:1/4\nK:C\n|CDEF|GABc|\n", source=FakeSource(band),
                           quantize="bar")  # fmt: skip
    eng.run_until(T0 + 3.1)
    eng.submit(Command("seed", "X:5\nM:4/4\nL:1/4\nK:C\n|c'bag|"))
    eng.run_until(T0 + 9.0)
    first = next(s for s in rec.notes("on") if s.pitch == 84)
    b = band.beat_at(first.t)
    assert min(b % 4, 4 - b % 4) < 1e-6


# -- MIDI clock out and latency compensation -----------------------------------------------


class ClockSink(NoteSink):
    name = "clock"
    takes_clock = True

    def __init__(self, latency=0.0):
        self.latency = latency
        self.got: list[tuple[float, tuple]] = []
        self.notes: list[tuple[float, str, int]] = []

    def clock(self, t, message):
        self.got.append((t, message))

    def note_on(self, t, voice, channel, pitch, velocity, duration):
        self.notes.append((t, "on", pitch))

    def note_off(self, t, voice, channel, pitch):
        self.notes.append((t, "off", pitch))


def test_clock_out_is_24_ticks_a_beat_on_the_tempo_map_after_a_start():
    out = ClockSink()
    eng, rec, clock = make(sinks=[out], sync=SyncConfig(clock_out=True), tempo=150.0)
    eng.run_until(T0 + 4.0)
    assert out.got[0][1] == (0xFA,) and out.got[1][1] == (0xF8,)
    ticks = [t for t, m in out.got if m == (0xF8,)]
    assert np.diff(ticks) == pytest.approx([60 / 150 / 24] * (len(ticks) - 1))
    assert len(ticks) == math.floor(4.0 * 150 / 60 * 24) + 1
    eng.submit(Command("tempo", 100.0))
    eng.run_until(T0 + 6.0)
    later = [t for t, m in out.got if m == (0xF8,) and t > T0 + 4.1]
    assert np.diff(later) == pytest.approx([60 / 100 / 24] * (len(later) - 1))


def test_clock_out_stop_then_song_position_and_continue():
    out = ClockSink()
    eng, rec, clock = make(sinks=[out], sync=SyncConfig(clock_out=True))
    eng.run_until(T0 + 1.0)
    eng.submit(Command("stop"))
    eng.run_until(T0 + 2.0)
    assert (0xFC,) in [m for _, m in out.got]
    eng.submit(Command("start"))
    eng.run_until(T0 + 3.0)
    msgs = [m for _, m in out.got]
    i = msgs.index((0xFB,))
    assert msgs[i - 1][0] == 0xF2 and msgs[i + 1] == (0xF8,)
    pos = msgs[i - 1][1] | msgs[i - 1][2] << 7
    t_cont = out.got[i + 1][0]
    assert pos / 4 == pytest.approx((t_cont - T0) * 2.0)  # sixteenths since Start, 120 BPM


def test_latency_sends_each_output_its_own_time_ahead_and_a_release_leaves_nothing_on():
    slow, fast = ClockSink(latency=0.030), ClockSink(latency=0.0)
    eng, rec, clock = make(sinks=[slow, fast])
    eng.run_until(T0 + 3.0)
    s_on = [t for t, k, _ in slow.notes if k == "on"]
    f_on = [t for t, k, _ in fast.notes if k == "on"]
    assert len(s_on) >= 5
    n = min(len(s_on), len(f_on))  # (the first note is due at the start: nothing is ahead)
    assert np.array(f_on[1:n]) - np.array(s_on[1:n]) == pytest.approx(0.030)
    clock.set(f_on[-1] + 0.5 - 0.01)  # 10 ms before a note: the slow output has it, the fast not
    eng.tick()
    eng.submit(Command("panic"))
    eng.tick()
    for sink in (slow, fast):
        count = {}
        for _, k, p in sink.notes:
            count[p] = count.get(p, 0) + (1 if k == "on" else -1 if count.get(p, 0) else 0)
        assert not any(count.values()), sink.notes[-4:]


def test_link_without_the_extra_is_a_one_line_error_naming_it(monkeypatch):
    import argparse
    import sys

    from livernn.errors import ConfigError
    from livernn.serve import add_arguments, build_config

    monkeypatch.setitem(sys.modules, "link", None)  # import link -> ImportError
    p = argparse.ArgumentParser()
    add_arguments(p)
    with pytest.raises(ConfigError, match=r"pip install 'livernn\[link\]'") as e:
        build_config(p.parse_args(["--link", "--no-midi"]))
    assert "\n" not in str(e.value)


def test_latency_is_set_over_osc_per_kind_of_output_and_refused_without_one():
    midi = ClockSink()
    midi.latency_group = "midi"
    eng, rec, clock = make(sinks=[midi])
    assert eng.apply(Command("midi_latency", 25.0)) is None
    assert midi.latency == pytest.approx(0.025) and eng.lead() == pytest.approx(0.025)
    assert "no OSC output" in eng.apply(Command("osc_latency", 10.0))


def test_link_zero_leaves_the_band_and_keeps_time_alone():
    src = FakeSource(TempoMap(T0, 0.0, 100.0), name="link")
    eng, rec, clock = make(source=src)
    eng.run_until(T0 + 2.0)
    assert eng.sync.source is src and eng.tempo.bpm == 100.0
    assert eng.apply(Command("link", 0)) is None
    src.line = src.line.retempo(60.0, T0 + 2.0)  # no longer heard
    eng.run_until(T0 + 4.0)
    assert eng.sync.source is None and eng.tempo.bpm == 100.0
    assert all(v.grid is None for v in eng.voices)


def test_clock_in_counts_a_lost_tick_but_not_a_late_one():
    dt = 60.0 / (120 * PPQ)
    lost, late = ClockFollower(), ClockFollower()
    for f in (lost, late):
        f.feed(0xFA, -0.001)
    for i in range(60):
        if i != 40:
            lost.feed(0xF8, i * dt)  # tick 40 never arrives
        late.feed(0xF8, i * dt + (0.9 * dt if i == 40 else 0.0))  # tick 40 comes late
    for f in (lost, late):
        assert f.external(59 * dt).beat == pytest.approx(59 / PPQ, abs=1e-6)
    assert lost.lost == 1 and late.lost == 0


def test_a_panic_sends_midi_stop_once():
    out = ClockSink()
    eng, rec, clock = make(sinks=[out], sync=SyncConfig(clock_out=True))
    eng.run_until(T0 + 1.0)
    eng.submit(Command("panic"))  # stops every voice (Stop), then the engine's panic
    eng.run_until(T0 + 1.5)
    assert [m for _, m in out.got].count((0xFC,)) == 1
