"""The constraint automaton's lexer states and word tables (pure data; see docs/DESIGN.md)."""

from __future__ import annotations

from livernn.constrain import tables as T

# lexer states: the header (below LINE), then the body
TOP, X_COLON, X_NUM, HDR, HDR_COLON, HDR_VAL, FREE = range(7)
LINE, SEP, ACC, OCT, LEN, BRACKET, CHORD, GRACE, GCH, DECO, BAR, PAREN = range(7, 19)
INLINE_COLON, INLINE_VAL, FIELD_COLON, FIELD_VAL, BFREE = range(19, 24)

_WORDS = {"M": T.METERS, "L": T.UNITS, "Q": T.TEMPOS, "K": T.KEYS, "R": T.RHYTHMS}
# abc2midi refuses R:hornpipe in a meter other than 2/4 or 4/4: the words when it matters
_WORDS["m"] = T.HORNPIPE_METERS  # M: after R:hornpipe
_WORDS["r"] = tuple(r for r in T.RHYTHMS if r.lower() != "hornpipe")  # R: after another M:
_PREFIXES = {f: T.prefixes(w) for f, w in _WORDS.items()}
_WORDSET = {f: frozenset(w) for f, w in _WORDS.items()}
_LEN_PREFIXES = T.prefixes(T.LENGTHS)
#: the lengths as whole numbers of grid steps (``GRID`` of a unit): integer arithmetic
_STEPS = {w: int(v / T.GRID) for w, v in T.LENGTHS.items()}
assert all(v / T.GRID == _STEPS[w] for w, v in T.LENGTHS.items()), "a length off the grid"
_PER_UNIT = int(1 / T.GRID)  # grid steps in a unit
_COMPLETIONS = {p: tuple(v for w, v in _STEPS.items() if w.startswith(p)) for p in _LEN_PREFIXES}
#: tuplets (p: q/p) as integer ratios
_TUPLETS = {p: (f.numerator, f.denominator) for p, f in T.TUPLETS.items()}
_CHORD_PREFIXES, _CHORDS = T.prefixes(T.CHORDS), frozenset(T.CHORDS)
_DECO_PREFIXES, _DECOS = T.prefixes(T.DECORATIONS), frozenset(T.DECORATIONS)
LETTERS = "ABCDEFGabcdefg"
_ACC = "^_="
_TEXT_BAD = "\\%\n|"
_NOTE, _REST, _CHORD = 1, 2, 3  # kinds of the element just written
