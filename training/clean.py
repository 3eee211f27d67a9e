"""Cleaning of ABC tunes for character models: drop what a model would only learn to imitate.

Each rule is one ``CleanOptions`` field; the options are recorded in the checkpoint and the
ONNX metadata (``livernn.clean``), and ``--clean all`` (the default of ``livernn train``) turns
every one on. The rules were written against the four collections of ``../shared/data`` and
the Essen folksong collection of the music21 corpus (docs/DESIGN.md, "Training"):

- ``headers``: only the fields that change the music or name it are kept (X T M L K Q P R V);
  Essen's ``N:`` (catalogue numbers, notes in German), ``O:`` (origin) and ``S:`` (source)
  go with ``Z:``, ``B:`` and the rest.
- ``letters``: some Essen titles hold CP437 letters stored as the C1 control characters of
  the same byte (``\\x81`` for ``ü``, ``\\x94`` for ``ö``); they are decoded as CP437.
- ``rhythm``: ``R:`` is kept when it names a dance or rhythm the player can use (reel, jig,
  hornpipe, ...; ``RHYTHMS``). Essen's ``R:`` holds free text ("Liebes - Lied, Leid, Klage",
  "Xiaodiao]"), which is dropped.
- ``eol_bars``: Essen writes a phrase per line and leaves out the bar line where a line ends
  on a whole bar (``d2 | B2B2c2c2 | d4d4`` then ``z2d4d2 |``). In ABC a line break is not a
  bar line (https://abcnotation.com/wiki/abc:standard:v2.1#bar_lines), so those two bars
  read as one of twice the meter. A ``|`` is added where the notes since the last bar line
  fill a whole number of bars of the meter (``M:`` and ``L:`` as the tune sets them); a line
  that ends inside a bar (a phrase that starts on an upbeat) is left alone, and so is a tune
  in free meter (``M:none``) or one whose line the simple duration count below cannot read
  (chords, tuplets, inline fields: none of these occur where Essen leaves a bar line out).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from fractions import Fraction

from livernn.errors import CorpusError

#: R: values (lower case, blanks and hyphens removed) that name a dance or a rhythm.
RHYTHMS = frozenset(
    [
        "reel",
        "jig",
        "slipjig",
        "singlejig",
        "doublejig",
        "hopjig",
        "hornpipe",
        "strathspey",
        "clog",
        "fling",
        "highlandfling",
        "walkaround",
        "slide",
        "gavotte",
        "polka",
        "waltz",
        "march",
        "mazurka",
        "schottische",
        "barndance",
        "setdance",
        "air",
        "polska",
        "bourree",
        "minuet",
    ]
)
#: Header fields kept by cleaning: the ones that change the music (or name it).
KEPT_FIELDS = frozenset("XTMLKQPRV")

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
    letters: bool = False  # repair CP437 letters stored as C1 controls (Essen: \x81 -> ü)
    rhythm: bool = False  # drop an R: field that names no dance or rhythm (Essen's free text)
    eol_bars: bool = False  # end a music line with | where it closes a whole bar (Essen)

    @classmethod
    def all(cls) -> CleanOptions:
        return cls(**{name: True for name in cls.__dataclass_fields__})

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
    if opts.letters:
        tune = repair_letters(tune)
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
            if opts.rhythm and key == "R" and not _keep_rhythm(value):
                continue
            out.append(line)
            continue
        line = _clean_music_line(line, opts)
        if line.strip():
            out.append(line)
    text = "\n".join(out)
    return close_line_bars(text) if opts.eol_bars else text


_BAR_END = re.compile(r"(\||::|\|\]|\[\||:\|\d*|\|\d+)\s*(\\)?\s*$")
_NOTE = re.compile(r"(?:\^{1,2}|_{1,2}|=)?([A-Ga-gzx])[,']*(\d*)(/*)(\d*)")
_SIMPLE_LINE = re.compile(r"^[A-Ga-gzx^_=,'0-9/| :\-]*$")


def _fraction(text: str) -> Fraction | None:
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if m and int(m.group(2)):
        return Fraction(int(m.group(1)), int(m.group(2)))
    if text.strip() == "C":
        return Fraction(4, 4)
    if text.strip() == "C|":
        return Fraction(2, 2)
    return None


def _note_length(digits: str, slashes: str, denom: str) -> Fraction:
    n = Fraction(int(digits)) if digits else Fraction(1)
    if slashes:
        d = int(denom) if denom else 2 ** len(slashes)
        n /= d
    return n


def _line_units(line: str) -> Fraction | None:
    """The length of the notes of a simple music line in units of L, per bar: returns the
    length after the last bar line (None when the line is not simple enough to count)."""
    if not _SIMPLE_LINE.match(line):
        return None
    tail = re.split(r"\|+|::|:", line)[-1]
    return sum((_note_length(*m.groups()[1:]) for m in _NOTE.finditer(tail)), Fraction(0))


def close_line_bars(tune: str) -> str:
    """``eol_bars``: a ``|`` at the end of each music line that closes a whole bar (see the
    module docstring). Lines inside a bar carry their length over to the next line."""
    meter: Fraction | None = None
    unit: Fraction | None = None
    body = False
    carried: Fraction | None = Fraction(0)
    out: list[str] = []
    lines = tune.split("\n")
    for n, line in enumerate(lines):
        following = lines[n + 1].lstrip() if n + 1 < len(lines) else ""
        m = _FIELD_LINE.match(line)
        if m:
            key, value = m.group(1), m.group(2)
            if key == "M":
                meter = _fraction(value)
            elif key == "L":
                unit = _fraction(value)
            elif key == "K":
                body = True
            out.append(line)
            continue
        if not body or meter is None or not line.strip() or _BAR_END.search(line):
            carried = Fraction(0) if line.strip() else carried
            out.append(line)
            continue
        length = unit or (Fraction(1, 16) if meter < Fraction(3, 4) else Fraction(1, 8))
        units = _line_units(line)
        if units is None or carried is None:
            carried = None  # lost count: leave the rest of the tune alone
            out.append(line)
            continue
        if "|" not in line:
            units += carried
        bar = meter / length
        if units > 0 and units % bar == 0 and not following.startswith(("|", ":")):
            out.append(line.rstrip() + " |")
            carried = Fraction(0)
        else:
            out.append(line)
            carried = units
    return "\n".join(out)


_C1 = re.compile(r"[\x80-\x9f]")


def repair_letters(text: str) -> str:
    """``letters``: C1 control characters read as the CP437 letters they were."""
    return _C1.sub(lambda m: m.group(0).encode("latin-1").decode("cp437"), text)


def _keep_rhythm(value: str) -> bool:
    return re.sub(r"[\s-]+", "", value.lower()) in RHYTHMS
