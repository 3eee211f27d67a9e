"""Golden comparison with abc2midi over every tune of the four corpora.

The corpora are data/irish.abc and three music21 collections read from the installed
``music21`` package (the ``[dev]`` extra; tests/support/corpora.py).

abc2midi (Debian package abcmidi) plays each tune once per session (cached in a temporary
directory); the interpreter must give the same note list (pitch, onset, duration in 1/96
beats, repeats expanded) for at least 97% of the tunes of each file. How abc2midi is run,
and which of its behaviours are neutralised, is in tests/support/abc2midi.py.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from livernn.abc import AbcInterpreter
from tests.support.abc2midi import (
    abc2midi_notes,
    agreement,
    event_keys,
    have_abc2midi,
    split_tunes,
)
from tests.support.corpora import CORPORA, corpus_text, where

BAR = 0.97

pytestmark = pytest.mark.skipif(
    not have_abc2midi(), reason="abc2midi is not installed (apt-get install abcmidi)"
)


@pytest.fixture(scope="session")
def golden(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[list[str], list]]:
    """abc2midi's notes for every tune of every corpus found, computed once per session."""
    found = {n: t for n in CORPORA if (t := corpus_text(n)) is not None}
    work = tmp_path_factory.mktemp("abc2midi")

    def one(item: tuple[str, str]) -> tuple[str, tuple[list[str], list]]:
        name, text = item
        tunes = split_tunes(text)
        return name, (tunes, abc2midi_notes(tunes, work / name))

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, found.items()))


@pytest.mark.slow
@pytest.mark.parametrize("name", CORPORA)
def test_agreement_with_abc2midi(
    name: str, golden: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    if name not in golden:
        pytest.skip(f"corpus {name} not found: {where(name)}")
    tunes, reference = golden[name]
    same, differ = agreement(tunes, reference)
    rate = same / len(tunes)
    with capsys.disabled():  # shown even under -q
        print(f"\n{name}: {same}/{len(tunes)} tunes agree with abc2midi ({rate:.1%})", end=" ")
    assert len(tunes) > 100
    assert rate >= BAR, (
        f"{name}: only {rate:.1%} of tunes agree with abc2midi; first differing: {differ[:10]}"
    )


@pytest.mark.slow
def test_streaming_one_character_at_a_time_equals_all_at_once(golden: dict) -> None:
    """Every corpus, fed one character at a time and all at once: identical events."""
    for name, (tunes, _) in golden.items():
        text = "".join(tunes)
        whole = AbcInterpreter()
        expected = whole.feed(text) + whole.flush()
        it = AbcInterpreter()
        got = []
        for c in text:
            got += it.feed(c)
        got += it.flush()
        assert got == expected, name
        assert it.skipped == whole.skipped
        assert len(event_keys(got)) > 1000
