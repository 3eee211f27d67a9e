"""Property tests: no input makes the interpreter raise, and every event is in range."""

from __future__ import annotations

import math
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from livernn.abc import (
    AbcInterpreter,
    Bar,
    InterpreterOptions,
    NoteEvent,
    TuneChange,
    TuneEnd,
    TuneStart,
)
from livernn.abc.tunes import split_tunes
from livernn.paths import BUILTIN_CORPUS

ABC_CHARS = "ABCDEFGabcdefgzxZ^_=,'/23456789|:[]()-<>{}\"!.~THuv%\\ \n\nX:K:M:L:Q:T:P:"
TUNES = split_tunes(Path(BUILTIN_CORPUS).read_text(encoding="utf-8"))[:200]
HEADER = "X:1\nT:t\nM:6/8\nL:1/8\nK:G\n"
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

abc_text = st.text(alphabet=st.sampled_from(list(ABC_CHARS)), max_size=400)
any_text = st.text(max_size=300)


def check(events: list, options: InterpreterOptions) -> None:
    tunes_open = 0
    for e in events:
        if isinstance(e, NoteEvent):
            assert 0 <= e.pitch <= 127
            assert 0 < e.duration <= options.max_note_beats
            assert math.isfinite(e.onset) and e.onset >= -1e-9
            assert 1 <= e.velocity <= 127
            assert tunes_open == 1
        elif isinstance(e, TuneStart):
            assert tunes_open == 0
            tunes_open = 1
            assert e.unit > 0 and e.bar_beats >= 0
            assert e.tempo is None or 1 <= e.tempo <= 2000
        elif isinstance(e, TuneEnd):
            assert tunes_open == 1
            tunes_open = 0
            assert math.isfinite(e.beat)
        elif isinstance(e, (Bar, TuneChange)):
            assert math.isfinite(e.beat) and e.beat >= -1e-9
    assert tunes_open == 0  # every tune is ended by flush()


def play(text: str, options: InterpreterOptions | None = None) -> list:
    options = options or InterpreterOptions()
    it = AbcInterpreter(options)
    events = it.feed(text) + it.flush()
    check(events, options)
    return events


@SETTINGS
@given(any_text)
def test_arbitrary_text_never_raises(text: str) -> None:
    play(text)
    play(HEADER + text)


@SETTINGS
@given(abc_text, st.booleans())
def test_abc_like_noise_never_raises(text: str, expand: bool) -> None:
    play(
        HEADER + text,
        InterpreterOptions(expand_repeats=expand, max_note_beats=4.0, max_rest_beats=8.0),
    )


@st.composite
def mutated_tune(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(TUNES))
    for _ in range(draw(st.integers(1, 8))):
        i = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(("insert", "delete", "replace", "cut")))
        c = draw(st.sampled_from(list(ABC_CHARS)))
        if op == "insert":
            text = text[:i] + c + text[i:]
        elif op == "delete":
            text = text[:i] + text[i + 1 :]
        elif op == "replace":
            text = text[:i] + c + text[i + 1 :]
        else:
            text = text[:i]
    return text


@SETTINGS
@given(mutated_tune())
def test_mutated_real_tunes_never_raise(text: str) -> None:
    play(text)


@SETTINGS
@given(mutated_tune(), st.lists(st.integers(1, 40), min_size=1, max_size=30))
def test_any_chunking_gives_the_same_events(text: str, sizes: list[int]) -> None:
    expected = play(text)
    it = AbcInterpreter()
    got, i, k = [], 0, 0
    while i < len(text):
        n = sizes[k % len(sizes)]
        got += it.feed(text[i : i + n])
        i += n
        k += 1
    got += it.flush()
    assert got == expected


@SETTINGS
@given(mutated_tune(), st.data())
def test_copy_continues_exactly_like_the_original(text: str, data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(text)))
    it = AbcInterpreter()
    it.feed(text[:cut])
    snap = it.copy()
    a = it.feed(text[cut:]) + it.flush()
    b = snap.feed(text[cut:]) + snap.flush()
    assert a == b
