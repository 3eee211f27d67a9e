"""What a run shows while it trains: a tqdm bar (or log lines), and the loss-curve PNG."""

from __future__ import annotations

import logging
import math
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)


class Progress:
    """One tqdm bar per epoch on a terminal (loss, bits/char, chars/s, lr), redrawn at most
    every 0.2 s; a plain log line every 10 s when stderr is not a terminal; nothing if quiet."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.total, self.quiet = total, quiet
        self.tty = sys.stderr.isatty()
        self.last = 0.0
        self.bar = None

    def update(self, step: int, epoch: int, loss: float, cps: float, lr: float) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        if now - self.last < (0.2 if self.tty else 10.0):
            return
        self.last = now
        done = step % self.total if self.total else 0
        bpc = loss / math.log(2)
        if not self.tty:
            log.info(
                "epoch %d step %d (%d/%d) loss %.3f (%.3f bpc) %s chars/s lr %.2e",
                epoch, step, done, self.total, loss, bpc, f"{cps:,.0f}", lr,
            )  # fmt: skip
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, desc=f"epoch {epoch}", unit="step", leave=True)
        self.bar.update((step - 1) % self.total + 1 - self.bar.n)  # steps done in this epoch
        self.bar.set_postfix_str(
            f"step {step} loss {loss:.3f} ({bpc:.3f} bpc) {cps:,.0f} chars/s lr {lr:.2e}"
        )

    def end(self) -> None:
        """The epoch is over: leave its bar on screen, complete."""
        if self.bar is not None:
            self.bar.update(self.bar.total - self.bar.n)
            self.bar.close()
            self.bar = None


def plot_history(history: list[dict], path: Path) -> None:
    """Train and validation bits/char against training characters, as a PNG."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # plotting is a nicety
        log.info("matplotlib not installed: no loss plot")
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([h["tokens"] for h in history], [h["train_bpc"] for h in history], label="train")
    ax.plot([h["tokens"] for h in history], [h["val_bpc"] for h in history], label="validation")
    ax.set_xlabel("training characters")
    ax.set_ylabel("bits per character")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
