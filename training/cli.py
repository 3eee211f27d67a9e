"""``livernn train``: train a character model on ABC or any UTF-8 text (needs the [train] extra).

The options are ``ModelConfig``'s and ``TrainConfig``'s fields (``training/config.py``, their
single declaration), plus ``--export``. torch is imported inside ``run`` only, so
``livernn --help`` works without it.
"""

from __future__ import annotations

import argparse
import logging

from livernn.errors import ConfigError
from training.config import ModelConfig, TrainConfig, add_options, from_args

GROUPS = ("model", "data", "optimisation", "run")


def add_arguments(p: argparse.ArgumentParser) -> None:
    groups = {name: p.add_argument_group(name) for name in GROUPS}
    add_options(p, ModelConfig, groups)
    add_options(p, TrainConfig, groups)
    groups["run"].add_argument(
        "--export", metavar="MODEL.onnx", help="export best.pt here when done"
    )
    # None = not given: a fine-tuning run (--init) then keeps the base model's dropout (a
    # different one shifts what its layers learned to expect; bench/finetune.py measured worse)
    p.set_defaults(dropout=None)


def run(args: argparse.Namespace) -> int:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise ConfigError(
            "'livernn train' needs the [train] extra: pip install -e '.[train]'"
        ) from None
    from training.train import train

    if not args.quiet:
        logging.getLogger("training").setLevel(logging.INFO)
    dropout_given = args.dropout is not None
    mcfg = from_args(ModelConfig, args, vocab_size=1).validate()
    cfg = from_args(TrainConfig, args).validate()
    result = train(cfg, mcfg if dropout_given or not cfg.init else None)
    before = (
        f" ({result.init_val_bpc:.4f} before fine-tuning)"
        if cfg.init and result.init_val_bpc == result.init_val_bpc
        else ""
    )
    print(
        f"best validation {result.best_val_bpc:.4f} bits/char{before} after "
        f"{result.tokens_seen:,} characters ({result.steps} steps, {result.seconds:.0f} s): "
        f"{result.best_path}" + (" [interrupted]" if result.interrupted else "")
    )
    if args.export and result.best_path.is_file():
        from training.export import export_checkpoint

        path, parity = export_checkpoint(result.best_path, args.export)
        print(f"exported {path} (parity max abs diff {max(parity.values()):.2e})")
    return 130 if result.interrupted else 0
