"""Issue 15's GPU run, in one call of under 10 minutes (prepared; no GPU has been lent yet).

    python bench/cuda.py --out runs/cuda --minutes 9      # on the GPU machine
    python bench/cuda.py --out /tmp/c --device cpu --minutes 0.5 --hidden 64 --quick  # smoke

(a) training throughput of the model (3x512 GRU by default) in fp32, bf16 and fp16 autocast:
    characters/s over timed steps after warm-up, peak memory, cuDNN on;
(b) ``livernn train`` of the same size on the full data for the minutes left (``--device
    cuda --amp bf16`` when bf16 was the fastest, else the fastest);
(c) its export, with the parity check, the int8 variant and the checkpoint for ``--init``;
(d) onnxruntime's CUDA provider against the CPU provider for one step of B = 1, 16 and 64,
    through ``session.run`` and through IO binding (median and p99 microseconds).

Everything it measures goes to OUT/cuda.json (and is printed); the model files stay in OUT.
``--device auto`` in ``livernn serve`` measures the CUDA and CPU steps of the loaded model
itself and takes CUDA only when it is at least 25% faster (livernn/model.py), which is the
comparison (d) makes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import TRAINING_DATA  # noqa: E402


def throughput(device: str, layers: int, hidden: int, seconds: float) -> dict:
    import torch
    import torch.nn.functional as F

    from training.model import CharRNN, ModelConfig

    torch.backends.cudnn.enabled = True
    B, T = 64, 128
    out = {}
    for amp in ("off", "bf16", "fp16"):
        if device == "cpu" and amp == "fp16":
            continue
        dtype = {"off": None, "bf16": torch.bfloat16, "fp16": torch.float16}[amp]
        torch.manual_seed(0)
        model = CharRNN(ModelConfig(vocab_size=104, layers=layers, hidden=hidden)).to(device)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        scaler = torch.amp.GradScaler("cuda", enabled=dtype is torch.float16)
        x = torch.randint(0, 104, (B, T), device=device)
        if device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()

        def step(model=model, opt=opt, scaler=scaler, x=x, dtype=dtype) -> None:
            with torch.autocast(
                device.split(":")[0], dtype=dtype or torch.float32, enabled=dtype is not None
            ):
                logits, _ = model(x, model.initial_state(B, device))
                loss = F.cross_entropy(logits.float().reshape(-1, 104), x.reshape(-1))
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()

        for _ in range(3):
            step()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            step()
            n += 1
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        out[amp] = {
            "chars_per_s": n * B * T / dt,
            "steps": n,
            "peak_mib": (
                torch.cuda.max_memory_allocated() / 2**20 if device.startswith("cuda") else None
            ),
        }
        print(f"(a) {amp}: {out[amp]}", flush=True)
    return out


def ort_steps(model_path: Path, rounds: int) -> dict:
    import onnxruntime as ort

    from livernn.contract import OUTPUT_NAMES, STATE, TOKENS, ModelMeta

    providers = ["CPUExecutionProvider"]
    if "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    out: dict = {}
    for prov in providers:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        sess = ort.InferenceSession(str(model_path), opts, providers=[prov])
        meta = ModelMeta.from_props(dict(sess.get_modelmeta().custom_metadata_map))
        dev = "cuda" if prov.startswith("CUDA") else "cpu"
        for B in (1, 16, 64):
            ids = np.zeros((B, 1), dtype=np.int64)
            state = np.zeros((meta.layers, B, meta.state_size), dtype=np.float32)
            feed = {TOKENS: ids, STATE: state}
            plain = []
            for _ in range(rounds):
                t0 = time.perf_counter()
                sess.run(list(OUTPUT_NAMES), feed)
                plain.append((time.perf_counter() - t0) * 1e6)
            binding = sess.io_binding()
            st = ort.OrtValue.ortvalue_from_numpy(state, dev, 0)
            binding.bind_cpu_input(TOKENS, ids)
            binding.bind_ortvalue_input(STATE, st)
            binding.bind_output(OUTPUT_NAMES[0], "cpu")
            binding.bind_output(OUTPUT_NAMES[1], dev)  # the state stays on the device
            bound = []
            for _ in range(rounds):
                t0 = time.perf_counter()
                sess.run_with_iobinding(binding)
                bound.append((time.perf_counter() - t0) * 1e6)
            out[f"{dev}_B{B}"] = {
                "run_median_us": float(np.median(plain)),
                "run_p99_us": float(np.percentile(plain, 99)),
                "iobinding_median_us": float(np.median(bound)),
                "iobinding_p99_us": float(np.percentile(bound, 99)),
            }
            print(f"(d) {dev} B={B}: {out[f'{dev}_B{B}']}", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="runs/cuda")
    ap.add_argument("--minutes", type=float, default=9.0, help="the whole run, all four parts")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--dropout", type=float, default=0.3)
    ap.add_argument("--corpus", nargs="+", default=TRAINING_DATA)
    ap.add_argument("--quick", action="store_true", help="short throughput and ORT timings")
    args = ap.parse_args()
    t_start = time.monotonic()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    res: dict = {"device": args.device}
    import torch

    if args.device.startswith("cuda"):
        if not torch.cuda.is_available():
            sys.exit("bench/cuda.py: torch sees no CUDA device (use --device cpu for a smoke run)")
        res["gpu"] = torch.cuda.get_device_name(0)
        res["torch"] = torch.__version__
        res["cudnn"] = torch.backends.cudnn.version()
    res["throughput"] = throughput(args.device, args.layers, args.hidden, 3 if args.quick else 15)
    best = max(res["throughput"], key=lambda k: res["throughput"][k]["chars_per_s"])
    amp = "bf16" if res["throughput"].get("bf16", {}).get("chars_per_s", 0) >= 0.95 * res[
        "throughput"][best]["chars_per_s"] else best  # fmt: skip
    reserve = 0.6 if args.quick else 2.0  # export, int8, ORT timings
    minutes = max(0.1, args.minutes - (time.monotonic() - t_start) / 60 - reserve)
    run = out / "train"
    mix = ["--mix", *(["1"] * len(args.corpus))]
    cmd = [
        sys.executable, "-m", "livernn", "train", "--corpus", *args.corpus, *mix,
        "--out", str(run), "--layers", str(args.layers), "--hidden", str(args.hidden),
        "--dropout", str(args.dropout), "--batch-size", "128", "--seq-len", "256", "--lr",
        "3e-3", "--warmup-steps", "100", "--max-minutes", f"{minutes:.2f}", "--epochs", "1000",
        "--steps-per-epoch", "100", "--patience", "8", "--device", args.device,
        "--amp", amp, "--seed", "0", "--quiet",
    ]  # fmt: skip
    res["train_command"] = " ".join(cmd[1:])
    print(f"(b) {res['train_command']}", flush=True)
    subprocess.run(cmd, check=True)
    res["history"] = json.loads((run / "history.json").read_text())
    from training.export import export_checkpoint
    from training.finetune import slim_checkpoint

    onnx_path, parity = export_checkpoint(run / "best.pt", out / "tunes.onnx")
    q_path, q_fig = export_checkpoint(run / "best.pt", out / "tunes.int8.onnx", int8=True)
    slim_checkpoint(run / "best.pt", out / "tunes.pt")
    res["parity"], res["int8"] = parity, q_fig
    print(f"(c) parity {parity}, int8 {q_fig}", flush=True)
    res["onnxruntime"] = ort_steps(onnx_path, 50 if args.quick else 500)
    res["seconds"] = time.monotonic() - t_start
    (out / "cuda.json").write_text(json.dumps(res, indent=1))
    print(f"done in {res['seconds']:.0f} s: {out / 'cuda.json'}")


if __name__ == "__main__":
    main()
