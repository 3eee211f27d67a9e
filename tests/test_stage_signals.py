"""Signals on stage (issue 14.3): closing the terminal (SIGHUP), Ctrl-\\ (SIGQUIT), SIGUSR1/2
and SIGALRM left every note sounding; Ctrl-Z kept notes on for the whole suspension; a
SIGKILL leaves notes on the synth that the next start must silence.

Real ``livernn serve`` processes; the notes are read from the ``--record`` file (streamed:
its ``.part`` file is on disk while the process is stopped) and, for SIGKILL, from a JACK
MIDI input that livernn plays into directly.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.support.server import serve
from tests.support.stage import check_midi_stream, midi_file_events

LONG = "X:1\\nT:Long\\nM:4/4\\nL:1/4\\nK:C\\nC2 E2|G2 c2|e2 g2|c'4|"


@pytest.mark.parametrize("name", ["SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM"])
def test_every_terminating_signal_stops_like_sigterm(tiny_model_path, tmp_path, name):
    record = tmp_path / "set.mid"
    with serve(tiny_model_path, "--record", str(record), "--tempo", "200", "--seed", LONG) as s:
        s.subscribe()
        s.wait_for("/livernn/note", count=3, timeout=20)
        assert s.stop(getattr(signal, name)) == 0, s.output()[-2000:]
        assert s.stop_seconds < 5.0
    got = midi_file_events(record)  # written: the set ended cleanly
    problems, counts = check_midi_stream(got, 8.0, slack=0.05)
    assert problems == [] and counts["ons"] >= 3, problems[:5]
    assert "Traceback" not in s.final_output


def test_ctrl_z_releases_every_note_and_fg_carries_on_in_time(tiny_model_path, tmp_path):
    record = tmp_path / "set.mid"
    with serve(tiny_model_path, "--record", str(record), "--tempo", "120", "--seed", LONG) as s:
        s.subscribe()
        s.wait_for("/livernn/note", count=2, timeout=20)
        s.proc.send_signal(signal.SIGTSTP)
        deadline = time.monotonic() + 15  # a loaded CI machine can take seconds
        while time.monotonic() < deadline:  # wait until the process is really stopped
            with open(f"/proc/{s.proc.pid}/stat") as f:
                if f.read().split(") ")[1][0] == "T":
                    break
            time.sleep(0.02)
        else:
            pytest.fail("the process did not suspend")
        (part,) = tmp_path.glob(".set.mid.*.part")
        held = midi_file_events(part)
        problems, counts = check_midi_stream(held, 8.0)
        assert problems == [], problems  # nothing sounds while suspended
        assert any(m.type == "control_change" and m.control == 123 for _, m in held)
        s.poll(0.5)
        n = len(s.messages("/livernn/note"))
        time.sleep(1.0)  # suspended: nothing plays
        s.poll(0.1)
        assert len(s.messages("/livernn/note")) == n
        t_cont = time.monotonic()
        os.kill(s.proc.pid, signal.SIGCONT)
        s.wait_for("/livernn/note", count=n + 3, timeout=20)
        after = [t for t, a, _ in s.received if a == "/livernn/note" and t >= t_cont]
        # no burst of the notes that were due during the suspension: they come in time
        assert len([t for t in after if t - t_cont < 0.05]) <= 2, [t - t_cont for t in after]
        assert s.stop(signal.SIGTERM) == 0
    problems, _ = check_midi_stream(midi_file_events(record), 8.0, slack=0.05)
    assert problems == [], problems[:5]


@pytest.mark.jack
@pytest.mark.slow
def test_after_a_sigkill_the_next_start_silences_the_port(tiny_model_path):
    from tests.support.jack import jack_server

    with jack_server(fluidsynth=False) as jack, jack.midi_probe("synth") as probe:
        args = ("--midi-api", "jack", "--midi-port", "synth", "--tempo", "60", "--seed", LONG)
        with serve(tiny_model_path, *args, midi=True, env=jack.env) as s:
            deadline = time.monotonic() + 15
            while not probe.sounding() and time.monotonic() < deadline:
                time.sleep(0.02)
            assert probe.sounding(), "no note was sounding"
            s.stop(signal.SIGKILL)
        assert probe.sounding(all_notes_off=True)  # killed: the note is left on
        n = len(probe.events)
        with serve(tiny_model_path, *args, "--no-autostart", midi=True, env=jack.env) as s:
            deadline = time.monotonic() + 5
            while len(probe.events) < n + 16 and time.monotonic() < deadline:
                time.sleep(0.02)
        fresh = [m for _, m in probe.events[n:]]
        offs = {m.channel for m in fresh if m.type == "control_change" and m.control == 123}
        assert offs == set(range(16)), fresh[:20]
        assert probe.sounding(all_notes_off=True) == {}
