"""A performer's notes written as ABC (livernn/transcribe.py, issue 17): the text read back
by the interpreter, and by abc2midi, gives the notes played, quantised to the unit."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livernn.abc.state import InterpreterOptions
from livernn.transcribe import Transcriber
from tests.support.abc2midi import GRID, abc2midi_notes, have_abc2midi, interpreter_notes

KEYS = ["C", "G", "D", "A", "E", "F", "Bb", "Eb", "Dmix", "Ador", "Em", "Bm", "Gm", "F#m"]
METERS = ["4/4", "3/4", "6/8", "2/4", "9/8", "C|", "5/4", "7/8"]
UNITS = ["1/8", "1/16", "1/4"]


def transcribe(key, meter, unit, phrase, end):
    """``phrase``: (onset beat, length in beats, pitch), in order, not overlapping."""
    t = Transcriber(key, meter, unit)
    text = "".join(t.note_on(on, p) + t.note_off(on + d, p) for on, d, p in phrase)
    return text + t.flush(end)


def tune(key, meter, unit, body):
    return f"X:1\nT:heard\nM:{meter}\nL:{unit}\nK:{key}\n{body}\n"


def test_a_phrase_in_d_major_in_six_eight():
    """Eight notes of D major in 6/8, played a little late and short, as a keyboard does."""
    t = Transcriber("D", "6/8", "1/8")
    text = ""
    for i, p in enumerate([62, 64, 66, 67, 69, 71, 73, 74]):
        text += t.note_on(i * 0.5 + 0.03, p) + t.note_off(i * 0.5 + 0.4, p)
    text += t.flush(6.0)
    assert text == "DEFGAB|cdz4|"  # F and c sharp by the key; bar lines at the meter


def test_accidentals_ties_chords_and_octaves():
    t = Transcriber("G", "4/4", "1/8")
    text = t.note_on(0, 65) + t.note_off(0.5, 65)  # F natural in G: =F
    text += t.note_on(0.5, 66) + t.note_off(1, 66)  # F sharp again, in the same bar: ^F
    text += t.note_on(1, 65) + t.note_off(3.5, 65)  # =F again, five eighths
    text += t.note_on(3.5, 70) + t.note_on(3.51, 58) + t.note_off(5, 70)  # across the bar
    text += t.note_on(5, 84) + t.note_off(5.5, 84) + t.note_on(5.5, 43) + t.flush(8)
    assert text == "=F^F=F5^A-|^A2c'G,5|\n" or text.startswith("=F^F=F5^A-|^A2c'G,")


@settings(max_examples=120, deadline=None)
@given(
    key=st.sampled_from(KEYS),
    meter=st.sampled_from(METERS),
    unit=st.sampled_from(UNITS),
    notes=st.lists(
        st.tuples(st.integers(0, 3), st.integers(1, 9), st.integers(40, 90)),
        min_size=1,
        max_size=24,
    ),
    jitter=st.floats(-0.2, 0.2),
)
def test_what_was_played_is_what_the_interpreter_reads(key, meter, unit, notes, jitter):
    """Random phrases (gaps and lengths in units, any pitch), played off the grid by up to
    a fifth of a unit: the interpreter reads back exactly the quantised notes."""
    u = {"1/8": 0.5, "1/16": 0.25, "1/4": 1.0}[unit]
    phrase, beat = [], 0.0
    for gap, length, pitch in notes:
        beat += gap * u
        phrase.append((beat, length * u, pitch))
        beat += length * u
    played = [(on + jitter * u, d - 0.3 * u, p) for on, d, p in phrase]
    body = transcribe(key, meter, unit, played, beat + 4)
    got = interpreter_notes(tune(key, meter, unit, body), InterpreterOptions.plain())
    want = sorted((p, round(on * GRID), round(d * GRID), 0) for on, d, p in phrase)
    assert got == want, body


@pytest.mark.skipif(not have_abc2midi(), reason="needs abc2midi")
def test_abc2midi_reads_the_same_notes():
    phrase = [(0.0, 0.5, 62), (0.5, 0.5, 65), (1.0, 1.5, 66), (3.0, 2.0, 71), (5.0, 0.5, 60)]
    phrase += [(5.5, 0.5, 61), (6.0, 3.0, 86), (9.5, 0.5, 47)]
    tunes = [
        tune(k, m, "1/8", transcribe(k, m, "1/8", phrase, 12.0))
        for k in ("D", "F", "Ador")
        for m in ("6/8", "4/4")
    ]
    with tempfile.TemporaryDirectory() as d:
        ref = abc2midi_notes(tunes, Path(d))
    want = sorted((p, round(on * GRID), round(dur * GRID), 0) for on, dur, p in phrase)
    for t, r in zip(tunes, ref, strict=True):
        assert r == want, t
