"""What the engine needs from the parts injected into it: the model, the subscription table,
the interpreter; and the one conversion from an interpreter event to what monitors see."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from livernn.abc.events import TuneStart
from livernn.config import EngineConfig
from livernn.outputs.base import TuneInfo
from livernn.vocab import Vocab


class StepModel(Protocol):
    """What the engine needs from ``livernn.model.OnnxModel``."""

    vocab: Vocab
    voices: int

    def reset(self, voice: int | None = None) -> None: ...
    def prefill(self, voice: int, text: str) -> np.ndarray: ...
    def step(self, ids: Sequence[int], voices: Sequence[int] | None = None) -> np.ndarray: ...
    def get_state(self, voice: int | None = None) -> np.ndarray: ...  # forks (engine/fork.py)
    def set_state(self, voice: int | None, arr: np.ndarray) -> None: ...


class Subscriptions(Protocol):
    """Who receives the out messages (``livernn.outputs.osc_out.OscEcho``)."""

    def subscribe(
        self, addr: tuple[str, int], owner: tuple[str, int] | None, now: float
    ) -> str | None: ...
    def unsubscribe(self, addr: tuple[str, int], owner: tuple[str, int] | None) -> str | None: ...
    def renew(self, owner: tuple[str, int], now: float) -> None: ...


def make_interpreter(config: EngineConfig) -> Any:
    """A streaming ABC interpreter for one voice."""
    from dataclasses import replace

    from livernn.abc import AbcInterpreter

    return AbcInterpreter(
        replace(
            config.feel,
            expand_repeats=config.expand_repeats,
            max_repeat_beats=config.max_repeat_beats,
        )
    )


def tune_info(ev: TuneStart) -> TuneInfo:
    return TuneInfo(ev.tune, ev.title, ev.key, ev.meter, ev.tempo)
