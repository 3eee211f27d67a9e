"""Checkpoints: ``latest.pt`` / ``best.pt`` that carry their own config, vocabulary and history.

Written atomically; read back with ``torch.load(weights_only=True)``, so a checkpoint never
unpickles code. ``livernn export`` reads checkpoints through this module, not the loop.
"""

from __future__ import annotations

import json
import os
import pickle
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from livernn.errors import ModelError
from livernn.vocab import Vocab
from training.config import ModelConfig, TrainConfig
from training.corpus import Corpus
from training.model import CharRNN

CKPT_FORMAT = 1


def save_checkpoint(path: Path, payload: dict) -> None:
    """Write ``payload`` to ``path`` through a temporary file (never a half-written file)."""
    tmp = path.with_suffix(".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path) -> dict:
    """A checkpoint written by ``train`` (``weights_only=True``: never unpickles code)."""
    p = Path(path)
    if not p.is_file():
        raise ModelError(f"checkpoint {str(p)!r} does not exist")
    try:
        with warnings.catch_warnings():  # a foreign pickle warns before failing: one line
            warnings.simplefilter("ignore")
            ck = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # torch's own text advises weights_only=False: never
        raise ModelError(
            f"{str(p)!r} is not a livernn checkpoint (it holds Python objects, and livernn "
            "never unpickles code)"
        ) from None
    except Exception as e:  # torch raises many kinds for a bad file
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelError(f"cannot load checkpoint {str(p)!r}: {msg[:200]}") from None
    if not isinstance(ck, dict) or ck.get("format") != CKPT_FORMAT or "model_config" not in ck:
        raise ModelError(f"{str(p)!r} is not a livernn checkpoint")
    return ck


def model_from_checkpoint(ck: dict) -> tuple[CharRNN, Vocab]:
    """The model (in eval mode) and vocabulary of a loaded checkpoint."""
    cfg = ModelConfig.from_dict(ck["model_config"])
    vocab = Vocab(ck["vocab"])
    if len(vocab) != cfg.vocab_size:
        raise ModelError("checkpoint vocabulary does not match its model config")
    model = CharRNN(cfg)
    try:
        model.load_state_dict(ck["model"])
    except RuntimeError as e:
        detail = " ".join(str(e).split())  # one line
        raise ModelError(f"checkpoint weights do not fit its config: {detail[:300]}") from None
    return model.eval(), vocab


def make_payload(
    *,
    model: CharRNN,
    opt: torch.optim.Optimizer,
    cfg: TrainConfig,
    vocab: Vocab,
    corpus: Corpus,
    val_bpc: float,
    run: Any,
) -> dict:
    """What a checkpoint holds; ``run`` is the loop's ``RunState`` (step, tokens, history...)."""
    return {
        "format": CKPT_FORMAT,
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "optimizer": opt.state_dict(),
        "model_config": model.cfg.to_dict(),
        "train_config": json.dumps(asdict(cfg)),
        "vocab": list(vocab.chars),
        "corpus": corpus.describe(),
        "clean": corpus.clean.to_json(),
        "val_bpc": float(val_bpc),
        "best_val_bpc": float(min(run.best_val, val_bpc)),
        "tokens_seen": int(run.tokens),
        "step": int(run.step),
        "epoch": int(run.epoch),
        "bad_epochs": int(run.bad_epochs),
        "seconds": float(run.seconds),
        "history": json.dumps(run.history),
    }
