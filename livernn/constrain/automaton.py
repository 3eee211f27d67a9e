"""The constraint automaton: which characters the model may write next (issue 16).

Pure code (no clock, threads or I/O; see docs/DESIGN.md). ``Automaton.feed(c)`` reads every
character of the stream (a performer's seed, forced headers, what the model wrote);
``Automaton.mask()`` is the boolean [V] array of characters that keep the text valid ABC
(``syntax``) and, at ``meter`` level, every bar exactly full. Text that was not written
under the mask (a seed, a prime) is never refused: it is read leniently, so the automaton
knows where the bar stands, and only what the model writes after it is constrained.

A dead end (a mask with nothing allowed) cannot be reached from the model's own text: every
length is a multiple of ``GRID`` and the smallest length is ``GRID``, so a bar can always be
filled; tuplets take equal notes that fit as a whole; every open construct can be closed;
past ``STEER_AT`` characters of a tune only the ways to the tune's end remain. The fuzz tests in
tests/test_constrain.py walk it at random to check that.

The lexer's states are in ``livernn/constrain/lexer.py``; the bar and repeat bookkeeping in
``livernn/constrain/bars.py``; the grammar's data in ``livernn/constrain/tables.py``.
"""

from __future__ import annotations

import logging

import numpy as np

from livernn.constrain import tables as T
from livernn.constrain.lexer import Lexer
from livernn.errors import ConfigError

log = logging.getLogger(__name__)

MAX_CACHE = 200_000  # masks remembered (each V bytes)


class MaskCache:
    """Masks by automaton state, shared by every voice reading the same vocabulary."""

    def __init__(self, chars: tuple[str, ...]) -> None:
        self.chars = chars
        self.masks: dict[tuple, np.ndarray] = {}
        self.hits = 0
        self.misses = 0
        self.all = np.ones(len(chars), dtype=bool)


class Automaton(Lexer):
    """The lexer and the bars for one voice, at level ``syntax`` or ``meter``."""

    def __init__(self, level: str, cache: MaskCache) -> None:
        if level not in ("syntax", "meter"):
            raise ConfigError(f"constraint level must be syntax or meter, not {level!r}")
        super().__init__(meter=level == "meter")
        self.level = level
        self.cache = cache
        self.dead_ends = 0  # masks that allowed nothing (a bug: the fuzz tests say never)

    def feed(self, text: str) -> None:
        """Read characters leniently: a character the grammar would not allow is taken as
        the performer wrote it (the bar it is in is not counted)."""
        for c in text:
            snap = self._snapshot()
            if self.step(c):
                continue
            self._restore(snap)
            self.recover(c)

    def allows(self, c: str) -> bool:
        """Whether the model may write ``c`` now (the state is unchanged)."""
        snap = self._snapshot()
        ok = self.step(c)
        self._restore(snap)
        return ok

    def mask(self) -> np.ndarray:
        """The characters the model may write next (bool [V]; do not modify it)."""
        key = self._key()
        m = self.cache.masks.get(key)
        if m is not None:
            self.cache.hits += 1
            return m
        self.cache.misses += 1
        m = self._compute()
        if not m.any():
            self.dead_ends += 1
            if self.dead_ends <= 3:
                log.error("constraint dead end in state %r: unconstrained for a step", key)
            self.unstick()
            m = self._compute()
            if not m.any():
                return self.cache.all
        if len(self.cache.masks) >= MAX_CACHE:
            self.cache.masks.clear()
        self.cache.masks[key] = m
        return m

    def _compute(self) -> np.ndarray:
        snap = self._snapshot()
        out = np.zeros(len(self.cache.chars), dtype=bool)
        for i, c in enumerate(self.cache.chars):
            out[i] = self.step(c)
            self._restore(snap)
        out.setflags(write=False)
        return out


def make(level: str, cache: MaskCache) -> Automaton | None:
    """The automaton for a level (None for ``none``)."""
    return None if T.check_level(level) == "none" else Automaton(level, cache)
