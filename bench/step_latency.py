"""Step latency of the runtime model (OnnxModel) against the weight-streaming floor.

For each model: one step of B = 1 and B = 16 voices (median and p99; through IO binding, the
path ``OnnxModel.step`` takes, and through a plain ``session.run``), a 100-character prefill,
and the floor: the model's weight bytes divided by the bandwidth of a numpy float32
matrix-vector product over matrices of the same total size, measured in the same run (one
thread, like the model). Models: the shipped ``exported/tunes.onnx`` when present, and GRUs of
3x256 and 3x512 with random weights built for the purpose (through the real exporter when
torch is installed, else with onnx.helper).

    nice python bench/step_latency.py            # print the table
    nice python bench/step_latency.py --write    # ... and put it in BENCHMARKS.md
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # the floor uses one core, like the model

import argparse  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import write_block  # noqa: E402
from livernn.contract import OUTPUT_NAMES, STATE, TOKENS  # noqa: E402
from livernn.info import count_parameters  # noqa: E402
from livernn.model import OnnxModel  # noqa: E402
from livernn.paths import BUILTIN_CORPUS, DEFAULT_MODEL  # noqa: E402
from livernn.sampling import SamplingParams, sample  # noqa: E402

BEGIN, END = "<!-- bench:step_latency:begin -->", "<!-- bench:step_latency:end -->"
SEED100 = (
    "X:1\nT:The Kesh\nM:6/8\nL:1/8\nK:G Major\n|:GAG GAB|ABA ABd|edd gdd|edB dBA|"
    "GAG GAB|ABA ABd|edd gdB|AGF G3:|\n"
)[:100]


@dataclass
class Stats:
    median_us: float
    p99_us: float
    min_us: float

    def __str__(self) -> str:
        return f"{self.median_us:,.0f} / {self.p99_us:,.0f}"


def samples(fn, *, min_n: int, seconds: float) -> list[float]:
    """Microseconds per ``fn()`` over at least ``min_n`` calls or ``seconds`` of calls."""
    for _ in range(3):
        fn()
    times: list[int] = []
    end = time.perf_counter() + seconds
    while len(times) < min_n or time.perf_counter() < end:
        t0 = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - t0)
        if len(times) >= 50 * min_n:
            break
    return [t / 1e3 for t in times]


def stats(us: list[float]) -> Stats:
    a = np.asarray(us)
    return Stats(float(np.median(a)), float(np.percentile(a, 99)), float(a.min()))


def plain_step(m: OnnxModel):
    """A step of all of ``m``'s voices through a plain ``session.run`` (no IO binding), on the
    model's own session, carrying its own copy of the state: what ``OnnxModel.step`` would
    cost without its bindings."""
    sess = m._session_  # the benchmark compares two ways of running the same session
    state = m.get_state()

    def step(ids: np.ndarray) -> np.ndarray:
        nonlocal state
        tok = np.asarray(ids, dtype=np.int64).reshape(m.voices, 1)
        logits, state = sess.run(list(OUTPUT_NAMES), {TOKENS: tok, STATE: state})
        return logits[:, 0, :]

    return step


def build_gru(out: Path, layers: int, hidden: int) -> tuple[Path, str]:
    """A GRU of random weights over the built-in corpus's characters."""
    text = BUILTIN_CORPUS.read_text(encoding="utf-8")
    try:
        import torch

        from livernn.vocab import Vocab
        from training.export import export_model, metadata
        from training.model import CharRNN, ModelConfig

        torch.manual_seed(0)
        vocab = Vocab.from_text(text)
        cfg = ModelConfig(len(vocab), "gru", layers, hidden, embedding=64, dropout=0.0)
        model = CharRNN(cfg)
        meta = metadata(
            model, vocab, corpus="random weights (bench)", val_bpc=float("nan"), tokens_seen=0
        )
        return export_model(model, vocab, out, meta), "training.export"
    except ImportError:
        from tests.onnx_gru import save_gru

        chars = sorted(set(text))
        return save_gru(out, chars=chars, layers=layers, hidden=hidden, embed=64), "onnx.helper"


def floor_fns(n_params: int, hidden: int) -> dict[str, tuple]:
    """numpy matvecs streaming n_params float32 weights: (fn, bytes) in two layouts.

    One tall matrix of ``hidden`` columns, and a stack of GRU-shaped (3*hidden, hidden)
    matrices; the floor uses the faster (the higher bandwidth).
    """
    rng = np.random.default_rng(0)
    x = np.ones(hidden, dtype=np.float32)
    tall = rng.standard_normal((max(1, n_params // hidden), hidden), dtype=np.float32)
    k = max(1, round(n_params / (3 * hidden * hidden)))
    gates = [rng.standard_normal((3 * hidden, hidden), dtype=np.float32) for _ in range(k)]

    def stack():
        for g in gates:
            g @ x

    return {
        "floor_tall": (lambda: tall @ x, tall.nbytes),
        "floor_gates": (stack, sum(g.nbytes for g in gates)),
    }


def bench_model(name: str, path: Path, seconds: float, rounds: int) -> dict:
    """All measurements of one model, interleaved in ``rounds`` so that load changes on a
    shared machine hit them alike; medians and p99 are over the pooled samples."""
    m1 = OnnxModel(path, voices=1, device="cpu")
    m16 = OnnxModel(path, voices=16, device="cpu")
    n_params = count_parameters(path)
    rng = np.random.default_rng(0)
    V = len(m1.vocab)
    ids1 = rng.integers(0, V, 1)
    ids16 = rng.integers(0, V, 16)
    seed = "".join(c for c in SEED100 if c in m1.vocab)

    def prefill():
        m1.reset(0)
        m1.prefill(0, seed)

    logits = m1.step(ids1)[0]
    plain1, plain16 = plain_step(m1), plain_step(m16)
    srng = np.random.default_rng(0)
    sp = SamplingParams(temperature=0.9, top_k=40, top_p=0.95)
    floors = floor_fns(n_params, m1.meta.hidden)
    jobs = {
        "b1": (lambda: m1.step(ids1), 300),
        "b1_plain": (lambda: plain1(ids1), 300),
        "b16": (lambda: m16.step(ids16), 100),
        "b16_plain": (lambda: plain16(ids16), 100),
        "prefill": (prefill, 20),
        "sample": (lambda: sample(logits, sp, srng), 300),
        **{k: (fn, 100) for k, (fn, _) in floors.items()},
    }
    pooled: dict[str, list[float]] = {k: [] for k in jobs}
    for _ in range(rounds):
        for k, (fn, n) in jobs.items():
            pooled[k] += samples(fn, min_n=n // rounds, seconds=seconds / rounds)
    gbps = max(nb / (np.median(pooled[k]) * 1e-6) / 1e9 for k, (_, nb) in floors.items())
    row = {k: stats(v) for k, v in pooled.items()}
    row.update(
        model=name,
        arch=f"{m1.meta.cell} {m1.meta.layers}x{m1.meta.hidden}",
        params=n_params,
        floor=n_params * 4 / (gbps * 1e9) * 1e6,
        gbps=gbps,
        prefill_chars=len(seed),
    )
    return row


def table(rows: list[dict]) -> str:
    head = (
        "| model | params | floor (us) | B=1 step | B=1 plain run | ratio to floor "
        "| B=16 step | B=16 plain run | per voice at B=16 | prefill 100 chars | per char |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for r in rows:
        lines.append(
            f"| {r['model']} ({r['arch']}) | {r['params'] / 1e6:.2f} M | {r['floor']:,.0f} "
            f"| {r['b1']} | {r['b1_plain']} | {r['b1'].median_us / r['floor']:.1f}x "
            f"| {r['b16']} | {r['b16_plain']} | {r['b16'].median_us / 16:,.0f} "
            f"| {r['prefill']} | {r['prefill'].median_us / r['prefill_chars']:,.0f} |"
        )
    return head + "\n".join(lines)


def reading(r: dict) -> str:
    """One sentence per model that reads the ratios measured in this run."""
    b1, b16, plain = r["b1"].median_us, r["b16"].median_us, r["b1_plain"].median_us
    ratio = b1 / r["floor"]
    where = (
        "below the numpy floor (onnxruntime's GEMV streams faster than numpy's, so that floor "
        "is an upper bound)"
        if ratio < 1
        else f"{ratio:.1f}x the floor (the rest is per-call overhead)"
    )
    return (
        f"{r['arch']}: one step is {where}; 16 voices in one call cost {b16 / b1:.1f}x one "
        f"voice ({16 * b1 / b16:.1f}x cheaper per voice); IO binding / plain run: "
        f"{b1 / plain:.2f} in medians, {r['b1'].min_us / r['b1_plain'].min_us:.2f} in minimums; "
        f"prefill is {b1 / (r['prefill'].median_us / r['prefill_chars']):.1f}x "
        f"faster per character than stepping."
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    ap.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    ap.add_argument("--sizes", default="256,512", help="hidden sizes of the 3-layer GRUs")
    args = ap.parse_args(argv)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        models: list[tuple[str, Path]] = []
        if DEFAULT_MODEL.exists():
            models.append(("shipped tunes.onnx", DEFAULT_MODEL))
        how = ""
        for h in (int(s) for s in args.sizes.split(",") if s):
            path, how = build_gru(Path(tmp) / f"gru3x{h}.onnx", 3, h)
            models.append((f"random GRU ({how})", path))
        for name, path in models:
            print(f"measuring {name} ({path.name}) ...", file=sys.stderr)
            rows.append(bench_model(name, path, args.seconds, args.rounds))

    import onnxruntime as ort

    out = table(rows)
    gbps = ", ".join(f"{r['gbps']:.1f}" for r in rows)
    samples = ", ".join(f"{r['sample'].median_us:.0f}" for r in rows)
    notes = (
        f"\nTimes in microseconds, median / p99. CPU provider, 1 intra-op thread, sequential. "
        f'"step" is `OnnxModel.step` (IO binding to preallocated buffers, state ping-pong); '
        f'"plain run" is `session.run` with numpy inputs. Floor = all initializer bytes / '
        f"bandwidth of a 1-thread numpy float32 matvec of the same total size "
        f"({gbps} GB/s in this run). Sampling one character (T=0.9, top-k 40, top-p 0.95) "
        f"takes {samples} us. onnxruntime {ort.__version__}, numpy {np.__version__}, "
        f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f} at the end (a shared machine: p99 shows other "
        f"people's jobs). Measurements interleaved in {args.rounds} rounds.\n"
    )
    notes += "\n" + " ".join(reading(r) for r in rows) + "\n"
    print(out + "\n" + notes)
    if args.write:
        cmd = "nice python bench/step_latency.py --write"
        block = f"```\n{cmd}\n```\n\n{out}\n{notes.rstrip(chr(10))}"
        bm = write_block(BEGIN, END, block, "Step latency (runtime model)")
        print(f"wrote {bm}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
