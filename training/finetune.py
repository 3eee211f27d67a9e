"""Fine-tuning a trained model on a new corpus (``livernn train --init CKPT``).

The base checkpoint brings its weights, model config and vocabulary; the vocabulary is kept
as it is, so the fine-tuned model is a drop-in for the base one. A corpus with a character the
base model lacks is refused with the characters named (the embedding is not grown: a new row
would start untrained, and the runtime's constraint tables are built from the vocabulary).
``--train-layers N`` trains only the top N recurrent layers and the output layer; the
embedding and the layers below stay as they were. ``slim_checkpoint`` writes the checkpoint
that ships beside a model (``exported/tunes.pt``): no optimiser state, ``weights_only``.
See docs/DESIGN.md, "Training".
"""

from __future__ import annotations

import logging
from pathlib import Path

from torch import nn

from livernn.errors import ConfigError, CorpusError
from livernn.vocab import Vocab
from training.checkpoint import load_checkpoint, save_checkpoint
from training.config import TrainConfig
from training.corpus import DOC_SEP, Corpus

log = logging.getLogger(__name__)


def init_checkpoint(cfg: TrainConfig, corpus: Corpus) -> dict:
    """The ``--init`` checkpoint, checked against the corpus's characters."""
    base = load_checkpoint(cfg.init)
    vocab = Vocab(base["vocab"])
    known = set(vocab.chars)
    missing: dict[str, int] = {}
    for doc in corpus.docs:
        for ch in set(doc + DOC_SEP) - known:
            missing[ch] = missing.get(ch, 0) + doc.count(ch)
    if missing:
        shown = ", ".join(f"{ch!r} ({n}x)" for ch, n in sorted(missing.items())[:8])
        raise CorpusError(
            f"the corpus has {len(missing)} character(s) that {cfg.init} does not know: {shown}; "
            "the base vocabulary is kept, so remove or replace them (or train a new model)"
        )
    layers = int(base["model_config"]["layers"])
    if cfg.train_layers > layers:
        raise ConfigError(f"--train-layers {cfg.train_layers}: {cfg.init} has {layers} layers")
    return base


def freeze_below(model: nn.Module, top: int) -> None:
    """Train only the top ``top`` recurrent layers and the output layer of ``model``."""
    layers = model.cfg.layers  # type: ignore[attr-defined]
    keep = {f"_l{k}" for k in range(layers - top, layers)}
    for name, p in model.named_parameters():
        if name.startswith("rnn."):
            p.requires_grad = any(name.endswith(s) or name.endswith(s + "_reverse") for s in keep)
        elif not name.startswith("head."):
            p.requires_grad = False
    n = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log.info("training the top %d of %d layers and the output: %d parameters", top, layers, n)


def slim_checkpoint(src: str | Path, dst: str | Path) -> Path:
    """``src`` without its optimiser state: the checkpoint shipped for ``--init``."""
    ck = load_checkpoint(src)
    ck.pop("optimizer", None)
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(dst, ck)
    return dst
