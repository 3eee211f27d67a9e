"""``--record``: streamed to disk, never lost, never following a planted symlink (issue 14).

Before: the file was written only at exit, on the engine thread, while the main thread gave up
after 0.8 s, so a busy set left no file at all (exit 0); the whole set was kept in memory; an
existing file was overwritten silently; the temporary name ``OUT.mid.tmp`` was predictable and
a symlink planted there was followed.
"""

from __future__ import annotations

import shutil
import signal
import time

import pytest

from livernn.clock import FakeClock
from livernn.config import EngineConfig, VoiceConfig
from livernn.engine import Engine
from livernn.errors import ConfigError
from livernn.outputs.midifile import MidiFileRecorder
from tests.support.scripted import ScriptedModel
from tests.support.server import serve
from tests.support.stage import check_midi_stream, midi_file_events

DENSE = "X:1\nT:Dense\nM:4/4\nL:1/16\nK:D\n" + "defg abag fedc BAGF|" * 8 + "\n\n"


def test_an_existing_file_a_folder_and_a_symlink_are_refused_unless_forced(tmp_path):
    existing = tmp_path / "set.mid"
    existing.write_bytes(b"keep me")
    with pytest.raises(ConfigError, match="the file exists \\(--force overwrites it\\)"):
        MidiFileRecorder(existing)
    assert existing.read_bytes() == b"keep me"
    with pytest.raises(ConfigError, match="it is a folder"):
        MidiFileRecorder(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    link = tmp_path / "link.mid"
    link.symlink_to(victim)
    with pytest.raises(ConfigError, match="exists"):
        MidiFileRecorder(link)
    r = MidiFileRecorder(link, force=True)  # replaces the link itself, never writes through it
    r.note_on(0.0, 0, 1, 60, 90, 0.5)
    r.note_off(0.5, 0, 1, 60)
    r.close(1.0)
    assert victim.read_text() == "precious"
    assert not link.is_symlink() and [m.type for _, m in midi_file_events(link)] == [
        "note_on",
        "note_off",
    ]


def test_the_temporary_file_is_unpredictable_and_never_follows_a_planted_link(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    target = tmp_path / "out.mid"
    for name in ("out.mid.tmp", ".out.mid.part", "out.mid.part"):  # every guessable name
        (tmp_path / name).symlink_to(victim)
    r = MidiFileRecorder(target)
    assert r.part.parent == tmp_path and r.part.name.startswith(".out.mid.")
    assert not r.part.is_symlink()
    r.note_on(0.0, 0, 1, 60, 90, 0.5)
    r.close(1.0)
    assert victim.read_text() == "precious" and r.written and target.is_file()
    assert not r.part.exists()


def test_the_file_on_disk_is_valid_while_it_plays_and_memory_stays_flat(tmp_path):
    r = MidiFileRecorder(tmp_path / "live.mid", flush_every=1.0)
    t = 0.0
    for i in range(60_000):  # 60k events, 1000 per second of the set
        t = i / 1000
        if i % 2 == 0:
            r.note_on(t, 0, 1 + i // 2 % 16, 60, 80, 0.1)
        else:
            r.note_off(t, 0, 1 + i // 2 % 16, 60)
        assert len(r._buffer) < 4 * 1100  # at most about a second of events waits in memory
    got = midi_file_events(
        r.part
    )  # mid-set: a complete MIDI file, everything up to the last second
    assert len(got) >= 60_000 - 1000
    r.close(t)
    assert len(midi_file_events(r.path)) == 60_000
    assert r.written and not r.part.exists()


def test_a_busy_set_is_recorded_whole_when_the_engine_closes(tmp_path):
    """64 voices of dense notes at 1000 BPM for 30 s (fake clock): every note in the file."""
    voices = 64
    model = ScriptedModel([DENSE] * voices)
    rec = MidiFileRecorder(tmp_path / "busy.mid")
    clock = FakeClock(1000.0)
    vcs = tuple(
        VoiceConfig(channel=1 + i % 16, temperature=0.05, rng_seed=i) for i in range(voices)
    )
    eng = Engine(model, [rec], EngineConfig(voices=vcs, tempo=1000.0, max_note=2.0), clock=clock)
    eng.run_until(clock.now() + 30.0)
    eng.close()
    got = midi_file_events(tmp_path / "busy.mid")
    ons = sum(1 for _, m in got if m.type == "note_on")
    assert rec.written and ons > 50_000 and len(got) == rec.events
    problems, _ = check_midi_stream(got, 2.0, slack=0.01)
    assert problems == [], problems[:5]


@pytest.mark.slow
def test_a_sigkill_loses_at_most_the_last_second(tiny_model_path, tmp_path):
    target = tmp_path / "killed.mid"
    with serve(tiny_model_path, "--record", str(target), "--tempo", "300", "--rng-seed", "2") as s:
        s.subscribe()
        s.wait_for("/livernn/note", count=30, timeout=30)
        time.sleep(1.5)
        t_kill = time.monotonic()
        s.stop(signal.SIGKILL)
        echoed = [t for t, a, _ in s.received if a == "/livernn/note" and t <= t_kill - 1.05]
    assert not target.exists()  # the rename never happened...
    (part,) = tmp_path.glob(".killed.mid.*.part")  # ...but what was played is on disk
    ons = [m for _, m in midi_file_events(part) if m.type == "note_on"]
    assert len(ons) >= len(echoed) >= 30


@pytest.mark.slow
def test_a_recording_that_cannot_be_written_is_a_non_zero_exit(tiny_model_path, tmp_path):
    folder = tmp_path / "gone"
    folder.mkdir()
    with serve(tiny_model_path, "--record", str(folder / "x.mid"), "--tempo", "300") as s:
        s.subscribe()
        s.wait_for("/livernn/note", count=3, timeout=30)
        shutil.rmtree(folder)  # the rename onto the target must fail at the end
    assert s.returncode == 1, s.final_output[-1500:]
    assert "was not written completely" in s.final_output
    assert "Traceback" not in s.final_output
