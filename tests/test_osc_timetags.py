"""OSC timetags on a real server (real UDP on 127.0.0.1, the real tiny model, the real clock):
a bundle ahead applies at its time, not before; past and immediate ones at once; too far
ahead is refused whole; panic never waits; nested bundles keep their own times; with
``--osc-out-bundles`` every note echo is a bundle timetagged with the note's deadline that
arrives before it; hostile timetags neither crash the server nor queue without bound.

Bounds on the real clock are generous (two shared cores); the exact times are asserted on a
fake clock in tests/test_timetag.py.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from livernn.config import EngineConfig, OscConfig, VoiceConfig
from livernn.osc import encode
from livernn.server import build_server
from livernn.timetag import bundle, measure_offset, ntp_to_unix, unix_to_ntp
from tests.support.recording import RecordingOutput
from tests.support.server import OscClient, serve_config
from tests.support.timed import TimedReceiver, timed
from tests.test_timetag import Ahead

LATE_OK = 0.05  # seconds a timed command may apply after its time on this busy machine


def start(tiny_model_path, outputs=(), **osc):
    from livernn.model import OnnxModel

    model = OnnxModel(tiny_model_path, voices=1)
    cfg = EngineConfig(voices=(VoiceConfig(rng_seed=1),), tempo=240, command_queue=64)
    osc_cfg = OscConfig(host="127.0.0.1", port=0, errors_per_second=1000, **osc)
    srv = build_server(serve_config(cfg, osc_cfg), model, [RecordingOutput(), *outputs])
    srv.start()
    return srv, OscClient(srv.endpoint.address)


@pytest.fixture
def server(tiny_model_path):
    srv, client = start(tiny_model_path)
    yield srv, client
    srv.stop()
    client.close()


def until(cond, timeout=5.0):
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.001)


def test_a_bundle_ahead_applies_at_its_time_not_before(server):
    srv, c = server
    e = srv.engine
    data, due = timed(0.3, ("/livernn/tempo", [77.0]))
    c.send_raw(data)
    until(lambda: e.commands.timed() == 1)
    while time.perf_counter() < due - 0.01:
        assert e.tempo.bpm == 240.0
        time.sleep(0.002)
    until(lambda: e.tempo.bpm == 77.0)
    # the tempo map is re-anchored when the command applies, on the engine's clock
    assert -0.002 < e.tempo.time - due < LATE_OK
    assert e.commands.timed() == 0


def test_past_and_immediate_timetags_apply_at_once(server):
    srv, c = server
    e = srv.engine
    data, _ = timed(-5.0, ("/livernn/tempo", [101.0]))
    t = time.perf_counter()
    c.send_raw(data)
    until(lambda: e.tempo.bpm == 101.0, timeout=1.0)
    assert e.tempo.time - t < LATE_OK
    c.send_raw(bundle(1, [encode("/livernn/tempo", [102.0])]))
    until(lambda: e.tempo.bpm == 102.0, timeout=1.0)


def test_a_bundle_too_far_ahead_is_refused_whole(server):
    srv, c = server
    e = srv.engine
    near = bundle(unix_to_ntp(time.time() + 1.0), [encode("/livernn/temperature", [0.3])])
    far = bundle(unix_to_ntp(time.time() + 120.0), [encode("/livernn/tempo", [55.0])])
    c.send_raw(bundle(1, [encode("/livernn/tempo", [66.0]), near, far]))
    (reason,) = c.wait_for("/livernn/error")[0]
    assert "ahead, more than 60 s" in reason
    c.ask("/livernn/ping", "/livernn/pong")
    time.sleep(1.2)
    assert e.tempo.bpm == 240.0 and e.voices[0].params.temperature == 1.0
    assert e.commands.timed() == 0 and srv.dropped["too far ahead"] == 1


def test_a_panic_in_a_bundle_ahead_applies_at_once(server):
    srv, c = server
    e = srv.engine
    data, _ = timed(5.0, ("/livernn/tempo", [90.0]), ("/livernn/panic", []))
    c.send_raw(data)
    until(lambda: not e.voices[0].running, timeout=1.0)
    assert e.commands.timed() == 0  # the tempo before it in the bundle was dropped by it
    c.send("/livernn/start")
    until(lambda: e.voices[0].running, timeout=1.0)


def test_nested_bundles_apply_each_at_its_own_time_in_order(server):
    srv, c = server
    e = srv.engine
    t = time.perf_counter()
    w = time.time()
    inner = bundle(unix_to_ntp(w + 0.4), [encode("/livernn/tempo", [95.0])])
    two = [encode("/livernn/temperature", [0.5]), encode("/livernn/temperature", [0.7])]
    outer = bundle(unix_to_ntp(w + 0.2), [encode("/livernn/tempo", [90.0]), inner, *two])
    c.send_raw(outer)
    until(lambda: e.tempo.bpm == 90.0)
    assert -0.002 < e.tempo.time - (t + 0.2) < LATE_OK
    # the same time: applied in the bundle's order, so the last one stays
    until(lambda: abs(e.voices[0].params.temperature - 0.5) > 0.01)
    assert e.voices[0].params.temperature == pytest.approx(0.7)
    until(lambda: e.tempo.bpm == 95.0)
    assert -0.002 < e.tempo.time - (t + 0.4) < LATE_OK


def test_bundles_out_are_timetagged_with_each_notes_deadline(tiny_model_path):
    ahead = Ahead()
    srv, c = start(tiny_model_path, [ahead], bundles=True)
    rx = TimedReceiver()
    try:
        c.send("/livernn/subscribe", rx.address[1])
        c.ask("/livernn/ping", "/livernn/pong")
        c.send("/livernn/seed", "X:1\\nT:B\\nM:4/4\\nL:1/8\\nK:D\\nDEFG ABcd|")
        end = time.monotonic() + 3.0
        while time.monotonic() < end:
            rx.poll(0.05)
        c.send("/livernn/unsubscribe", rx.address[1])
        c.ask("/livernn/ping", "/livernn/pong")
        time.sleep(0.1)
        rx.poll(0.05)
    finally:
        srv.stop()
        c.close()
        rx.close()
    got = rx.bundles()
    assert len(got) >= 10
    assert not [d for _, d in rx.got if d.startswith(b"/livernn/note")]  # bundles only
    offset = measure_offset(time.perf_counter, time.time)
    told = {(round(d, 6), p): t for t, d, _, _, p, _ in ahead.told}  # -> when told
    deadlines = np.array([d for _, d, *_ in ahead.told])
    late = 0
    for arrived, tag, messages in got:
        address, args = parse_one(messages[0])
        assert address == "/livernn/note"
        if len(messages) > 1:
            assert parse_one(messages[1])[0] == "/livernn/confidence"
        at = ntp_to_unix(tag) - offset  # the timetag back on the engine clock
        nearest = deadlines[np.argmin(np.abs(deadlines - at))]
        assert abs(nearest - at) < 0.001
        when = told[(round(float(nearest), 6), args[0])]
        if when < nearest:  # (a seed's first note is due as it is read: told at once, late)
            assert arrived < ntp_to_unix(tag)  # it arrived before the note's time
        else:
            late += 1
    assert late <= 2
    ons = [s.t for s in ahead.notes("on")]
    errs = [min(abs(t - d) for t in ons) for d in deadlines if d < max(ons)]
    assert np.median(errs) < 0.005  # and the notes themselves sounded at those deadlines


def parse_one(data):
    from livernn.osc import parse_message

    return parse_message(data)


_TAG = st.one_of(
    st.integers(0, 2**64 - 1),
    st.floats(-100.0, 100.0).map(lambda dt: unix_to_ntp(time.time() + dt)),
    st.just(1),
)
_MSG = st.sampled_from(
    [
        encode("/livernn/tempo", [200.0]),
        encode("/livernn/temperature", [0.9]),
        encode("/livernn/ping"),
        encode("/livernn/tempo", [-1.0]),
        b"/livernn/tempo\x00\x00,f\x00\x00",  # cut short
    ]
)
_BUNDLE = st.recursive(
    st.builds(lambda tag, ms: bundle(tag, ms), _TAG, st.lists(_MSG, max_size=6)),
    lambda inner: st.builds(
        lambda tag, ms: bundle(tag, ms), _TAG, st.lists(st.one_of(_MSG, inner), max_size=4)
    ),
    max_leaves=12,
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=_BUNDLE)
def test_hostile_timetags_never_crash_nor_queue_without_bound(server, data):
    srv, c = server
    srv.handle_datagram(data, ("127.0.0.1", 9))
    assert srv.engine.commands.timed() <= srv.engine.config.command_queue


def test_a_flood_of_future_bundles_is_bounded_and_leaves_the_present_free(server):
    srv, c = server
    e = srv.engine
    for _ in range(300):
        data, _ = timed(30.0, ("/livernn/temperature", [0.4]))
        srv.handle_datagram(data, ("127.0.0.1", 9))
    assert e.commands.timed() == e.config.command_queue
    assert srv.dropped["queue full"] == 300 - e.config.command_queue
    c.send("/livernn/tempo", 123.0)  # now still applies now
    until(lambda: e.tempo.bpm == 123.0, timeout=1.0)
    assert c.ask("/livernn/ping", "/livernn/pong") == []
    c.send("/livernn/panic")
    until(lambda: e.commands.timed() == 0, timeout=1.0)
