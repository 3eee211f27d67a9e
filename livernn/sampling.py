"""Choosing the next character from the model's logits: temperature, top-k, top-p, a mask.

Pure numpy: no clock, no I/O, randomness only from the ``numpy.random.Generator`` passed in,
so the same generator state gives the same choices. Work is done in float64 log space, so any
positive finite temperature is safe: 1e-6 behaves as argmax, 1e6 as uniform.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from livernn.errors import ConfigError


@dataclass(frozen=True)
class SamplingParams:
    """temperature > 0; top_k = 0 means off; top_p = 1.0 means off."""

    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0

    def validate(self) -> SamplingParams:
        """Raise ``ConfigError`` naming the bad value; return self when all are valid."""
        t = self.temperature
        if isinstance(t, bool) or not isinstance(t, (int, float, np.integer, np.floating)):
            raise ConfigError(f"temperature must be a number, not {t!r}")
        if not math.isfinite(t) or t <= 0:
            raise ConfigError(f"temperature must be a finite number > 0, not {t}")
        k = self.top_k
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
            raise ConfigError(f"top_k must be an integer >= 0 (0 = off), not {k!r}")
        p = self.top_p
        if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)):
            raise ConfigError(f"top_p must be a number, not {p!r}")
        if not (0.0 < p <= 1.0):  # also false for NaN
            raise ConfigError(f"top_p must be in (0, 1] (1 = off), not {p}")
        return self


def entropy_bits(logits: np.ndarray) -> float:
    """The entropy in bits of the model's own distribution (softmax at T = 1, no mask) over
    one row of logits: how unsure the model is, whatever the performer's temperature."""
    x = np.asarray(logits, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return 0.0
    x = x - x.max()
    p = np.exp(x)
    z = p.sum()
    return float(np.log2(z) - (p * x).sum() / (z * math.log(2)))


def probabilities(
    logits: np.ndarray, params: SamplingParams, mask: np.ndarray | None = None
) -> np.ndarray:
    """The float64 distribution [B, V] that ``sample`` draws from (rows sum to 1).

    NaN logits count as impossible; ``mask`` (bool, [V] or [B, V]) marks allowed characters.
    A row with no finite allowed logit falls back to uniform over its allowed characters; a
    mask that allows nothing in a row is a ``ConfigError``.
    """
    params.validate()
    x = np.array(logits, dtype=np.float64, ndmin=2)
    if x.ndim != 2:
        raise ConfigError(f"logits must be [V] or [B, V], not shape {np.shape(logits)}")
    B, V = x.shape
    if V == 0:
        raise ConfigError("logits are empty")
    if mask is not None:
        m = np.asarray(mask, dtype=bool)
        if m.shape not in ((V,), (B, V)):
            raise ConfigError(f"mask shape {m.shape} does not match logits {x.shape}")
        m = np.broadcast_to(m, (B, V))
        if not m.any(axis=1).all():
            raise ConfigError("the mask allows no character")
    else:
        m = None

    if B == 1 and np.isfinite(x).all():
        return _row(x[0], params, None if m is None else m[0])[None]
    x[np.isnan(x)] = -np.inf
    pos = np.isposinf(x)
    if pos.any():  # +inf logits: only those are possible, equally likely
        rows = pos.any(axis=1)
        x[rows] = np.where(pos[rows], 0.0, -np.inf)
    x /= params.temperature
    if m is not None:
        x[~m] = -np.inf
    dead = ~np.isfinite(x.max(axis=1))  # nothing finite left in the row
    if dead.any():
        x[dead] = 0.0 if m is None else np.where(m[dead], 0.0, -np.inf)

    k = int(params.top_k)
    if 0 < k < V:
        # keep exactly the k largest (ties broken by index), drop the rest
        drop = np.argpartition(-x, k - 1, axis=1)[:, k:]
        np.put_along_axis(x, drop, -np.inf, axis=1)

    x -= x.max(axis=1, keepdims=True)
    p = np.exp(x)
    p /= p.sum(axis=1, keepdims=True)

    if params.top_p < 1.0:
        order = np.argsort(-p, axis=1, kind="stable")
        sp = np.take_along_axis(p, order, axis=1)
        before = np.cumsum(sp, axis=1) - sp  # mass of the more likely characters
        cut = before >= params.top_p  # the smallest prefix reaching top_p is kept
        cut[:, 0] = False
        sp[cut] = 0.0
        p = np.zeros_like(p)
        np.put_along_axis(p, order, sp, axis=1)
        p /= p.sum(axis=1, keepdims=True)
    return p


def _row(x: np.ndarray, params: SamplingParams, m: np.ndarray | None) -> np.ndarray:
    """``probabilities`` of one row of finite float64 logits (a fast path, same result)."""
    x /= params.temperature
    if m is not None:
        x[~m] = -np.inf
    V = x.shape[0]
    k = int(params.top_k)
    if 0 < k < V:
        x[np.argpartition(-x, k - 1)[k:]] = -np.inf
    x -= x.max()
    p = np.exp(x)
    p /= p.sum()
    if params.top_p < 1.0:
        order = np.argsort(-p, kind="stable")
        sp = p[order]
        cut = (np.cumsum(sp) - sp) >= params.top_p
        cut[0] = False
        p[order[cut]] = 0.0
        p /= p.sum()
    return p


def sample(
    logits: np.ndarray,
    params: SamplingParams,
    rng: np.random.Generator,
    mask: np.ndarray | None = None,
) -> int | np.ndarray:
    """Draw one id per row: an ``int`` for [V] logits, an int64 array [B] for [B, V]."""
    p = probabilities(logits, params, mask)
    if p.shape[0] == 1:
        c = np.cumsum(p[0])
        j = min(int(np.searchsorted(c, rng.random() * c[-1], side="right")), p.shape[1] - 1)
        while p[0, j] == 0.0 and j > 0:  # rounding at the ends: never a zero-probability id
            j -= 1
        while p[0, j] == 0.0:
            j += 1
        return j if np.ndim(logits) == 1 else np.array([j], dtype=np.int64)
    c = np.cumsum(p, axis=1)
    u = rng.random(p.shape[0]) * c[:, -1]
    ids = np.empty(p.shape[0], dtype=np.int64)
    for i in range(p.shape[0]):
        j = int(np.searchsorted(c[i], u[i], side="right"))
        # never land on a zero-probability id through rounding at the ends
        j = min(j, p.shape[1] - 1)
        while p[i, j] == 0.0 and j > 0:
            j -= 1
        while p[i, j] == 0.0:
            j += 1
        ids[i] = j
    if np.ndim(logits) == 1:
        return int(ids[0])
    return ids
