"""A MIDI clock source for tests and benchmarks (issue 11): a JACK MIDI output port that
plays Start, then Timing Clock on an exact schedule with uniform jitter, in its own process
(so the test's own threads cannot delay it). It writes the schedule (perf_counter seconds,
the same clock as livernn's engine) as JSON to ``--out`` when done::

    python tests/clock_source.py --port drum --bpm 140 --seconds 10 --jitter 0.001 --out t.json

It creates the port, waits for ``--ready`` (a file) to exist before it starts, so the
receiver can be connected first.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import mido
import numpy as np

from livernn.clock import MonotonicClock


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", default="drum")
    ap.add_argument("--bpm", type=float, default=120.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--jitter", type=float, default=0.001)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    backend = mido.Backend("mido.backends.rtmidi/UNIX_JACK", load=True)
    port = backend.open_output(a.port, virtual=True, client_name=a.port)
    ready = Path(a.ready)
    while not ready.exists():
        time.sleep(0.02)
    clock = MonotonicClock(spin=0.0015)  # sleep, then spin the last 1.5 ms
    rng = np.random.default_rng(7)
    dt = 60.0 / (a.bpm * 24)
    start = time.perf_counter() + 0.2
    clock.sleep_until(start - dt / 2)
    port.send(mido.Message("start"))
    times = []
    for i in range(int(a.seconds / dt)):
        due = start + i * dt
        clock.sleep_until(due + rng.uniform(-a.jitter, a.jitter))
        port.send(mido.Message("clock"))
        times.append(due)
    port.send(mido.Message("stop"))
    time.sleep(0.1)
    port.close()
    Path(a.out).write_text(json.dumps({"start": start, "dt": dt, "times": times}))


if __name__ == "__main__":
    main()
