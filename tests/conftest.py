"""Shared fixtures: small REAL models (real torch training, real ONNX export) for every test.

``tiny_model_path``: a 2x32 GRU trained for a few seconds on the committed data/irish.abc and
exported with the real exporter; it writes ABC-looking text (X:, K:, bar lines).
``random_model_path``: the same architecture and vocabulary with a zeroed output layer, so its
next-character distribution is uniform whatever the input.
Both need the [train] extra (torch); tests that use them are skipped without it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from livernn.paths import BUILTIN_CORPUS

TINY_STEPS = 150  # ~5 s on the 2-core CI machine


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory):
    """A finished tiny training run (``training.train.TrainResult``) on data/irish.abc."""
    pytest.importorskip("torch", reason="needs the [train] extra (torch)")
    from training.model import ModelConfig
    from training.train import TrainConfig, train

    out = tmp_path_factory.mktemp("tiny_run")
    cfg = TrainConfig(
        corpus=(str(BUILTIN_CORPUS),),
        out=str(out),
        batch_size=32,
        seq_len=64,
        lr=1e-2,
        warmup_steps=10,
        max_steps=TINY_STEPS,
        max_minutes=0.5,  # a safety cap on a very slow machine
        epochs=1,
        steps_per_epoch=TINY_STEPS,
        patience=0,
        val_chars=5000,
        sample_chars=0,
        plot=False,
        quiet=True,
        threads=1,  # the tiny model is fastest on one thread; no contention on a shared CPU
        seed=0,
    )
    mcfg = ModelConfig(vocab_size=1, cell="gru", layers=2, hidden=32, embedding=16, dropout=0.0)
    return train(cfg, mcfg)


@pytest.fixture(scope="session")
def tiny_model_path(tiny_run, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny GRU trained for a few seconds on data/irish.abc, exported to ONNX."""
    from training.export import export_checkpoint

    path, _ = export_checkpoint(tiny_run.best_path, tmp_path_factory.mktemp("tiny") / "tiny.onnx")
    return path


@pytest.fixture(scope="session")
def random_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model whose logits are all zero (uniform over the irish.abc vocabulary)."""
    pytest.importorskip("torch", reason="needs the [train] extra (torch)")
    import torch

    from livernn.vocab import Vocab
    from training.corpus import CleanOptions, join_docs, load_corpus
    from training.export import export_model, metadata
    from training.model import CharRNN, ModelConfig

    corpus = load_corpus(str(BUILTIN_CORPUS), CleanOptions.all())
    vocab = Vocab.from_text(list(corpus.docs) + [join_docs(corpus.docs[:1])])
    torch.manual_seed(0)
    model = CharRNN(
        ModelConfig(
            vocab_size=len(vocab), cell="gru", layers=2, hidden=32, embedding=16, dropout=0.0
        )
    )
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.zero_()
    meta = metadata(
        model,
        vocab,
        corpus="uniform random (zeroed output layer)",
        val_bpc=float(torch.log2(torch.tensor(float(len(vocab))))),
        tokens_seen=0,
        clean=corpus.clean.to_json(),
    )
    return export_model(model, vocab, tmp_path_factory.mktemp("random") / "random.onnx", meta)
