"""Outputs: the MIDI file recorder, OSC echo on real UDP, MIDI port choice, the live view."""

from __future__ import annotations

import io
import socket
import subprocess
import sys

import mido
import pytest

from livernn.abc.events import TuneStart
from livernn.config import MidiConfig
from livernn.endpoint import Endpoint
from livernn.errors import ConfigError
from livernn.osc import parse_datagram
from livernn.outputs.midi import find_port, open_midi
from livernn.outputs.midifile import MidiFileRecorder
from livernn.outputs.osc_out import OscEcho
from livernn.view import TerminalView, TuneLog, render, sound_lines, tune_line

TUNE = TuneStart(
    tune=2, title="The Kesh", key="G", meter="6/8", unit=0.5, tempo=110.0, bar_beats=3.0
)


def test_record_writes_what_was_played(tmp_path):
    out = tmp_path / "rec.mid"
    r = MidiFileRecorder(out)
    r.program(10.0, 3, 40)
    r.note_on(10.0, 0, 3, 60, 90, 0.5)
    r.note_on(10.25, 0, 3, 64, 80, 0.5)
    r.note_off(10.5, 0, 3, 60)
    r.note_off(10.75, 0, 3, 64)
    r.close(11.0)
    mid = mido.MidiFile(str(out))
    msgs = [m for m in mid if not m.is_meta]
    assert [(m.type, getattr(m, "note", None), m.channel) for m in msgs] == [
        ("program_change", None, 2),
        ("note_on", 60, 2),
        ("note_on", 64, 2),
        ("note_off", 60, 2),
        ("note_off", 64, 2),
    ]
    assert [round(m.time, 3) for m in msgs] == [0.0, 0.0, 0.25, 0.25, 0.25]  # seconds


def test_record_to_a_missing_folder_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        MidiFileRecorder(tmp_path / "nope" / "x.mid")


def test_osc_echo_sends_to_subscribers_and_fixed_receivers():
    ep = Endpoint("127.0.0.1", 0)
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for s in (a, b):
        s.bind(("127.0.0.1", 0))
        s.settimeout(2.0)
    try:
        echo = OscEcho(ep, fixed=(a.getsockname(),), max_subscribers=1)
        assert echo.subscribe(b.getsockname()) is None
        assert "too many" in echo.subscribe(("127.0.0.1", 1))
        echo.note_on(0.0, 1, 2, 62, 90, 0.25)
        echo.tune(0.0, 0, TUNE)
        for s in (a, b):
            data, src = s.recvfrom(4096)
            assert src == ep.address  # from the server's own port (Sonic Pi cues)
            ((address, args),) = parse_datagram(data)
            assert address == "/livernn/note" and args[:2] == [62, 90] and args[3:] == [2, 2]
            ((address, args),) = parse_datagram(s.recvfrom(4096)[0])
            assert (address, args) == ("/livernn/tune", ["The Kesh", 1])
        echo.text(0.0, 0, "X:1\n")
        echo.text(0.01, 0, "T:A")
        echo.status(0.1, {})  # text goes out batched, once per status interval
        for s in (a, b):
            ((address, args),) = parse_datagram(s.recvfrom(4096)[0])
            assert (address, args) == ("/livernn/text", ["X:1\nT:A", 1])
        echo.unsubscribe(b.getsockname())
        assert echo.subscribers == []
    finally:
        ep.close()
        a.close()
        b.close()


def test_port_choice_by_substring():
    names = ["Midi Through:0", "FLUID Synth (123):0", "fluidsynth-midi:midi_00"]
    assert find_port(names, "fluid") == "FLUID Synth (123):0"
    assert find_port(names, "midi_00") == "fluidsynth-midi:midi_00"
    assert find_port(names, "timidity") is None


def test_no_midi_means_none_with_a_reason():
    out, why = open_midi(MidiConfig(enabled=False))
    assert out is None and "disabled" in why


def test_ports_command_lists_or_says_there_are_none():
    r = subprocess.run(
        [sys.executable, "-m", "livernn", "ports", "--midi-api", "jack"],
        capture_output=True,
        text=True,
        timeout=30,
        env={"JACK_DEFAULT_SERVER": "livernn-no-such-server", "PATH": "/usr/bin:/bin"},
    )
    assert r.returncode == 0
    assert r.stdout.startswith("jack:")
    assert "Traceback" not in r.stderr and "JackShm" not in r.stderr


def test_view_shows_the_tune_and_the_controls():
    status = {
        "tempo": 132.0,
        "running": True,
        "beat": 17.5,
        "sounding": 2,
        "voices": [
            {
                "voice": 1, "running": True, "channel": 3, "temperature": 0.85, "top_k": 0,
                "top_p": 1.0, "title": "The Kesh", "key": "G", "meter": "6/8",
                "tune_tempo": 110.0, "tunes": 3, "notes": 120,
                "text": "X:3\nT:The Kesh\nM:6/8\nK:G\n|:GAG GAB|",
            }
        ],
    }  # fmt: skip
    screen = render(status, [tune_line(0, TUNE)], width=100, height=20, ansi=False)
    for needed in (
        "132.0 BPM",
        "T=0.85",
        "The Kesh",
        "K:G",
        "M:6/8",
        "Q:110",
        "ch 3",
        "|:GAG GAB|",
    ):
        assert needed in screen, needed
    assert all(len(line) <= 100 for line in screen.splitlines())
    assert len(screen.splitlines()) <= 19


def test_tune_log_writes_one_line_per_tune():
    buf = io.StringIO()
    log = TuneLog(buf)
    log.tune(0.0, 0, TUNE)
    log.tune(1.0, 1, TUNE)
    log.tune(2.0, 0, TUNE)
    lines = buf.getvalue().splitlines()
    # numbered as the header counts a voice's tunes (not by the interpreter's count since
    # the last seed, which said "tune 1" while the header said "tunes 2")
    assert lines == [
        "voice 1 tune 1: The Kesh (K: G, M: 6/8, Q: 110)",
        "voice 2 tune 1: The Kesh (K: G, M: 6/8, Q: 110)",
        "voice 1 tune 2: The Kesh (K: G, M: 6/8, Q: 110)",
    ]


def test_view_header_says_where_the_sound_goes():
    status = {"tempo": 120.0, "running": True, "voices": []}
    none = sound_lines(None, "no MIDI output (jack: no JACK server running)", None)
    screen = render(status, [], ansi=False, sound=none)
    assert "MIDI out: none: OSC only (no MIDI output (jack: no JACK server running))" in screen
    assert "try --synth" in screen
    both = sound_lines("virtual port 'livernn' (jack)", "", "FluidSynth on jack (FluidR3_GM.sf2)")
    screen = render(status, [], ansi=False, sound=both)
    assert "MIDI out: virtual port 'livernn' (jack)" in screen
    assert "synth: FluidSynth on jack" in screen and "try --synth" not in screen


def test_view_keeps_the_x_of_a_new_tune_and_counts_tunes_as_the_header():
    view = TerminalView(io.StringIO())
    for c in "X:1\nT:a\nK:D\nabc|\n\n":  # one character at a time, as the engine sends
        view.text(0.0, 0, c)
    view.tune(0.0, 0, TUNE)
    for chunk in ("X", ":", "0459\nT:b\nK:G\n", "d"):
        view.text(0.0, 0, chunk)
    view.tune(0.0, 0, TUNE)
    assert view.texts.text[0] == "X:0459\nT:b\nK:G\nd"
    assert view.log[-1].startswith("voice 1 tune 2:")
