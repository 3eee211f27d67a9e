"""Fine-tuning a trained model on your own tunebook (``train --init``, ``--train-layers``),
the shipped checkpoint (``export --pt``), and the int8 variant (``export --int8``).

Real torch training and real onnxruntime sessions on the tiny fixture model (tests/conftest.py).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs the [train] extra (torch)")

from livernn.cli import main  # noqa: E402
from livernn.errors import ConfigError, CorpusError  # noqa: E402
from livernn.model import OnnxModel  # noqa: E402
from livernn.paths import BUILTIN_CORPUS  # noqa: E402
from training.checkpoint import load_checkpoint, model_from_checkpoint  # noqa: E402
from training.export import export_checkpoint  # noqa: E402
from training.quantize import K_QUANTIZED  # noqa: E402
from training.train import TrainConfig, train  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
MISC = REPO.parent / "shared" / "data" / "misc_folk.abc"


def _tunebook(tmp_path: Path, n: int = 50) -> Path:
    """A user's own tunebook: ``n`` tunes of irish.abc's style, as one file."""
    text = BUILTIN_CORPUS.read_text(encoding="utf-8")
    tunes = [t for t in text.split("\n\n") if t.startswith("X:")][-n:]
    path = tmp_path / "my_tunes.abc"
    path.write_text("\n\n".join(tunes) + "\n", encoding="utf-8")
    return path


def _cfg(out: Path, corpus: Path, **kw) -> TrainConfig:
    base = dict(
        corpus=(str(corpus),), out=str(out), batch_size=16, seq_len=64, lr=3e-3, warmup_steps=2,
        max_steps=20, epochs=100, steps_per_epoch=10, patience=0, sample_chars=0, plot=False,
        quiet=True, threads=1, seed=0,
    )  # fmt: skip
    base.update(kw)
    return TrainConfig(**base)


def test_slim_checkpoint_is_weights_only_and_fine_tunes(tiny_run, tmp_path: Path) -> None:
    pt = tmp_path / "tunes.pt"
    from training.finetune import slim_checkpoint

    slim_checkpoint(tiny_run.best_path, pt)
    ck = load_checkpoint(pt)  # weights_only=True inside
    assert "optimizer" not in ck
    assert pt.stat().st_size < tiny_run.best_path.stat().st_size
    base_model, base_vocab = model_from_checkpoint(ck)

    book = _tunebook(tmp_path)
    res = train(_cfg(tmp_path / "ft", book, init=str(pt)))
    tuned = load_checkpoint(res.best_path)
    assert tuned["vocab"] == list(base_vocab.chars)  # the vocabulary is kept
    assert tuned["model_config"] == ck["model_config"]
    # it starts from the base weights: its first validation is near the base model's on the
    # same held-out tunes, far below an untrained model's log2(V)
    assert res.history[0]["val_bpc"] < math.log2(len(base_vocab)) - 1.5
    assert res.best_val_bpc <= res.history[0]["val_bpc"]


def test_fine_tuning_keeps_the_shape_and_takes_this_runs_dropout(tiny_run, tmp_path: Path):
    from training.config import ModelConfig

    base = load_checkpoint(tiny_run.best_path)["model_config"]
    asked = ModelConfig(vocab_size=1, layers=5, hidden=7, dropout=0.4)  # shape flags: ignored
    res = train(_cfg(tmp_path / "ft", _tunebook(tmp_path), init=str(tiny_run.best_path)), asked)
    tuned = load_checkpoint(res.best_path)["model_config"]
    assert tuned == {**base, "dropout": 0.4} and base["dropout"] != 0.4
    # on the command line without --dropout: the base model's, not the default of a new model
    book, out = _tunebook(tmp_path), tmp_path / "cli"
    argv = ["train", "--init", str(tiny_run.best_path), "--corpus", str(book), "--out", str(out),
            "--max-steps", "2", "--steps-per-epoch", "2", "--batch-size", "4", "--seq-len", "32",
            "--no-plot", "--quiet", "--sample-chars", "0", "--threads", "1"]  # fmt: skip
    assert main(argv) == 0
    assert load_checkpoint(out / "best.pt")["model_config"] == base
    assert main([*argv[:6], str(tmp_path / "cli2"), *argv[7:], "--dropout", "0.25"]) == 0
    assert load_checkpoint(tmp_path / "cli2" / "best.pt")["model_config"]["dropout"] == 0.25


def test_train_layers_freezes_the_embedding_and_the_lower_layers(tiny_run, tmp_path: Path):
    book = _tunebook(tmp_path)
    res = train(_cfg(tmp_path / "ft", book, init=str(tiny_run.best_path), train_layers=1))
    before = load_checkpoint(tiny_run.best_path)["model"]
    after = load_checkpoint(res.latest_path)["model"]
    for name, w in before.items():
        same = torch.equal(w, after[name])
        trained = name.startswith("head.") or name.endswith("_l1")  # 2 layers: the top one
        assert same is not trained, name


def test_a_character_the_base_model_lacks_is_a_clear_error(tiny_run, tmp_path: Path) -> None:
    book = tmp_path / "odd.abc"
    book.write_text("X:1\nT:Straße €\nK:G\nABcd|\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="does not know") as e:
        train(_cfg(tmp_path / "ft", book, init=str(tiny_run.best_path), max_steps=1))
    assert "'ß'" in str(e.value) and "'€'" in str(e.value) and "\n" not in str(e.value)


def test_init_flag_errors_are_one_line(tiny_run, tmp_path: Path, capsys) -> None:
    with pytest.raises(ConfigError, match="needs --init"):
        _cfg(tmp_path, BUILTIN_CORPUS, train_layers=1).validate()
    with pytest.raises(ConfigError, match="give one"):
        _cfg(tmp_path, BUILTIN_CORPUS, init="a.pt", resume="auto").validate()
    rc = main(
        ["train", "--corpus", str(BUILTIN_CORPUS), "--out", str(tmp_path / "r"),
         "--init", str(tiny_run.best_path), "--train-layers", "5", "--max-steps", "1"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and "has 2 layers" in err and err.count("\n") == 1


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_int8_export_is_quantised_loadable_and_close(tiny_run, tmp_path: Path, cell: str) -> None:
    onnx = pytest.importorskip("onnx")
    if cell == "gru":
        ckpt = tiny_run.best_path
    else:
        from training.model import ModelConfig

        res = train(
            _cfg(tmp_path / "lstm", BUILTIN_CORPUS, max_steps=10),
            ModelConfig(vocab_size=1, cell="lstm", layers=2, hidden=32, embedding=16, dropout=0),
        )
        ckpt = res.best_path
    fp, _ = export_checkpoint(ckpt, tmp_path / "f.onnx")
    q, fig = export_checkpoint(ckpt, tmp_path / "q.onnx", int8=True)
    proto = onnx.load(str(q))
    assert dict((p.key, p.value) for p in proto.metadata_props)[K_QUANTIZED].startswith("int8")
    if cell == "gru":
        assert fig["float_graph_vs_torch"] < 1e-4  # the MatMul/Scan graph is the same GRU
        assert fig["quantized_matmuls"] == 2 * 2 + 1  # input and recurrent per layer, output
    a = OnnxModel(fp, voices=1)
    b = OnnxModel(q, voices=1)
    assert a.vocab == b.vocab and a.meta.layers == b.meta.layers
    text = "X:1\nT:Test\nM:6/8\nK:D\nABc def|"
    la = a.prefill(0, text)
    lb = b.prefill(0, text)
    for _ in range(20):  # and stepping keeps them together
        nxt = int(np.argmax(la))
        la, lb = a.step(np.array([nxt]))[0], b.step(np.array([nxt]))[0]
    pa = np.exp(la - la.max()) / np.exp(la - la.max()).sum()
    pb = np.exp(lb - lb.max()) / np.exp(lb - lb.max()).sum()
    assert 0.5 * np.abs(pa - pb).sum() < 0.05  # total variation of the next-char distribution
    assert fig["int8_vs_torch"] > 0  # it is not the float model under another name


def test_cli_export_int8_and_pt(tiny_run, tmp_path: Path, capsys) -> None:
    rc = main(
        ["export", str(tiny_run.best_path), "--out", str(tmp_path / "q.onnx"), "--int8",
         "--pt", str(tmp_path / "m.pt")]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0 and "int8" in out and "for train --init" in out
    assert (tmp_path / "q.onnx").is_file() and load_checkpoint(tmp_path / "m.pt")


def test_the_readme_recipe_is_the_one_bench_finetune_measures() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_finetune", REPO / "bench/finetune.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)  # type: ignore[union-attr]
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("### Fine-tune the shipped model", 1)[1].split("```bash\n", 1)[1]
    command = " ".join(block.split("\n")[:3]).replace("\\", " ")
    assert " ".join(command.split()) == bench.RECIPE.format(book="my_tunes.abc", run="runs/mine")
