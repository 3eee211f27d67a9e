"""The built-in synth: FluidSynth's startup time, loudness of rendered and live audio, CPU.

    nice python bench/synth.py            # prints the BENCHMARKS.md "Built-in synth" figures

Startup: ``FluidSynth.start`` on the file driver (soundfont load + driver + shell answer),
5 times. Loudness: the first 6 tunes of data/irish.abc rendered as before this change
(``fluidsynth -ni -F``, FluidSynth's default gain 0.2, no normalising) and as ``livernn
render`` does now; then a 20 s ``livernn serve --synth-wav`` set (shipped model, default
gain) with the CPU time of its FluidSynth read from /proc.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from livernn.outputs import wav  # noqa: E402
from livernn.outputs.synth import FluidSynth, find_fluidsynth, find_soundfont  # noqa: E402
from livernn.paths import BUILTIN_CORPUS  # noqa: E402


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out += [int(x) for x in (task / "children").read_text().split()]
    return out


def main() -> None:
    exe, sf2 = find_fluidsynth(), find_soundfont()
    tmp = Path(tempfile.mkdtemp(prefix="bench-synth-"))
    starts = []
    for i in range(5):
        t0 = time.monotonic()
        s = FluidSynth.start(exe, sf2, None, 1.0, wav=tmp / f"s{i}.wav")
        starts.append(time.monotonic() - t0)
        s.close()
    print(f"startup (file driver, {sf2.name}): median {statistics.median(starts):.2f} s, "
          f"max {max(starts):.2f} s")  # fmt: skip

    print("| tune | before: peak / RMS dBFS | livernn render: peak / RMS dBFS |")
    print("|---|---|---|")
    for n in range(1, 7):
        mid, old, new = tmp / f"t{n}.mid", tmp / f"old{n}.wav", tmp / f"new{n}.wav"
        py = [sys.executable, "-m", "livernn", "render", str(BUILTIN_CORPUS), "--tune", str(n)]
        subprocess.run([*py, "--out", str(mid)], check=True, capture_output=True, cwd=ROOT)
        subprocess.run([exe, "-ni", "-q", "-F", str(old), "-r", "44100", str(sf2), str(mid)],
                       check=True, capture_output=True)  # fmt: skip
        subprocess.run([*py, "--out", str(new)], check=True, capture_output=True, cwd=ROOT)
        a, _ = wav.read(old)
        b, _ = wav.read(new)
        print(f"| {n} | {wav.peak_dbfs(a):.1f} / {wav.rms_dbfs(a):.1f} | "
              f"{wav.peak_dbfs(b):.1f} / {wav.rms_dbfs(b):.1f} |")  # fmt: skip

    out = tmp / "set.wav"
    cmd = [sys.executable, "-m", "livernn", "serve", "--synth-wav", str(out), "--synth-driver",
           "none", "--quiet", "--osc-port", "0", "--rng-seed", "1"]  # fmt: skip
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    for line in proc.stderr:
        if "synth:" in line:
            break
    ready = time.monotonic() - t0
    time.sleep(20)
    fs = [p for p in children(proc.pid) if "fluidsynth" in Path(f"/proc/{p}/cmdline").read_text()]
    cpu = sum(cpu_seconds(p) for p in fs)
    proc.terminate()
    proc.wait(10)
    samples, rate = wav.read(out)
    secs = len(samples) / rate
    print(f"serve --synth-wav: ready in {ready:.1f} s (model + synth); {secs:.1f} s of audio, "
          f"peak {wav.peak_dbfs(samples):.1f} dBFS, RMS {wav.rms_dbfs(samples):.1f} dBFS; "
          f"fluidsynth CPU {cpu:.2f} s in ~20 s ({100 * cpu / 20:.1f}% of a core)")  # fmt: skip


if __name__ == "__main__":
    main()
