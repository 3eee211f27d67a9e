"""A real-time soak: ``livernn serve``'s engine and OSC threads playing for --minutes (default
10) while a scripted live coder steers it over real UDP every few seconds. Reports resident
memory and scheduling-error percentiles minute by minute, and checks every note-on got its
note-off and no note outlived --max-note.

    nice python bench/soak.py                      # 10 minutes
    nice python bench/soak.py --minutes 2 --write  # shortened; the table goes to BENCHMARKS.md

Everything is in this process with the real pieces (``Server``, real UDP ``Endpoint``, real
onnxruntime model, real clock); the outputs are the OSC echo and a checking output (no MIDI
port needed). Scheduling error = when the engine called the outputs for a note-on/off minus
its deadline on the tempo map.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import socket
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import pct, rss_mib, write_block  # noqa: E402
from livernn.config import EngineConfig, OscConfig, VoiceConfig  # noqa: E402
from livernn.model import OnnxModel  # noqa: E402
from livernn.osc import encode  # noqa: E402
from livernn.paths import DEFAULT_MODEL  # noqa: E402
from livernn.server import build_server  # noqa: E402
from tests.support.server import serve_config  # noqa: E402
from tests.support.stage import CheckingOutput  # noqa: E402

BEGIN, END = "<!-- bench:soak:begin -->", "<!-- bench:soak:end -->"
MAX_NOTE = 4.0
MOVES: list[tuple[str, list]] = [
    ("/livernn/temperature", [0.8]),
    ("/livernn/voice/1/seed", ["X:1\\nT:Soak\\nM:6/8\\nL:1/8\\nK:D\\n|:dfa"]),
    ("/livernn/tempo", [160.0]),
    ("/livernn/prime", ["|:d2f A2F|"]),
    ("/livernn/key", ["Ador"]),
    ("/livernn/voice/2/meter", ["3/4"]),
    ("/livernn/top_k", [12]),
    ("/livernn/voice/2/stop", []),
    ("/livernn/start", []),
    ("/livernn/panic", []),
    ("/livernn/voice/2/transpose", [-12]),
    ("/livernn/tempo", [96.0]),
    ("/livernn/voice/1/temperature", [1.2]),
    ("/livernn/reset", []),
    ("/livernn/top_p", [0.92]),
    ("/livernn/tempo", [-5.0]),  # a mistake: refused with /livernn/error
    ("/livernn/status", []),
    ("/livernn/tempo", [132.0]),
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(DEFAULT_MODEL))
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--voices", type=int, default=2)
    ap.add_argument("--every", type=float, default=5.0, help="seconds between live-coder moves")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args(argv)

    rss0 = rss_mib()
    path = Path(args.model)
    model = OnnxModel(path, voices=args.voices)
    name = f"{path.name} ({model.meta.cell} {model.meta.layers}x{model.meta.hidden})"
    osc = OscConfig(port=0)
    check = CheckingOutput(max_note=MAX_NOTE)
    vcs = tuple(VoiceConfig(channel=i + 1, rng_seed=i) for i in range(args.voices))
    cfg = EngineConfig(voices=vcs, tempo=120.0, max_note=MAX_NOTE)
    server = build_server(serve_config(cfg, osc), model, [check])
    engine, endpoint = server.engine, server.endpoint
    gc.collect()
    gc.freeze()  # as livernn serve does after startup
    server.start()
    coder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    coder.setblocking(False)
    rows: list[dict] = []
    every: list[np.ndarray] = []
    t0 = time.perf_counter()
    end = t0 + args.minutes * 60.0
    next_move, move = t0 + args.every, 0
    minute_end = t0 + 60.0
    errs: list[float] = []

    def close_minute(errs: list[float]) -> None:
        us = np.asarray(errs) * 1e6
        every.append(us)
        rows.append({
            "minute": len(rows) + 1, "n": us.size, "p50": pct(us, 50), "p99": pct(us, 99),
            "max": float(us.max()) if us.size else float("nan"), "rss": rss_mib(),
            "notes": check.ons,
        })  # fmt: skip
        print(rows[-1], flush=True)

    try:
        while time.perf_counter() < end and server.failure is None:
            now = time.perf_counter()
            if now >= next_move:
                address, margs = MOVES[move % len(MOVES)]
                coder.sendto(encode(address, margs), endpoint.address)
                move += 1
                next_move += args.every
            while engine.sched_errors:
                errs.append(engine.sched_errors.popleft())
            if now >= minute_end:
                close_minute(errs)
                errs = []
                minute_end += 60.0
            time.sleep(0.05)
        while engine.sched_errors:
            errs.append(engine.sched_errors.popleft())
        if errs:
            close_minute(errs)
        with_coder = move
    finally:
        server.stop()
        coder.close()
    alls = np.concatenate(every) if every else np.zeros(0)
    verdict = check.verdict()
    load = os.getloadavg()[0]
    cmd = "nice python bench/soak.py --write"
    if args.minutes != 10.0:
        cmd += f" --minutes {args.minutes:g}"
    lines = [
        "```",
        cmd,
        "```",
        "",
        f"Model {name}, {args.voices} voices, max note {MAX_NOTE:g} s; {with_coder} live-coder"
        f" moves over UDP (one every {args.every:g} s: seeds, primes, tempo 96-160 BPM,"
        " temperature, top-k/p, key, meter, stop/start, panic, reset, transposition, a refused"
        f" tempo). Python {platform.python_version()}, {os.cpu_count()} cores, load average"
        f" {load:.1f} at the end (a shared machine).",
        "",
        "| minute | notes so far | events | sched. error p50 (us) | p99 (us) | max (us) |"
        " resident memory (MiB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['minute']} | {r['notes']} | {r['n']} | {r['p50']:.0f} | {r['p99']:.0f} |"
            f" {r['max']:.0f} | {r['rss']:.1f} |"
        )
    lines += [
        f"| all | {check.ons} | {alls.size} | {pct(alls, 50):.0f} | {pct(alls, 99):.0f} |"
        f" {float(alls.max()) if alls.size else float('nan'):.0f} | |",
        "",
        f"Resident memory before loading the model: {rss0:.1f} MiB. Engine failures:"
        f" {'none' if server.failure is None else server.failure}; generation errors recovered:"
        f" {engine.errors}. Every note-on had exactly one note-off, none longer than"
        f" {MAX_NOTE:g} s: {'yes' if not verdict else 'NO: ' + '; '.join(verdict[:3])}"
        f" (longest {check.longest:.3f} s).",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_block(BEGIN, END, text, "Stage: real-time soak")
    return 0 if not verdict and server.failure is None else 1


if __name__ == "__main__":
    sys.exit(main())
