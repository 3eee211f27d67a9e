"""The README's fine-tuning recipe, run as written and measured (issue 15).

    nice python bench/finetune.py --write      # BENCHMARKS.md "Fine-tuning on your own tunebook"

The tunebook: 50 tunes of airds_airs.abc that the shipped model never trained on (they are in
its held-out split, seed 0), written to OUT/my_tunes.abc as a user's own file would be. Then
the README's command fine-tunes ``exported/tunes.pt`` on it (which holds out 5 of the 50, by
tune), and this script reports the validation bits/char on those 5 tunes before fine-tuning
(the shipped model) and after, and the wall time on this machine's two cores.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import TRAINING_DATA, write_block  # noqa: E402
from training.clean import CleanOptions  # noqa: E402
from training.corpus import load_corpus  # noqa: E402

BEGIN, END = "<!-- bench:finetune:begin -->", "<!-- bench:finetune:end -->"
#: The README's command, with OUT for the run folder (keep the two the same).
RECIPE = (
    "python -m livernn train --init exported/tunes.pt --corpus {book} --out {run} "
    "--lr 3e-4 --warmup-steps 10 --batch-size 16 --steps-per-epoch 5 --patience 4 "
    "--max-minutes 5 --threads 2"
)


def tunebook(path: Path, n: int = 50) -> Path:
    split = load_corpus(TRAINING_DATA, CleanOptions.all()).split_by_tune(0.1, seed=0)
    held = split.val_by_collection()["airds_airs"][:n]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n\n".join(held) + "\n", encoding="utf-8")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="runs/finetune")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    out = Path(args.out)
    book = tunebook(out / "my_tunes.abc")
    run = out / "run"
    cmd = RECIPE.format(book=book, run=run)
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, *shlex.split(cmd)[1:], "--quiet"], capture_output=True, text=True
    )
    wall = time.monotonic() - t0
    if proc.returncode:
        sys.exit(proc.stderr)
    line = proc.stdout.strip().splitlines()[-1]
    m = re.search(r"best validation ([\d.]+) bits/char \(([\d.]+) before fine-tuning\)", line)
    assert m, line
    after, before = float(m.group(1)), float(m.group(2))
    history = json.loads((run / "history.json").read_text())
    res = {
        "command": cmd,
        "before_bpc": before,
        "after_bpc": after,
        "wall_seconds": wall,
        "epochs": len(history),
        "chars": history[-1]["tokens"],
    }
    (ROOT / "bench" / "results" / "finetune.json").write_text(json.dumps(res, indent=1))
    block = (
        f"`nice python bench/finetune.py --write` runs the README's recipe:\n\n"
        f"```bash\n{cmd}\n```\n\n"
        f"| tunebook | held out | before (shipped model) | after | epochs | characters | "
        f"wall time |\n|---|---|---|---|---|---|---|\n"
        f"| 50 held-out airds_airs tunes | 5 tunes | {before:.3f} bits/char | "
        f"**{after:.3f}** bits/char | {len(history)} | {history[-1]['tokens']:,} | "
        f"{wall / 60:.1f} min |"
    )
    print(block)
    if args.write:
        write_block(BEGIN, END, block, "Fine-tuning on your own tunebook")


if __name__ == "__main__":
    main()
