"""Scheduling error of the live engine with the session feel (graces, chord stagger, chord
backing) on against off (``InterpreterOptions.plain()``), in one run.

    nice python bench/feel_timing.py [--seconds 20] [--tempo 240] [--rounds 3]

The engine runs on the real monotonic clock, driven as ``livernn serve`` drives it (tick,
then wait), with a scripted model writing a reel full of grace notes, chords and chord names
(tests/support/scripted.py: no ONNX, so the numbers are the scheduler's and the
interpreter's, not the model's). Rounds alternate on and off. Reports notes sent, the send
time minus the deadline (median, p99, max, in microseconds) and the notes that were
determined after their deadline had passed (``Voice.place`` then moves the tune later to
keep time), with how late and at which beat of the tune.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from livernn.abc import InterpreterOptions  # noqa: E402
from livernn.abc.events import NoteEvent  # noqa: E402
from livernn.clock import MonotonicClock  # noqa: E402
from livernn.config import EngineConfig, VoiceConfig  # noqa: E402
from livernn.engine import Engine  # noqa: E402
from livernn.engine import voice as voice_module  # noqa: E402
from tests.support.recording import RecordingOutput  # noqa: E402
from tests.support.scripted import ScriptedModel  # noqa: E402

REEL = (
    'X:1\nT:Reel\nM:4/4\nL:1/8\nK:D\n|:"D"{g}A2 FA ~d3 e|"G"fdec "A7"d2 {/a}gf|'
    '"Bm"{gAg}f2 ed "G/B"B2 AF|"A"[EA]2 ce {c}d2 z2:|\n'
)


LATE: list[tuple[float, float]] = []  # (beats late, onset in the tune) of late notes
_place = voice_module.Voice.place


def _watched_place(self, ev, playhead, soon, max_beats):  # noqa: ANN001, ANN202
    """Voice.place, noting each note that is already late when it is placed."""
    if isinstance(ev, NoteEvent) and self.origin + ev.onset < playhead:
        LATE.append((playhead - self.origin - ev.onset, ev.onset))
    return _place(self, ev, playhead, soon, max_beats)


voice_module.Voice.place = _watched_place  # type: ignore[method-assign]


def one_run(options: InterpreterOptions, seconds: float, tempo: float) -> dict[str, float]:
    clock = MonotonicClock()
    rec = RecordingOutput(keep_text=False)
    vc = VoiceConfig(channel=1, rng_seed=0, seed=REEL[:4], constrain="none")
    cfg = EngineConfig(voices=(vc,), tempo=tempo, feel=options)
    eng = Engine(ScriptedModel([REEL]), [rec], cfg, clock=clock)
    LATE.clear()
    end = clock.now() + seconds
    while clock.now() < end:
        wake, precise = eng.tick()
        eng.wait(min(wake, end), precise)
    eng.close()
    err = np.abs(np.array(eng.sched_errors)) * 1e6
    return {
        "notes": float(len(rec.notes("on"))),
        "median": float(np.median(err)),
        "p99": float(np.percentile(err, 99)),
        "max": float(err.max()),
        "late": float(len(LATE)),
        "late_ms": max((b * 60e3 / tempo for b, _ in LATE), default=0.0),
        "late_at": max((on for _, on in LATE), default=-1.0),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--tempo", type=float, default=240.0)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    results: dict[str, list[dict[str, float]]] = {"on": [], "off": []}
    for _ in range(args.rounds):
        for name, opts in (("on", InterpreterOptions()), ("off", InterpreterOptions.plain())):
            results[name].append(one_run(opts, args.seconds, args.tempo))
    print(
        "| feel | notes sent | error median us | p99 us | max us | notes placed late"
        " (all rounds) | most late, ms | latest tune beat of one |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, runs in results.items():

        def col(key: str, runs: list = runs) -> str:
            return f"{np.median([r[key] for r in runs]):,.0f}"

        late = sum(r["late"] for r in runs)
        worst = max(r["late_ms"] for r in runs)
        at = max(r["late_at"] for r in runs)
        print(
            f"| {name} | {col('notes')} | {col('median')} | {col('p99')} | {col('max')} |"
            f" {late:.0f} | {worst:.2f} | {at if at >= 0 else '-'} |"
        )


if __name__ == "__main__":
    main()
