"""``livernn train``: train a character model on ABC or any UTF-8 text (needs the [train] extra).

torch is imported inside ``run`` only, so ``livernn --help`` works without it.
"""

from __future__ import annotations

import argparse
import logging

from livernn.errors import ConfigError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--corpus",
        nargs="+",
        required=True,
        metavar="PATH",
        help="files, folders (recursive .abc/.txt) or globs (** recursive)",
    )
    p.add_argument("--out", required=True, metavar="RUN_DIR", help="checkpoints, plot, samples")
    g = p.add_argument_group("model")
    g.add_argument("--cell", default="gru", help="gru (default), lstm or rnn")
    g.add_argument("--layers", type=int, default=3)
    g.add_argument("--hidden", type=int, default=512)
    g.add_argument("--embedding", type=int, default=64)
    g.add_argument("--dropout", type=float, default=0.3, help="on layer inputs and outputs")
    g = p.add_argument_group("data")
    g.add_argument(
        "--clean",
        default="all",
        help="ABC cleaning: all (default), none, or a comma list of "
        "headers,eol_bang,quotes,decorations,comments",
    )
    g.add_argument(
        "--text-split",
        default="blank",
        choices=("blank", "file"),
        help="plain text: one document per blank-line block or per file",
    )
    g.add_argument("--val-fraction", type=float, default=0.1, help="tunes held out (by tune)")
    g.add_argument(
        "--batching",
        default="random",
        choices=("random", "stateful"),
        help="random windows, or stateful truncated BPTT carrying the state",
    )
    g = p.add_argument_group("optimisation")
    g.add_argument("--batch-size", type=int, default=64)
    g.add_argument("--seq-len", type=int, default=128)
    g.add_argument("--lr", type=float, default=2e-3)
    g.add_argument("--optimizer", default="adamw", choices=("adamw", "adam"))
    g.add_argument("--schedule", default="cosine", choices=("cosine", "constant"))
    g.add_argument("--warmup-steps", type=int, default=50)
    g.add_argument("--weight-decay", type=float, default=0.01)
    g.add_argument("--grad-clip", type=float, default=1.0, help="max gradient norm")
    g.add_argument("--epochs", type=int, default=30)
    g.add_argument("--steps-per-epoch", type=int, default=0, help="0 = one pass over the data")
    g.add_argument("--max-steps", type=int, default=0)
    g.add_argument("--max-minutes", type=float, default=0.0, help="time budget (0 = none)")
    g.add_argument("--max-chars", type=int, default=0, help="character budget (0 = none)")
    g.add_argument("--patience", type=int, default=5, help="early stopping (0 = off)")
    g.add_argument("--val-chars", type=int, default=0, help="cap validation (0 = all)")
    g = p.add_argument_group("run")
    g.add_argument("--device", default="auto", help="auto, cpu or cuda")
    g.add_argument("--amp", default="auto", choices=("auto", "bf16", "fp16", "off"))
    g.add_argument("--threads", type=int, default=0, help="CPU threads (0 = torch default)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument(
        "--resume",
        nargs="?",
        const="auto",
        default="",
        help="resume from RUN_DIR/latest.pt (or the checkpoint given)",
    )
    g.add_argument("--no-plot", action="store_true")
    g.add_argument("--sample-chars", type=int, default=300, help="sample size each epoch")
    g.add_argument("--export", metavar="MODEL.onnx", help="export best.pt here when done")
    g.add_argument("--quiet", action="store_true")


def run(args: argparse.Namespace) -> int:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise ConfigError(
            "'livernn train' needs the [train] extra: pip install -e '.[train]'"
        ) from None
    from training.model import ModelConfig
    from training.train import TrainConfig, train

    if not args.quiet:
        logging.getLogger("training").setLevel(logging.INFO)
    mcfg = ModelConfig(
        vocab_size=1,
        cell=args.cell,
        layers=args.layers,
        hidden=args.hidden,
        embedding=args.embedding,
        dropout=args.dropout,
    ).validate()
    cfg = TrainConfig(
        corpus=tuple(args.corpus),
        out=args.out,
        clean=args.clean,
        text_split=args.text_split,
        val_fraction=args.val_fraction,
        batching=args.batching,
        batch_size=args.batch_size,
        seq_len=args.seq_len,
        lr=args.lr,
        warmup_steps=args.warmup_steps,
        weight_decay=args.weight_decay,
        grad_clip=args.grad_clip,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        max_steps=args.max_steps,
        max_minutes=args.max_minutes,
        max_chars=args.max_chars,
        patience=args.patience,
        val_chars=args.val_chars,
        device=args.device,
        amp=args.amp,
        threads=args.threads,
        seed=args.seed,
        resume=args.resume,
        plot=not args.no_plot,
        sample_chars=args.sample_chars,
        quiet=args.quiet,
        optimizer=args.optimizer,
        schedule=args.schedule,
    ).validate()
    result = train(cfg, mcfg)
    print(
        f"best validation {result.best_val_bpc:.4f} bits/char after {result.tokens_seen:,} "
        f"characters ({result.steps} steps, {result.seconds:.0f} s): {result.best_path}"
        + (" [interrupted]" if result.interrupted else "")
    )
    if args.export and result.best_path.is_file():
        from training.export import export_checkpoint

        path, parity = export_checkpoint(result.best_path, args.export)
        print(f"exported {path} (parity max abs diff {max(parity.values()):.2e})")
    return 130 if result.interrupted else 0
