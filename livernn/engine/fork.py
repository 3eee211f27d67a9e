"""A state you can fork (issue 17): a voice's whole musical state at each bar line it writes,
to rewind, loop, mutate, bookmark and recall (see docs/DESIGN.md).

An RNN's state is a few kilobytes: at every bar line the voice writes, ``take`` keeps the
model state and logits, a copy of the interpreter, the constraint automaton's snapshot, the
random generator's state and the voice's own bookkeeping, in a ring of ``RING`` bars.
``restore`` puts one back so that the voice writes on from it and its music starts at a
given global beat (the engine cuts what was scheduled from there). Pure bookkeeping: no
clock, no threads, no I/O; the model's state goes in and out through ``StepModel``.
"""

from __future__ import annotations

import collections
import copy
from dataclasses import dataclass
from typing import Any

import numpy as np

from livernn.constrain.automaton import make
from livernn.errors import LivernnError

RING = 64  # bar lines remembered per voice
MAX_BOOKMARKS = 64  # named states kept (the oldest goes first)
EPS = 1e-6


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A voice at one bar line it wrote."""

    beat: float  # global beat of the bar line
    local: float  # the interpreter's settled beat there (the tune's own beats)
    state: np.ndarray  # model state [L, S]
    logits: np.ndarray  # [V]
    interp: Any  # an independent copy
    constraint: tuple | None  # the automaton's slots (None: unconstrained)
    level: str
    rng: dict
    text: tuple[str, str, bool]  # tail, line, in_header
    tune: tuple[str, str, str, float | None, float, int]  # title, key, meter, Q, bar beats, tunes


class Forks:
    """One voice's ring of bar-line snapshots and its loop."""

    def __init__(self) -> None:
        self.ring: collections.deque[Snapshot] = collections.deque(maxlen=RING)
        self.loop: Snapshot | None = None  # the snapshot the loop goes back to
        self.loop_start = 0.0  # global beat where the current round began
        self.loop_beats = 0.0  # a round's length (the loop's bars on the voice's grid)

    def back(self, bars: int, at: float) -> Snapshot:
        """The snapshot ``bars`` bar lines before the bar line at global beat ``at``."""
        before = [s for s in self.ring if s.beat <= at + EPS]
        if before and abs(before[-1].beat - at) <= EPS:
            before.pop()  # the bar line at ``at`` itself is 0 bars back
        if len(before) < bars:
            raise LivernnError(f"only {len(before)} bars back are remembered, not {bars}")
        return before[-bars]


def take(v: Any, model: Any, beat: float) -> Snapshot:
    """The voice's state now (just after it wrote the bar line at global ``beat``)."""
    a = v.constraint
    return Snapshot(
        beat=beat,
        local=float(v.interp.settled),
        state=model.get_state(v.index),
        logits=np.array(v.logits, copy=True),
        interp=v.interp.copy(),  # O(1): the repeat tape is shared, copied on write
        constraint=None if a is None else a._snapshot(),
        level=v.cfg.constrain,
        rng=copy.deepcopy(v.rng.bit_generator.state),
        text=(v.tail, v.line, v.in_header),
        tune=(v.title, v.key, v.meter, v.tune_tempo, v.bar_beats, v.tunes),
    )


def restore(v: Any, snap: Snapshot, model: Any, at: float, rng: bool) -> None:
    """Put ``snap`` back into voice ``v``: it writes on from there, its music from global
    beat ``at``. ``rng``: the random generator too (the same notes again), else it goes on
    (fresh sampling from the same place)."""
    model.set_state(v.index, snap.state)
    v.logits = np.array(snap.logits, copy=True)
    v.interp = snap.interp.copy()  # the snapshot stays as it was
    if rng:
        v.rng.bit_generator.state = copy.deepcopy(snap.rng)
    v.tail, v.line, v.in_header = snap.text
    if snap.level == v.cfg.constrain:
        a = make(snap.level, v.masks)
        if a is not None and snap.constraint is not None:
            a._restore(snap.constraint)
        v.constraint = a
    else:  # constrained at another level since: read the tune so far again
        v.constrain(v.cfg.constrain)
    v.title, v.key, v.meter, v.tune_tempo, v.bar_beats, v.tunes = snap.tune
    v.forced.clear()
    v.unread = ""
    v.pending_seed = v.deferred_seed = None
    v.origin = at - snap.local
    v.floor = at
    while v.bars and v.bars[-1] > at - EPS:
        v.bars.pop()
    v.bars.append(at)
    v.silent = 0


def after_char(engine: Any, v: Any) -> None:
    """After each character the voice wrote (once the model has read it): a bar line it
    placed is a fork point; a loop whose round is written goes back to its start, exactly
    at the round's end (a repeat inside the round is cut there too)."""
    if v.bar_written is not None:
        at, v.bar_written = v.bar_written, None
        v.forks.ring.append(take(v, engine.model, at))
    f = v.forks
    if f.loop is not None and v.write_beat() >= f.loop_start + f.loop_beats - EPS:
        f.loop_start += f.loop_beats
        jump(engine, v, f.loop, f.loop_start, rng=True)


def start_loop(engine: Any, v: Any, snap: Snapshot, at: float, bars: int) -> None:
    """Loop ``bars`` bars from ``snap``, the first round from global beat ``at``."""
    jump(engine, v, snap, at, rng=True)
    v.forks.loop, v.forks.loop_start, v.forks.loop_beats = snap, at, bars * v.bar_beats


def next_bar(engine: Any, v: Any) -> float:
    """The bar line (on the voice's grid) where a fork takes effect: the next one that can
    still be sent on time."""
    return v.bar_on_grid(engine._soon())


def go_back(engine: Any, targets: list, bars: int) -> list[tuple[Any, Snapshot, float]]:
    """Where each voice goes back to (``bars`` before its next bar line), checked for every
    target before any changes (``LivernnError`` when not remembered)."""
    plan = []
    for v in targets:
        at = next_bar(engine, v)
        plan.append((v, v.forks.back(bars, at), at))
    return plan


def jump(engine: Any, v: Any, snap: Snapshot, at: float, rng: bool) -> None:
    """Cut the voice's music at ``at`` and go on from ``snap`` there."""
    engine.scheduler.cut(at, v.index)
    restore(v, snap, engine.model, at, rng)
