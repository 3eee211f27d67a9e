"""``livernn export CKPT --out MODEL.onnx`` (needs the [train] extra).

Writes the ONNX contract of DESIGN.md with all ``livernn.*`` metadata, runs ``onnx.checker``
and the parity check (onnxruntime vs PyTorch vs the numpy reference).
"""

from __future__ import annotations

import argparse

from livernn.errors import ConfigError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="a best.pt / latest.pt from train")
    p.add_argument("--out", required=True, metavar="MODEL.onnx")
    p.add_argument("--no-check", action="store_true", help="skip the parity check")


def run(args: argparse.Namespace) -> int:
    try:
        import onnx  # noqa: F401
        import torch  # noqa: F401
    except ImportError as e:
        raise ConfigError(
            f"'livernn export' needs the [train] extra ({e.name} is missing): "
            "pip install -e '.[train]'"
        ) from None
    from training.export import export_checkpoint

    path, parity = export_checkpoint(args.checkpoint, args.out, check=not args.no_check)
    size = path.stat().st_size / 1e6
    if parity:
        worst = max(parity.values())
        print(f"exported {path} ({size:.1f} MB); parity ok, max abs difference {worst:.2e}")
    else:
        print(f"exported {path} ({size:.1f} MB); parity check skipped")
    return 0
