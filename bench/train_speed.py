"""Training throughput (characters/s) of model sizes on this machine; GPU modes when present.

    python bench/train_speed.py [--sizes gru:3x256 gru:3x512 lstm:1x1024] [--steps 20]
        [--batch-size 64] [--seq-len 128] [--threads 1] [--device cpu|cuda]

Each size: a few warm-up steps, then ``--steps`` timed forward+backward+AdamW steps on random
windows of the cleaned irish.abc; prints the median and p99 step time and chars/s (median).
On CUDA it also runs autocast bf16/fp16 vs fp32 and reports peak GPU memory.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from livernn.paths import BUILTIN_CORPUS
from livernn.vocab import Vocab
from training.corpus import CleanOptions, join_docs, load_corpus
from training.data import batch_random
from training.model import CharRNN, ModelConfig


def parse_size(spec: str) -> tuple[str, int, int]:
    cell, _, dims = spec.partition(":")
    layers, _, hidden = dims.partition("x")
    return cell, int(layers), int(hidden)


def bench(spec: str, args, data: torch.Tensor, V: int, device: torch.device, amp) -> dict:
    cell, layers, hidden = parse_size(spec)
    emb = 256 if cell == "lstm" else 64
    model = CharRNN(ModelConfig(V, cell, layers, hidden, emb, 0.3)).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    times = []
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    for i in range(args.warmup + args.steps):
        x, y = batch_random(data, args.batch_size, args.seq_len, gen)
        x, y = x.to(device), y.to(device)
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        state = model.initial_state(args.batch_size, device)
        with torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None):
            logits, _ = model(x, state)  # [B, T, V]
            loss = F.cross_entropy(logits.float().reshape(-1, V), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= args.warmup:
            times.append(time.perf_counter() - t)
    times.sort()
    med = statistics.median(times)
    p99 = times[min(len(times) - 1, int(0.99 * len(times)))]
    out = {
        "size": spec,
        "params": model.num_params(),
        "amp": str(amp).replace("torch.", "") if amp else "fp32",
        "step_ms_median": 1000 * med,
        "step_ms_p99": 1000 * p99,
        "chars_per_s": args.batch_size * args.seq_len / med,
    }
    if device.type == "cuda":
        out["peak_mem_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=["gru:3x256", "gru:3x512"])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    corpus = load_corpus(str(BUILTIN_CORPUS), CleanOptions.all())
    vocab = Vocab.from_text(list(corpus.docs) + ["\n"])
    data = torch.from_numpy(vocab.encode(join_docs(list(corpus.docs))))
    modes = [None]
    if device.type == "cuda":
        modes = [None, torch.bfloat16, torch.float16]
        print(
            f"device: {torch.cuda.get_device_name(device)}, cuDNN {torch.backends.cudnn.version()}"
        )
    else:
        print(f"device: cpu, {torch.get_num_threads()} torch threads")
    print("| size | params | mode | step ms (median) | step ms (p99) | chars/s | peak GPU MiB |")
    print("|---|---|---|---|---|---|---|")
    for spec in args.sizes:
        for amp in modes:
            r = bench(spec, args, data, len(vocab), device, amp)
            print(
                f"| {r['size']} | {r['params']:,} | {r['amp']} | {r['step_ms_median']:.1f} | "
                f"{r['step_ms_p99']:.1f} | {r['chars_per_s']:,.0f} | "
                f"{r.get('peak_mem_mib', float('nan')):.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
