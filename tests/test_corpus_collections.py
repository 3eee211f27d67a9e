"""More tunes, honestly split (issue 15): Essen's cleaning, the split per --corpus argument,
deduplication across collections, ``music21:essenFolksong``, and ``--mix`` weighting.

The Essen collection is read from the installed music21 package (the [dev] and [train] extras
install it), so these are the real files the shipped model was trained on.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from livernn.abc import AbcInterpreter, Bar, InterpreterOptions, TuneChange, TuneStart
from livernn.abc.tables import parse_meter
from livernn.errors import ConfigError, CorpusError
from training.clean import CleanOptions, clean_tune, close_line_bars, repair_letters
from training.corpus import load_corpus, music21_folder, tune_key

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
ORIGINALS = str(SHARED / "*.abc")
ESSEN = "music21:essenFolksong"

needs_shared = pytest.mark.skipif(
    not any(SHARED.glob("*.abc")), reason="needs ../shared/data (the four ABC collections)"
)
needs_music21 = pytest.mark.skipif(
    pytest.importorskip("importlib.util").find_spec("music21") is None,
    reason="needs music21 (pip install music21)",
)

OLD_RULES = dataclasses.replace(CleanOptions.all(), letters=False, rhythm=False, eol_bars=False)


def _bars_full(tune: str) -> tuple[int, int]:
    """(bars as long as the meter, bars), measured by livernn's own ABC interpreter (as
    bench/quality.py's "bars match" does; repeats not expanded)."""
    interp = AbcInterpreter(InterpreterOptions(expand_repeats=False))
    bar_beats, last, full, total = 0.0, 0.0, 0, 0
    for ev in interp.feed(tune + "\n\n") + interp.flush():
        if isinstance(ev, TuneStart):
            bar_beats, last = ev.bar_beats, 0.0
        elif isinstance(ev, TuneChange) and ev.field == "M":
            bar_beats = parse_meter(ev.value).bar_beats
        elif isinstance(ev, Bar):
            length, last = ev.beat - last, ev.beat
            if length > 1e-9 and bar_beats > 0:
                total += 1
                full += abs(length - bar_beats) < 1e-6
    return full, total


def test_rhythm_keeps_dances_and_drops_free_text() -> None:
    opts = CleanOptions(rhythm=True)
    for value, kept in [("reel", True), ("Slip Jig", True), ("highland fling", True),
                        ("Liebes - Lied, Leid, Klage", False), ("Xiaodiao]", False),
                        ("???", False)]:  # fmt: skip
        out = clean_tune(f"X:1\nR:{value}\nK:G\nABcd|", opts)
        assert ("R:" in out) is kept, value


def test_letters_repairs_cp437_stored_as_c1_controls() -> None:
    assert repair_letters("T: Gr\x81n ist der Wald, sch\x94n") == "T: Grün ist der Wald, schön"
    assert repair_letters("plain ABC|") == "plain ABC|"


@pytest.mark.parametrize(
    ("tune", "expected_lines"),
    [
        # a line ending on a whole bar gets its bar line; one ending inside a bar does not
        (
            "M:4/4\nL:1/4\nK:G\nG2 | A2B2 | d4\nz2d2 | d2e2 | d2\nd2 | c4",
            ["G2 | A2B2 | d4 |", "z2d2 | d2e2 | d2", "d2 | c4 |"],
        ),
        # the next line starts with a bar line: nothing added
        ("M:2/4\nL:1/8\nK:C\nc4 | d4\n| e4", ["c4 | d4", "| e4 |"]),
        # free meter, and lines the duration count cannot read, are left alone
        ("M:none\nL:1/4\nK:C\nA2A2 | B4\nc4", ["A2A2 | B4", "c4"]),
        ("M:2/4\nL:1/8\nK:C\n(3cde f | g4\nA4", ["(3cde f | g4", "A4"]),
        # default unit length: 1/16 under 3/4, 1/8 from it on
        ("M:2/4\nK:C\nc8 | d8", ["c8 | d8 |"]),
        ("M:6/8\nK:C\nc3d3 | e6", ["c3d3 | e6 |"]),
    ],
)
def test_eol_bars_closes_whole_bars_only(tune: str, expected_lines: list[str]) -> None:
    body = close_line_bars("X:1\n" + tune).split("\n")
    k = next(i for i, line in enumerate(body) if line.startswith("K:"))
    assert body[k + 1 :] == expected_lines


@needs_shared
@needs_music21
def test_new_rules_leave_the_four_collections_unchanged_and_mend_essen_bars() -> None:
    """The Essen rules change no tune of ../shared/data (so an older model scores on the same
    text) and bring Essen's bars to the meter, as livernn's interpreter measures them."""
    old = load_corpus([ORIGINALS], OLD_RULES)
    new = load_corpus([ORIGINALS], CleanOptions.all())
    assert old.docs == new.docs
    essen_old = load_corpus([ESSEN], dataclasses.replace(CleanOptions.all(), eol_bars=False))
    essen = load_corpus([ESSEN], CleanOptions.all())
    assert len(essen.docs) == len(essen_old.docs) > 8000
    assert essen.kind == "abc"  # the folder's license.txt is not read as a document

    def share(docs) -> float:
        counts = [_bars_full(d) for d in docs[::20]]
        return sum(f for f, _ in counts) / sum(t for _, t in counts)

    before, after = share(essen_old.docs), share(essen.docs)
    assert after > before + 0.08, (before, after)
    assert not any("\x81" in d or "R:Liebes" in d for d in essen.docs)


@needs_shared
@needs_music21
def test_split_per_argument_keeps_the_older_split_and_dedupes_across_collections() -> None:
    opts = CleanOptions.all()
    alone = load_corpus([ORIGINALS], opts).split_by_tune(0.1, seed=0)
    both = load_corpus([ORIGINALS, ESSEN], opts)
    split = both.split_by_tune(0.1, seed=0)
    originals_val = [
        d for d, c in zip(split.val, split.val_collections, strict=True) if c != "essenFolksong"
    ]
    assert originals_val == alone.val  # adding Essen moved no held-out tune of the others
    assert set(split.val_collections) == set(both.collections)  # each collection is scored
    train_keys = {tune_key(d) for d in split.train}
    val_keys = [tune_key(d) for d in split.val]
    assert not train_keys & set(val_keys)  # no tune on both sides
    assert len(val_keys) == len(set(val_keys))  # and one copy of each on its side
    assert split.removed_held_out + split.removed_copies > 0  # the collections do overlap
    n = len(split.train) + len(split.val) + split.removed_held_out + split.removed_copies
    assert n == len(both.docs)


def test_tune_key_is_the_notes_whatever_the_headers_and_blanks() -> None:
    a = "X:1\nT:One\nR:reel\nK:G\nABcd | efga |"
    b = "X:7\nT:Another name\nK:G\nAB cd|efga|"
    assert tune_key(a) == tune_key(b)
    assert tune_key(a) != tune_key(a.replace("efga", "efgb"))
    assert tune_key("plain text, not a tune") is None  # text documents are not deduplicated


def test_duplicate_of_a_held_out_tune_leaves_training(tmp_path: Path) -> None:
    tunes = [f"X:{i}\nT:t{i}\nK:G\n{'ABcd' * (i % 7 + 1)} | g{i}|" for i in range(40)]
    (tmp_path / "a.abc").write_text("\n\n".join(tunes) + "\n", encoding="utf-8")
    copies = [t.replace("T:t", "T:copy of t") for t in tunes[:20]]
    (tmp_path / "b.abc").write_text("\n\n".join(copies) + "\n", encoding="utf-8")
    corpus = load_corpus([str(tmp_path / "a.abc"), str(tmp_path / "b.abc")])
    split = corpus.split_by_tune(0.25, seed=1)
    val_keys = {tune_key(d) for d in split.val}
    assert val_keys.isdisjoint(tune_key(d) for d in split.train)
    assert split.removed_held_out >= 1


@needs_music21
def test_music21_names_only_the_training_collection() -> None:
    assert (music21_folder("essenFolksong") / "license.txt").is_file()
    with pytest.raises(CorpusError, match="independent evaluation") as e:
        load_corpus(["music21:ryansMammoth"])
    assert "\n" not in str(e.value)


def test_mix_draws_windows_by_weight() -> None:
    torch = pytest.importorskip("torch")
    from training.data import batch_random

    data = torch.cat([torch.zeros(5000, dtype=torch.long), torch.ones(1000, dtype=torch.long)])
    gen = torch.Generator().manual_seed(0)
    spans = ((0, 5000, 1.0), (5000, 1000, 3.0))  # the small group drawn 3 times as often
    x, _ = batch_random(data, 4000, 16, gen, spans)
    ones = (x[:, 0] == 1).float().mean().item()
    assert 0.72 < ones < 0.78, ones
    assert bool(((x == 0).all(1) | (x == 1).all(1)).all())  # no window crosses a group


def test_mix_needs_one_weight_per_corpus_argument() -> None:
    pytest.importorskip("torch")
    from training.config import TrainConfig

    with pytest.raises(ConfigError, match="one per argument"):
        TrainConfig(corpus=("a", "b"), out="x", mix=(1.0,)).validate()
    with pytest.raises(ConfigError, match="random batching"):
        TrainConfig(corpus=("a",), out="x", mix=(1.0,), batching="stateful").validate()


def test_the_training_loop_draws_by_mix(tmp_path: Path) -> None:
    """``--mix 1 0``: the loop's batches come from the first argument only (the weights reach
    the batches the loop trains on, not only ``batch_random``)."""
    torch = pytest.importorskip("torch")
    from training.config import ModelConfig, TrainConfig
    from training.data import TrainBatches
    from training.distributed import Dist
    from training.train import setup

    tunes = (f"X:{i}\nK:G\n{'ABcd' * (i + 1)}|" for i in range(30))
    (tmp_path / "a.abc").write_text("\n\n".join(tunes))
    (tmp_path / "b.txt").write_text("\n\n".join(f"zzzz qqqq {i} " * 9 for i in range(30)))
    only_a, only_b = "ABcd|XKG", "zq"
    for mix, absent in (((1.0, 0.0), only_b), ((0.0, 1.0), only_a)):
        cfg = TrainConfig(
            corpus=(str(tmp_path / "a.abc"), str(tmp_path / "b.txt")), out=str(tmp_path / "r"),
            mix=mix, batch_size=64, seq_len=8, quiet=True, plot=False,
        )  # fmt: skip
        job, _ = setup(
            cfg, ModelConfig(vocab_size=1, layers=1, hidden=8), None, Dist.init(torch.device("cpu"))
        )
        batches = TrainBatches(cfg, job.data, job.model, torch.device("cpu"), torch.Generator())
        banned = torch.from_numpy(job.vocab.encode(absent))
        for _ in range(5):
            x, _, _ = batches.next()  # [64, 8]
            assert not bool(torch.isin(x, banned).any()), mix
