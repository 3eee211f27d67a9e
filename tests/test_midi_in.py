"""Call and response through real MIDI (issue 17): jackd (dummy driver), a JACK MIDI
keyboard in the test playing a phrase into ``livernn serve --midi-in keys --no-midi``; the
ABC it echoes on /livernn/text is the phrase, and the voice answers after the gap."""

from __future__ import annotations

import time

import mido
import pytest

from livernn.paths import DEFAULT_MODEL
from tests.support.jack import jack_server
from tests.support.server import serve

pytestmark = [
    pytest.mark.jack,
    pytest.mark.slow,
    pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="no shipped model"),
]

JIG = "X:1\\nT:Jig\\nM:6/8\\nL:1/8\\nK:D\\n"
PHRASE = [62, 64, 66, 67, 69, 71, 73, 74]  # eight notes of D major


def test_a_phrase_played_in_is_echoed_as_abc_and_answered():
    with jack_server(fluidsynth=False) as jack, jack.midi_keyboard("keys") as keys:
        args = ("--midi-api", "jack", "--no-midi", "--midi-in", "keys", "--tempo", "120")
        args += ("--seed", JIG, "--rng-seed", "3")
        with serve(DEFAULT_MODEL, *args, midi=True, env=jack.env) as s:
            assert "MIDI in: 'keys" in s.output(), s.output()[-1500:]
            s.subscribe()
            s.wait_for("/livernn/note", count=4, timeout=20)
            s.poll(0.2)
            before = len(s.messages("/livernn/note"))
            for p in PHRASE:  # eighths at 120 BPM: 0.25 s each, released a little early
                keys.send(mido.Message("note_on", note=p, velocity=90))
                time.sleep(0.2)
                keys.send(mido.Message("note_off", note=p))
                time.sleep(0.05)
            s.poll(0.3)
            during = len(s.messages("/livernn/note")) - before
            deadline = time.monotonic() + 3.0
            while True:  # the last note is written when its key comes up
                text = "".join(a[0] for a in s.messages("/livernn/text"))
                heard = text.replace("|", "").replace("\n", "")
                if "DEFGABcd" in heard or time.monotonic() > deadline:
                    break
                s.poll(0.1)
            assert "DEFGABcd" in heard, repr(text[-300:])  # F and c sharp by the key of D
            assert during <= 2, during  # silent while the performer plays (a note in flight)
            s.wait_for("/livernn/note", count=before + during + 3, timeout=10)  # the answer
