"""OSC timetags (issue 11): how close to its timetag a timed command takes effect, and how far
ahead of its timetag each ``--osc-out-bundles`` note echo arrives.

    nice python bench/osc_timing.py            # print the tables
    nice python bench/osc_timing.py --write    # ... and put them in BENCHMARKS.md

In-process with the real pieces: the ``Server`` threads, real UDP sockets on 127.0.0.1, the
shipped model playing 2 voices at 120 BPM, the real clock, the interpreter's switch interval
and frozen heap of ``livernn serve``.

(a) The client sends bundles timetagged 5-200 ms ahead (uniform), each holding one
``/livernn/tempo`` with its own BPM, every 20-60 ms. The time it takes effect is read on the
engine clock right after the tempo handler has returned (``engine/commands.apply`` wrapped);
the intended time is the client's own: ``time.perf_counter()`` at send + ahead, read together
with the ``time.time()`` the timetag was made from, so the error includes the server's
conversion of the timetag through its measured wall/engine offset.

(b) A receiver subscribed to a ``--osc-out-bundles`` server keeps the kernel's arrival time of
each bundle (SO_TIMESTAMPNS, the wall clock of the same host); lead = timetag - arrival.
Results also go to bench/results/osc_timing.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import pct, write_block  # noqa: E402
from livernn.config import EngineConfig, OscConfig, VoiceConfig  # noqa: E402
from livernn.engine import commands  # noqa: E402
from livernn.model import OnnxModel  # noqa: E402
from livernn.paths import DEFAULT_MODEL  # noqa: E402
from livernn.server import SWITCH_INTERVAL, build_server  # noqa: E402
from livernn.timetag import measure_offset, ntp_to_unix  # noqa: E402
from tests.support.recording import RecordingOutput  # noqa: E402
from tests.support.server import OscClient, serve_config  # noqa: E402
from tests.support.timed import TimedReceiver, timed  # noqa: E402

BEGIN, END = "<!-- bench:osc_timing:begin -->", "<!-- bench:osc_timing:end -->"
RESULTS = ROOT / "bench" / "results" / "osc_timing.json"
SEED = "X:1\nT:Bench\nM:6/8\nL:1/8\nK:D\n|:DFA dAF|GBd gdB|AFA dfe|dBA GFE|"


def make(model_path: Path, realtime: bool, bundles: bool = False, outputs=()):
    model = OnnxModel(model_path, voices=2)
    voices = (VoiceConfig(rng_seed=0, seed=SEED), VoiceConfig(channel=2, rng_seed=1, seed=SEED))
    cfg = EngineConfig(voices=voices, tempo=120.0, realtime=realtime)
    osc = OscConfig(host="127.0.0.1", port=0, bundles=bundles)
    srv = build_server(serve_config(cfg, osc), model, [RecordingOutput(keep_text=False), *outputs])
    gc.collect()
    gc.freeze()  # as livernn serve does after startup
    srv.start()
    return srv, OscClient(srv.endpoint.address)


def timed_in(model_path: Path, n: int, realtime: bool, seed: int) -> dict:
    """(a): seconds from each bundle's time to its tempo taking effect."""
    applied: dict[float, float] = {}
    inner = commands.apply

    def recording(engine, cmd):
        err = inner(engine, cmd)
        if cmd.name == "tempo" and cmd.at is not None:
            applied[round(float(cmd.value), 2)] = engine.clock.now()
        return err

    commands.apply = recording
    srv, c = make(model_path, realtime)
    rng = np.random.default_rng(seed)
    intended: dict[float, float] = {}
    try:
        time.sleep(1.0)  # playing
        for i in range(n):
            bpm = round(100.0 + 0.05 * i, 2)
            data, due = timed(float(rng.uniform(0.005, 0.2)), ("/livernn/tempo", [bpm]))
            c.send_raw(data)
            intended[bpm] = due
            time.sleep(float(rng.uniform(0.02, 0.06)))
        time.sleep(0.4)
    finally:
        srv.stop()
        c.close()
        commands.apply = inner
    err = np.array([applied[b] - t for b, t in intended.items() if b in applied]) * 1e3
    notes = np.array(srv.engine.sched_errors) * 1e3
    return {
        "notes_p50_ms": float(np.median(notes)), "notes_p99_ms": pct(notes, 99),
        "sent": n, "applied": int(err.size), "p50_ms": float(np.median(err)),
        "p99_ms": pct(err, 99), "max_ms": float(err.max()), "min_ms": float(err.min()),
    }  # fmt: skip


def bundles_out(model_path: Path, seconds: float, realtime: bool) -> dict:
    """(b): how far ahead of its timetag each note bundle arrives, and how far the note's
    own note-on (the MIDI side) was from that timetag."""
    rec = RecordingOutput(keep_text=False)
    srv, c = make(model_path, realtime, bundles=True, outputs=[rec])
    rx = TimedReceiver()
    try:
        c.send("/livernn/subscribe", rx.address[1])
        c.ask("/livernn/ping", "/livernn/pong")
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            rx.poll(0.05)
            c.send("/livernn/ping")  # keeps the subscription alive, as a client does
        c.send("/livernn/unsubscribe", rx.address[1])
        time.sleep(0.1)
        rx.poll(0.05)
    finally:
        srv.stop()
        c.close()
        rx.close()
    got = rx.bundles()
    lead = np.array([ntp_to_unix(tag) - t for t, tag, _ in got]) * 1e3
    offset = measure_offset(time.perf_counter, time.time)
    ons = np.array([s.t for s in rec.notes("on")])
    skew = []
    for _, tag, _ in got:
        at = ntp_to_unix(tag) - offset
        if ons.size and at < ons.max():
            skew.append(float(np.min(np.abs(ons - at))))
    skew_us = np.array(skew) * 1e6
    return {
        "bundles": int(lead.size), "kernel_times": rx.kernel_times,
        "p50_ms": float(np.median(lead)), "p1_ms": pct(lead, 1), "min_ms": float(lead.min()),
        "late": int((lead < 0).sum()),
        "on_vs_tag_p50_us": float(np.median(skew_us)), "on_vs_tag_p99_us": pct(skew_us, 99),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(DEFAULT_MODEL))
    ap.add_argument("--bundles", type=int, default=300, help="timed bundles in per run")
    ap.add_argument("--seconds", type=float, default=20.0, help="seconds of bundles out per run")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args(argv)
    sys.setswitchinterval(SWITCH_INTERVAL)  # as livernn serve does
    path = Path(args.model)
    m = OnnxModel(path, voices=1)
    name = f"{path.name} ({m.meta.cell} {m.meta.layers}x{m.meta.hidden})"
    del m
    t0 = time.monotonic()
    a = {rt: timed_in(path, args.bundles, rt, args.seed) for rt in (False, True)}
    print("timed in", a, flush=True)
    b = {rt: bundles_out(path, args.seconds, rt) for rt in (False, True)}
    print("bundles out", b, flush=True)
    load = os.getloadavg()[0]
    label = {False: "normal priority", True: "`--realtime` (SCHED_FIFO)"}
    lines = [
        "```",
        "nice python bench/osc_timing.py --write",
        "```",
        "",
        f"Model {name}, 2 voices at 120 BPM playing throughout; real UDP on 127.0.0.1, the real"
        f" clock; Python {platform.python_version()}, {os.cpu_count()} cores, load average"
        f" {load:.1f} at the end (a shared machine); {time.monotonic() - t0:.0f} s in all.",
        "",
        "(a) A `/livernn/tempo` bundle timetagged 5-200 ms ahead (uniform), one every 20-60 ms:"
        " when the tempo took effect on the engine clock minus the time the client meant"
        " (its own `perf_counter` at send + ahead; the server converts the timetag through its"
        " measured wall/engine offset, so that error is included). Negative: early. Last"
        " column: the scheduling error of the notes played in the same run (send - deadline).",
        "",
        "| timed command in | bundles | applied | p50 | p99 | max | min | notes' own p50 / p99 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for rt, r in a.items():
        lines.append(
            f"| {label[rt]} | {r['sent']} | {r['applied']} | {r['p50_ms']:.3f} ms |"
            f" {r['p99_ms']:.3f} ms | {r['max_ms']:.3f} ms | {r['min_ms']:.3f} ms |"
            f" {r['notes_p50_ms']:.3f} / {r['notes_p99_ms']:.3f} ms |"
        )
    lines += [
        "",
        "(b) `--osc-out-bundles`, a subscriber on the same host: lead = the bundle's timetag"
        " (the note's deadline) minus its arrival (the kernel's receive timestamp, wall clock);"
        " late = arrived after its timetag. Last column: the note's own note-on call (the MIDI"
        " side) against the timetag converted back to the engine clock.",
        "",
        "| note echo out | bundles | lead p50 | lead p1 | lead min | late | note-on vs timetag p50 / p99 |",
        "|---|---|---|---|---|---|---|",
    ]
    for rt, r in b.items():
        lines.append(
            f"| {label[rt]} | {r['bundles']} | {r['p50_ms']:.1f} ms | {r['p1_ms']:.1f} ms |"
            f" {r['min_ms']:.2f} ms | {r['late']} | {r['on_vs_tag_p50_us']:.0f} us /"
            f" {r['on_vs_tag_p99_us']:.0f} us |"
        )
    text = "\n".join(lines)
    print(text)
    RESULTS.write_text(
        json.dumps({"model": name, "timed_in": {label[k]: v for k, v in a.items()},
                    "bundles_out": {label[k]: v for k, v in b.items()}, "load": load}, indent=1)
        + "\n"
    )  # fmt: skip
    if args.write:
        write_block(BEGIN, END, text, "OSC timetags (issue 11)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
