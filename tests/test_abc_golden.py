"""Golden comparison with abc2midi over every tune of the four corpora.

abc2midi (Debian package abcmidi) plays each tune once per session (cached in a temporary
directory); the interpreter must give the same note list (pitch, onset, duration in 1/96
beats, repeats expanded) for at least 97% of the tunes of each file. How abc2midi is run,
and which of its behaviours are neutralised, is in livernn/abc/reference.py.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from livernn.abc import AbcInterpreter
from livernn.abc.reference import (
    abc2midi_notes,
    agreement,
    event_keys,
    have_abc2midi,
    split_tunes,
)
from livernn.paths import BUILTIN_CORPUS

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
CORPORA = ("irish", "ryans_mammoth", "airds_airs", "misc_folk")
BAR = 0.97

pytestmark = pytest.mark.skipif(
    not have_abc2midi(), reason="abc2midi is not installed (apt-get install abcmidi)"
)


def corpus_path(name: str) -> Path | None:
    path = SHARED / f"{name}.abc"
    if path.is_file():
        return path
    if name == "irish":
        return Path(BUILTIN_CORPUS)
    return None


@pytest.fixture(scope="session")
def golden(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[list[str], list]]:
    """abc2midi's notes for every tune of every corpus found, computed once per session."""
    found = {n: p for n in CORPORA if (p := corpus_path(n)) is not None}
    work = tmp_path_factory.mktemp("abc2midi")

    def one(item: tuple[str, Path]) -> tuple[str, tuple[list[str], list]]:
        name, path = item
        tunes = split_tunes(path.read_text(encoding="utf-8", errors="replace"))
        return name, (tunes, abc2midi_notes(tunes, work / name))

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, found.items()))


@pytest.mark.slow
@pytest.mark.parametrize("name", CORPORA)
def test_agreement_with_abc2midi(
    name: str, golden: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    if name not in golden:
        pytest.skip(f"{SHARED}/{name}.abc not found (the shared corpora sit beside the repo)")
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
