"""A scripted stand-in for ``OnnxModel``, for pure unit tests of the engine's timing.

It "writes" a fixed ABC text over and over: the logits of each voice put a large score on the
script's next character, so at a low temperature the engine plays exactly known notes and
every deadline can be asserted. (End-to-end tests use real ONNX models instead.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from livernn.errors import ConfigError
from livernn.vocab import Vocab

EXTRA = "XTMLKQ:|/\n 0123456789ABCDEFGabcdefgzmixdorjo^_=,'[]()<>-"


class ScriptedModel:
    def __init__(
        self, scripts: Sequence[str], score: float = 20.0, fail_after: int | None = None
    ) -> None:
        self.scripts = list(scripts)
        self.voices = len(self.scripts)
        self.vocab = Vocab.from_text("".join(self.scripts) + EXTRA)
        self.score = score
        self.pos = [0] * self.voices
        self.steps = 0
        self.fail_after = fail_after  # raise after this many steps (exception tests)

    def _logits(self, v: int) -> np.ndarray:
        s = self.scripts[v]
        out = np.zeros(len(self.vocab), dtype=np.float32)
        out[self.vocab[s[self.pos[v] % len(s)]]] = self.score
        return out

    def reset(self, voice: int | None = None) -> None:
        for v in range(self.voices) if voice is None else [voice]:
            self.pos[v] = 0

    def prefill(self, voice: int, text: str) -> np.ndarray:
        if not text:
            raise ConfigError("seed text is empty")
        self.vocab.encode(text)
        at = self.scripts[voice].find(text) if self.pos[voice] == 0 else -1
        self.pos[voice] = (at + len(text)) if at >= 0 else self.pos[voice] + len(text)
        return self._logits(voice)

    def get_state(self, voice: int | None = None) -> np.ndarray:
        return np.array(self.pos if voice is None else [self.pos[voice]], dtype=np.int64)

    def set_state(self, voice: int | None, arr: np.ndarray) -> None:
        if voice is None:
            self.pos = [int(x) for x in arr]
        else:
            self.pos[voice] = int(arr[0])

    def step(self, ids: Sequence[int], voices: Sequence[int] | None = None) -> np.ndarray:
        voices = list(range(self.voices)) if voices is None else list(voices)
        self.steps += 1
        if self.fail_after is not None and self.steps > self.fail_after:
            raise RuntimeError("scripted failure")
        for v in voices:
            self.pos[v] += 1
        return np.stack([self._logits(v) for v in voices])
