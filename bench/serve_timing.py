"""Serving benchmarks: OSC seed -> first note-on, scheduling error (idle and beside a
CPU-bound process), CPU per voice at 120 BPM, resident memory.

    nice python bench/serve_timing.py            # print the tables
    nice python bench/serve_timing.py --write    # ... and put them in BENCHMARKS.md

Everything is in-process with the real pieces: the ``Server`` threads, a real UDP socket, the
real onnxruntime model (default: the shipped exported/tunes.onnx), the real clock. Times are
taken with ``time.perf_counter`` on both sides of the same process.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import pct, rss_mib, write_block  # noqa: E402
from livernn.config import EngineConfig, OscConfig, VoiceConfig  # noqa: E402
from livernn.model import OnnxModel  # noqa: E402
from livernn.osc import encode  # noqa: E402
from livernn.outputs.base import Output  # noqa: E402
from livernn.paths import DEFAULT_MODEL  # noqa: E402
from livernn.server import build_server  # noqa: E402
from tests.support.server import serve_config  # noqa: E402

BEGIN, END = "<!-- bench:serve:begin -->", "<!-- bench:serve:end -->"
HEADER = "X:1\nT:Bench\nM:6/8\nL:1/8\nK:D\n"
SEED = (HEADER + "|:DFA dAF|GBd gdB|AFA dfe|dBA GFE|" * 4)[:100]
assert len(SEED) == 100


class Stamp(Output):
    """Marks the first note-on of the seed's tune."""

    name = "stamp"

    def __init__(self) -> None:
        self.armed = False
        self.first_on: float | None = None
        self.event = threading.Event()

    def tune(self, t, voice, tune) -> None:
        if tune.title == "Bench":
            self.armed = True

    def note_on(self, t, voice, channel, pitch, velocity, duration) -> None:
        if self.armed and self.first_on is None:
            self.first_on = time.perf_counter()
            self.event.set()


def seed_latency(model_path: Path, trials: int, realtime: bool = False) -> dict:
    model = OnnxModel(model_path, voices=1)
    osc = OscConfig(port=0)
    stamp = Stamp()
    cfg = EngineConfig(voices=(VoiceConfig(rng_seed=0),), realtime=realtime)
    server = build_server(serve_config(cfg, osc), model, [stamp])
    endpoint = server.endpoint
    gc.collect()
    gc.freeze()  # as livernn serve does after startup
    server.start()
    import socket

    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    data = encode("/livernn/seed", [SEED.replace("\n", "\\n")])
    lat = []
    try:
        time.sleep(0.5)
        for _ in range(trials):
            stamp.armed, stamp.first_on = False, None
            stamp.event.clear()
            t0 = time.perf_counter()
            client.sendto(data, endpoint.address)
            if stamp.event.wait(2.0) and stamp.first_on is not None:
                lat.append((stamp.first_on - t0) * 1e3)
            time.sleep(0.03 + 0.02 * np.random.random())
    finally:
        server.stop()
        client.close()
    return {"n": len(lat), "p50": pct(lat, 50), "p99": pct(lat, 99), "max": max(lat)}


def run_engine(
    model_path: Path, voices: int, seconds: float, tempo: float = 120.0, realtime: bool = False
) -> dict:
    model = OnnxModel(model_path, voices=voices)
    vcs = tuple(VoiceConfig(channel=(i % 16) + 1, rng_seed=i) for i in range(voices))
    cfg = EngineConfig(voices=vcs, tempo=tempo, realtime=realtime)
    server = build_server(serve_config(cfg), model, listen=False)
    engine = server.engine
    gc.collect()
    gc.freeze()  # as livernn serve does after startup
    c0, w0 = time.process_time(), time.perf_counter()
    server.start()
    time.sleep(seconds)
    server.stop()
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    errs = [e * 1e6 for e in engine.sched_errors]
    notes = sum(v.notes for v in engine.voices)
    return {
        "voices": voices,
        "cpu": cpu / wall,
        "per_voice": cpu / wall / voices,
        "notes_per_s": notes / wall,
        "n": len(errs),
        "p50": pct(errs, 50),
        "p99": pct(errs, 99),
        "max": max(errs),
        "rss": rss_mib(),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(DEFAULT_MODEL))
    ap.add_argument("--trials", type=int, default=300)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args(argv)
    path = Path(args.model)
    rss0 = rss_mib()
    m = OnnxModel(path, voices=1)
    name = f"{path.name} ({m.meta.cell} {m.meta.layers}x{m.meta.hidden})"
    del m

    lat = seed_latency(path, args.trials)
    print("seed latency", lat, flush=True)
    lat_rt = seed_latency(path, args.trials, realtime=True)
    print("seed latency rt", lat_rt, flush=True)
    idle = run_engine(path, 4, args.seconds)
    print("idle", idle, flush=True)
    idle_rt = run_engine(path, 4, args.seconds, realtime=True)
    print("idle rt", idle_rt, flush=True)
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        busy = run_engine(path, 4, args.seconds)
        print("busy", busy, flush=True)
        busy_rt = run_engine(path, 4, args.seconds, realtime=True)
        print("busy rt", busy_rt, flush=True)
    finally:
        hog.kill()
        hog.wait()
    cpu = [run_engine(path, n, args.seconds) for n in (1, 4, 16)]
    for c in cpu:
        print("cpu", c, flush=True)
    load = os.getloadavg()[0]

    def row(label: str, r: dict) -> str:
        return f"| {label} | {r['n']} | {r['p50']:.0f} us | {r['p99']:.0f} us | {r['max']:.0f} us |"

    lines = [
        "```",
        f"nice python bench/serve_timing.py --write    # model {path.name}, {args.seconds:g} s per run",
        "```",
        "",
        f"Model {name}; onnxruntime CPU provider, 1 thread; Python {platform.python_version()},"
        f" {os.cpu_count()} cores, load average {load:.1f} at the end (a shared machine).",
        "",
        "| OSC /livernn/seed (100 chars) -> first note-on sent | trials | p50 | p99 | max |",
        "|---|---|---|---|---|",
        f"| UDP send -> note-on call, the default: real-time (SCHED_FIFO engine and OSC"
        f" threads, granted here) | {lat_rt['n']} |"
        f" {lat_rt['p50']:.2f} ms | {lat_rt['p99']:.2f} ms | {lat_rt['max']:.2f} ms |",
        f"| same, `--no-realtime` | {lat['n']} |"
        f" {lat['p50']:.2f} ms | {lat['p99']:.2f} ms | {lat['max']:.2f} ms |",
        "",
        "| scheduling error (send time - deadline), 4 voices, 120 BPM | events | p50 | p99 | max |",
        "|---|---|---|---|---|",
        row("the default (real-time where permitted; granted here), idle", idle_rt),
        row("the default, beside a CPU-bound process (`while True: pass`)", busy_rt),
        row("`--no-realtime`, idle (the shared machine's own load only)", idle),
        row("`--no-realtime`, beside a CPU-bound process", busy),
        "",
        "| voices at 120 BPM | notes/s | CPU (cores) | per voice | resident memory |",
        "|---|---|---|---|---|",
    ]
    for c in cpu:
        lines.append(
            f"| {c['voices']} | {c['notes_per_s']:.1f} | {c['cpu']:.3f} | {c['per_voice']:.4f} |"
            f" {c['rss']:.0f} MiB |"
        )
    lines += [
        "",
        f"Resident memory before loading anything: {rss0:.0f} MiB (Python + numpy + onnxruntime"
        " imported). CPU is process CPU time / wall time over the run, all threads (engine, OSC),"
        " including the coarse sleep + spin before each deadline.",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_block(BEGIN, END, text, "Serving: latency, timing, CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
