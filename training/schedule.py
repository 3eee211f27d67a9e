"""The learning-rate schedule and the run's budget (steps, minutes or characters).

Warmup then cosine decay to ``min_lr_ratio`` of the peak over the budget, or constant; the
budget used is the largest fraction of whichever limits are set. See docs/DESIGN.md, "Training".
"""

from __future__ import annotations

import math
from typing import Any

from training.config import TrainConfig


def lr_at(cfg: TrainConfig, step: int, progress: float) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    if cfg.schedule == "constant" or progress <= 0:
        return cfg.lr
    p = min(1.0, progress)
    lo = cfg.lr * cfg.min_lr_ratio
    return lo + 0.5 * (cfg.lr - lo) * (1 + math.cos(math.pi * p))


def budget_used(cfg: TrainConfig, run: Any, total_steps: int) -> float:
    """The fraction of the run's budget spent (steps, minutes or characters, the largest)."""
    frac = run.step / total_steps if total_steps else 0.0
    if cfg.max_minutes:
        frac = max(frac, run.seconds / (cfg.max_minutes * 60))
    if cfg.max_chars:
        frac = max(frac, run.tokens / cfg.max_chars)
    return frac


def out_of_budget(cfg: TrainConfig, run: Any) -> bool:
    return bool(
        (cfg.max_steps and run.step >= cfg.max_steps)
        or (cfg.max_minutes and run.seconds >= cfg.max_minutes * 60)
        or (cfg.max_chars and run.tokens >= cfg.max_chars)
    )
