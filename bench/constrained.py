"""Constrained sampling against plain sampling (issue 16), on the shipped model.

For each temperature and level: tunes generated from ``X:1\\n`` (and from seeds that force
a meter), judged by abc2midi (tests/support/abccheck.py: errors, bar-length warnings), the
music's variety (tune length, distinct bars / bars, pitch-class entropy), and the cost: the
mask per character against the model step, median and p99, in the same run.

    python bench/constrained.py [--tunes 40] [--model exported/tunes.onnx]
"""

from __future__ import annotations

import argparse
import collections
import math
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from livernn.abc.tunes import tune_texts  # noqa: E402
from livernn.constrain.automaton import MaskCache, make  # noqa: E402
from livernn.model import OnnxModel  # noqa: E402
from livernn.sampling import SamplingParams, sample  # noqa: E402
from tests.support.abccheck import check_tune  # noqa: E402

METER_SEEDS = ["X:1\nT:\nM:6/8\n", "X:1\nT:\nM:3/4\n", "X:1\nT:\nM:2/4\n"]
METER_SEEDS += ["X:1\nT:\nM:9/8\n", "X:1\nT:\nM:C|\n", "X:1\nT:\nM:4/4\n"]


def one_tune(model, seed, params, rng, level, cache, cost, limit=2500):
    """Generate from ``seed`` until the first tune ends (or ``limit`` characters)."""
    a = make(level, cache)
    if a is not None:
        a.feed(seed)
    model.reset(0)
    logits = model.prefill(0, seed)
    text = seed
    for _ in range(limit):
        t0 = time.perf_counter()
        mask = None if a is None else a.mask()
        t1 = time.perf_counter()
        i = int(sample(logits, params, rng, mask))
        c = model.vocab.chars[i]
        if a is not None:
            a.feed(c)
        t2 = time.perf_counter()
        logits = model.step([i], [0])[0]
        t3 = time.perf_counter()
        cost["mask"].append(t1 - t0)
        cost["feed"].append(t2 - t1)  # sampling + feeding
        cost["step"].append(t3 - t2)
        text += c
        if text.endswith("\n\n") and "\nK:" in text:
            break
    tunes = tune_texts(text)
    return tunes[0] if tunes else text, len(text) - len(seed) < limit


def pc_entropy(tunes):
    counts = collections.Counter()
    for t in tunes:
        body = t.split("\nK:", 1)[-1]
        counts.update(c.upper() for c in re.findall(r"[A-Ga-g]", body))
    n = sum(counts.values()) or 1
    return -sum(v / n * math.log2(v / n) for v in counts.values())


def bars_of(t):
    body = t.split("\nK:", 1)[-1].split("\n", 1)[-1]
    return [b.strip() for b in re.split(r"[|:\]\[]+", body) if b.strip()]


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="exported/tunes.onnx")
    p.add_argument("--tunes", type=int, default=40)
    p.add_argument("--temperatures", default="0.8,1.0,1.2,1.5")
    p.add_argument("--levels", default="none,syntax,meter")
    p.add_argument("--meter-seeds", action="store_true", help="also seeds forcing six meters")
    a = p.parse_args()
    model = OnnxModel(a.model, voices=1)
    cache = MaskCache(model.vocab.chars)
    print(f"model {a.model}, {a.tunes} tunes per cell")
    print(
        "| T | level | seeds | abc2midi clean | bars full (tunes) | ended | mean length | distinct bars | pc entropy |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    allcost = {lv: collections.defaultdict(list) for lv in a.levels.split(",")}
    for temp in (float(x) for x in a.temperatures.split(",")):
        for level in a.levels.split(","):
            for kind in ("X:1", "meters") if a.meter_seeds else ("X:1",):
                rng = np.random.default_rng(16)
                params = SamplingParams(temp)
                tunes, ended = [], 0
                for k in range(a.tunes):
                    seed = "X:1\n" if kind == "X:1" else METER_SEEDS[k % len(METER_SEEDS)]
                    t, e = one_tune(model, seed, params, rng, level, cache, allcost[level])
                    tunes.append(t)
                    ended += e
                verdicts = [check_tune(t) for t in tunes]
                clean = sum(v.clean for v in verdicts)
                full = sum(v.clean and not v.bar_warnings for v in verdicts)
                bars = [b for t in tunes for b in bars_of(t)]
                distinct = len(set(bars)) / max(1, len(bars))
                mean_len = np.mean([len(t) for t in tunes])
                print(
                    f"| {temp} | {level} | {kind} | {100 * clean / len(tunes):.0f}% | "
                    f"{100 * full / len(tunes):.0f}% | {100 * ended / len(tunes):.0f}% | "
                    f"{mean_len:.0f} | {distinct:.2f} | {pc_entropy(tunes):.2f} |",
                    flush=True,
                )
    print(
        "\n| level | mask us/char median | p99 | sample+feed median | p99 | model step median | mask / step | cache hit rate |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for level, cost in allcost.items():
        m, f, s = (np.array(cost[k]) * 1e6 for k in ("mask", "feed", "step"))
        print(
            f"| {level} | {np.median(m):.1f} | {np.percentile(m, 99):.1f} | {np.median(f):.1f} | "
            f"{np.percentile(f, 99):.1f} | {np.median(s):.1f} | {np.median(m) / np.median(s):.3f} | "
            f"{cache.hits / max(1, cache.hits + cache.misses):.3f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
