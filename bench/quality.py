"""Musical quality of generated tunes vs the training corpus, and step latency of each model.

    python bench/quality.py --model exported/tunes.onnx [--model runs/baseline.onnx ...]
        [--corpus '../shared/data/*.abc'] [--clean all] [--tunes 200]
        [--temperatures 0.6 0.8 1.0 1.2] [--max-chars 2000] [--seed 0] [--json OUT.json]

For each model and temperature: ``--tunes`` tunes sampled from ``X:1\\n`` (all tunes in one
batched onnxruntime call per character, numpy RNG seeded with ``--seed``), each cut at the end
of its tune (a blank line or a new ``X:``) or after ``--max-chars`` characters. Figures:
- abc2midi: share of tunes abc2midi converts with no ``Error`` line (warnings allowed);
- bars: share of bars (pooled over tunes) whose length matches the meter, measured with the
  livernn ABC interpreter (repeats not expanded; pickup and closing part-bars count as
  mismatches, in the corpus too);
- ends: share of tunes that end (tune over, last bar line final) within ``--max-chars``.
The same figures for the (cleaned) training corpus are the reference point. Step latency:
one B=1, T=1 onnxruntime step, models interleaved in rounds; median and p99.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import onnxruntime as ort

from livernn.abc import AbcInterpreter, Bar, InterpreterOptions, TuneChange, TuneStart
from livernn.abc.tables import parse_meter
from livernn.contract import STATE, TOKENS, ModelMeta
from livernn.vocab import Vocab

FINAL_BAR = re.compile(r"(\|\]|\|\||:\||\||::)\s*$")


def load(path: str) -> tuple[ort.InferenceSession, Vocab, ModelMeta]:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    meta = ModelMeta.from_props(dict(sess.get_modelmeta().custom_metadata_map))
    return sess, meta.vocab, meta


def generate(
    sess: ort.InferenceSession,
    vocab: Vocab,
    meta: ModelMeta,
    n: int,
    temperature: float,
    seed: int,
    max_chars: int,
    prefix: str = "X:1\n",
) -> list[tuple[str, bool]]:
    """``n`` tunes sampled in one batch: (text, ended_by_itself)."""
    rng = np.random.default_rng(seed)
    L, S = meta.layers, meta.state_size
    ids = np.tile(vocab.encode(prefix), (n, 1))  # [B, T]
    logits, state = sess.run(None, {TOKENS: ids, STATE: np.zeros((L, n, S), np.float32)})
    logits = logits[:, -1]  # [B, V]
    texts = [prefix] * n
    done = [False] * n
    ended = [False] * n
    chars = np.array(vocab.chars)
    for _ in range(max_chars):
        z = logits.astype(np.float64) / temperature
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        u = rng.random((n, 1))
        nxt = (p.cumsum(axis=1) < u).sum(axis=1).clip(0, len(vocab) - 1)  # [B]
        for b, c in enumerate(chars[nxt]):
            if done[b]:
                continue
            t = texts[b] + c
            if t.endswith("\n\n") or t.endswith("\nX:"):
                done[b], ended[b] = True, True
                t = t[:-2] if t.endswith("\nX:") else t
            texts[b] = t
        if all(done):
            break
        logits, state = sess.run(None, {TOKENS: nxt.reshape(n, 1).astype(np.int64), STATE: state})
        logits = logits[:, 0]
    return [(t.strip("\n"), e) for t, e in zip(texts, ended, strict=True)]


def abc2midi_ok(tunes: list[str]) -> list[bool]:
    """Does abc2midi convert each tune with no error line?"""

    def one(args: tuple[int, str, Path]) -> bool:
        i, tune, d = args
        src, mid = d / f"t{i}.abc", d / f"t{i}.mid"
        src.write_text(tune + "\n\n", encoding="utf-8")
        try:
            r = subprocess.run(
                ["abc2midi", str(src), "-o", str(mid)],
                capture_output=True,
                text=True,
                errors="replace",
                timeout=20,
            )
        except subprocess.TimeoutExpired:
            return False
        out = r.stdout + r.stderr
        return mid.is_file() and mid.stat().st_size > 0 and not re.search(r"^Error", out, re.M)

    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(2) as pool:
        return list(pool.map(one, [(i, t, Path(tmp)) for i, t in enumerate(tunes)]))


def bar_matches(tune: str) -> tuple[int, int]:
    """(bars whose length matches the meter, bars) by the livernn ABC interpreter."""
    interp = AbcInterpreter(InterpreterOptions(expand_repeats=False))
    events = interp.feed(tune + "\n\n") + interp.flush()
    bar_beats, last, good, total = 0.0, 0.0, 0, 0
    for ev in events:
        if isinstance(ev, TuneStart):
            bar_beats, last = ev.bar_beats, 0.0
        elif isinstance(ev, TuneChange) and ev.field == "M":
            bar_beats = parse_meter(ev.value).bar_beats
        elif isinstance(ev, Bar):
            length = ev.beat - last
            last = ev.beat
            if length <= 1e-9 or bar_beats <= 0:
                continue  # a double bar / repeat sign at the same beat, or free meter
            total += 1
            good += abs(length - bar_beats) < 1e-6
    return good, total


def ends_with_final_bar(tune: str) -> bool:
    return FINAL_BAR.search(tune.rstrip()) is not None


def figures(tunes: list[str], ended: list[bool]) -> dict:
    ok = abc2midi_ok(tunes)
    good = total = 0
    for t in tunes:
        g, n = bar_matches(t)
        good, total = good + g, total + n
    ends = [e and ends_with_final_bar(t) for t, e in zip(tunes, ended, strict=True)]
    return {
        "tunes": len(tunes),
        "abc2midi_ok": sum(ok) / len(tunes),
        "bars_match": good / max(total, 1),
        "bars": total,
        "ends": sum(ends) / len(tunes),
        "mean_chars": statistics.mean(len(t) for t in tunes),
    }


def step_latency(sessions: dict[str, tuple], rounds: int = 30, steps: int = 100) -> dict:
    """Median and p99 of one B=1 step per model, models interleaved round by round."""
    times: dict[str, list[float]] = {k: [] for k in sessions}
    feeds = {}
    for k, (sess, _, meta) in sessions.items():
        L, S = meta.layers, meta.state_size
        feeds[k] = {TOKENS: np.zeros((1, 1), np.int64), STATE: np.zeros((L, 1, S), np.float32)}
        for _ in range(20):
            sess.run(None, feeds[k])
    for _ in range(rounds):
        for k, (sess, _, _) in sessions.items():
            for _ in range(steps):
                t = time.perf_counter()
                _, feeds[k][STATE] = sess.run(None, feeds[k])
                times[k].append(time.perf_counter() - t)
    out = {}
    for k, ts in times.items():
        ts.sort()
        out[k] = {"median_us": 1e6 * statistics.median(ts), "p99_us": 1e6 * ts[int(0.99 * len(ts))]}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", required=True)
    ap.add_argument("--corpus", nargs="*", default=["../shared/data/*.abc"])
    ap.add_argument("--clean", default="all")
    ap.add_argument("--tunes", type=int, default=200)
    ap.add_argument("--temperatures", type=float, nargs="+", default=[0.6, 0.8, 1.0, 1.2])
    ap.add_argument("--max-chars", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json")
    args = ap.parse_args()

    results: dict = {"args": vars(args), "generated": {}, "corpus": None}
    if args.corpus:
        from training.corpus import CleanOptions, load_corpus

        corpus = load_corpus(args.corpus, CleanOptions.parse(args.clean))
        docs = list(corpus.docs)
        results["corpus"] = figures(docs, [True] * len(docs))
        results["corpus"]["what"] = corpus.describe()
        c = results["corpus"]
        print(
            f"corpus ({len(docs)} tunes): abc2midi {c['abc2midi_ok']:.1%}, bars "
            f"{c['bars_match']:.1%} of {c['bars']}, ends {c['ends']:.1%}",
            flush=True,
        )
    sessions = {m: load(m) for m in args.model}
    print(
        "| model | temperature | abc2midi ok | bars match meter | ends <= max chars | mean chars |"
    )
    print("|---|---|---|---|---|---|")
    for m, (sess, vocab, meta) in sessions.items():
        results["generated"][m] = {"val_bpc": meta.val_bpc, "by_temperature": {}}
        for temp in args.temperatures:
            t0 = time.perf_counter()
            gen = generate(sess, vocab, meta, args.tunes, temp, args.seed, args.max_chars)
            f = figures([t for t, _ in gen], [e for _, e in gen])
            f["gen_seconds"] = time.perf_counter() - t0
            results["generated"][m]["by_temperature"][str(temp)] = f
            print(
                f"| {Path(m).name} | {temp} | {f['abc2midi_ok']:.1%} | {f['bars_match']:.1%} | "
                f"{f['ends']:.1%} | {f['mean_chars']:.0f} |",
                flush=True,
            )
    lat = step_latency(sessions)
    results["latency"] = lat
    print("\n| model | val bits/char | step median us | step p99 us |\n|---|---|---|---|")
    for m, v in lat.items():
        print(
            f"| {Path(m).name} | {results['generated'][m]['val_bpc']:.3f} | "
            f"{v['median_us']:.0f} | {v['p99_us']:.0f} |"
        )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
