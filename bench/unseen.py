"""Bits/char on collections no model trained or was tuned on: the independent evaluation.

The ABC collections of the music21 corpus other than essenFolksong (README, "Training"; the
training loader refuses them): O'Neill's 1850 (Irish dance tunes, the same tradition as
irish.abc and ryans_mammoth), the Nottingham sample and Josquin (Renaissance part-songs, far
from the training data). Each is cleaned exactly as the training data (``--clean all``) and
every tune is scored, not a split. A tune with a character that some model does not know is
left out for all of them, so every model is scored on the same characters (the count left out
is printed). Scored with onnxruntime, the state carried over the collection's stream
(bench/models.py's ``stream_bpc``). This script only reports: no model was chosen by it.

    nice python bench/unseen.py --model old=runs/old_tunes.onnx \\
        --model shipped=exported/tunes.onnx --write
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import onnxruntime as ort  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import write_block  # noqa: E402
from bench.models import stream_bpc  # noqa: E402
from livernn.contract import ModelMeta  # noqa: E402
from training.clean import CleanOptions  # noqa: E402
from training.corpus import join_docs, load_corpus, music21_collection  # noqa: E402

COLLECTIONS = ("oneills1850", "nottingham-dataset", "josquin")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", required=True, metavar="NAME=PATH")
    ap.add_argument("--collections", nargs="+", default=list(COLLECTIONS))
    ap.add_argument("--write", action="store_true", help="put the table in BENCHMARKS.md")
    args = ap.parse_args()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    sessions = {}
    for spec in args.model:
        name, path = spec.split("=", 1)
        sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        meta = ModelMeta.from_props(dict(sess.get_modelmeta().custom_metadata_map))
        sessions[name] = (sess, meta)
    known = set.intersection(*(set(m.vocab.chars) for _, m in sessions.values()))
    rows: dict[str, dict] = {}
    for coll in args.collections:
        docs = load_corpus([str(music21_collection(coll))], CleanOptions.all()).docs
        kept = [d for d in docs if set(d) <= known]
        text = join_docs(kept)
        rows[coll] = {
            "tunes": len(docs),
            "scored_tunes": len(kept),
            "chars": len(text),
            "bpc": {n: stream_bpc(s, m, text) for n, (s, m) in sessions.items()},
        }
    names = list(sessions)
    lines = [
        "| collection | tunes scored (of) | chars | " + " | ".join(names) + " |",
        "|---|---|---|" + "---|" * len(names),
    ]
    for coll, r in rows.items():
        cells = " | ".join(f"{r['bpc'][n]:.3f}" for n in names)
        lines.append(
            f"| {coll} | {r['scored_tunes']:,} ({r['tunes']:,}) | {r['chars']:,} | {cells} |"
        )
    table = "\n".join(lines)
    print(table)
    out = ROOT / "bench" / "results" / "unseen.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(rows, indent=1))
    if args.write:
        cmd = "nice python bench/unseen.py " + " ".join(f"--model {m}" for m in args.model)
        write_block(
            "<!-- bench:unseen:begin -->",
            "<!-- bench:unseen:end -->",
            f"`{cmd} --write`\n\n{table}",
            "Collections never trained on (issue 15)",
        )


if __name__ == "__main__":
    main()
