"""End to end through real MIDI: jackd (dummy driver) + FluidSynth, ``livernn serve
--midi-api jack --midi-port fluidsynth``, and a JACK MIDI input in the test that sees every
note-on matched by a note-off after /livernn/stop and after SIGTERM."""

from __future__ import annotations

import signal
import time

import pytest

from tests.support.jack import jack_server
from tests.support.server import serve

pytestmark = [pytest.mark.jack, pytest.mark.slow]


def wait_until(pred, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


def test_notes_reach_fluidsynth_and_balance_after_stop_and_sigterm(tiny_model_path):
    with jack_server() as jack, jack.midi_probe("probe") as probe:
        args = (
            "--midi-api",
            "jack",
            "--midi-port",
            "fluidsynth",
            "--tempo",
            "240",
            "--rng-seed",
            "2",
        )
        with serve(tiny_model_path, *args, midi=True, env=jack.env) as s:
            assert "MIDI out: 'fluidsynth-midi" in s.output()
            fluid = next(p for p in jack.connections() if p.startswith("fluidsynth-midi:midi"))
            sources = jack.connections()[fluid]
            assert len(sources) == 1, jack.connections()  # livernn's output feeds FluidSynth
            jack.connect(sources[0], probe.port_name)
            assert wait_until(lambda: len(probe.notes()[0]) >= 6), probe.events
            s.send("/livernn/stop")
            s.ask("/livernn/ping", "/livernn/pong")
            assert wait_until(lambda: probe.sounding() == {}, 2.0), probe.sounding()
            n = len(probe.notes()[0])
            time.sleep(0.5)
            assert len(probe.notes()[0]) == n  # nothing plays after stop
            s.send("/livernn/start")
            assert wait_until(lambda: len(probe.notes()[0]) >= n + 4), probe.events
            assert s.stop(signal.SIGTERM) == 0
            assert s.stop_seconds < 1.0
            time.sleep(0.2)
            assert probe.sounding() == {}
            assert s.proc.returncode == 0
