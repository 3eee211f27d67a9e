"""Header-field tables and parsers: keys, meters, unit lengths, tempos.

Pure functions of one field's text; they never raise (bad text gives a documented default).
Spec: https://abcnotation.com/wiki/abc:standard:v2.1#information_fields
"""

from __future__ import annotations

from dataclasses import dataclass

# Letter index 0..6 = C D E F G A B; semitones above C of each natural.
NATURALS: tuple[int, ...] = (0, 2, 4, 5, 7, 9, 11)
LETTER_INDEX: dict[str, int] = {c: i for i, c in enumerate("CDEFGAB")}

# Sharps/flats of the major keys (circle of fifths), https://abcnotation.com/wiki/abc:standard:v2.1#kkey
_TONIC_FIFTHS: dict[str, int] = {
    "C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5, "F#": 6, "C#": 7,
    "F": -1, "Bb": -2, "Eb": -3, "Ab": -4, "Db": -5, "Gb": -6, "Cb": -7,
    "G#": 8, "D#": 9, "A#": 10, "E#": 11, "B#": 12, "Fb": -8,
}  # fmt: skip
# Mode -> fifths relative to the major key on the same tonic (first three letters, lower case).
_MODES: dict[str, int] = {
    "": 0, "maj": 0, "ion": 0, "m": -3, "min": -3, "aeo": -3,
    "mix": -1, "dor": -2, "phr": -4, "lyd": 1, "loc": -5,
}  # fmt: skip
_SHARP_ORDER = "FCGDAEB"
_FLAT_ORDER = "BEADGCF"

NO_ACCIDENTALS: tuple[int, ...] = (0, 0, 0, 0, 0, 0, 0)


def signature(fifths: int) -> tuple[int, ...]:
    """Semitone offset of each letter C..B for a key with ``fifths`` sharps (< 0: flats)."""
    acc = [0] * 7
    if fifths > 0:
        for i in range(fifths):
            acc[LETTER_INDEX[_SHARP_ORDER[i % 7]]] += 1
    elif fifths < 0:
        for i in range(-fifths):
            acc[LETTER_INDEX[_FLAT_ORDER[i % 7]]] -= 1
    return tuple(acc)


def parse_key(text: str) -> tuple[int, ...]:
    """Key signature (offsets for C..B) of a ``K:`` value: ``D``, ``Dm``, ``Ador``,
    ``A Dorian``, ``D Major``, ``Gmix``, ``F#m``, ``Bb``, ``none``, ``D exp ^f _b``,
    ``G clef=treble``. Unknown text gives C major."""
    words = text.replace("\t", " ").split()
    if not words:
        return NO_ACCIDENTALS
    first = words[0]
    if first[0] not in "ABCDEFG":
        if first.lower() == "hp":  # highland pipes: abc2midi plays F# and C#
            base = signature(2)
        elif first.lower() == "none":
            base = NO_ACCIDENTALS
        elif first.startswith(("^", "_", "=")):
            base = NO_ACCIDENTALS
            words = ["C", *words]
        else:
            return NO_ACCIDENTALS
    else:
        tonic = first[0]
        rest = first[1:]
        if rest[:1] in ("#", "b"):
            tonic += rest[0]
            rest = rest[1:]
        mode_text = rest
        rest_words = words[1:]
        if not mode_text and rest_words and rest_words[0][:1].isalpha():
            mode_text = rest_words[0]
        mode = _MODES.get(mode_text[:3].lower(), _MODES.get(mode_text.lower()[:1], 0))
        if mode_text[:3].lower() == "exp":
            base = NO_ACCIDENTALS
        else:
            base = signature(_TONIC_FIFTHS.get(tonic, 0) + mode)
    acc = list(base)
    for w in words[1:]:
        if w[:1] not in ("^", "_", "="):
            continue
        n = 0
        i = 0
        while i < len(w) and w[i] in "^_=":
            n += 1 if w[i] == "^" else -1 if w[i] == "_" else 0
            i += 1
        if i < len(w) and w[i].upper() in LETTER_INDEX:
            acc[LETTER_INDEX[w[i].upper()]] = max(-2, min(2, n))
    return tuple(acc)


@dataclass(frozen=True, slots=True)
class Meter:
    """A parsed ``M:`` field."""

    bar_beats: float  # quarter notes per bar (0 for free meter)
    default_unit: float  # default L: in beats when the tune gives none (0.25 or 0.5)
    compound: bool  # 6/8, 9/8, 12/8 ...: tuplets (2 (4 (6 use 3 in the time of p
    accent: float = 0.0  # beats between strong beats (abc2midi: 4/4 halves, x/8 dotted)
    num: int = 4  # the written numerator and denominator (C: 4/4, C|: 2/2; none: 0/0)
    den: int = 4

    def __post_init__(self) -> None:
        if self.accent <= 0:
            object.__setattr__(self, "accent", self.bar_beats or 4.0)


def parse_meter(text: str) -> Meter:
    """``C`` (4/4), ``C|`` (2/2), ``6/8``, ``2/4+3/8``, ``none``. Unknown text gives 4/4."""
    t = text.strip().split(" ")[0] if text.strip() else ""
    if t in ("C", ""):
        return Meter(4.0, 0.5, False, 2.0)
    if t == "C|":
        return Meter(4.0, 0.5, False, 0.0, 2, 2)
    if t.lower() == "none":
        return Meter(0.0, 0.5, False, 0.0, 0, 0)
    total = 0.0
    num_sum = 0
    den = 0
    for part in t.split("+"):
        if "/" not in part:
            return Meter(4.0, 0.5, False)
        n_s, _, d_s = part.partition("/")
        try:
            n = sum(int(x) for x in n_s.strip("()").split("+") if x)
            d = int(d_s.strip("()"))
        except ValueError:
            return Meter(4.0, 0.5, False)
        if n <= 0 or d <= 0 or n > 64 or d > 64:
            return Meter(4.0, 0.5, False)
        total += n / d
        num_sum += n
        den = d
    unit = 0.25 if total < 0.75 else 0.5
    if num_sum == 4 and den == 4:
        accent = 2.0
    elif den == 8 and num_sum % 3 == 0:
        accent = 1.5
    else:
        accent = total * 4.0
    compound = num_sum % 3 == 0 and num_sum > 3 and den == 8
    return Meter(total * 4.0, unit, compound, accent, num_sum, den)


def parse_fraction(text: str) -> float | None:
    """``1/8`` -> 0.125 (of a whole note); ``1`` -> 1.0; None when unreadable."""
    t = text.strip().split(" ")[0] if text.strip() else ""
    n_s, slash, d_s = t.partition("/")
    try:
        n = int(n_s) if n_s else 1
        d = int(d_s) if slash else 1
    except ValueError:
        return None
    if n <= 0 or d <= 0 or n > 64 or d > 512:
        return None
    return n / d


def parse_unit(text: str) -> float | None:
    """``L:`` value in beats (``1/8`` -> 0.5), None when unreadable."""
    f = parse_fraction(text)
    return None if f is None else f * 4.0


def parse_tempo(text: str, unit: float) -> float | None:
    """``Q:`` value as quarter-note BPM: ``1/4=120``, ``3/8=60``, ``"Allegro" 1/2=80``,
    ``120`` (old style: unit notes per minute). None when unreadable."""
    t = text
    while '"' in t:  # drop quoted tempo names
        a = t.find('"')
        b = t.find('"', a + 1)
        t = t[:a] + (t[b + 1 :] if b >= 0 else "")
    t = t.strip()
    if not t:
        return None
    if "=" in t:
        lhs, _, rhs = t.partition("=")
        beats = 0.0
        for part in lhs.split():
            f = parse_fraction(part)
            if f is None:
                return None
            beats += f * 4.0
        try:
            bpm = float(rhs.split()[0]) if rhs.split() else 0.0
        except ValueError:
            return None
    else:
        try:
            bpm = float(t.split()[0])
        except ValueError:
            return None
        beats = unit
    q = bpm * beats
    if not 1.0 <= q <= 2000.0:
        return None
    return q


def expand_parts(spec: str, limit: int = 64) -> list[str]:
    """``ABA`` -> [A, B, A]; ``A2B`` -> [A, A, B]; ``(AB)2C`` -> [A, B, A, B, C]; dots and
    spaces are ignored. At most ``limit`` parts."""
    out: list[str] = []
    stack: list[list[str]] = []
    last: list[str] = []
    i = 0
    spec = spec.split("%")[0]
    while i < len(spec) and len(out) <= limit:
        c = spec[i]
        if c.isalpha() and c.isupper():
            last = [c]
            (stack[-1] if stack else out).append(c)
        elif c.isdigit():
            n = int(c)
            target = stack[-1] if stack else out
            target.extend(last * (n - 1))
        elif c == "(":
            stack.append([])
            last = []
        elif c == ")" and stack:
            last = stack.pop()
            (stack[-1] if stack else out).extend(last)
        i += 1
    return out[:limit]
