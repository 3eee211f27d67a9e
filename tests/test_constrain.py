"""The constraint automaton (issue 16): no dead end on random allowed walks over every meter
and unit length, seeds read without refusal, the mask is what the automaton allows, and the
shipped model's constrained tunes pass an independent checker (abc2midi, default flags)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livernn.abc.interpreter import AbcInterpreter
from livernn.abc.tunes import tune_texts
from livernn.constrain import tables as T
from livernn.constrain.automaton import Automaton, MaskCache, make
from livernn.errors import ConfigError
from livernn.osc import Context, OscError, to_command
from livernn.paths import DEFAULT_MODEL
from tests.support.abccheck import check_tune, have_abc2midi

# the shipped model's vocabulary (the automaton works over any)
CHARS = tuple(
    "\n !\"#&'()+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}"
)
METERS = ("2/4", "3/4", "4/4", "C", "C|", "6/8", "9/8", "12/8", "3/2", "2/2", "5/4", "7/8")
UNITS = ("1/4", "1/8", "1/16")
CACHE = MaskCache(CHARS)


def walk(a: Automaton, picks: list[int]) -> str:
    out = []
    for p in picks:
        m = a.mask()
        ids = np.flatnonzero(m)
        assert len(ids), "dead end"
        c = CHARS[int(ids[p % len(ids)])]
        a.feed(c)
        out.append(c)
    return "".join(out)


@settings(max_examples=60, deadline=None)
@given(
    level=st.sampled_from(["syntax", "meter"]),
    meter=st.sampled_from(METERS),
    unit=st.sampled_from(UNITS),
    picks=st.lists(st.integers(0, 10_000), min_size=200, max_size=900),
)
def test_random_allowed_walks_never_reach_a_dead_end(level, meter, unit, picks):
    a = Automaton(level, CACHE)
    a.feed(f"X:1\nT:walk\nM:{meter}\nL:{unit}\nK:D\n")
    walk(a, picks)
    assert a.dead_ends == 0


@settings(max_examples=40, deadline=None)
@given(
    seed=st.text(alphabet=st.sampled_from(CHARS), max_size=300),
    picks=st.lists(st.integers(0, 10_000), min_size=100, max_size=400),
)
def test_any_seed_is_read_and_the_model_can_go_on(seed, picks):
    """A performer's text is never refused: whatever it is, something is allowed after it."""
    a = Automaton("meter", CACHE)
    a.feed("X:1\nT:t\nM:6/8\nK:G\n" + seed)
    walk(a, picks)
    assert a.dead_ends == 0


def test_a_long_walk_ends_its_tunes():
    """Past STEER_AT only the ways to the end remain: random walks keep finishing tunes."""
    rng = np.random.default_rng(16)
    a = Automaton("meter", CACHE)
    a.feed("X:1\n")
    text = "X:1\n" + walk(a, list(rng.integers(0, 10_000, size=12_000)))
    assert a.dead_ends == 0
    tunes = [t for t in tune_texts(text) if t.endswith("\n") or True]
    assert len(tunes) >= 3


@settings(max_examples=12, deadline=None)
@given(
    meter=st.sampled_from(METERS),
    unit=st.sampled_from(UNITS),
    pickup=st.sampled_from(["", "A", "AB", "A/B/", "(3ABc "]),
    rng_seed=st.integers(0, 2**32 - 1),
)
def test_a_tune_that_will_not_end_is_steered_to_its_end(meter, unit, pickup, rng_seed):
    """A walk that never chooses a line break (or ``|]``) while it has another choice crosses
    STEER_AT, often in the middle of a note, a tie or a tuplet; it still meets no dead end
    and the tune ends (a blank line) within TUNE_END_BY characters of its X: line."""
    rng = np.random.default_rng(rng_seed)
    a = Automaton("meter", CACHE)
    text = f"X:1\nT:walk\nM:{meter}\nL:{unit}\nK:D\n{pickup}"
    a.feed(text)
    endings = [CHARS.index("\n"), CHARS.index("]")]
    while not text.endswith("\n\n") and len(text) <= T.TUNE_END_BY:
        ids = np.flatnonzero(a.mask())
        assert a.dead_ends == 0, text[-80:]
        if len(rest := np.setdiff1d(ids, endings)):
            ids = rest
        c = CHARS[int(rng.choice(ids))]
        a.feed(c)
        text += c
    assert text.endswith("\n\n"), f"no end after {len(text)} characters: {text[-120:]!r}"
    assert len(text) > T.STEER_AT  # it did run long


def test_bars_are_counted_with_pickups_tuplets_and_broken_rhythm():
    a = Automaton("meter", CACHE)
    a.feed("X:1\nT:t\nM:6/8\nL:1/8\nK:D\nA|d2F A2F|(3GAB B4|d>c B2A2|")
    assert a.allows("G") and not a.allows("|")  # the bar is empty: a note first
    a.feed("G2A B2")
    assert not a.allows("4")  # B4 would overfill the bar
    assert a.allows(":")  # :| completes the pickup (1 + 5 = 6) ...
    a.feed("|")
    assert not a.allows("A") and a.allows("|")  # ... and || does; a plain | does not
    b = Automaton("meter", CACHE)
    b.feed("X:1\nT:t\nM:2/4\nL:1/8\nK:D\nAB2")
    assert not b.allows(">")  # B2>? needs room for an equal note after B2: one unit left
    assert b.allows("c") and not b.allows("|")  # c fills the bar; a pickup is <= half a bar
    c = Automaton("meter", CACHE)
    c.feed("X:1\nT:t\nM:2/4\nL:1/8\nK:D\nAB")
    assert c.allows("|")  # half a bar: a pickup


def test_header_order_and_words():
    a = Automaton("syntax", CACHE)
    a.feed("X:1\n")
    assert a.allows("T") and not a.allows("M") and not a.allows("K")
    a.feed("T:Tune\n")
    assert not a.allows("K")  # a tune says its meter first
    a.feed("M:6/8\n")
    assert not a.allows("M") and a.allows("K") and a.allows("L")
    a.feed("K:")
    assert a.allows("D") and not a.allows("H")
    a.feed("Dmix\n")
    assert a.allows("|") and a.allows("A") and not a.allows("\n")


def test_hornpipes_are_in_two_or_four():
    """abc2midi refuses R:hornpipe in another meter ("Hornpipe must be in 2/4 or 4/4")."""
    a = Automaton("syntax", CACHE)
    a.feed("X:1\nT:t\nM:C|\nR:")
    assert not a.allows("h") and a.allows("r")
    b = Automaton("syntax", CACHE)
    b.feed("X:1\nT:t\nR:hornpipe\nM:")
    assert b.allows("C") and b.allows("2") and not b.allows("6")
    c = Automaton("syntax", CACHE)
    c.feed("X:1\nT:t\nM:C\nR:hornpipe\nK:G\n")
    assert c.allows("A")
    # abc2midi swings a hornpipe itself; its swing and a written ">" refuse each other
    c.feed("d/c/B")
    assert not c.allows(">") and not c.allows("<") and c.allows("A")
    d = Automaton("syntax", CACHE)
    d.feed("X:1\nT:t\nM:C\nR:reel\nK:G\nd/c/B")
    assert d.allows(">")  # elsewhere it may


@pytest.mark.skipif(not have_abc2midi(), reason="needs abc2midi")
def test_the_hornpipe_rule_is_abc2midis():
    """The rule above, checked against abc2midi itself: a written broken rhythm after a
    pair of short notes is an error in a hornpipe and not in a reel."""
    body = "d/c/B>A G>A G2|\n\n"
    assert check_tune("X:1\nT:t\nR:hornpipe\nM:C\nL:1/8\nK:D\n" + body).errors
    assert check_tune("X:1\nT:t\nR:reel\nM:C\nL:1/8\nK:D\n" + body).clean


def test_a_pickup_with_chord_names_is_whole_steps_of_the_accompaniment():
    """abc2midi accompanies chord names in steps (an eighth in 9/8 and 4/4): a pickup of part
    of a step makes the tune's last bar end inside one, and its chord sounds past the end."""
    a = Automaton("meter", CACHE)
    a.feed("X:1\nT:t\nM:9/8\nL:1/8\nK:G\nB/c//d|")  # a pickup of 1.75 eighths
    a.feed("B3 B3 ")
    assert not a.allows('"') and a.allows("B")  # no chord name in this tune
    b = Automaton("meter", CACHE)
    b.feed('X:1\nT:t\nM:9/8\nL:1/8\nK:G\n"D"B/c//d')
    assert not b.allows("|") and b.allows("e")  # with a chord name: no such pickup
    b2 = Automaton("meter", CACHE)
    b2.feed('X:1\nT:t\nM:9/8\nL:1/8\nK:G\n"D"B/c/d')
    assert b2.allows("|")  # two eighths: a pickup of whole steps
    c = Automaton("meter", CACHE)
    c.feed("X:1\nT:t\nM:4/4\nL:1/8\nK:G\nB2|")
    assert c.allows('"')
    d = Automaton("meter", CACHE)
    d.feed("X:1\nT:t\nM:3/2\nL:1/8\nK:G\nB2|")  # one chord a bar: no pickup with chords
    assert not d.allows('"')


@pytest.mark.skipif(not have_abc2midi(), reason="needs abc2midi")
def test_the_accompaniment_step_rule_is_abc2midis():
    head = "X:1\nT:t\nM:9/8\nL:1/8\nK:G\n"
    short = 'B/c//d|"D"B3 B3 B3|B3 B3 B/|]\n\n'  # pickup 1.75 + last bar 7.25
    assert any("beyond end of track" in e for e in check_tune(head + short).errors)
    assert check_tune(head + short.replace('"D"', "")).clean  # no chords: no accompaniment
    assert check_tune(head + 'B/c/d|"D"B3 B3 B3|B3 B3 B|]\n\n').clean  # whole steps


def test_levels_and_osc():
    assert make("none", CACHE) is None
    with pytest.raises(ConfigError):
        make("bars", CACHE)
    ctx = Context(voices=2)
    assert to_command("/livernn/constrain", ["syntax"], ctx).value == "syntax"
    assert to_command("/livernn/voice/2/constrain", ["none"], ctx).voice == 1
    with pytest.raises(OscError, match="not one of"):
        to_command("/livernn/constrain", ["strict"], ctx)
    assert T.DEFAULT_LEVEL == "meter"


@pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="no shipped model")
@pytest.mark.skipif(not have_abc2midi(), reason="needs abc2midi")
@pytest.mark.parametrize("temperature", [1.0, 1.5])
def test_shipped_model_constrained_tunes_pass_abc2midi(temperature):
    """Checked from outside: abc2midi (default flags) converts them with no error, and the
    interpreter reads every character; and abc2midi finds no bar of the wrong length."""
    from livernn.generate import generate_text
    from livernn.model import OnnxModel
    from livernn.sampling import SamplingParams

    model = OnnxModel(DEFAULT_MODEL)
    text = "X:1\n" + generate_text(
        model, "X:1\n", 4000, SamplingParams(temperature), rng_seed=16, tunes=6
    )
    tunes = tune_texts(text)
    assert len(tunes) >= 3
    for t in tunes:
        v = check_tune(t)
        assert v.clean and not v.bar_warnings, (v.errors, v.bar_warnings, t)
        interp = AbcInterpreter()
        list(interp.feed(t + "\n\n"))
        assert interp.skipped == 0, t
        assert len(t) <= T.TUNE_END_BY


@pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="no shipped model")
@pytest.mark.skipif(not have_abc2midi(), reason="needs abc2midi")
def test_a_forced_meter_and_key_constrain_the_next_tune_live():
    """``/livernn/meter`` and ``/livernn/key`` on a live voice with the performer's default
    (``meter``): the next tune is written in that meter and key, every bar full, by
    abc2midi; before the first tune and again in the middle of a set."""
    from livernn.clock import FakeClock
    from livernn.config import EngineConfig, VoiceConfig
    from livernn.engine import Engine
    from livernn.model import OnnxModel
    from livernn.osc import Command
    from tests.support.recording import RecordingOutput

    model = OnnxModel(DEFAULT_MODEL)
    rec, clock = RecordingOutput(), FakeClock(100.0)
    cfg = EngineConfig(voices=(VoiceConfig(channel=1, rng_seed=3),))
    assert cfg.voices[0].constrain == "meter"
    eng = Engine(model, [rec], cfg, clock=clock)

    def play_until(n: int) -> list[str]:
        t = clock.now()
        while len(tunes := tune_texts(rec.text_of())) < n and t < 100.0 + 7200:
            t += 5.0
            eng.run_until(t)
        return tunes

    eng.submit(Command("meter", "9/8"))
    eng.submit(Command("key", "Bm"))
    asked = {0: ("9/8", "Bm")}
    now = play_until(2)
    eng.submit(Command("meter/next", "7/8"))  # the next tune's header (plain /meter: next bar)
    eng.submit(Command("key/next", "Dmix"))
    # the next header the voice writes: the last tune's, if it is still in its header
    started = len(now) - 1 if "\nK:" not in now[-1] else len(now)
    asked[started] = ("7/8", "Dmix")
    tunes = play_until(started + 2)
    for k, (meter, key) in asked.items():
        tune = tunes[k]
        assert f"\nM:{meter}\n" in tune.split("\nK:")[0] + "\n" and f"\nK:{key}\n" in tune
        v = check_tune(tune)
        assert v.clean and not v.bar_warnings, (v.errors, v.bar_warnings, tune)


@pytest.mark.parametrize(("meter", "first"), [("9/8", "M"), ("2/4", "R"), (None, "R")])
def test_an_asked_meter_goes_before_an_r_line_unless_a_hornpipe_may_have_it(meter, first):
    """abc2midi refuses R:hornpipe in 9/8 ("Hornpipe must be in 2/4 or 4/4 time"): when the
    model starts an R: line while a meter is asked for, the M: line is written first, so the
    automaton (which lets R:hornpipe follow only a hornpipe meter) knows it."""
    import collections
    from types import SimpleNamespace

    from livernn.engine.voice import Voice

    v = SimpleNamespace(
        bar_meter=None, pending_meter=meter, bar_key=None, pending_key=None,
        forced=collections.deque(),
    )  # fmt: skip
    c = Voice._header_field(v, "R")  # type: ignore[arg-type]
    assert c + "".join(v.forced) == ("M:9/8\nR" if first == "M" else "R")
    assert v.pending_meter == (None if first == "M" else meter)
