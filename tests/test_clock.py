"""Clocks and the tempo map: beats <-> seconds, re-anchoring without a jump."""

from __future__ import annotations

import math
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from livernn.clock import FakeClock, MonotonicClock, TempoMap, check_bpm
from livernn.errors import ConfigError

bpms = st.floats(min_value=1.0, max_value=1000.0)
times = st.floats(min_value=-1e4, max_value=1e4)


def test_tempo_map_basics():
    m = TempoMap(time=10.0, beat=0.0, bpm=120.0)
    assert m.time_at(0.0) == 10.0
    assert m.time_at(4.0) == pytest.approx(12.0)
    assert m.beat_at(11.0) == pytest.approx(2.0)
    assert m.seconds_per_beat == 0.5


@given(bpms, bpms, times, st.floats(min_value=0.0, max_value=1e3))
def test_retempo_has_no_jump_and_applies_after(bpm1, bpm2, t0, dt):
    m = TempoMap(time=t0, beat=3.0, bpm=bpm1)
    at = t0 + dt
    m2 = m.retempo(bpm2, at)
    assert m2.beat_at(at) == pytest.approx(m.beat_at(at), rel=1e-9, abs=1e-6)  # continuous
    b = m.beat_at(at)
    assert m2.time_at(b + 1.0) - m2.time_at(b) == pytest.approx(60.0 / bpm2)  # new speed


@given(bpms, times, st.floats(min_value=-1e3, max_value=1e3))
def test_round_trip(bpm, t0, beat):
    m = TempoMap(time=t0, beat=0.0, bpm=bpm)
    assert m.beat_at(m.time_at(beat)) == pytest.approx(beat, rel=1e-9, abs=1e-6)


@pytest.mark.parametrize("bad", [0, -5, 0.5, 1001, math.nan, math.inf, "fast", None])
def test_bad_tempo_is_a_config_error(bad):
    with pytest.raises(ConfigError):
        check_bpm(bad)
    with pytest.raises(ConfigError):
        TempoMap().retempo(bad, 0.0)


def test_fake_clock_moves_only_when_told():
    c = FakeClock(5.0)
    assert c.now() == 5.0
    c.sleep_until(4.0)  # in the past: no change
    assert c.now() == 5.0
    c.sleep_until(7.5)
    assert c.now() == 7.5
    c.advance(0.5)
    assert c.now() == 8.0
    with pytest.raises(ValueError):
        c.set(1.0)
    with pytest.raises(ValueError):
        c.advance(-1.0)


def test_monotonic_clock_never_returns_early():
    c = MonotonicClock(spin=0.001)
    for delay in (0.0, 0.0005, 0.003):
        deadline = c.now() + delay
        c.sleep_until(deadline)
        assert time.perf_counter() >= deadline
    with pytest.raises(ConfigError):
        MonotonicClock(spin=-1)
