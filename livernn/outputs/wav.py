"""WAV files as numbers: read 16-bit PCM, measure peak and RMS in dBFS, normalise in place.

Used by ``livernn render --out X.wav`` (through ``outputs/synth.py``), the synth tests and
``bench/synth.py``. Only the standard ``wave`` module and numpy.
"""

from __future__ import annotations

import math
import wave
from pathlib import Path

import numpy as np

FULL_SCALE = 32768.0


def read(path: Path) -> tuple[np.ndarray, int]:
    """(samples as float in -1..1, shape [frames, channels]; sample rate)."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: {8 * w.getsampwidth()}-bit samples, expected 16-bit")
        ch, rate, n = w.getnchannels(), w.getframerate(), w.getnframes()
        data = np.frombuffer(w.readframes(n), dtype="<i2")
    return data.reshape(-1, ch).astype(np.float64) / FULL_SCALE, rate


def dbfs(x: float) -> float:
    return 20 * math.log10(x) if x > 0 else -math.inf


def peak_dbfs(samples: np.ndarray) -> float:
    return dbfs(float(np.max(np.abs(samples)))) if samples.size else -math.inf


def rms_dbfs(samples: np.ndarray) -> float:
    return dbfs(float(np.sqrt(np.mean(samples**2)))) if samples.size else -math.inf


def normalise(path: Path, peak: float) -> float:
    """Scale the file so it peaks at ``peak`` dBFS (a silent file is left alone); the peak
    before, in dBFS."""
    samples, rate = read(path)
    before = peak_dbfs(samples)
    if math.isfinite(before):
        scaled = samples * 10 ** ((peak - before) / 20)
        pcm = np.clip(np.round(scaled * FULL_SCALE), -32768, 32767).astype("<i2")
        with wave.open(str(path), "wb") as w:
            w.setnchannels(samples.shape[1])
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(pcm.tobytes())
    return before


def onsets(
    samples: np.ndarray, rate: int, hop: float = 0.005, look: int = 4, rise: float = 4.0
) -> list[float]:
    """Note starts (s): where the envelope of the high-passed signal (attacks are bright)
    in ``hop`` s frames rises ``rise`` dB above its lowest over the ``look`` frames before,
    within 40 dB of the loudest frame, at least 0.1 s after the previous onset."""
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    bright = np.diff(mono, prepend=0.0)
    size = max(1, int(rate * hop))
    n = len(bright) // size
    if n <= look:
        return []
    env = np.sqrt(np.mean(bright[: n * size].reshape(n, size) ** 2, axis=1)) + 1e-12
    db = 20 * np.log10(env)
    floor = db.max() - 40
    out: list[float] = []
    for i in range(look, n):
        t = i * hop
        if (
            db[i] > floor
            and db[i] - db[i - look : i].min() >= rise
            and (not out or t - out[-1] > 0.1)
        ):
            out.append(t)
    return out
