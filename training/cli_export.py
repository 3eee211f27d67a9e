"""``livernn export CKPT --out MODEL.onnx`` (needs the [train] extra).

Writes the ONNX file of ``livernn/contract.py`` with all ``livernn.*`` metadata, runs
``onnx.checker`` and the parity check (onnxruntime vs PyTorch vs the numpy reference). The
options are ``ExportConfig``'s fields (``training/config.py``).
"""

from __future__ import annotations

import argparse

from livernn.errors import ConfigError
from training.config import ExportConfig, add_options, from_args


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_options(p, ExportConfig)


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

    cfg = from_args(ExportConfig, args)
    path, parity = export_checkpoint(cfg.checkpoint, cfg.out, check=cfg.check, int8=cfg.int8)
    size = path.stat().st_size / 1e6
    if cfg.pt:
        from training.finetune import slim_checkpoint

        pt = slim_checkpoint(cfg.checkpoint, cfg.pt)
        print(f"wrote {pt} ({pt.stat().st_size / 1e6:.1f} MB) for train --init")
    if cfg.int8:
        print(
            f"exported {path} ({size:.1f} MB, int8); float MatMul graph parity "
            f"{parity.get('float_graph_vs_torch', float('nan')):.2e}, int8 max abs logit "
            f"difference {parity['int8_vs_torch']:.3f}"
        )
    elif parity:
        worst = max(parity.values())
        print(f"exported {path} ({size:.1f} MB); parity ok, max abs difference {worst:.2e}")
    else:
        print(f"exported {path} ({size:.1f} MB); parity check skipped")
    return 0
