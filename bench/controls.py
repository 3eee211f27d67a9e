"""How soon a control is heard (issue 17): from a control message to the first note written
under it, on the shipped model with the performer's defaults (constraints on, repeats on),
``--repeats follow`` (the default) against ``play``, in one run on a fake clock.

A live coder's moves (temperature, top-k, top-p, key, meter) every 2 to 9 seconds of music;
a note counts as written under the move when the engine placed it after the move was sent.

    python bench/controls.py [--minutes 30] [--tempo 120]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from livernn.clock import FakeClock  # noqa: E402
from livernn.config import EngineConfig, VoiceConfig  # noqa: E402
from livernn.engine import Engine  # noqa: E402
from livernn.model import OnnxModel  # noqa: E402
from livernn.osc import Command  # noqa: E402
from tests.support.recording import RecordingOutput  # noqa: E402

MOVES = [
    Command("temperature", 1.1),
    Command("top_k", 12),
    Command("key", "Ador"),
    Command("temperature", 0.8),
    Command("meter", "6/8"),
    Command("top_p", 0.95),
    Command("key", "D"),
    Command("meter", "4/4"),
]


def run(model_path: str, follow: bool, minutes: float, tempo: float, seed: int) -> list[float]:
    """Seconds from each move to the first note placed after it."""
    model = OnnxModel(model_path)
    clock = FakeClock(100.0)
    cfg = EngineConfig(
        voices=(VoiceConfig(channel=1, rng_seed=seed),), tempo=tempo, follow_repeats=follow
    )
    eng = Engine(model, [RecordingOutput()], cfg, clock=clock)
    placed = [0]  # the id the next placed note will have at least (scheduler ids rise)
    first_on: dict[int, float] = {}
    add, on = eng.scheduler.add, eng.sounding.on

    def counting_add(*a, **kw):
        note = add(*a, **kw)
        placed[0] = note.id + 1
        return note

    def recording_on(note_id, voice, channel, pitch, t):
        first_on.setdefault(note_id, t)
        return on(note_id, voice, channel, pitch, t)

    eng.scheduler.add = counting_add
    eng.sounding.on = recording_on
    rng = np.random.default_rng(seed)
    waits, t, k = [], clock.now(), 0
    end = clock.now() + 60 * minutes
    while t < end:
        t += float(rng.uniform(2.0, 9.0))
        eng.run_until(t)
        mark, sent = placed[0], clock.now()
        eng.submit(MOVES[k % len(MOVES)])
        k += 1
        waits.append((mark, sent))
    eng.run_until(t + 60.0)
    on_times = sorted(first_on.items())  # (id, time): ids rise in placement order
    out = []
    for mark, sent in waits:
        later = [tm for nid, tm in on_times if nid >= mark]
        if later:
            out.append(min(later) - sent)
    return out


def fork_cost(model_path: str, minutes: float, seed: int) -> tuple[list[float], int]:
    """Seconds per bar-line snapshot (engine/fork.py ``take``), and the ring's size."""
    import time

    from livernn.engine import fork

    model = OnnxModel(model_path)
    clock = FakeClock(100.0)
    cfg = EngineConfig(voices=(VoiceConfig(channel=1, rng_seed=seed),))
    eng = Engine(model, [RecordingOutput()], cfg, clock=clock)
    took, take = [], fork.take

    def timed(*a):
        t0 = time.perf_counter()
        snap = take(*a)
        took.append(time.perf_counter() - t0)
        return snap

    fork.take = timed
    try:
        eng.run_until(clock.now() + 60 * minutes)
    finally:
        fork.take = take
    return took, len(eng.voices[0].forks.ring)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="exported/tunes.onnx")
    p.add_argument("--minutes", type=float, default=30.0, help="minutes of music (fake clock)")
    p.add_argument("--tempo", type=float, default=120.0)
    p.add_argument("--seed", type=int, default=5)
    a = p.parse_args()
    bar = 60.0 / a.tempo * 4
    print(
        f"model {a.model}, {a.minutes:g} minutes of music, {a.tempo:g} BPM (a 4/4 bar: {bar:.1f} s)\n"
    )
    print("| --repeats | moves | p50 s | p99 s | max s | within a bar + lookahead |")
    print("|---|---|---|---|---|---|")
    for name, follow in (("follow (default)", True), ("play", False)):
        w = np.array(run(a.model, follow, a.minutes, a.tempo, a.seed))
        within = np.mean(w <= bar + 0.05) * 100  # a 4/4 bar plus the lookahead
        print(
            f"| {name} | {len(w)} | {np.median(w):.2f} | {np.percentile(w, 99):.2f} | "
            f"{w.max():.2f} | {within:.1f}% |",
            flush=True,
        )
    took, ring = fork_cost(a.model, a.minutes, a.seed)
    us = np.array(took) * 1e6
    print(
        f"\nfork points (a snapshot at every bar line written): {len(us)}, "
        f"median {np.median(us):.0f} us, p99 {np.percentile(us, 99):.0f} us; ring of {ring} bars"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
