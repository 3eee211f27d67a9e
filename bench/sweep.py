"""The model-size and dropout sweep of issue 15: every candidate on the same data and the
same character budget, judged by validation bits/char overall and per collection.

    nice python bench/sweep.py --out runs/sweep --budget 1024000 --jobs 2   # run and report
    python bench/sweep.py --out runs/sweep --report-only                    # report again

Each candidate is one ``livernn train`` run (the command lines are in the report), one torch
thread each, ``--jobs`` of them at a time; the report reads each run's ``history.json``
(``val_by_collection`` at the end of the budget) and writes ``bench/results/sweep.{json,md}``.
Training characters/s are each run's own median over its epochs: with two runs side by side
on two cores they are comparable with each other, not with a quiet machine's figures.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

from bench._common import TRAINING_DATA  # noqa: E402

#: name -> model and data flags; the shared recipe is in ``command``.
CANDIDATES: dict[str, list[str]] = {
    "gru3x512_d15": ["--layers", "3", "--hidden", "512", "--dropout", "0.15"],
    "gru3x384_d15": ["--layers", "3", "--hidden", "384", "--dropout", "0.15"],
    "gru3x256_d15": ["--layers", "3", "--hidden", "256", "--dropout", "0.15"],
    "gru3x384_d30": ["--layers", "3", "--hidden", "384", "--dropout", "0.3"],
    "gru3x384_d15_bysize": ["--layers", "3", "--hidden", "384", "--dropout", "0.15", "--mix"],
    # the seeds' MIT 6.S191 recipe (exported/tunes.md, "Against the MIT lab baseline")
    "lstm1x1024_mit": [
        "--cell", "lstm", "--layers", "1", "--hidden", "1024", "--embedding", "256",
        "--dropout", "0", "--batch-size", "64", "--seq-len", "100", "--optimizer", "adam",
        "--lr", "1e-3", "--schedule", "constant", "--warmup-steps", "0", "--grad-clip", "1000",
        "--steps-per-epoch", "80",
    ],
}  # fmt: skip


def command(name: str, out: Path, budget: int) -> list[str]:
    flags = list(CANDIDATES[name])
    mix = ["--mix", "1", "1"]
    if "--mix" in flags:  # "--mix" alone: by size (no weights)
        flags.remove("--mix")
        mix = []
    recipe = [
        "--embedding", "64", "--batch-size", "32", "--seq-len", "128", "--lr", "3e-3",
        "--warmup-steps", "100", "--steps-per-epoch", "125",
    ]  # fmt: skip
    if name.startswith("lstm"):
        recipe = []
    return [
        sys.executable, "-m", "livernn", "train", "--corpus", *TRAINING_DATA, *mix,
        "--out", str(out / name), *recipe, *flags, "--max-chars", str(budget),
        "--epochs", "1000", "--patience", "0", "--threads", "1", "--seed", "0", "--quiet",
    ]  # fmt: skip


def run_one(name: str, out: Path, budget: int) -> None:
    if (out / name / "history.json").is_file():
        h = json.loads((out / name / "history.json").read_text())
        if h and h[-1]["tokens"] >= budget:
            return
    (out / name).mkdir(parents=True, exist_ok=True)
    with open(out / f"{name}.log", "w") as log:
        subprocess.run(
            command(name, out, budget), stdout=log, stderr=subprocess.STDOUT, check=False
        )


def report(out: Path, budget: int, names: list[str]) -> dict:
    rows = {}
    for name in names:
        path = out / name / "history.json"
        if not path.is_file():
            continue
        h = json.loads(path.read_text())
        best = min(h, key=lambda e: e["val_bpc"])
        ck = out / name / "best.pt"
        params = None
        if ck.is_file():
            import torch

            sd = torch.load(ck, map_location="cpu", weights_only=True)["model"]
            params = sum(v.numel() for v in sd.values())
        rows[name] = {
            "command": shlex.join(command(name, out, budget)).replace(sys.executable, "python"),
            "params": params,
            "chars": h[-1]["tokens"],
            "val_bpc": h[-1]["val_bpc"],
            "best_val_bpc": best["val_bpc"],
            "val_by_collection": h[-1].get("val_by_collection", {}),
            "chars_per_s_median": statistics.median(e["chars_per_s"] for e in h),
            "train_seconds": h[-1]["seconds"],
        }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "sweep.json").write_text(json.dumps(rows, indent=1))
    cols = sorted({c for r in rows.values() for c in r["val_by_collection"]})
    lines = [
        f"Budget {budget:,} training characters each, `--mix 1 1` unless named `bysize`.",
        "",
        "| run | params | val bits/char | " + " | ".join(cols) + " | chars/s (median) | time |",
        "|---|---|---|" + "---|" * len(cols) + "---|---|",
    ]
    for name, r in rows.items():
        per = " | ".join(f"{r['val_by_collection'].get(c, float('nan')):.3f}" for c in cols)
        lines.append(
            f"| {name} | {r['params']:,} | **{r['val_bpc']:.3f}** | {per} | "
            f"{r['chars_per_s_median']:,.0f} | {r['train_seconds'] / 60:.1f} min |"
        )
    (RESULTS / "sweep.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="runs/sweep")
    ap.add_argument("--budget", type=int, default=1_024_000, help="training characters each")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", nargs="+", choices=list(CANDIDATES), default=list(CANDIDATES))
    ap.add_argument("--report-only", action="store_true")
    args = ap.parse_args()
    out = Path(args.out)
    if not args.report_only:
        t0 = time.monotonic()
        with ThreadPoolExecutor(args.jobs) as pool:
            list(pool.map(lambda n: run_one(n, out, args.budget), args.only))
        print(f"sweep took {(time.monotonic() - t0) / 60:.1f} min", file=sys.stderr)
    report(out, args.budget, args.only)


if __name__ == "__main__":
    main()
