"""The built-in synth and auto-connect, with real programs: FluidSynth, a JACK dummy server,
``livernn serve`` and ``livernn render`` subprocesses; audio measured from the WAV files
(``livernn.outputs.wav``: the standard ``wave`` module and numpy)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import mido
import pytest

from livernn.outputs import wav
from livernn.paths import BUILTIN_CORPUS, DEFAULT_MODEL
from tests.support.jack import jack_server
from tests.support.server import ROOT, serve

needs_fluidsynth = pytest.mark.skipif(
    shutil.which("fluidsynth") is None, reason="fluidsynth is not installed (see .ci/run)"
)


def livernn(*args: str, env: dict[str, str] | None = None, timeout: float = 120):
    return subprocess.run(
        [sys.executable, "-m", "livernn", *args],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env or dict(os.environ),
    )  # fmt: skip


def note_on_times(path: Path) -> list[float]:
    t, out = 0.0, []
    for msg in mido.MidiFile(path):
        t += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            out.append(t)
    return out


def matched(notes: list[float], onsets: list[float], tol: float = 0.04) -> float:
    """The share of note starts (aligned on the first) that have an audio onset within
    ``tol`` seconds."""
    if not notes or not onsets:
        return 0.0
    shift = onsets[0] - notes[0]
    hits = sum(any(abs(n + shift - o) <= tol for o in onsets) for n in notes)
    return hits / len(notes)


def test_missing_soundfont_and_fluidsynth_are_one_line_errors(tmp_path):
    r = livernn("serve", "--synth", "--soundfont", str(tmp_path / "none.sf2"))
    assert r.returncode == 2
    assert r.stderr.strip() == f"livernn: error: soundfont not found: {tmp_path / 'none.sf2'}"
    bare = {**os.environ, "PATH": str(tmp_path)}  # no fluidsynth on PATH
    r = livernn("serve", "--synth", env=bare)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "FluidSynth, which is not installed (apt-get install fluidsynth" in r.stderr
    r = livernn("render", str(BUILTIN_CORPUS), "--out", str(tmp_path / "x.wav"), env=bare)
    assert r.returncode == 2 and "not installed" in r.stderr and "Traceback" not in r.stderr


@needs_fluidsynth
def test_render_wav_peaks_near_minus_3_dbfs(tmp_path):
    out = tmp_path / "tune.wav"
    r = livernn("render", str(BUILTIN_CORPUS), "--tune", "1", "--out", str(out))
    assert r.returncode == 0, r.stderr
    samples, rate = wav.read(out)
    assert rate == 44100 and len(samples) / rate > 30
    assert -3.2 < wav.peak_dbfs(samples) < -2.8
    assert wav.rms_dbfs(samples) > -30


@pytest.mark.jack
@pytest.mark.slow
def test_synth_on_jack_writes_the_set_to_wav_and_leaves_nothing(tmp_path):
    """``serve --synth --synth-wav``: FluidSynth plays to the JACK dummy server and a second
    one writes the WAV, whose note onsets follow the ``--record`` file; both are reaped."""
    out, rec = tmp_path / "set.wav", tmp_path / "set.mid"
    with jack_server(fluidsynth=False) as jack:
        args = ("--synth", "--synth-wav", str(out), "--record", str(rec), "--rng-seed", "3")
        with serve(DEFAULT_MODEL, *args, env=jack.env) as s:
            assert "synth: FluidSynth on jack, audio to" in s.output(), s.output()
            player = jack.wait_for_port("fluidsynth:")  # the audio of the live synth
            time.sleep(4.0)
            assert any(p.startswith("system:playback") for p in jack.connections()[player])
        assert s.returncode == 0, s.final_output
        assert not [p for p in jack.ports() if p.startswith("fluidsynth")]  # reaped
    samples, rate = wav.read(out)
    assert wav.rms_dbfs(samples) > -40
    assert wav.peak_dbfs(samples) < -0.5  # no clipping at the default gain
    notes = note_on_times(rec)
    assert len(notes) >= 8
    onsets = wav.onsets(samples, rate)
    assert matched(notes, onsets) >= 0.8, (notes[:20], onsets[:20])
    # the set ends silent: all notes off, then the release
    assert wav.rms_dbfs(samples[-int(0.05 * rate) :]) < -45


@pytest.mark.jack
@pytest.mark.slow
def test_serve_on_jack_connects_to_a_running_fluidsynth(tiny_model_path):
    """No MIDI option: livernn's own port, connected to the FluidSynth it finds."""
    with jack_server() as jack, jack.midi_probe("probe") as probe:
        with serve(tiny_model_path, "--midi-api", "jack", midi=True, env=jack.env) as s:
            assert "-> fluidsynth-midi:midi_00" in s.output(), s.output()
            fluid = next(p for p in jack.connections() if p.startswith("fluidsynth-midi:midi"))
            assert jack.connections()[fluid] == ["livernn:livernn"]
            jack.connect("livernn:livernn", probe.port_name)
            deadline = time.monotonic() + 10
            while len(probe.notes()[0]) < 4 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert len(probe.notes()[0]) >= 4
        with serve(tiny_model_path, "--midi-api", "jack", "--no-connect", midi=True, env=jack.env):
            assert jack.connections()[fluid] == []
        r = livernn("ports", env=jack.env)
        assert "jack: fluidsynth-midi:midi_00" in r.stdout, r.stdout


@pytest.mark.jack
def test_ports_says_when_jack_is_up_with_no_midi_inputs():
    with jack_server(fluidsynth=False) as jack:
        r = livernn("ports", "--midi-api", "jack", env=jack.env)
    assert r.returncode == 0
    assert "jack: server up" in r.stdout and "no MIDI inputs" in r.stdout, r.stdout
