"""Scheduling error under an OSC flood, against an idle baseline measured in the same run.

    nice python bench/osc_abuse.py                 # print the table
    nice python bench/osc_abuse.py --write         # ... and put it in BENCHMARKS.md

The real ``Server`` (engine + OSC threads, real UDP socket, the real onnxruntime model; default
the shipped exported/tunes.onnx) plays in this process. Rounds alternate: the server alone
("idle"), then a separate process flooding it with the hostile datagrams of
tests/test_stage_osc.py (random bytes, truncated packets, bundles, unknown addresses, wrong
types and arity, huge strings, NaN/inf, bad tempos and temperatures, some valid retuning),
as fast as the server takes them (bursts of 50, each followed by a ping whose pong paces the
next burst), then valid but heavy seeds (4000 characters, to voice 1, twice a second). Scheduling error = when the engine called the outputs for a note minus the note's
deadline on the tempo map (``Engine.sched_errors``).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import write_block  # noqa: E402
from livernn.config import EngineConfig, OscConfig, VoiceConfig  # noqa: E402
from livernn.model import OnnxModel  # noqa: E402
from livernn.osc import encode  # noqa: E402
from livernn.paths import DEFAULT_MODEL  # noqa: E402
from livernn.server import build_server  # noqa: E402
from tests.support.server import serve_config  # noqa: E402
from tests.support.stage import CheckingOutput, abuse_datagram, udp_drops  # noqa: E402

BEGIN, END = "<!-- bench:osc_abuse:begin -->", "<!-- bench:osc_abuse:end -->"
BURST = 50


def flood(host: str, port: int, seconds: float, seed: int) -> dict:
    """The flooding process: hostile bursts paced by pings until ``seconds`` have passed."""
    from tests.support.server import OscClient

    rng = np.random.default_rng(seed)
    pool = [abuse_datagram(rng)[1] for _ in range(4000)]
    c = OscClient((host, port))
    print("ready", flush=True)
    sent = pongs = 0
    t_end = time.monotonic() + seconds
    while time.monotonic() < t_end:
        for i in rng.integers(0, len(pool), size=BURST):
            with contextlib.suppress(OSError):  # larger than UDP allows
                c.send_raw(pool[int(i)])
            sent += 1
        before = len(c.messages("/livernn/pong"))
        c.send("/livernn/ping")
        deadline = time.monotonic() + 0.2
        while len(c.messages("/livernn/pong")) == before and time.monotonic() < deadline:
            c.poll(0.01)
        pongs += len(c.messages("/livernn/pong")) > before
        if len(c.received) > 10_000:
            c.received.clear()
    c.poll(0.1)
    return {"sent": sent, "pongs": pongs, "errors": len(c.messages("/livernn/error"))}


def stats(errs_s: list[float]) -> dict:
    us = np.asarray(errs_s) * 1e6
    return {
        "n": int(us.size),
        "p50": float(np.percentile(us, 50)),
        "p99": float(np.percentile(us, 99)),
        "p999": float(np.percentile(us, 99.9)),
        "max": float(us.max()),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(DEFAULT_MODEL))
    ap.add_argument("--seconds", type=float, default=15.0, help="per round")
    ap.add_argument("--rounds", type=int, default=3, help="idle/abuse pairs")
    ap.add_argument("--voices", type=int, default=2)
    ap.add_argument("--tempo", type=float, default=200.0)
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--flood", metavar="HOST:PORT", help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.flood:  # the flooding child process
        host, port = args.flood.rsplit(":", 1)
        print(json.dumps(flood(host, int(port), args.seconds, args.seed)))
        return 0

    path = Path(args.model)
    model = OnnxModel(path, voices=args.voices)
    name = f"{path.name} ({model.meta.cell} {model.meta.layers}x{model.meta.hidden})"
    osc = OscConfig(port=0)
    check = CheckingOutput(max_note=8.0)
    vcs = tuple(VoiceConfig(channel=i + 1, rng_seed=i) for i in range(args.voices))
    cfg = EngineConfig(voices=vcs, tempo=args.tempo)
    server = build_server(serve_config(cfg, osc), model, [check])
    engine, endpoint = server.engine, server.endpoint
    gc.collect()
    gc.freeze()  # as livernn serve does after startup
    server.start()
    host, port = endpoint.address
    idle: list[float] = []
    abuse: list[float] = []
    seeds: list[float] = []
    coder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    text = "X:1\\nT:Long\\nM:4/4\\nL:1/8\\nK:D\\n" + "|:d2fd A2FA|dfaf gfed:|" * 200
    long_seed = encode("/livernn/voice/1/seed", [text[:4000]])
    floods: list[dict] = []
    drops0 = udp_drops(port) or 0
    try:
        time.sleep(2.0)
        for r in range(args.rounds):
            engine.sched_errors.clear()
            time.sleep(args.seconds)
            idle += list(engine.sched_errors)
            engine.sched_errors.clear()
            child = subprocess.Popen(
                [sys.executable, __file__, "--flood", f"{host}:{port}",
                 "--seconds", str(args.seconds), "--seed", str(r)],
                stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            assert child.stdout is not None
            child.stdout.readline()  # "ready": its datagrams are built, the flood starts
            engine.sched_errors.clear()
            out, _ = child.communicate()
            abuse += list(engine.sched_errors)
            floods.append(json.loads(out.strip().splitlines()[-1]))
            engine.sched_errors.clear()
            t_end = time.monotonic() + args.seconds
            while time.monotonic() < t_end:  # long seeds: valid, but heavy for the model
                coder.sendto(long_seed, (host, port))
                time.sleep(0.5)
            seeds += list(engine.sched_errors)
            print(f"round {r + 1}: idle {stats(idle)}\n         abuse {stats(abuse)} {floods[-1]}")
    finally:
        server.stop()
        coder.close()
    drops = (udp_drops(port) or 0) - drops0
    alive = server.failure is None
    i, a, sd = stats(idle), stats(abuse), stats(seeds)
    sent = sum(f["sent"] for f in floods)
    secs = args.rounds * args.seconds
    load = os.getloadavg()[0]
    cmd = "nice python bench/osc_abuse.py --write"
    if (args.seconds, args.rounds, args.voices) != (15.0, 3, 2):
        cmd += f" --seconds {args.seconds:g} --rounds {args.rounds} --voices {args.voices}"

    def row(label: str, s: dict) -> str:
        return (
            f"| {label} | {s['n']} | {s['p50']:.0f} | {s['p99']:.0f} | {s['p999']:.0f} |"
            f" {s['max']:.0f} |"
        )

    verdict = check.verdict()
    lines = [
        "```",
        cmd,
        "```",
        "",
        f"Model {name}, {args.voices} voices at {args.tempo:g} BPM; {args.rounds} rounds of"
        f" {args.seconds:g} s idle then {args.seconds:g} s under the flood, interleaved."
        f" Python {platform.python_version()}, {os.cpu_count()} cores, load average {load:.1f}"
        " at the end (a shared machine). The flood comes from another process on the same"
        " two cores.",
        "",
        "| scheduling error (us) | notes+offs | p50 | p99 | p99.9 | max |",
        "|---|---|---|---|---|---|",
        row("idle (no flood)", i),
        row("under the OSC flood", a),
        f"| ratio flood / idle | | {a['p50'] / i['p50']:.2f}x | {a['p99'] / i['p99']:.2f}x |"
        f" {a['p999'] / i['p999']:.2f}x | {a['max'] / i['max']:.2f}x |",
        row("a 4000-character seed to voice 1 every 0.5 s", sd),
        "",
        f"Flood: {sent} datagrams in {secs:g} s ({sent / secs:.0f}/s, what the server parsed"
        f" while playing), {sum(f['pongs'] for f in floods)} pongs for"
        f" {sum(f['sent'] for f in floods) // BURST} pings, {sum(f['errors'] for f in floods)}"
        f" /livernn/error replies (at most 50/s per sender by design), {drops} dropped by the"
        f" kernel. Server still running: {'yes' if alive else 'NO'}; every note-on had its"
        f" note-off: {verdict or 'yes'}"
        f" ({check.ons} notes).",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_block(BEGIN, END, text, "Stage: OSC abuse")
    return 0


if __name__ == "__main__":
    sys.exit(main())
