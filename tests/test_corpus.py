"""Corpus loading, ABC tune splitting, cleaning and the by-tune split (pure; no torch)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livernn.errors import CorpusError
from livernn.paths import BUILTIN_CORPUS
from training.corpus import (
    CleanOptions,
    clean_tune,
    join_docs,
    load_corpus,
    split_abc,
    split_text,
    tune_key,
)

COLLECTION = """%abc-2.1
% a file header that is not a tune

X:1
T:First
Z: id:hn-1
N:from a book
M:6/8
L:1/8
K:D Major
"D"A2 B "^SEGUE"c2 d|"4"e3 ~f3|!
!trill!g2 u.a vb2 T:|!
X:2
T:Second
M:3/4
K:G
[K:Gmix] GAB x2 c|[M:2/4] d2 H"Am"e2|]

X:3
T:Third
B:Ryan's Mammoth
K:Am
A4|]
"""


def test_split_abc_finds_every_tune_and_skips_the_file_header() -> None:
    tunes = split_abc(COLLECTION)
    assert [t.splitlines()[0] for t in tunes] == ["X:1", "X:2", "X:3"]
    assert "%abc-2.1" not in "".join(tunes)
    # a tune ends at the next X: even without a blank line
    assert tunes[0].splitlines()[-1] == "!trill!g2 u.a vb2 T:|!"


def test_builtin_corpus_has_all_its_tunes() -> None:
    corpus = load_corpus(str(BUILTIN_CORPUS))
    assert len(corpus.docs) == 804  # the count in data/README and the MIT lab
    assert all(d.startswith("X:") for d in corpus.docs)
    assert corpus.kind == "abc"


def test_no_cleaning_keeps_text_verbatim() -> None:
    for tune in split_abc(COLLECTION):
        assert clean_tune(tune, CleanOptions()) == tune


def test_clean_headers_keeps_music_fields_only() -> None:
    t1 = split_abc(COLLECTION)[0]
    out = clean_tune(t1, CleanOptions(headers=True))
    fields = [ln.split(":")[0] for ln in out.splitlines() if ln[1:2] == ":"]
    assert fields == ["X", "T", "M", "L", "K"]
    assert "K:D Major" in out
    assert '"^SEGUE"' in out  # only headers were asked for


def test_clean_eol_bang_quotes_and_decorations() -> None:
    tunes = split_abc(COLLECTION)
    opts = CleanOptions(eol_bang=True, quotes=True, decorations=True)
    t1 = clean_tune(tunes[0], opts)
    assert t1.splitlines()[-2:] == ['"D"A2 B c2 d|e3 f3|', "g2 a b2 :|"]
    # removals leave no runs of blanks behind
    assert clean_tune('X:1\nK:G\n "4"A  "^x" B|\\', opts).splitlines()[-1] == "A B|\\"
    t2 = clean_tune(tunes[1], opts)
    # inline fields stay verbatim, chord names stay, the x rest stays, H fermata goes
    assert t2.splitlines()[-1] == '[K:Gmix] GAB x2 c|[M:2/4] d2 "Am"e2|]'


def test_clean_all_on_the_real_collections_keeps_every_note_line() -> None:
    corpus = load_corpus(str(BUILTIN_CORPUS), CleanOptions.all())
    text = join_docs(list(corpus.docs))
    lines = text.splitlines()
    assert not [ln for ln in lines if ln[:2] in ("Z:", "N:", "B:")]
    # three malformed source lines ("M:9/8 EDC DA,B, CDE|!") are field lines, kept as written
    assert len([ln for ln in lines if ln.endswith("|!")]) <= 3
    assert text.count("X:") == 804 and text.count("K:") >= 804
    raw = load_corpus(str(BUILTIN_CORPUS))
    assert corpus.chars < raw.chars


def test_clean_options_parse() -> None:
    assert CleanOptions.parse("none") == CleanOptions()
    assert CleanOptions.parse("all") == CleanOptions.all()
    assert CleanOptions.parse("headers,eol_bang") == CleanOptions(headers=True, eol_bang=True)
    with pytest.raises(CorpusError, match="fingers"):
        CleanOptions.parse("headers,fingers")
    assert '"headers": true' in CleanOptions.all().to_json()


def test_text_documents_per_blank_block_or_per_file() -> None:
    text = "uno dos\ntres\n\n\ncuatro\n \nfin\n"
    assert split_text(text, "blank") == ["uno dos\ntres", "cuatro", "fin"]
    assert split_text(text, "file") == [text.strip("\n")]
    with pytest.raises(CorpusError):
        split_text(text, "line")


def test_load_files_folders_and_recursive_globs(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "b").mkdir()
    (tmp_path / "a" / "one.abc").write_text(COLLECTION, encoding="utf-8")
    (tmp_path / "a" / "b" / "two.txt").write_text("Martín Fierro\n\nAquí me pongo", "utf-8")
    (tmp_path / "a" / "b" / "skip.bin").write_bytes(b"\x00\xff")
    folder = load_corpus(str(tmp_path / "a"))
    assert len(folder.docs) == 5 and folder.kind == "mixed"
    assert "Aquí me pongo" in folder.docs
    globbed = load_corpus(str(tmp_path / "**" / "*.txt"))
    assert globbed.docs == ("Martín Fierro", "Aquí me pongo") and globbed.kind == "text"
    single = load_corpus(str(tmp_path / "a" / "one.abc"))
    assert len(single.docs) == 3
    per_file = load_corpus([str(tmp_path / "a" / "b" / "two.txt")], text_split="file")
    assert len(per_file.docs) == 1
    # the same file twice is read once
    assert len(load_corpus([str(tmp_path / "a" / "one.abc")] * 2).docs) == 3


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: str(d / "missing.abc"), "does not exist"),
        (lambda d: str(d / "*.nothing"), "matches no files"),
        (lambda d: _write(d / "empty.abc", b""), "no text"),
        (lambda d: _write(d / "blank.txt", b"\n \n"), "no text"),
        (lambda d: _write(d / "bad.txt", b"ok\xff\xfe"), "not UTF-8"),
        (lambda d: (d / "sub").mkdir() or str(d / "sub"), "has no"),
    ],
)
def test_bad_corpora_are_one_line_errors(tmp_path: Path, setup, message: str) -> None:
    spec = setup(tmp_path)
    with pytest.raises(CorpusError, match=message) as e:
        load_corpus(spec)
    assert "\n" not in str(e.value)


def test_split_is_by_tune_seeded_and_disjoint() -> None:
    corpus = load_corpus(str(BUILTIN_CORPUS), CleanOptions.all())
    split = corpus.split_by_tune(0.1, seed=3)
    train, val = split.train, split.val
    assert len(val) == 80 and len(train) + split.removed_held_out + split.removed_copies == 724
    assert set(train + val) <= set(corpus.docs)  # whole tunes, nothing cut
    kept = {tune_key(d) for d in train + val}
    assert kept == {tune_key(d) for d in corpus.docs}  # only copies of a kept tune removed
    assert corpus.split(0.1, seed=3) == (train, val)  # seeded: the same split again
    assert corpus.split(0.1, seed=4)[1] != val
    tiny = load_corpus(str(BUILTIN_CORPUS)).__class__(("a", "b"), ("x",), "text")
    assert len(tiny.split(0.01)[1]) == 1  # at least one validation document
    with pytest.raises(CorpusError):
        corpus.split(1.0)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.text(alphabet='ABCDEFGabcdefg|:2/ []\n"^', min_size=1, max_size=40),
        min_size=1,
        max_size=6,
    )
)
def test_split_abc_recovers_generated_collections(bodies: list[str]) -> None:
    tunes = []
    for i, body in enumerate(bodies, 1):
        lines = [ln for ln in body.split("\n") if ln.strip() and not ln.startswith("X:")]
        tunes.append("\n".join([f"X:{i}", "K:G", *lines]))
    assert split_abc("\n\n".join(tunes) + "\n") == tunes
    for t in tunes:  # cleaning never raises and never drops the X:/K: lines
        cleaned = clean_tune(t, CleanOptions.all())
        assert cleaned.splitlines()[:2] == t.splitlines()[:2]
