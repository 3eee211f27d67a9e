"""Constrained sampling against plain sampling (issue 16), on the shipped model.

For each temperature, level and seed set: tunes generated from ``X:1\\n`` (or from seeds
that force one of six meters), B voices at a time in one batched model call, each tune
judged from outside the automaton by abc2midi (tests/support/abccheck.py: errors, and its
"Bar N has X time units" warnings against the bars written); the music's variety (tune
length, distinct bars / bars, pitch-class entropy, note-length histogram) and the model's
own bits/char on what it wrote, beside the training corpus; the cost of the mask and of a
whole generated character, median and p99, against the model step in the same run.

    python bench/constrained.py [--tunes 200] [--batch 16] [--model exported/tunes.onnx]
"""

from __future__ import annotations

import argparse
import collections
import math
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from livernn.abc.tunes import tune_texts  # noqa: E402
from livernn.constrain import tables as T  # noqa: E402
from livernn.constrain.automaton import MaskCache, make  # noqa: E402
from livernn.model import OnnxModel  # noqa: E402
from livernn.sampling import SamplingParams, sample  # noqa: E402
from tests.support.abccheck import check_tune  # noqa: E402

METERS = ("6/8", "3/4", "2/4", "9/8", "C|", "4/4")
SEEDS = {"X:1": ["X:1\n"], "meters": [f"X:1\nT:\nM:{m}\n" for m in METERS]}
LIMIT = 2500  # characters generated before a tune is given up on
BAR_LINE = re.compile(r":*\|+[\]:]*|::|\[\d")
NOTE = re.compile(r"[\^=_]*[A-Ga-g][,']*(\d*/*\d*)")


def log_softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


class Cell:
    """What one (temperature, level, seeds) cell measured."""

    def __init__(self) -> None:
        self.tunes: list[str] = []
        self.ended = 0
        self.nats = 0.0  # model's own -log p of what it wrote (T = 1, no mask)
        self.chars = 0


def generate(model, seeds, n, params, level, cache, rng, cost) -> Cell:
    """``n`` tunes, ``model.voices`` at a time; each ends at its first blank line after K:."""
    B = model.voices
    cell = Cell()
    todo = [seeds[k % len(seeds)] for k in range(n)][::-1]
    slots: list[dict | None] = [None] * B
    logits = np.zeros((B, len(model.vocab)), dtype=np.float32)

    def start(v: int) -> None:
        seed = todo.pop()
        a = make(level, cache)
        if a is not None:
            a.feed(seed)
        model.reset(v)
        logits[v] = model.prefill(v, seed)
        slots[v] = {"seed": seed, "text": seed, "a": a}

    for v in range(min(B, n)):
        start(v)
    while any(slots):
        live = [v for v in range(B) if slots[v] is not None]
        ids = []
        t0 = time.perf_counter()
        for v in live:
            s = slots[v]
            m0 = time.perf_counter()
            mask = None if s["a"] is None else s["a"].mask()
            m1 = time.perf_counter()
            i = int(sample(logits[v], params, rng, mask))
            c = model.vocab.chars[i]
            if s["a"] is not None:
                s["a"].feed(c)
            cost["mask"].append(m1 - m0)
            cell.nats -= float(log_softmax(logits[v].astype(np.float64))[i])
            cell.chars += 1
            s["text"] += c
            ids.append(i)
        t1 = time.perf_counter()
        out = model.step(ids, live)
        t2 = time.perf_counter()
        cost["step"].append((t2 - t1) / len(live))  # per voice
        cost["char"].append((t2 - t0) / len(live))  # mask + sample + feed + step share
        for j, v in enumerate(live):
            logits[v] = out[j]
            s = slots[v]
            text = s["text"]
            done = text.endswith("\n\n") and "\nK:" in text
            if done or len(text) - len(s["seed"]) >= LIMIT:
                tunes = tune_texts(text)
                cell.tunes.append(tunes[0] if tunes else text)
                cell.ended += done and len(text) <= T.TUNE_END_BY
                slots[v] = None
                if todo:
                    start(v)
    return cell


def body_of(t: str) -> str:
    return t.split("\nK:", 1)[-1].split("\n", 1)[-1] if "\nK:" in t else ""


def bars_of(t: str) -> list[str]:
    return [b.strip() for b in BAR_LINE.split(body_of(t)) if b.strip()]


def pc_entropy(tunes: list[str]) -> float:
    counts = collections.Counter(
        c.upper() for t in tunes for c in re.findall(r"[A-Ga-g]", body_of(t))
    )
    n = sum(counts.values()) or 1
    return -sum(v / n * math.log2(v / n) for v in counts.values())


def lengths(tunes: list[str]) -> dict[str, float]:
    """Share of notes by written length (``1`` the unit): the five commonest and the rest."""
    counts = collections.Counter(m or "1" for t in tunes for m in NOTE.findall(body_of(t)))
    n = sum(counts.values()) or 1
    return {k: v / n for k, v in counts.items()}


def histogram(h: dict[str, float], keys: list[str]) -> str:
    rest = 1.0 - sum(h.get(k, 0.0) for k in keys)
    return " ".join(f"{k}:{100 * h.get(k, 0.0):.0f}" for k in keys) + f" other:{100 * rest:.0f}"


def tv(a: dict[str, float], b: dict[str, float]) -> float:
    """Total variation distance between two length histograms."""
    return 0.5 * sum(abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in set(a) | set(b))


def bar_count(t: str) -> int:
    return max(1, len(BAR_LINE.findall(body_of(t))))


def judge(tunes: list[str]) -> tuple[float, float]:
    """abc2midi's verdicts: % of tunes clean, % of bars (of clean tunes) not warned."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        verdicts = list(pool.map(check_tune, tunes))
    clean = [v.clean for v in verdicts]
    bars = sum(bar_count(t) for t, ok in zip(tunes, clean, strict=True) if ok)
    warned = sum(len(v.bar_warnings) for v in verdicts if v.clean)
    return 100 * sum(clean) / len(tunes), 100 * (1 - warned / max(1, bars))


def corpus_figures(model, n: int, spec: str) -> dict:
    """The same figures for ``n`` tunes (evenly spread) of the training corpus, cleaned as
    the model's card says it was for training (training/corpus.py)."""
    from training.corpus import CleanOptions, load_corpus

    clean = model.meta.corpus.rsplit("clean=", 1)[-1].rstrip(")")  # as the model records it
    docs = [t for t in load_corpus(spec, CleanOptions.parse(clean)).docs]
    docs = [t for t in docs if set(t) <= set(model.vocab.chars)]
    tunes = docs[:: max(1, len(docs) // n)][:n]
    nats = chars = 0.0
    for t in tunes:
        text = t.rstrip("\n") + "\n\n"
        model.reset(0)
        ids = model.vocab.encode(text)
        logits = model.prefill(0, text[0])
        for k in range(1, len(ids)):
            nats -= float(log_softmax(logits.astype(np.float64))[ids[k]])
            logits = model.step([ids[k]], [0])[0]
        chars += len(ids) - 1
    return {"tunes": tunes, "bpc": nats / max(1, chars) / math.log(2)}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="exported/tunes.onnx")
    p.add_argument("--tunes", type=int, default=200, help="tunes per cell")
    p.add_argument("--batch", type=int, default=16, help="voices stepped together")
    p.add_argument("--temperatures", default="0.8,1.0,1.2,1.5")
    p.add_argument("--levels", default="none,syntax,meter")
    p.add_argument("--seeds", default="X:1,meters")
    p.add_argument("--corpus", type=int, default=100, help="corpus tunes for the reference row")
    p.add_argument("--corpus-files", default="../shared/data/*.abc", help="the training corpus")
    a = p.parse_args()
    model = OnnxModel(a.model, voices=a.batch)
    cache = MaskCache(model.vocab.chars)
    keys = ["1", "2", "/2", "3", "/"]
    print(f"model {a.model}, {a.tunes} tunes per cell, batch {a.batch}\n")
    print(
        "| T | level | seeds | abc2midi clean | bars full | ended by 2000 | mean length "
        "| distinct bars | pc entropy | bits/char | lengths % | TV to none |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    if a.corpus:
        ref = corpus_figures(OnnxModel(a.model, voices=1), a.corpus, a.corpus_files)
        rt = ref["tunes"]
        bars = [b for t in rt for b in bars_of(t)]
        clean, full = judge(rt)
        print(
            f"| - | corpus | training | {clean:.0f}% | {full:.1f}% | - | {np.mean([len(t) for t in rt]):.0f} "
            f"| {len(set(bars)) / max(1, len(bars)):.2f} | {pc_entropy(rt):.2f} | {ref['bpc']:.2f} "
            f"| {histogram(lengths(rt), keys)} | - |",
            flush=True,
        )
    costs = {lv: collections.defaultdict(list) for lv in a.levels.split(",")}
    for temp in (float(x) for x in a.temperatures.split(",")):
        for kind in a.seeds.split(","):
            base = None
            for level in a.levels.split(","):
                rng = np.random.default_rng(16)
                cell = generate(
                    model,
                    SEEDS[kind],
                    a.tunes,
                    SamplingParams(temp),
                    level,
                    cache,
                    rng,
                    costs[level],
                )
                tunes = cell.tunes
                clean, full = judge(tunes)
                bars = [b for t in tunes for b in bars_of(t)]
                h = lengths(tunes)
                base = h if level == "none" else base
                print(
                    f"| {temp} | {level} | {kind} | {clean:.1f}% | {full:.1f}% | "
                    f"{100 * cell.ended / len(tunes):.1f}% | {np.mean([len(t) for t in tunes]):.0f} | "
                    f"{len(set(bars)) / max(1, len(bars)):.2f} | {pc_entropy(tunes):.2f} | "
                    f"{cell.nats / max(1, cell.chars) / math.log(2):.2f} | {histogram(h, keys)} | "
                    f"{tv(h, base) if base else 0:.2f} |",
                    flush=True,
                )
    print(
        "\n| level | B | mask us/char median | p99 | whole char us median | p99 "
        "| model step us/voice median | mask / step | cache hit rate |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    rate = cache.hits / max(1, cache.hits + cache.misses)
    for level, cost in costs.items():
        m, c, s = (np.array(cost[k]) * 1e6 for k in ("mask", "char", "step"))
        print(
            f"| {level} | {a.batch} | {np.median(m):.1f} | {np.percentile(m, 99):.1f} | "
            f"{np.median(c):.1f} | {np.percentile(c, 99):.1f} | {np.median(s):.1f} | "
            f"{np.median(m) / np.median(s):.3f} | {rate if level != 'none' else 0:.3f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
