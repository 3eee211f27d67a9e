"""MIDI clock through a real JACK server (issue 11): ``--clock-out`` into a JACK MIDI input
in the test (Start, 24 ticks a beat at the tempo, Stop, Song Position + Continue), and
``--clock-in`` from a JACK MIDI output in the test playing a jittery clock (+-1 ms): livernn
takes its tempo and puts its notes on the clock's beats.

jackd runs with 64-frame periods (1.3 ms at 48 kHz: JACK moves MIDI once a period), so the
bounds here are loose; bench/sync.py measures the figures for BENCHMARKS.md."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from livernn.paths import DEFAULT_MODEL
from tests.support.jack import jack_server
from tests.support.server import REEL_SEED, serve

pytestmark = [
    pytest.mark.jack,
    pytest.mark.slow,
    pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="no shipped model"),
]

ROOT = Path(__file__).resolve().parents[1]
SEED = REEL_SEED


def _realtime(probe):
    return [(t, m) for t, m in list(probe.events) if m.type in ("clock", "start", "stop",
                                                                  "continue", "songpos")]  # fmt: skip


def test_clock_out_starts_ticks_24_a_beat_stops_and_continues():
    with (
        jack_server(fluidsynth=False, period=64, realtime=True) as jack,
        jack.midi_probe("clockrx") as probe,
    ):
        args = ("--midi-api", "jack", "--connect", "clockrx", "--clock-out", "--tempo", "150")
        with serve(DEFAULT_MODEL, *args, "--seed", SEED, midi=True, env=jack.env) as s:
            time.sleep(3.0)
            ev = _realtime(probe)
            kinds = [m.type for _, m in ev]
            assert "start" in kinds, kinds[:5]
            ticks = [t for t, m in ev[kinds.index("start") :] if m.type == "clock"]
            assert len(ticks) > 100
            gaps = np.diff(ticks[10:])
            assert np.median(gaps) == pytest.approx(60 / 150 / 24, abs=0.0015)
            rate = (len(ticks) - 11) / (ticks[-1] - ticks[10])  # (JACK may lose one in a cycle
            assert rate == pytest.approx(150 / 60 * 24, rel=0.03)  # it misses under load)
            s.send("/livernn/tempo", 100.0)
            time.sleep(2.5)
            later = [t for t, m in _realtime(probe) if m.type == "clock" and t > ticks[-1] + 0.3]
            assert np.median(np.diff(later)) == pytest.approx(60 / 100 / 24, abs=0.0015)
            s.send("/livernn/stop")
            time.sleep(0.5)
            s.send("/livernn/start")
            deadline = time.monotonic() + 3.0
            while "continue" not in [m.type for _, m in _realtime(probe)][-200:]:
                assert time.monotonic() < deadline, "no Continue after /livernn/start"
                time.sleep(0.1)
            time.sleep(0.2)
            kinds = [m.type for _, m in _realtime(probe)]
            i = kinds.index("stop")
            j = kinds.index("continue", i)
            assert kinds[j - 1] == "songpos" and kinds[j + 1] == "clock"
        assert not probe.sounding(all_notes_off=True)


def test_clock_in_sets_the_tempo_and_puts_notes_on_its_beats(tmp_path):
    bpm = 100.0  # a tick is 25 ms: notes off the clock would be 6 ms from a tick at the median
    ready, sched = tmp_path / "ready", tmp_path / "schedule.json"
    with (
        jack_server(fluidsynth=False, period=64, realtime=True) as jack,
        jack.midi_probe("notes") as probe,
    ):
        src = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "clock_source.py"), "--port", "drum",
             "--bpm", str(bpm), "--seconds", "12", "--ready", str(ready), "--out", str(sched)],
            env=jack.env,
        )  # fmt: skip
        try:
            jack.wait_for_port("drum:")
            args = ("--midi-api", "jack", "--connect", "notes", "--clock-in", "drum", "--plain")
            args += ("--tempo", "90", "--seed", SEED, "--rng-seed", "2")
            with serve(DEFAULT_MODEL, *args, midi=True, env=jack.env) as s:
                ready.touch()  # livernn listens: the drum machine starts
                time.sleep(9.0)
                status = s.ask("/livernn/status", "/livernn/status")  # while it plays
                assert src.wait(timeout=30) == 0
        finally:
            src.kill()
        tempo = dict(zip(status[::2], status[1::2], strict=False))["tempo"]
        assert tempo == pytest.approx(bpm, rel=0.01)
        start = json.loads(sched.read_text())["start"]
        # probe times are time.monotonic() and the schedule perf_counter: on Linux the same
        # clock (CLOCK_MONOTONIC)
        ons = [t for t, m in list(probe.events) if m.type == "note_on" and m.velocity > 0]
        late = [t for t in ons if start + 2.0 < t < start + 11.5]  # once the clock is followed
        assert len(late) > 10
        # Locked to the clock: every note on one of its ticks (JACK moves MIDI once a 1.3 ms
        # period each way: about 2 ms of the error is that). Whole ticks are not checked here:
        # JACK's dummy driver on a loaded 2-core machine misses a cycle now and then and loses
        # its MIDI, and a lost tick is told from a late one only by the next gap, which a
        # second miss can fool; the pure tests (test_sync.py) check both cases exactly.
        tick = 60.0 / bpm / 24
        errs = [abs((t - start) / tick - round((t - start) / tick)) * tick * 1000 for t in late]
        # Unlocked, notes would sit anywhere within half a tick (12.5 ms) of one: median 6.25,
        # p90 11.25 ms. Locked, the median is about 2.5 ms; the full suite's load on CI has put
        # the p90 at 8.9 ms (one run of three), so the p90 bound is 10 ms.
        assert np.median(errs) < 4.0 and np.percentile(errs, 90) < 10.0, errs
        assert not probe.sounding(all_notes_off=True)
