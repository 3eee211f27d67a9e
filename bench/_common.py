"""Plumbing shared by the bench scripts: resident memory, percentiles, and writing a
result block into BENCHMARKS.md between a script's own markers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "BENCHMARKS.md"
#: The shipped model's training data (issue 15): one --corpus argument each, in this order,
#: so the split is the one the model was trained and validated on (exported/tunes.md).
TRAINING_DATA = ["../shared/data/*.abc", "music21:essenFolksong"]


def rss_mib() -> float:
    """Resident memory of this process in MiB (Linux), NaN where /proc is missing."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def pct(xs: Sequence[float] | np.ndarray, q: float) -> float:
    """The q-th percentile of xs, NaN when xs is empty."""
    a = np.asarray(xs, dtype=float)
    return float(np.percentile(a, q)) if a.size else float("nan")


def write_block(begin: str, end: str, block: str, heading: str) -> Path:
    """Replace the text between ``begin`` and ``end`` in BENCHMARKS.md with ``block`` (markers
    kept), or append it under ``## heading``. The file is re-read right before writing."""
    text = BENCHMARKS.read_text(encoding="utf-8")
    section = f"{begin}\n{block}\n{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + f"\n\n## {heading}\n\n" + section + "\n"
    BENCHMARKS.write_text(text, encoding="utf-8")
    return BENCHMARKS
