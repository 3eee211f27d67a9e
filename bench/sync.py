"""In time with the band (issue 11): Ableton Link, MIDI clock out, MIDI clock in.

    nice python bench/sync.py --write                   # everything (about 14 minutes)
    nice python bench/sync.py --only link --write       # one part: link, clock-out, clock-in

- Link: ``tests/link_peer.py`` (a second peer, the same binding) and ``livernn serve --link``
  in a private network namespace with only loopback (``unshare -n``), at 90, 120 and 174 BPM,
  idle and beside a CPU-bound process; the peer changes the tempo halfway. Phase error: how
  far livernn's notes near a downbeat are from the peer's downbeat, on Link's clock (kernel
  arrival times of the note echo). Follow: from the peer's tempo change to the first note
  after which every note sits on the new grid.
- MIDI clock out: ``livernn serve --clock-out`` into a JACK MIDI input (jackd dummy, 64-frame
  periods: 1.3 ms) for ``--clock-minutes``; tick interval error, and drift: the slope of the
  tick times against the ideal ones (ppm) and where the last tick is against the first.
- MIDI clock in: ``tests/clock_source.py`` (its own process) plays a clock at 140 BPM with
  +-1 ms jitter into ``livernn serve --clock-in``; livernn's tempo (``/livernn/status``) and
  its notes against the clock's ticks (JACK both ways).
Results go to bench/results/sync.json and, with --write, into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import pct, write_block  # noqa: E402
from livernn.paths import DEFAULT_MODEL  # noqa: E402
from tests.support.netns import in_namespace  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "sync.json"


def stats(xs) -> dict:
    a = np.abs(np.asarray(xs, dtype=float))
    return {
        "n": int(a.size),
        "p50": pct(a, 50),
        "p99": pct(a, 99),
        "max": float(a.max()) if a.size else float("nan"),
    }


def link(seconds: float) -> list[dict]:
    out = []
    for load in (False, True):
        for bpm in (90.0, 120.0, 174.0):
            change = {90.0: 120.0, 120.0: 150.0, 174.0: 140.0}[bpm]
            with tempfile.TemporaryDirectory() as d:
                res = Path(d) / "r.json"
                argv = [sys.executable, str(ROOT / "tests" / "link_peer.py"), "--model",
                        str(DEFAULT_MODEL), "--bpm", str(bpm), "--seconds", str(seconds),
                        "--change", str(change), "--out", str(res)] + (["--load"] if load else [])  # fmt: skip
                run = in_namespace(argv, timeout=seconds + 90)
                if run.returncode != 0:
                    raise SystemExit(f"link_peer failed: {run.stderr[-2000:]}")
                r = json.loads(res.read_text())
            row = {"bpm": bpm, "change": change, "load": load, "notes": r["notes"],
                   "follow_ms": r["follow_ms"], "follow_notes": r["follow_notes"],
                   "grid": stats(r["grid_ms"]), **stats(r["downbeat_ms"])}  # fmt: skip
            print(row, flush=True)
            out.append(row)
    return out


def clock_out(minutes: float) -> dict:
    from tests.support.jack import jack_server
    from tests.support.server import serve

    bpm = 120.0
    with (
        jack_server(fluidsynth=False, period=64, realtime=True) as jack,
        jack.midi_probe("clockrx") as probe,
    ):
        args = ("--midi-api", "jack", "--connect", "clockrx", "--clock-out", "--tempo", str(bpm))
        with serve(DEFAULT_MODEL, *args, midi=True, env=jack.env):
            time.sleep(minutes * 60 + 2)
        ev = [(t, m.type) for t, m in list(probe.events)]
    start = next(i for i, (_, k) in enumerate(ev) if k == "start")
    ticks = np.array([t for t, k in ev[start:] if k == "clock"])
    ticks = ticks[24:]  # the first beat: the engine starting up
    dt = 60.0 / bpm / 24
    # each tick's number from its time (JACK's dummy driver loses the MIDI of a cycle it
    # misses on a loaded machine: a lost tick must not read as drift)
    n = np.round((ticks - ticks[0]) / dt).astype(np.int64)
    lost = int(n[-1] + 1 - len(np.unique(n)))
    slope, icept = np.polyfit(n, ticks, 1)
    resid = ticks - (icept + slope * n)
    ideal = ticks[0] + n * dt
    return {
        "bpm": bpm, "minutes": minutes, "ticks": int(len(ticks)),
        "lost": lost,
        "interval_error_ms": stats((np.diff(ticks) - dt * np.diff(n)) * 1000),
        "drift_ppm": float((slope / dt - 1) * 1e6),
        "end_minus_ideal_ms": float((ticks[-1] - ideal[-1]) * 1000),
        "residual_ms": stats(resid * 1000),
    }  # fmt: skip


def clock_in(seconds: float) -> dict:
    from tests.support.jack import jack_server
    from tests.support.server import serve

    bpm = 140.0
    with tempfile.TemporaryDirectory() as d:
        ready, sched = Path(d) / "ready", Path(d) / "s.json"
        with (
            jack_server(fluidsynth=False, period=64, realtime=True) as jack,
            jack.midi_probe("notes") as probe,
        ):
            src = subprocess.Popen(
                [sys.executable, str(ROOT / "tests" / "clock_source.py"), "--bpm", str(bpm),
                 "--seconds", str(seconds), "--jitter", "0.001", "--ready", str(ready),
                 "--out", str(sched)], env=jack.env,
            )  # fmt: skip
            jack.wait_for_port("drum:")
            args = ("--midi-api", "jack", "--connect", "notes", "--clock-in", "drum", "--plain")
            tempos = []
            with serve(DEFAULT_MODEL, *args, "--tempo", "90", "--rng-seed", "2", midi=True,
                       env=jack.env) as s:  # fmt: skip
                ready.touch()
                t0 = time.monotonic()
                while src.poll() is None:
                    time.sleep(0.5)
                    if time.monotonic() - t0 > 3:
                        st = s.ask("/livernn/status", "/livernn/status")
                        tempos.append(dict(zip(st[::2], st[1::2], strict=False))["tempo"])
            start = json.loads(sched.read_text())["start"]
            ons = [t for t, m in list(probe.events) if m.type == "note_on" and m.velocity > 0]
    late = [t for t in ons if start + 3.0 < t < start + seconds - 0.5]
    beat, tick = 60.0 / bpm, 60.0 / bpm / 24
    on_tick = [((t - start) / tick - round((t - start) / tick)) * tick * 1000 for t in late]
    signed = []
    for b in ((t - start) / beat for t in late):
        k = min((8, 3), key=lambda k: abs(b * k - round(b * k)) / k)
        signed.append((b * k - round(b * k)) / k * beat * 1000)
    on_grid = np.abs(signed)
    spread = np.array(signed) - np.median(signed)
    return {
        "bpm": bpm, "seconds": seconds, "tempo_error_pct": stats((np.array(tempos) / bpm - 1) * 100),
        "to_nearest_tick_ms": stats(on_tick), "to_beat_grid_ms": stats(on_grid),
        "latency_ms": float(np.median(signed)), "around_latency_ms": stats(spread),
    }  # fmt: skip


def fmt(s: dict) -> str:
    return f"{s['n']} | {s['p50']:.2f} | {s['p99']:.2f} | {s['max']:.2f}"


def write(r: dict) -> None:
    lines = ["```", "nice python bench/sync.py --write", "```", ""]
    if "link" in r:
        lines += ["Link: livernn's notes near a downbeat against the second peer's downbeat, and"
                  " every note against the peer's grid (a sixteenth or a triplet eighth), in ms on"
                  " Link's clock (kernel arrival times of the note echo); follow: notes after the"
                  " peer's tempo change before the first one on the new grid (0: the next note"
                  " follows), and when that one came.", "",
                  "| BPM -> change | beside | downbeat notes | p50 | p99 | max | all notes | p50 | p99 | max | follow |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for x in r["link"]:
            lines.append(f"| {x['bpm']:g} -> {x['change']:g} | {'a CPU-bound process' if x['load'] else 'idle'} | "
                         f"{fmt(x)} | {fmt(x['grid'])} | {x['follow_notes']} notes, {x['follow_ms']:.0f} ms |")  # fmt: skip
        lines.append("")
    if "clock_out" in r:
        c = r["clock_out"]
        lines += [f"MIDI clock out at {c['bpm']:g} BPM for {c['minutes']:g} min into a JACK input"
                  f" (64-frame periods, Python callback times): {c['ticks']} ticks received,"
                  f" {c.get('lost', 0)} lost in JACK (numbered by their times); drift"
                  f" {c['drift_ppm']:+.1f} ppm, last tick {c['end_minus_ideal_ms']:+.2f} ms from"
                  " the ideal line through the first.", "",
                  "| | n | p50 | p99 | max |", "|---|---|---|---|---|",
                  f"| tick interval error (ms) | {fmt(c['interval_error_ms'])} |",
                  f"| tick time minus the fitted line (ms) | {fmt(c['residual_ms'])} |", ""]  # fmt: skip
    if "clock_in" in r:
        c = r["clock_in"]
        lines += [f"MIDI clock in: a source in its own process at {c['bpm']:g} BPM, +-1 ms jitter,"
                  " through JACK both ways.", "",
                  "| | n | p50 | p99 | max |", "|---|---|---|---|---|",
                  f"| livernn's tempo error (%, /livernn/status every 0.5 s) | {fmt(c['tempo_error_pct'])} |",
                  f"| note to the nearest clock tick (ms) | {fmt(c['to_nearest_tick_ms'])} |",
                  f"| note to the beat grid (eighths of a beat, triplets; ms) | {fmt(c['to_beat_grid_ms'])} |",
                  f"| same, around its median ({c['latency_ms']:+.2f} ms: JACK's periods both ways) | {fmt(c['around_latency_ms'])} |",
                  ""]  # fmt: skip
    write_block("<!-- sync:begin -->", "<!-- sync:end -->", "\n".join(lines),
                "In time with the band: Link and MIDI clock (issue 11)")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=("link", "clock-out", "clock-in"))
    ap.add_argument("--link-seconds", type=float, default=20.0)
    ap.add_argument("--clock-minutes", type=float, default=10.0)
    ap.add_argument("--clock-in-seconds", type=float, default=30.0)
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args()
    r = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if a.only in (None, "link"):
        r["link"] = link(a.link_seconds)
    if a.only in (None, "clock-in"):
        r["clock_in"] = clock_in(a.clock_in_seconds)
        print(r["clock_in"], flush=True)
    if a.only in (None, "clock-out"):
        r["clock_out"] = clock_out(a.clock_minutes)
        print(r["clock_out"], flush=True)
    RESULTS.write_text(json.dumps(r, indent=1))
    if a.write:
        write(r)


if __name__ == "__main__":
    main()
