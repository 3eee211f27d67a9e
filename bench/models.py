"""Models side by side, in one run: validation bits/char per collection and step latency.

For each ONNX model: its held-out bits/char on every collection of the training split (the
split ``livernn train`` makes: by tune, within each ``--corpus`` argument, seed 0, 10%,
deduplicated; see training/corpus.py), computed with onnxruntime over each collection's
held-out stream with the state carried; and the latency of one step of B = 1 and B = 16 voices
through ``OnnxModel.step`` (median and p99, the models' calls interleaved round by round, one
thread). A collection with a character the model does not know is not scored for it ("-").

    nice python bench/models.py --model shipped=exported/tunes.onnx \\
        --model int8=exported/tunes.int8.onnx --name tunes          # table + results/*.json
    ... --write                                                     # and BENCHMARKS.md
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import TRAINING_DATA, pct, write_block  # noqa: E402
from livernn.contract import OUTPUT_NAMES, STATE, TOKENS, ModelMeta  # noqa: E402
from livernn.model import OnnxModel  # noqa: E402
from training.clean import CleanOptions  # noqa: E402
from training.corpus import join_docs, load_corpus  # noqa: E402

CHUNK = 512


def held_out(corpus: list[str]) -> dict[str, str]:
    split = load_corpus(corpus, CleanOptions.all()).split_by_tune(0.1, seed=0)
    return {name: join_docs(docs) for name, docs in sorted(split.val_by_collection().items())}


def stream_bpc(sess: ort.InferenceSession, meta: ModelMeta, text: str) -> float:
    """Bits/char of predicting each character of ``text`` from the ones before (B = 1)."""
    if any(ch not in meta.vocab.chars for ch in set(text)):
        return math.nan
    ids = meta.vocab.encode(text)
    state = np.zeros((meta.layers, 1, meta.state_size), dtype=np.float32)
    nats, n = 0.0, 0
    for s in range(0, len(ids) - 1, CHUNK):
        x = ids[s : s + CHUNK][None, :]
        y = ids[s + 1 : s + 1 + CHUNK]
        logits, state = sess.run(list(OUTPUT_NAMES), {TOKENS: x, STATE: state})
        lg = logits[0, : len(y)].astype(np.float64)  # [t, V]
        m = lg.max(axis=1, keepdims=True)
        logp = lg - m - np.log(np.exp(lg - m).sum(axis=1, keepdims=True))
        nats -= logp[np.arange(len(y)), y].sum()
        n += len(y)
    return nats / n / math.log(2)


def latency(models: dict[str, Path], rounds: int, steps: int) -> dict[str, dict]:
    loaded = {
        (name, b): OnnxModel(path, voices=b, device="cpu", threads=1)
        for name, path in models.items()
        for b in (1, 16)
    }
    us: dict[tuple[str, int], list[float]] = {k: [] for k in loaded}
    rng = np.random.default_rng(0)
    for _ in range(rounds):  # interleaved: every model sees the same machine
        for (_name, b), m in loaded.items():
            ids = rng.integers(0, len(m.vocab), size=b)
            for _ in range(steps):
                t0 = time.perf_counter()
                m.step(ids)
                us[(_name, b)].append((time.perf_counter() - t0) * 1e6)
    out: dict[str, dict] = {}
    for (name, b), xs in us.items():
        out.setdefault(name, {})[f"B{b}"] = {"median_us": pct(xs, 50), "p99_us": pct(xs, 99)}
    return out


def matmul_model(ckpt: Path) -> Path:
    """The float MatMul/Scan graph of ``ckpt`` (training/quantize.py), with its metadata."""
    import tempfile

    from training.checkpoint import load_checkpoint, model_from_checkpoint
    from training.export import OPSET, metadata
    from training.quantize import export_matmul

    ck = load_checkpoint(ckpt)
    model, vocab = model_from_checkpoint(ck)
    meta = metadata(
        model, vocab, corpus=str(ck.get("corpus", "")), val_bpc=float(ck["best_val_bpc"]),
        tokens_seen=int(ck.get("tokens_seen", 0)), clean=str(ck.get("clean", "{}")),
    )  # fmt: skip
    out = Path(tempfile.mkdtemp()) / "matmul.onnx"
    return export_matmul(model, out, meta, OPSET)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", required=True, metavar="NAME=PATH")
    ap.add_argument(
        "--matmul",
        metavar="NAME=CKPT",
        help="also the float MatMul/Scan graph of this checkpoint (the int8 file's graph)",
    )
    ap.add_argument("--corpus", nargs="+", default=TRAINING_DATA)
    ap.add_argument("--name", default="models", help="results/NAME.{json,md}, BENCHMARKS block")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--write", action="store_true", help="put the table in BENCHMARKS.md")
    args = ap.parse_args()
    models = dict(m.split("=", 1) for m in args.model)
    models = {k: Path(v) for k, v in models.items()}
    if args.matmul:
        name, ckpt = args.matmul.split("=", 1)
        models[name] = matmul_model(Path(ckpt))
    texts = held_out(args.corpus)
    rows: dict[str, dict] = {}
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    for name, path in models.items():
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        meta = ModelMeta.from_props(dict(sess.get_modelmeta().custom_metadata_map))
        per = {c: stream_bpc(sess, meta, t) for c, t in texts.items()}
        known = {c: v for c, v in per.items() if not math.isnan(v)}
        orig = [c for c in known if c != "essenFolksong"]
        rows[name] = {
            "path": str(path),
            "file_mb": path.stat().st_size / 1e6,
            "params": int(meta.parameters) if meta.parameters else None,
            "arch": f"{meta.cell.upper()} {meta.layers}x{meta.hidden}",
            "val_bpc": per,
            "four_collections_bpc": (
                sum(per[c] * len(texts[c]) for c in orig) / sum(len(texts[c]) for c in orig)
                if orig
                else math.nan
            ),
        }
    lat = latency(models, args.rounds, args.steps)
    for name in rows:
        rows[name]["latency"] = lat[name]
    cols = list(texts)
    lines = [
        "| model | arch | file | " + " | ".join(cols) + " | four collections | "
        "B=1 step median / p99 (us) | B=16 step median / p99 (us) |",
        "|---|---|---|" + "---|" * len(cols) + "---|---|---|",
    ]
    for name, r in rows.items():
        per = " | ".join(
            "-" if math.isnan(r["val_bpc"][c]) else f"{r['val_bpc'][c]:.3f}" for c in cols
        )
        b1, b16 = r["latency"]["B1"], r["latency"]["B16"]
        lines.append(
            f"| {name} | {r['arch']} | {r['file_mb']:.1f} MB | {per} | "
            f"**{r['four_collections_bpc']:.3f}** | {b1['median_us']:,.0f} / {b1['p99_us']:,.0f} | "
            f"{b16['median_us']:,.0f} / {b16['p99_us']:,.0f} |"
        )
    table = "\n".join(lines)
    print(table)
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / f"{args.name}.json").write_text(json.dumps(rows, indent=1))
    cmd = "nice python bench/models.py " + " ".join(f"--model {m}" for m in args.model)
    if args.matmul:
        cmd += f" --matmul {args.matmul}"
    block = f"`{cmd} --name {args.name} --write`\n\n{table}"
    (results / f"{args.name}.md").write_text(block + "\n")
    if args.write:
        begin, end = (
            f"<!-- bench:models:{args.name}:begin -->",
            f"<!-- bench:models:{args.name}:end -->",
        )
        write_block(begin, end, block, f"Models side by side ({args.name})")


if __name__ == "__main__":
    main()
