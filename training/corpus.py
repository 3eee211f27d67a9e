"""Training corpora: load files, globs and folders; split into tunes or documents; clean; split.

An ABC file is split into tunes (a tune starts at an ``X:`` line and ends at a blank line or
the next ``X:``, as ``livernn.abc.tunes`` defines); any other UTF-8 text is one document per
file or per blank-line block. The optional cleaning for character models (``training/clean.py``)
drops bookkeeping that a character model would only learn to imitate; the options are recorded
in the model. ``music21:essenFolksong`` names a collection inside the installed music21 package.

The train/validation split (``Corpus.split``) is by tune or document, seeded, never by character
offset, and made within each ``--corpus`` argument on its own: adding a collection leaves the
split of the others as it was, so the same validation tunes can score an older model. Then
duplicates (the same notes after cleaning, ``tune_key``) are removed: a tune whose copy is
held out leaves the training side, and each side keeps one copy. See docs/DESIGN.md, "Training".
"""

from __future__ import annotations

import glob
import importlib.util
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from livernn.abc.tunes import tune_texts
from livernn.errors import CorpusError
from training.clean import KEPT_FIELDS, CleanOptions, clean_tune

__all__ = ["KEPT_FIELDS", "CleanOptions", "Corpus", "Split", "clean_tune", "load_corpus"]

#: Suffixes read from folders and recursive globs.
TEXT_SUFFIXES = (".abc", ".txt")
#: Separator between documents in a training stream.
DOC_SEP = "\n\n"
#: Files of a folder that are about the collection, not in it (by name, lower case).
NOT_CORPUS = ("license", "licence", "readme", "copying", "notice")
#: ``music21:NAME`` reads NAME from the music21 package's corpus folder.
MUSIC21 = "music21:"
#: The music21 collections that may be trained on; the other ABC collections of the music21
#: corpus are the independent evaluation and stay out of training (README, "Training").
MUSIC21_TRAINING = ("essenFolksong",)


@dataclass(frozen=True)
class Split:
    """A corpus split by tune: the documents of each side and where each held-out one is from."""

    train: list[str]
    val: list[str]
    val_collections: list[str]  # per validation document
    train_groups: list[int]  # per training document: the index of its --corpus argument
    removed_held_out: int = 0  # training copies of a held-out tune
    removed_copies: int = 0  # further copies on the same side

    def val_by_collection(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for doc, name in zip(self.val, self.val_collections, strict=True):
            out.setdefault(name, []).append(doc)
        return out

    def describe(self) -> str:
        return (
            f"{len(self.train)} train / {len(self.val)} held-out docs; duplicates removed: "
            f"{self.removed_held_out} copies of held-out tunes, {self.removed_copies} others"
        )


_SPACE = re.compile(r"\s+")


def tune_key(doc: str) -> str | None:
    """What makes two tunes the same: the notes (the lines after the ``K:`` field, blanks
    removed); None for a document that is not a tune (plain text is not deduplicated)."""
    lines = doc.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("K:"):
            return _SPACE.sub("", "\n".join(lines[i + 1 :])) or doc
    return None


@dataclass(frozen=True)
class Corpus:
    """Documents (tunes or text blocks) and where they came from."""

    docs: tuple[str, ...]
    sources: tuple[str, ...]
    kind: str  # "abc", "text" or "mixed"
    clean: CleanOptions = field(default_factory=CleanOptions)
    groups: tuple[int, ...] = ()  # per doc: the index of its --corpus argument
    collections: tuple[str, ...] = ()  # per doc: its collection (file or folder name)

    @property
    def chars(self) -> int:
        return sum(len(d) for d in self.docs)

    def describe(self) -> str:
        names = ", ".join(Path(s).name for s in self.sources)
        if len(names) > 300:  # a folder of many files: name the collections
            names = ", ".join(sorted(set(self.collections)))
        clean = "clean=" + (",".join(k for k, v in asdict(self.clean).items() if v) or "none")
        return f"{names} ({len(self.docs)} {self.kind} docs, {self.chars} chars, {clean})"

    def split_by_tune(self, val_fraction: float = 0.1, seed: int = 0) -> Split:
        """Seeded split by document within each ``--corpus`` argument, then deduplicated.

        Each group is permuted with ``seed`` alone, so a group gets the split it had when it
        was the whole corpus. Val gets at least one doc of a group of 2+.
        """
        if not 0.0 <= val_fraction < 1.0:
            raise CorpusError(f"validation fraction must be in [0, 1), got {val_fraction}")
        groups = self.groups or (0,) * len(self.docs)
        collections = self.collections or ("corpus",) * len(self.docs)
        held: set[int] = set()
        for g in sorted(set(groups)):
            idx = [i for i, x in enumerate(groups) if x == g]
            n = len(idx)
            order = np.random.default_rng(seed).permutation(n)
            n_val = int(round(n * val_fraction))
            if val_fraction > 0 and n >= 2:
                n_val = max(1, n_val)
            n_val = min(n_val, n - 1)
            held.update(idx[j] for j in order[:n_val].tolist())
        keys = [tune_key(d) for d in self.docs]
        held_keys = {keys[i] for i in held} - {None}
        seen: set[tuple[str | None, bool]] = set()
        train, groups_out, val, val_names = [], [], [], []
        removed_held = removed = 0
        for i, doc in enumerate(self.docs):
            k = keys[i]
            if k is not None and i not in held and k in held_keys:
                removed_held += 1
                continue
            if k is not None and (k, i in held) in seen:
                removed += 1
                continue
            seen.add((k, i in held))
            if i in held:
                val.append(doc)
                val_names.append(collections[i])
            else:
                train.append(doc)
                groups_out.append(groups[i])
        return Split(train, val, val_names, groups_out, removed_held, removed)

    def split(self, val_fraction: float = 0.1, seed: int = 0) -> tuple[list[str], list[str]]:
        """``split_by_tune`` as (train, val) documents."""
        s = self.split_by_tune(val_fraction, seed)
        return s.train, s.val


def music21_folder(name: str) -> Path:
    """The folder of the music21 corpus collection ``name``, refused unless it is one that may
    be trained on."""
    if name not in MUSIC21_TRAINING:
        raise CorpusError(
            f"music21:{name} is not a training collection (only "
            f"{', '.join(MUSIC21_TRAINING)}: the other music21 collections are the independent "
            "evaluation)"
        )
    return music21_collection(name)


def music21_collection(name: str) -> Path:
    """The folder of any music21 corpus collection ``name`` (the package is not imported);
    for evaluation (bench/unseen.py), training goes through ``music21_folder``."""
    spec = importlib.util.find_spec("music21")
    if spec is None or spec.origin is None:
        raise CorpusError(
            f"music21:{name} needs the music21 package: pip install music21 "
            "(it comes with pip install 'livernn[train]')"
        )
    folder = Path(spec.origin).parent / "corpus" / name
    if not folder.is_dir():
        raise CorpusError(f"this music21 has no corpus folder {name!r} ({folder})")
    return folder


def _spec_files(spec: str) -> tuple[list[Path], str | None]:
    """The files one ``--corpus`` argument names, and the collection name of a folder."""
    if spec.startswith(MUSIC21):
        spec = str(music21_folder(spec[len(MUSIC21) :]))
    p = Path(spec).expanduser()
    if any(ch in spec for ch in "*?["):
        matches = sorted(Path(m) for m in glob.glob(str(p), recursive=True))
        files = [m for m in matches if m.is_file()]
        if not files:
            raise CorpusError(f"corpus glob {spec!r} matches no files")
        return files, None
    if p.is_dir():
        files = sorted(
            f
            for f in p.rglob("*")
            if f.is_file() and f.suffix.lower() in TEXT_SUFFIXES and not f.name.startswith(".")
        )
        if not files:
            raise CorpusError(f"corpus folder {spec!r} has no {'/'.join(TEXT_SUFFIXES)} files")
        # a collection's license.txt or README.txt is not part of it
        kept = [f for f in files if not f.stem.lower().startswith(NOT_CORPUS)]
        return kept or files, p.resolve().name
    if p.is_file():
        return [p], None
    raise CorpusError(f"corpus path {spec!r} does not exist")


def resolve_specs(specs: list[str]) -> list[tuple[int, Path, str]]:
    """``(group, file, collection)`` for each file named by ``specs`` (files, folders read
    recursively, globs with ``**`` recursive, ``music21:NAME``), each file once. The group is
    the index of the argument; the collection is a folder's name, else the file's stem."""
    out: list[tuple[int, Path, str]] = []
    seen: set[Path] = set()
    for group, spec in enumerate(specs):
        files, folder = _spec_files(spec)
        for f in files:
            r = f.resolve()
            if r not in seen:
                seen.add(r)
                out.append((group, f, folder or f.stem))
    return out


def resolve_paths(specs: list[str]) -> list[Path]:
    """Files named by ``specs`` (``resolve_specs`` without the groups)."""
    return [f for _, f, _ in resolve_specs(specs)]


def read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise CorpusError(f"cannot read corpus file {str(path)!r}: {e.strerror}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise CorpusError(f"corpus file {str(path)!r} is not UTF-8 (byte {e.start})") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def is_abc(text: str, path: Path | None = None) -> bool:
    if path is not None and path.suffix.lower() == ".abc":
        return True
    return re.search(r"^X:", text, flags=re.MULTILINE) is not None


def split_abc(text: str) -> list[str]:
    """Tunes of an ABC collection: from each ``X:`` line to the next blank line or ``X:``
    (``livernn.abc.tunes``, the one definition of a tune's extent)."""
    return tune_texts(text)


def split_text(text: str, per: str = "blank") -> list[str]:
    """Documents of a plain text: the whole file (``per="file"``) or its blank-line blocks."""
    if per == "file":
        return [text.strip("\n")] if text.strip() else []
    if per != "blank":
        raise CorpusError(f"text split must be 'file' or 'blank', not {per!r}")
    blocks = re.split(r"\n[ \t]*\n", text)
    return [b.strip("\n") for b in blocks if b.strip()]


def load_corpus(
    specs: list[str] | str,
    clean: CleanOptions | None = None,
    text_split: str = "blank",
) -> Corpus:
    """Load every file named by ``specs`` into documents; raises ``CorpusError`` when empty."""
    if isinstance(specs, str):
        specs = [specs]
    if not specs:
        raise CorpusError("no corpus given")
    clean = clean or CleanOptions()
    files = resolve_specs(list(specs))
    docs: list[str] = []
    groups: list[int] = []
    names: list[str] = []
    kinds: set[str] = set()
    for group, path, name in files:
        text = read_text(path)
        if is_abc(text, path):
            kinds.add("abc")
            new = [t for t in (clean_tune(x, clean) for x in split_abc(text)) if t.strip()]
        else:
            kinds.add("text")
            new = split_text(text, text_split)
        docs.extend(new)
        groups.extend([group] * len(new))
        names.extend([name] * len(new))
    if not docs:
        raise CorpusError(f"corpus {', '.join(map(str, specs))} has no text")
    kind = kinds.pop() if len(kinds) == 1 else "mixed"
    sources = tuple(str(p) for _, p, _ in files)
    return Corpus(tuple(docs), sources, kind, clean, tuple(groups), tuple(names))


def join_docs(docs: list[str]) -> str:
    """One training stream: documents separated by a blank line, ending with one."""
    return "".join(d + DOC_SEP for d in docs)
