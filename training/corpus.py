"""Training corpora: load files, globs and folders; split into tunes or documents; clean; split.

An ABC file is split into tunes (a tune starts at an ``X:`` line and ends at a blank line or
the next ``X:``, as ``livernn.abc.tunes`` defines); any other UTF-8 text is one document per file or per blank-line block. The
optional cleaning for character models (``CleanOptions``) drops bookkeeping that a character
model would only learn to imitate; the options are recorded in the model. The train/validation
split is by tune or document (seeded), never by character offset.
"""

from __future__ import annotations

import glob
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from livernn.abc.tunes import tune_texts
from livernn.errors import CorpusError

#: Header fields kept by cleaning: the ones that change the music (or name it).
KEPT_FIELDS = frozenset("XTMLKQPRV")
#: Suffixes read from folders and recursive globs.
TEXT_SUFFIXES = (".abc", ".txt")
#: Separator between documents in a training stream.
DOC_SEP = "\n\n"

_FIELD_LINE = re.compile(r"^([A-Za-z]):\s*(.*)$")
_INLINE_FIELD = re.compile(r"\[[A-Za-z]:[^\]\n]*\]")
_QUOTED = re.compile(r'"[^"\n]*"')
_BANG_DECO = re.compile(r"![A-Za-z0-9.<>()^_+/-]+!")
_PLUS_DECO = re.compile(r"\+[A-Za-z0-9.<>()]+\+")
_LETTER_DECO = re.compile(r"[~.HIJLMNOPRSTUVWhijklmnopqrstuvw]")


@dataclass(frozen=True)
class CleanOptions:
    """Which bookkeeping to drop from ABC tunes (all off = the text as written)."""

    headers: bool = False  # drop header fields other than X T M L K Q P R V (Z:, N:, B:, ...)
    eol_bang: bool = False  # drop the `!` line-break marker at the end of music lines
    quotes: bool = False  # drop quoted fingerings/annotations ("4", "^SEGUE"); keep chord names
    decorations: bool = False  # drop !trill!, +fermata+ and letter decorations (~ . u v T H ...)
    comments: bool = False  # drop % comments and %% directives

    @classmethod
    def all(cls) -> CleanOptions:
        return cls(headers=True, eol_bang=True, quotes=True, decorations=True, comments=True)

    @property
    def any(self) -> bool:
        return any(asdict(self).values())

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def parse(cls, spec: str) -> CleanOptions:
        """``"none"``, ``"all"`` or a comma list of option names (``"headers,eol_bang"``)."""
        spec = spec.strip().lower()
        if spec in ("", "none", "off"):
            return cls()
        if spec in ("all", "on"):
            return cls.all()
        names = [s.strip() for s in spec.split(",") if s.strip()]
        bad = [n for n in names if n not in cls.__dataclass_fields__]
        if bad:
            allowed = ", ".join(cls.__dataclass_fields__)
            raise CorpusError(f"unknown cleaning option {bad[0]!r}; use none, all or {allowed}")
        return cls(**{n: True for n in names})


@dataclass(frozen=True)
class Corpus:
    """Documents (tunes or text blocks) and where they came from."""

    docs: tuple[str, ...]
    sources: tuple[str, ...]
    kind: str  # "abc", "text" or "mixed"
    clean: CleanOptions = field(default_factory=CleanOptions)

    @property
    def chars(self) -> int:
        return sum(len(d) for d in self.docs)

    def describe(self) -> str:
        names = ", ".join(Path(s).name for s in self.sources)
        clean = "clean=" + (",".join(k for k, v in asdict(self.clean).items() if v) or "none")
        return f"{names} ({len(self.docs)} {self.kind} docs, {self.chars} chars, {clean})"

    def split(self, val_fraction: float = 0.1, seed: int = 0) -> tuple[list[str], list[str]]:
        """Seeded split by document: (train, val). Val gets at least one doc when there are 2+."""
        if not 0.0 <= val_fraction < 1.0:
            raise CorpusError(f"validation fraction must be in [0, 1), got {val_fraction}")
        n = len(self.docs)
        order = np.random.default_rng(seed).permutation(n)
        n_val = int(round(n * val_fraction))
        if val_fraction > 0 and n >= 2:
            n_val = max(1, n_val)
        n_val = min(n_val, n - 1)
        val_idx = set(order[:n_val].tolist())
        train = [d for i, d in enumerate(self.docs) if i not in val_idx]
        val = [d for i, d in enumerate(self.docs) if i in val_idx]
        return train, val


def resolve_paths(specs: list[str]) -> list[Path]:
    """Files named by ``specs``: files, folders (recursive) and globs (``**`` is recursive)."""
    out: list[Path] = []
    for spec in specs:
        p = Path(spec).expanduser()
        if any(ch in spec for ch in "*?["):
            matches = sorted(Path(m) for m in glob.glob(str(p), recursive=True))
            files = [m for m in matches if m.is_file()]
            if not files:
                raise CorpusError(f"corpus glob {spec!r} matches no files")
            out.extend(files)
        elif p.is_dir():
            files = sorted(
                f
                for f in p.rglob("*")
                if f.is_file() and f.suffix.lower() in TEXT_SUFFIXES and not f.name.startswith(".")
            )
            if not files:
                raise CorpusError(f"corpus folder {spec!r} has no {'/'.join(TEXT_SUFFIXES)} files")
            out.extend(files)
        elif p.is_file():
            out.append(p)
        else:
            raise CorpusError(f"corpus path {spec!r} does not exist")
    seen: set[Path] = set()
    unique = []
    for f in out:
        r = f.resolve()
        if r not in seen:
            seen.add(r)
            unique.append(f)
    return unique


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


def _clean_music_line(line: str, opts: CleanOptions) -> str:
    # Keep inline fields ([K:G], [M:3/4]) verbatim: they contain letters that look like decorations.
    parts: list[str] = []
    pos = 0
    for m in _INLINE_FIELD.finditer(line):
        parts.append(_clean_music_segment(line[pos : m.start()], opts))
        parts.append(m.group(0))
        pos = m.end()
    parts.append(_clean_music_segment(line[pos:], opts))
    out = "".join(parts)
    if opts.eol_bang:
        out = re.sub(r"!\s*$", "", out)
    if opts.quotes or opts.decorations:
        # removals leave runs of blanks; one blank means the same to ABC (it breaks beams)
        out = re.sub(r"[ \t]{2,}", " ", out).lstrip(" \t")
    out = re.sub(r"[ \t]+$", "", out)
    return out


def _is_chord_name(s: str) -> bool:
    return re.fullmatch(r"[A-G][#b]?[^\s\"/]{0,8}(/[A-G][#b]?)?", s) is not None


def _clean_music_segment(seg: str, opts: CleanOptions) -> str:
    if opts.quotes:
        seg = _QUOTED.sub(lambda m: m.group(0) if _is_chord_name(m.group(0)[1:-1]) else "", seg)
    if opts.decorations:
        seg = _BANG_DECO.sub("", seg)
        seg = _PLUS_DECO.sub("", seg)
        # letter decorations sit outside quotes; protect chord names while removing them
        pieces = re.split(r'("[^"\n]*")', seg)
        seg = "".join(p if p.startswith('"') else _LETTER_DECO.sub("", p) for p in pieces)
    return seg


def clean_tune(tune: str, opts: CleanOptions) -> str:
    """One ABC tune with the bookkeeping selected by ``opts`` removed."""
    if not opts.any:
        return tune
    out: list[str] = []
    for line in tune.split("\n"):
        if opts.comments and line.lstrip().startswith("%"):
            continue
        if opts.comments and "%" in line:
            line = re.sub(r"\s*%.*$", "", line)
            if not line.strip():
                continue
        m = _FIELD_LINE.match(line)
        if m:
            key, value = m.group(1), m.group(2).strip()
            if opts.headers:
                if key not in KEPT_FIELDS:
                    continue
                line = f"{key}:{value}"
            out.append(line)
            continue
        line = _clean_music_line(line, opts)
        if line.strip():
            out.append(line)
    return "\n".join(out)


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
    paths = resolve_paths(list(specs))
    docs: list[str] = []
    kinds: set[str] = set()
    for path in paths:
        text = read_text(path)
        if is_abc(text, path):
            kinds.add("abc")
            docs.extend(t for t in (clean_tune(x, clean) for x in split_abc(text)) if t.strip())
        else:
            kinds.add("text")
            docs.extend(split_text(text, text_split))
    if not docs:
        raise CorpusError(f"corpus {', '.join(map(str, specs))} has no text")
    kind = kinds.pop() if len(kinds) == 1 else "mixed"
    return Corpus(tuple(docs), tuple(str(p) for p in paths), kind, clean)


def join_docs(docs: list[str]) -> str:
    """One training stream: documents separated by a blank line, ending with one."""
    return "".join(d + DOC_SEP for d in docs)
