"""What the constrained sampler lets the model write: the words of each field, the note
lengths, the bar lines, chord names and decorations, and the bounds on runs (one place for
the grammar's data; the automaton in ``livernn/constrain/automaton.py`` reads it; see
docs/DESIGN.md).

Each list is the part of ABC 2.1 (https://abcnotation.com/wiki/abc:standard:v2.1) that both
livernn's interpreter and abc2midi (4.84, default flags) read without an error or a bar-length
warning (abc2midi's "Assuming repeat" for a ``:|`` without ``|:`` is allowed: both play it the
same), checked by tests/test_constrain.py. Text a performer sends is never held to it.
"""

from __future__ import annotations

from fractions import Fraction

from livernn.errors import ConfigError

LEVELS = ("none", "syntax", "meter")
DEFAULT_LEVEL = "meter"

WHOLE = 1536  # ticks in a whole note: 2**9 * 3, so tuplets of thirds stay integers

# -- header (https://abcnotation.com/wiki/abc:standard:v2.1#information_fields) ------------
#: text fields the model may write after ``T:`` (``P:`` in a header reorders the parts and
#: ``I:`` changes how abc2midi reads the tune, so neither is offered)
TEXT_FIELDS = "TCZBNSO"
ONCE_FIELDS = "MLQR"  # at most once in a header; ``K:`` ends it
MAX_TEXT = 60  # characters of a text field's value
MAX_HEADER_LINES = 8  # header lines after X: before only M: (when missing) and K: remain
MAX_NUMBER = 4  # digits of ``X:``

#: rhythms (``R:``); abc2midi swings a hornpipe and refuses one that is not in 2/4 or 4/4
_RHYTHMS = ("reel", "jig", "slip jig", "hornpipe", "polka", "waltz", "strathspey", "march")
_RHYTHMS += ("slide", "air", "barndance", "mazurka", "set dance", "fling", "slipjig", "clog")
RHYTHMS = _RHYTHMS + tuple(r.capitalize() for r in _RHYTHMS)
HORNPIPE_METERS = ("C", "4/4", "2/4")

METERS = ("C", "C|", "2/4", "3/4", "4/4", "6/8", "9/8", "12/8", "3/8", "6/4", "3/2", "2/2")
METERS += ("5/4", "7/8")
UNITS = ("1/4", "1/8", "1/16")

_TONICS = [t + a for t in "ABCDEFG" for a in ("", "#", "b")]
_MODES = ("", "m", "min", "maj", "mix", "dor", "phr", "lyd", "loc", "aeo", "Mix", "Dor")
_MODES += (" Major", " Minor", " Dorian", " Mixolydian", " Lydian", " Phrygian", " Locrian")
KEYS = tuple(t + m for t in _TONICS for m in _MODES)

_BEATS = ("1/4=", "1/8=", "3/8=", "1/2=", "3/4=")
TEMPOS = tuple(b + str(n) for b in ("", *_BEATS) for n in range(40, 241))

# -- body ------------------------------------------------------------------------------
#: note lengths as written after a note, rest or chord (multiples of the unit length)
LENGTHS: dict[str, Fraction] = {
    "": Fraction(1),
    **{str(n): Fraction(n) for n in (2, 3, 4, 5, 6, 7, 8, 12, 16)},
    "/": Fraction(1, 2),
    "//": Fraction(1, 4),
    "/2": Fraction(1, 2),
    "/4": Fraction(1, 4),
    "3/": Fraction(3, 2),
    "3/2": Fraction(3, 2),
    "3/4": Fraction(3, 4),
}
GRID = Fraction(1, 4)  # every length is a multiple of this many units: no bar is unfillable
MAX_OCTAVE_MARKS = 2
ACCIDENTALS = ("^", "^^", "_", "__", "=")

#: bar lines (https://abcnotation.com/wiki/abc:standard:v2.1#repeat_bar_symbols); ``|1`` and
#: ``:|2`` start endings (``[1``/``[2`` after a bar line too)
BARS = ("|", "||", "|]", "|:", ":|", "::", "|1", ":|2")
CLOSING = frozenset({"||", "|]", ":|", "::", ":|2", "|:"})

#: chord symbols abc2midi knows (an unknown name is an error there)
CHORD_KINDS = ("", "m", "7", "m7", "maj7", "M7", "dim", "aug", "+", "6", "m6", "9", "m9")
CHORD_KINDS += ("sus4", "sus", "sus2", "dim7", "7sus4", "11", "maj9", "5", "m7b5")
CHORDS = tuple(
    root + kind + bass
    for root in _TONICS
    for kind in CHORD_KINDS
    for bass in ("", *("/" + b for b in _TONICS))
)
#: decorations abc2midi plays or reads without a warning (``!fermata!`` lengthens the note,
#: so a full bar would not sound full)
DECORATIONS = ("trill", "accent", "mordent", "turn", "sfz", "wedge")  # !breath! shortens
DECORATIONS += ("p", "pp", "ppp", "mp", "mf", "f", "ff", "fff")
DECORATIONS += ("crescendo(", "crescendo)", "diminuendo(", "diminuendo)")
LETTER_DECORATIONS = ""  # abc2midi refuses "." or "u" before a !decoration! or a tuplet
TUPLETS = {"2": Fraction(3, 2), "3": Fraction(2, 3), "4": Fraction(3, 4)}  # (p: q/p

MAX_CHORD_NOTES = 4
MAX_GRACE_NOTES = (
    3  # before a note of at least a unit (abc2midi: "Grace sequence exceeds host note")
)
STEER_AT = 1500  # characters of a tune (from X:) after which it is steered to its end
TUNE_END_BY = 2000  # ... and so ends within this many characters of its X: line


def check_level(level: str) -> str:
    """``level`` when it is one of ``LEVELS``, else ``ConfigError`` naming them."""
    if level not in LEVELS:
        raise ConfigError(f"constrain must be one of {', '.join(LEVELS)}, not {level!r}")
    return level


def prefixes(words: tuple[str, ...] | dict[str, Fraction]) -> frozenset[str]:
    """Every prefix of every word (the empty one included)."""
    return frozenset(w[:i] for w in words for i in range(len(w) + 1))


#: Steps of abc2midi's default chord accompaniment in a bar, per meter (abcMIDI store.c
#: ``setbeat``: "fzczfzcz" for 4/4 ...); a meter not named there plays one chord a bar.
GCHORD_STEPS = {
    "C": 8, "C|": 8, "2/2": 8, "4/4": 8, "2/4": 4, "6/4": 12, "3/8": 6, "3/4": 6, "6/8": 6,
    "9/8": 9, "12/8": 12, "5/8": 5, "5/4": 5, "7/8": 7, "7/4": 7,
}  # fmt: skip


def gchord_step(text: str) -> int:
    """Ticks of one step of abc2midi's chord accompaniment in meter ``text`` (0: no bar)."""
    return meter_ticks(text) // GCHORD_STEPS.get(text.strip(), 1)


def meter_ticks(text: str) -> int:
    """Ticks in a bar of meter ``text`` (``C``, ``C|``, ``6/8`` ...); 0 when it has no
    countable bar (``none``, unknown text)."""
    t = text.strip()
    if t == "C":
        t = "4/4"
    elif t == "C|":
        t = "2/2"
    n, slash, d = t.partition("/")
    if not slash or not n.isdigit() or not d.isdigit():
        return 0
    num, den = int(n), int(d)
    if not (0 < num <= 64 and den in (1, 2, 4, 8, 16, 32, 64)):
        return 0
    return WHOLE * num // den


def unit_ticks(text: str) -> int:
    """Ticks of the unit length ``1/8`` ...; 0 when it is not one."""
    n, slash, d = text.strip().partition("/")
    if not slash or not n.isdigit() or not d.isdigit():
        return 0
    num, den = int(n), int(d)
    if not (0 < num <= 4 and den in (1, 2, 4, 8, 16, 32, 64)):
        return 0
    return WHOLE * num // den


def default_unit(bar: int) -> int:
    """The unit length when a tune gives no ``L:``: 1/16 below 3/4, else 1/8 (ABC 2.1)."""
    return WHOLE // 16 if 0 < bar < WHOLE * 3 // 4 else WHOLE // 8
