"""OSC timetags without sockets: NTP <-> engine clock conversion, due times, the timed inbox,
and the engine on a fake clock applying a timed command exactly at its time and telling
notes early to a sink that wants them (``--osc-out-bundles``)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from livernn.clock import FakeClock
from livernn.config import EngineConfig, VoiceConfig
from livernn.engine import Engine
from livernn.engine.inbox import Inbox
from livernn.osc import Command, OscError, encode
from livernn.oscwire import IMMEDIATELY, split_packet
from livernn.timetag import (
    NTP_EPOCH,
    Offset,
    bundle,
    due_times,
    measure_offset,
    ntp_to_unix,
    parse_timed,
    unix_to_ntp,
)
from tests.support.recording import RecordingOutput
from tests.support.scripted import ScriptedModel

T0 = 100.0
WALL = 1_700_000_000.0  # the fake wall clock is the engine clock plus this
SCALE = "X:1\nT:Scale\nM:4/4\nL:1/4\nK:C\nCDEF|GABc|cBAG|FEDC|\n"
REPEAT = "X:1\nT:Rep\nM:4/4\nL:1/4\nK:C\n|:CDEF|GABc:|\n"


def fake_offset(clock: FakeClock) -> Offset:
    return Offset(clock.now, lambda: clock.now() + WALL)


def tag_at(t: float) -> int:
    """The timetag of engine time ``t`` under ``fake_offset``."""
    return unix_to_ntp(t + WALL)


# -- conversion ----------------------------------------------------------------------------


def test_ntp_epoch_and_fraction():
    assert unix_to_ntp(0.0) == NTP_EPOCH << 32
    assert unix_to_ntp(0.5) == (NTP_EPOCH << 32) + (1 << 31)
    assert ntp_to_unix((NTP_EPOCH + 10) << 32 | (1 << 30)) == 10.25
    assert unix_to_ntp(-1e12) == 0 and unix_to_ntp(1e12) == 2**64 - 1  # clamped


@given(st.integers(0, 2**64 - 1))
def test_ntp_round_trips_within_a_microsecond(tag):
    t = ntp_to_unix(tag)
    assert abs(ntp_to_unix(unix_to_ntp(t)) - t) < 1e-6


def test_the_offset_is_measured_from_both_clocks_and_again_when_old():
    clock = FakeClock(T0)
    wall = [WALL]
    off = Offset(clock.now, lambda: clock.now() + wall[0], max_age=1.0)
    assert off.value(clock.now()) == WALL
    wall[0] = WALL + 3.0  # the wall clock was stepped
    clock.advance(0.5)
    assert off.value(clock.now()) == WALL  # not measured again yet
    clock.advance(0.6)
    assert off.value(clock.now()) == WALL + 3.0
    assert measure_offset(clock.now, lambda: 42.0) == 42.0 - clock.now()


def test_due_times_now_past_future_and_too_far():
    clock = FakeClock(T0)
    off = fake_offset(clock)
    now = clock.now()
    got = due_times([IMMEDIATELY, tag_at(now - 5), tag_at(now + 1.25), 0], off, now)
    assert got[0] is None and got[1] is None and got[3] is None
    assert got[2] == pytest.approx(now + 1.25, abs=1e-6)
    assert due_times([tag_at(now + 59.9)], off, now)[0] is not None
    with pytest.raises(OscError, match="ahead, more than 60 s"):
        due_times([IMMEDIATELY, tag_at(now + 61)], off, now)


def test_nested_bundles_keep_each_messages_own_timetag():
    inner = bundle(7 << 32, [encode("/livernn/tempo", [90.0])])
    outer = bundle(5 << 32, [encode("/livernn/ping"), inner, encode("/livernn/start")])
    assert [(t >> 32, a) for t, a, _ in parse_timed(outer)] == [
        (5, "/livernn/ping"), (7, "/livernn/tempo"), (5, "/livernn/start"),
    ]  # fmt: skip
    assert [e.timetag for e in split_packet(inner).elements] == [7 << 32]
    with pytest.raises(OscError, match="malformed"):
        parse_timed(outer[:-3])


# -- the inbox -----------------------------------------------------------------------------


def test_timed_commands_come_out_when_due_in_order():
    box = Inbox(8)
    assert box.put(Command("tempo", 90.0, at=2.0))
    assert box.put(Command("temperature", 0.5, at=1.0))
    assert box.put(Command("temperature", 0.7, at=1.0))  # same time: after the first
    assert box.put(Command("ping"))
    assert box.next_due() == 1.0
    assert box.take(0.5).name == "ping"
    assert box.take(0.99) is None
    assert [box.take(1.5).value for _ in range(2)] == [0.5, 0.7]
    assert box.take(1.5) is None and box.next_due() == 2.0
    assert box.take(2.0).value == 90.0
    assert box.next_due() == math.inf and box.timed() == 0


def test_a_timed_panic_never_waits():
    box = Inbox(8)
    box.put(Command("panic", at=50.0))
    assert box.timed() == 0 and box.take(0.0).name == "panic"


def test_timed_commands_have_their_own_bound_and_can_be_dropped():
    box = Inbox(3)
    assert all(box.put(Command("tempo", 90.0, voice=i % 2, at=10.0)) for i in range(3))
    assert not box.put(Command("tempo", 90.0, at=10.0))  # the future is full ...
    assert box.put(Command("ping"))  # ... the present is not
    assert box.wait(0.0)
    assert box.drop_timed(voice=1) == 1 and box.timed() == 2
    assert box.put(Command("tempo", 90.0, at=11.0))
    assert box.drop_timed() == 3 and box.timed() == 0 and box.next_due() == math.inf


# -- the engine on a fake clock ------------------------------------------------------------


def make(script=SCALE, outputs=(), **kw):
    model = ScriptedModel([script])
    voices = (VoiceConfig(rng_seed=0, seed=script[:4], constrain="none"),)
    clock = FakeClock(T0)
    rec = RecordingOutput()
    eng = Engine(model, [rec, *outputs], EngineConfig(voices=voices, **kw), clock=clock)
    return eng, rec, clock


def test_a_timed_tempo_applies_exactly_at_its_time():
    eng, rec, clock = make()
    at = T0 + 1.2345
    assert eng.submit(Command("tempo", 60.0, at=at))
    eng.run_until(at - 1e-6)
    assert eng.tempo.bpm == 120.0 and eng.commands.timed() == 1
    eng.run_until(T0 + 2.0)
    assert eng.tempo.bpm == 60.0 and eng.tempo.time == at  # re-anchored at the timetag
    assert eng.commands.timed() == 0


def test_the_tick_wakes_precisely_for_a_timed_command():
    eng, rec, clock = make(autostart=False)
    eng.tick()
    eng.submit(Command("temperature", 0.5, at=T0 + 0.0031))
    assert eng.tick() == (T0 + 0.0031, True)


def test_a_timed_panic_applies_at_once_and_drops_what_waits():
    eng, rec, clock = make()
    eng.submit(Command("tempo", 60.0, at=T0 + 1.0))
    eng.run_until(T0 + 0.6)
    eng.submit(Command("panic", at=T0 + 30.0))
    eng.run_until(T0 + 0.6 + 1e-4)
    assert not eng.voices[0].running and eng.commands.timed() == 0
    eng.run_until(T0 + 2.0)
    assert eng.tempo.bpm == 120.0


def test_close_drops_the_timed_commands():
    eng, rec, clock = make()
    eng.submit(Command("tempo", 60.0, at=T0 + 1.0))
    eng.run_until(T0 + 0.1)
    eng.close()
    assert eng.commands.timed() == 0


class Ahead(RecordingOutput):
    """Wants notes early; keeps (told at, deadline, voice, channel, pitch, bits)."""

    early = True

    def __init__(self) -> None:
        super().__init__()
        self.told: list[tuple[float, float, int, int, int, float | None]] = []

    def note_ahead(self, t, deadline, voice, channel, pitch, velocity, duration, bits) -> None:
        self.told.append((t, deadline, voice, channel, pitch, bits))


def test_every_note_is_told_once_ahead_at_its_exact_deadline():
    ahead = Ahead()
    eng, rec, clock = make(script=REPEAT, outputs=[ahead])
    eng.run_until(T0 + 12.0)
    ons = [(s.t, s.voice, s.channel, s.pitch) for s in ahead.notes("on")]
    told = [(d, v, c, p) for _, d, v, c, p, _ in ahead.told]
    assert len(ons) > 16 and told[: len(ons)] == ons  # the same notes, each at its deadline
    leads = [d - t for t, d, *_ in ahead.told]
    assert all(0.0 <= x <= eng.config.lookahead + 1e-9 for x in leads)
    # the repeat was placed a section ahead: those notes are told the lookahead before
    assert sum(abs(x - eng.config.lookahead) < 1e-9 for x in leads) >= 8
    assert all(b is not None for *_, b in ahead.told)  # melody: each with its confidence


def test_notes_cut_before_they_are_told_are_never_told():
    ahead = Ahead()
    eng, rec, clock = make(script=REPEAT, outputs=[ahead])
    eng.run_until(T0 + 4.1)  # the repeat is scheduled, seconds ahead
    assert len(eng.scheduler.pending()) > 4
    eng.submit(Command("stop"))
    eng.run_until(T0 + 12.0)
    assert eng.scheduler.pending() == []
    # every note told sounded, but the one due within the lookahead of the stop
    played = {(s.t, s.pitch) for s in ahead.notes("on")}
    unplayed = [d for t, d, v, c, p, _ in ahead.told if (d, p) not in played]
    assert len(unplayed) <= 1 and all(d <= T0 + 4.1 + eng.config.lookahead for d in unplayed)
    assert max(d for _, d, *_ in ahead.told) <= T0 + 4.1 + eng.config.lookahead


def test_without_an_early_sink_nothing_is_kept():
    eng, rec, clock = make(script=REPEAT)
    eng.run_until(T0 + 4.1)
    assert eng.early is None
