"""Golden comparison with abc2midi over every tune of the four corpora.

The corpora are data/irish.abc and three music21 collections read from the installed
``music21`` package (the ``[dev]`` extra; tests/support/corpora.py).

abc2midi (Debian package abcmidi) plays each tune once per session and mode (cached in a
temporary directory); the interpreter must give the same note list (pitch, onset, duration in
1/96 beats, role: melody, bass or chord, repeats expanded) for at least 97% of the tunes of
each file, in both modes: ``default`` (abc2midi as it plays by default: grace notes, chord
backing, hornpipe swing, chord stagger; the interpreter's default options) and ``plain``
(abc2midi -NGRA -NGUI, R: dropped, chordattack 0; ``InterpreterOptions.plain()``). How
abc2midi is run is in tests/support/abc2midi.py.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from livernn.abc import AbcInterpreter
from tests.support.abc2midi import (
    MODES,
    abc2midi_notes,
    agreement,
    event_keys,
    have_abc2midi,
    mode_options,
    split_tunes,
)
from tests.support.corpora import CORPORA, corpus_text, where

BAR = 0.97

pytestmark = pytest.mark.skipif(
    not have_abc2midi(), reason="abc2midi is not installed (apt-get install abcmidi)"
)


@pytest.fixture(scope="session")
def golden(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], tuple[list, list]]:
    """abc2midi's notes for every tune of every corpus found, in both modes, computed once
    per session: (corpus, mode) -> (tunes, notes)."""
    found = {n: t for n in CORPORA if (t := corpus_text(n)) is not None}
    work = tmp_path_factory.mktemp("abc2midi")

    def one(item: tuple[str, str]) -> tuple[tuple[str, str], tuple[list[str], list]]:
        name, mode = item
        tunes = split_tunes(found[name])
        return (name, mode), (tunes, abc2midi_notes(tunes, work / f"{name}-{mode}", mode))

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, [(n, m) for n in found for m in MODES]))


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", CORPORA)
def test_agreement_with_abc2midi(
    name: str, mode: str, golden: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    if (name, mode) not in golden:
        pytest.skip(f"corpus {name} not found: {where(name)}")
    tunes, reference = golden[name, mode]
    same, differ = agreement(tunes, reference, mode_options(mode))
    rate = same / len(tunes)
    with capsys.disabled():  # shown even under -q
        print(f"\n{name} ({mode}): {same}/{len(tunes)} tunes agree with abc2midi ({rate:.1%})")
    assert len(tunes) > 100
    assert rate >= BAR, (
        f"{name}: only {rate:.1%} of tunes agree with abc2midi; first differing: {differ[:10]}"
    )


@pytest.mark.slow
def test_streaming_one_character_at_a_time_equals_all_at_once(golden: dict) -> None:
    """Every corpus, fed one character at a time and all at once: identical events (with
    the default options: graces, backing, swing and stagger on)."""
    for (name, mode), (tunes, _) in golden.items():
        if mode != "default":
            continue
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
