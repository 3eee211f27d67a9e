"""``livernn render``: real MIDI files (mido), real abc2midi for comparison, real FluidSynth."""

from __future__ import annotations

import shutil
import wave
from pathlib import Path

import mido
import pytest

from livernn.cli import main
from livernn.paths import BUILTIN_CORPUS
from tests.support.abc2midi import abc2midi_notes, have_abc2midi, midi_notes, split_tunes

TUNES = split_tunes(Path(BUILTIN_CORPUS).read_text(encoding="utf-8"))


def render(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["render", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.skipif(
    not have_abc2midi(), reason="abc2midi is not installed (apt-get install abcmidi)"
)
@pytest.mark.parametrize("mode", ["default", "plain"])
@pytest.mark.parametrize("n", [1, 2, 41, 300])
def test_render_one_tune_plays_the_notes_abc2midi_plays(
    n: int, mode: str, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "tune.mid"
    flags = ["--plain"] if mode == "plain" else []
    code, text, _ = render(capsys, str(BUILTIN_CORPUS), "--tune", str(n), "--out", str(out), *flags)
    assert code == 0 and "1 tune(s)" in text
    ours = midi_notes(mido.MidiFile(out))
    (theirs,) = abc2midi_notes([TUNES[n - 1]], tmp_path / "ref", mode)
    assert theirs is not None and len(ours) > 50
    assert ours == theirs


def test_render_whole_file_tempo_and_channel(tmp_path: Path, capsys) -> None:
    src = tmp_path / "two.abc"
    src.write_text(TUNES[0] + "\n" + TUNES[1])
    out = tmp_path / "two.mid"
    code, text, _ = render(
        capsys, str(src), "--out", str(out), "--tempo", "90", "--channel", "3", "--program", "40"
    )
    assert code == 0 and "2 tune(s)" in text
    mid = mido.MidiFile(out)
    tempos = [m.tempo for m in mid.tracks[0] if m.type == "set_tempo"]
    assert tempos == [mido.bpm2tempo(90)] * 2
    notes = [m for m in mid.tracks[1] if m.type == "note_on"]
    assert {m.channel for m in notes} == {2}
    assert [m.program for m in mid.tracks[1] if m.type == "program_change"] == [40]
    # the second tune starts after the first, with a gap; every note_on has its note_off
    t, on, offs = 0, [], 0
    for m in mid.tracks[1]:
        t += m.time
        if m.type == "note_on":
            on.append(t)
        offs += m.type == "note_off"
    assert offs == len(on) and on == sorted(on)


@pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="fluidsynth is not installed")
def test_render_wav_through_fluidsynth(tmp_path: Path, capsys) -> None:
    out = tmp_path / "tune.wav"
    code, _, _ = render(
        capsys, str(BUILTIN_CORPUS), "--tune", "3", "--out", str(out), "--tempo", "240"
    )
    assert code == 0
    with wave.open(str(out)) as w:
        frames = w.readframes(w.getnframes())
        assert w.getnframes() / w.getframerate() > 5.0
    assert max(frames) > 0  # not silence


def test_render_wav_without_fluidsynth_says_so(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no fluidsynth on this PATH
    code, _, err = render(
        capsys, str(BUILTIN_CORPUS), "--tune", "1", "--out", str(tmp_path / "x.wav")
    )
    assert code == 2 and "FluidSynth, which is not installed" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "x.wav").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nothere.abc", "--out", "x.mid"], "cannot read"),
        ([str(BUILTIN_CORPUS), "--out", "x.mp3"], "must end in .mid or .wav"),
        ([str(BUILTIN_CORPUS), "--out", "x.mid", "--tune", "0"], "--tune must be 1.."),
        ([str(BUILTIN_CORPUS), "--out", "x.mid", "--tempo", "0"], "--tempo"),
    ],
)
def test_render_errors_are_one_line(
    args: list[str], message: str, tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = render(capsys, *args)
    assert code == 2
    assert (
        err.startswith("livernn: error: ") and message in err and len(err.strip().splitlines()) == 1
    )
    assert not (tmp_path / "x.mid").exists()


def test_render_text_without_tunes(tmp_path: Path, capsys) -> None:
    src = tmp_path / "none.abc"
    src.write_text("no tunes here\n")
    code, _, err = render(capsys, str(src), "--out", str(tmp_path / "x.mid"))
    assert code == 2 and "no tune found" in err
