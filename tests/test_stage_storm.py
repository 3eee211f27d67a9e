"""Control storms on a fake clock: random sequences of every control message, sent through
the same validation as OSC (``livernn.osc.to_command``) to a real engine, interleaved with
random waits. After every sequence every note-on has had exactly one note-off and none was
longer than the maximum note length (``CheckingOutput`` checks each note as it goes out).

A scripted model (exact, dense notes, long notes to hit the cap) runs many sequences; the real
tiny ONNX model runs fewer.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from livernn.clock import FakeClock
from livernn.config import EngineConfig, VoiceConfig
from livernn.engine import Engine
from livernn.engine.listen import Heard
from livernn.errors import LivernnError
from livernn.osc import Command, Context, to_command
from tests.support.scripted import ScriptedModel
from tests.support.stage import CheckingOutput

T0 = 1000.0
MAX_NOTE = 1.0
KEYS = "(a key on --midi-in)"
SCRIPTS = (
    "X:1\nT:Scale\nM:4/4\nL:1/4\nK:C\nCDEF|GABc|[CEG]4|C8-C4|z2 C/D/E/F/|\n",
    "X:2\nT:Low\nM:3/4\nL:1/8\nK:G\nG,2A,2B,2|(3cBA G2 c>d|e6|e12|\n",
    "X:3\nT:Drone\nM:6/8\nL:1/8\nK:D\nD12|A,6 d6|[DAd]12|\n",
)
TEXTS = ["X:9\n", "K:D\n", "abc|", "C16|", "z4|", "[CEG]8|", "\n\n", "X:1\nK:C\nC4D4|"]

num = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.integers(-(2**40), 2**40),
    st.sampled_from([0, 1, -1, 0.5, 1e-9, 1000.0, 1001.0, 10.0, 10.5, 127, 128, 16, 17]),
)


def messages(voices: int):
    """(address, args) of control messages, most valid, some out of range."""
    per_voice = st.sampled_from(
        ["/livernn"] + [f"/livernn/voice/{i}" for i in range(1, voices + 2)]
    )
    name_num = {
        "tempo": st.floats(1, 1000),
        "temperature": st.floats(0.05, 10),
        "top_k": st.integers(0, 50),
        "top_p": st.floats(0.05, 1),
        "rng_seed": st.integers(0, 2**32),
        "channel": st.integers(1, 16),
        "program": st.integers(0, 127),
        "velocity": st.floats(0, 2),
        "transpose": st.integers(-48, 48),
        "backing": st.integers(0, 1),
    }
    valid_num = st.one_of(
        *[
            st.tuples(per_voice, st.just(n), s.map(lambda v: [v]))
            for n, s in name_num.items()
            if n != "tempo"
        ],
        st.tuples(st.just("/livernn"), st.just("tempo"), name_num["tempo"].map(lambda v: [v])),
    )
    bare = st.tuples(
        per_voice,
        st.sampled_from(["start", "stop", "reset", "panic", "start", "start"]),
        st.just([]),
    )
    text = st.tuples(
        per_voice,
        st.sampled_from(["seed", "prime"]),
        st.lists(st.sampled_from(TEXTS), min_size=1, max_size=3).map(lambda x: ["".join(x)]),
    )
    header = st.one_of(
        st.tuples(per_voice, st.just("key"), st.sampled_from(["Dmix", "G", "Ador", "C"]).map(lambda v: [v])),
        st.tuples(per_voice, st.just("meter"), st.sampled_from(["6/8", "3/4", "C|", "2/4"]).map(lambda v: [v])),
    )  # fmt: skip
    forks = st.one_of(  # a state you can fork (issue 17): some refused (not that far back)
        st.tuples(per_voice, st.sampled_from(["rewind", "loop"]), st.integers(0, 6).map(lambda v: [v])),
        st.tuples(per_voice, st.just("mutate"), st.tuples(st.integers(1, 6), st.floats(0.2, 3)).map(list)),
        st.tuples(per_voice, st.sampled_from(["bookmark", "recall"]), st.sampled_from(["a", "b"]).map(lambda v: [v])),
        st.tuples(per_voice, st.sampled_from(["key/next", "meter/next"]), st.sampled_from(["Dmix", "6/8"]).map(lambda v: [v])),
        st.tuples(per_voice, st.just("midi_in"), st.sampled_from(["listen", "accompany", "off", "deaf"]).map(lambda v: [v])),
    )  # fmt: skip
    invalid = st.tuples(
        per_voice,
        st.sampled_from(list(name_num) + ["seed", "bogus", "start"]),
        st.lists(num, max_size=3),
    )
    msg = st.one_of(valid_num, bare, text, header, forks, invalid)
    keys = st.tuples(st.integers(40, 90), st.booleans()).map(lambda k: (KEYS, list(k)))
    return st.one_of(msg.map(lambda m: (f"{m[0]}/{m[1]}", m[2])), keys)


def storm(voices: int, max_size: int):
    wait = st.one_of(st.just(0.0), st.floats(0.0, 0.02), st.floats(0.0, 0.6), st.floats(0.0, 4.0))
    return st.lists(st.tuples(messages(voices), wait), min_size=1, max_size=max_size)


def run_storm(model, steps, voices: int, **kw) -> tuple[CheckingOutput, Engine, int]:
    out = CheckingOutput(MAX_NOTE)
    clock = FakeClock(T0)
    vcs = tuple(VoiceConfig(channel=i + 1, rng_seed=i) for i in range(voices))
    eng = Engine(model, [out], EngineConfig(voices=vcs, max_note=MAX_NOTE, **kw), clock=clock)
    ctx = Context(voices=voices, vocab=model.vocab)
    refused = 0
    for (address, args), wait in steps:
        if address == KEYS:  # a performer's key on --midi-in (engine/listen.py)
            eng.heard.append(Heard(clock.now(), args[0], args[1]))
            eng.run_until(clock.now() + wait)
            continue
        try:
            cmd = to_command(address, args, ctx)
        except LivernnError:
            refused += 1
        else:
            assert eng.submit(cmd)
        eng.run_until(clock.now() + wait)
    eng.run_until(clock.now() + 2.0)  # let it play on after the storm
    eng.close()
    return out, eng, refused


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=storm(3, 40), quantize=st.sampled_from(["now", "bar"]))
def test_storm_scripted_every_note_on_has_one_note_off(steps, quantize):
    model = ScriptedModel(SCRIPTS)
    out, eng, _ = run_storm(model, steps, 3, quantize=quantize)
    assert out.verdict() == []
    assert out.ons == out.offs
    assert out.longest <= MAX_NOTE + 1e-9
    assert eng.errors == 0
    assert len(eng.scheduler) == 0 and len(eng.sounding) == 0


@pytest.fixture(scope="module")
def tiny3(tiny_model_path):
    from livernn.model import OnnxModel

    return OnnxModel(tiny_model_path, voices=3)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps=storm(3, 25))
def test_storm_tiny_model_every_note_on_has_one_note_off(tiny3, steps):
    out, eng, _ = run_storm(tiny3, steps, 3)
    assert out.verdict() == []
    assert out.ons == out.offs
    assert eng.errors == 0


def test_storm_is_not_vacuous():
    """A fixed storm plays notes, stretches them with a slow tempo and hits the cap."""
    model = ScriptedModel(SCRIPTS)
    steps = [
        (("/livernn/tempo", [30.0]), 3.0),
        (("/livernn/voice/2/transpose", [7]), 0.3),
        (("/livernn/voice/1/channel", [9]), 0.01),
        (("/livernn/tempo", [1000.0]), 0.5),
        (("/livernn/seed", ["X:1\nK:C\nC16|"]), 1.5),
        (("/livernn/panic", []), 0.0),
        (("/livernn/tempo", [math.nan]), 0.2),
        (("/livernn/stop", []), 0.7),
        (("/livernn/start", []), 2.0),
    ]
    out, eng, refused = run_storm(model, steps, 3)
    assert out.verdict() == []
    assert refused == 1
    assert out.ons > 30 and out.panics == 1
    assert out.longest == pytest.approx(MAX_NOTE, abs=1e-9)  # the cap was reached, not passed


def test_a_long_seed_is_read_between_deadlines():
    """A 4000-character seed is read by the model in chunks between ticks (a quarter of a
    second of model time for a real 3x256 GRU would otherwise hold every voice's notes); the
    other voice plays exactly on time and the seeded voice carries on after its seed."""
    from livernn.engine import SEED_CHUNK

    model = ScriptedModel(SCRIPTS[:2])
    reads: list[int] = []
    prefill = model.prefill
    model.prefill = lambda voice, text: reads.append(len(text)) or prefill(voice, text)
    out = CheckingOutput(MAX_NOTE)
    clock = FakeClock(T0)
    vcs = (VoiceConfig(channel=1, rng_seed=0), VoiceConfig(channel=2, rng_seed=1))
    eng = Engine(model, [out], EngineConfig(voices=vcs, max_note=MAX_NOTE), clock=clock)
    eng.run_until(T0 + 2.0)
    reads.clear()
    seed = ("X:5\nT:Scale\nM:4/4\nL:1/8\nK:C\n" + "CDEF GABc|" * 400)[:4000]
    eng.submit(Command("seed", seed, voice=0))
    eng.run_until(T0 + 6.0)
    eng.close()
    assert sum(reads) == len(seed) and max(reads) <= SEED_CHUNK
    assert out.verdict() == [] and eng.errors == 0
    assert max(abs(e) for e in eng.sched_errors) < 1e-9
    assert eng.voices[0].unread == "" and eng.voices[0].logits is not None
