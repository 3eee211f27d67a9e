"""The four corpora of the golden comparison and the benchmarks.

``irish`` is data/irish.abc, committed in the repository. The other three are collections of
the music21 corpus, read from the installed ``music21`` package (the ``[dev]`` extra), so a
fresh clone needs nothing beside it: each is the package's files of one folder, in name
order, joined into one text.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from livernn.paths import BUILTIN_CORPUS

#: corpus name -> folder of ``music21/corpus``
MUSIC21_FOLDERS = {
    "ryans_mammoth": "ryansMammoth",
    "airds_airs": "airdsAirs",
    "misc_folk": "miscFolk",
}
CORPORA = ("irish", *MUSIC21_FOLDERS)


def music21_corpus_dir() -> Path | None:
    """``music21/corpus`` of the installed package (found without importing music21)."""
    spec = importlib.util.find_spec("music21")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "corpus"
    return folder if folder.is_dir() else None


def corpus_files(name: str, data: Path | None = None) -> list[Path]:
    """The files of corpus ``name``: ``data/NAME.abc`` when ``data`` is given, else the
    committed irish.abc or the music21 package's folder. Empty when not found."""
    if data is not None:
        path = Path(data) / f"{name}.abc"
        return [path] if path.is_file() else []
    if name == "irish":
        return [Path(BUILTIN_CORPUS)]
    root = music21_corpus_dir()
    folder = MUSIC21_FOLDERS.get(name)
    if root is None or folder is None:
        return []
    return sorted((root / folder).glob("*.abc"))


def corpus_text(name: str, data: Path | None = None) -> str | None:
    """The text of corpus ``name`` (see ``corpus_files``), None when it is not found."""
    files = corpus_files(name, data)
    if not files:
        return None
    texts = [f.read_text(encoding="utf-8", errors="replace") for f in files]
    return "".join(t if t.endswith("\n") else t + "\n" for t in texts)


def where(name: str) -> str:
    """Where corpus ``name`` is read from, for messages."""
    if name == "irish":
        return str(BUILTIN_CORPUS)
    return f"music21/corpus/{MUSIC21_FOLDERS.get(name, name)} (pip install music21)"
