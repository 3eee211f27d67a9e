"""ONNX export: the docs/DESIGN.md file contract, metadata, and three-way parity.

onnxruntime, PyTorch and the numpy reference (the seeds' GRU math) must agree to 1e-4 for every
cell type, B in {1, 4}, T in {1, 17}. Real torch, real export, real onnxruntime sessions.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs the [train] extra (torch)")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from livernn.errors import ModelError  # noqa: E402
from livernn.vocab import Vocab  # noqa: E402
from training import reference  # noqa: E402
from training.export import export_model, metadata, parity_check  # noqa: E402
from training.model import CharRNN, ModelConfig  # noqa: E402

REQUIRED = ("format", "vocab", "cell", "layers", "hidden", "corpus", "val_bpc", "tokens_seen")


def _props(path: Path) -> dict[str, str]:
    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


def _export(tmp_path: Path, cell: str, layers: int = 2, hidden: int = 12, seed: int = 0):
    torch.manual_seed(seed)
    vocab = Vocab(list("\nX:1K|abcdefgABCDEFG "))
    model = CharRNN(
        ModelConfig(vocab_size=len(vocab), cell=cell, layers=layers, hidden=hidden, embedding=5)
    ).eval()
    with torch.no_grad():  # larger weights than the default init make the parity test sharper
        for p in model.parameters():
            p.mul_(3.0)
    meta = metadata(model, vocab, corpus="test", val_bpc=1.5, tokens_seen=123, clean="{}")
    return model, vocab, export_model(model, vocab, tmp_path / f"{cell}.onnx", meta)


@pytest.mark.parametrize("cell", ["gru", "lstm", "rnn"])
def test_parity_onnxruntime_torch_and_numpy_reference(tmp_path: Path, cell: str) -> None:
    model, _, path = _export(tmp_path, cell)
    worst = parity_check(model, path)  # B in {1, 4} x T in {1, 17}; raises above 1e-4
    assert set(worst) == {"ort_vs_torch", "ref_vs_torch", "ref_vs_ort"}
    assert max(worst.values()) <= 1e-4


@pytest.mark.parametrize("cell", ["gru", "lstm", "rnn"])
def test_graph_follows_the_contract(tmp_path: Path, cell: str) -> None:
    model, vocab, path = _export(tmp_path, cell, layers=3, hidden=7)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    S = 14 if cell == "lstm" else 7

    def dims(v):
        t = v.type.tensor_type
        return t.elem_type, [d.dim_param or d.dim_value for d in t.shape.dim]

    ins = {v.name: dims(v) for v in proto.graph.input}
    outs = {v.name: dims(v) for v in proto.graph.output}
    F32, I64 = onnx.TensorProto.FLOAT, onnx.TensorProto.INT64
    assert ins == {"tokens": (I64, ["B", "T"]), "state": (F32, [3, "B", S])}
    assert outs["logits"] == (F32, ["B", "T", len(vocab)])
    assert outs["state_out"] == (F32, [3, "B", S])
    props = _props(path)
    for key in REQUIRED:
        assert f"livernn.{key}" in props, key
    assert Vocab.from_json(props["livernn.vocab"]) == vocab
    assert props["livernn.cell"] == cell and props["livernn.layers"] == "3"
    assert int(props["livernn.state_size"]) == S and props["livernn.format"] == "1"
    assert json.loads(props["livernn.config"])["embedding"] == 5
    # the parameter count is the model's, and the same as the graph's initializers
    n_init = sum(int(np.prod(t.dims)) for t in proto.graph.initializer)
    assert int(props["livernn.parameters"]) == model.num_params() == n_init


def test_prefill_equals_stepping_one_character_at_a_time(tmp_path: Path) -> None:
    _, vocab, path = _export(tmp_path, "gru")
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ids = vocab.encode("X:1\nK:G\n|abc|").reshape(1, -1)
    state0 = np.zeros((2, 1, 12), np.float32)
    logits, state = sess.run(None, {"tokens": ids, "state": state0})
    s = state0
    for t in range(ids.shape[1]):
        step_logits, s = sess.run(None, {"tokens": ids[:, t : t + 1], "state": s})
        np.testing.assert_allclose(step_logits[0, 0], logits[0, t], atol=1e-5)
    np.testing.assert_allclose(s, state, atol=1e-5)


def test_parity_check_can_fail(tmp_path: Path) -> None:
    model, _, path = _export(tmp_path, "gru")
    with torch.no_grad():
        model.rnn.weight_hh_l1[0, 0] += 0.5  # the ONNX file no longer matches the model
    with pytest.raises(ModelError, match="parity check failed"):
        parity_check(model, path)


def test_numpy_gru_step_matches_the_equations_by_hand() -> None:
    # one unit, one input: r, z, n written out as scalars
    x, h = np.array([[0.7]]), np.array([[-0.3]])
    w_ih = np.array([[0.5], [-1.0], [2.0]])  # r, z, n
    w_hh = np.array([[1.5], [0.25], [-0.75]])
    b_ih, b_hh = np.array([0.1, 0.2, 0.3]), np.array([-0.1, 0.05, 0.4])
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    r = sig(0.5 * 0.7 + 0.1 + 1.5 * -0.3 - 0.1)
    z = sig(-1.0 * 0.7 + 0.2 + 0.25 * -0.3 + 0.05)
    n = np.tanh(2.0 * 0.7 + 0.3 + r * (-0.75 * -0.3 + 0.4))
    expected = (1 - z) * n + z * -0.3
    got = reference.gru_cell(x, h, w_ih, w_hh, b_ih, b_hh)
    assert got.shape == (1, 1) and abs(got[0, 0] - expected) < 1e-12


def test_tiny_model_metadata_and_abc_output(tiny_model_path: Path) -> None:
    props = _props(tiny_model_path)
    assert 0 < float(props["livernn.val_bpc"]) < 3.5
    assert int(props["livernn.tokens_seen"]) > 100_000
    assert "irish.abc" in props["livernn.corpus"]
    assert json.loads(props["livernn.clean"])["eol_bang"] is True
    vocab = Vocab.from_json(props["livernn.vocab"])
    sess = ort.InferenceSession(str(tiny_model_path), providers=["CPUExecutionProvider"])
    texts = []
    for seed in (0, 1, 2):  # three tunes at T=0.7: robust to tiny numeric differences
        rng = np.random.default_rng(seed)
        state = np.zeros((2, 1, 32), np.float32)
        feed = {"tokens": vocab.encode("X:1\n").reshape(1, -1), "state": state}
        logits, state = sess.run(None, feed)
        out = []
        for _ in range(600):
            z = logits[0, -1] / 0.7
            p = np.exp(z - z.max())
            c = int(rng.choice(len(p), p=p / p.sum()))
            out.append(vocab.chars[c])
            logits, state = sess.run(None, {"tokens": np.array([[c]], np.int64), "state": state})
        texts.append("X:1\n" + "".join(out))
    assert sum("K:" in t and "M:" in t for t in texts) >= 2, texts
    assert all(t.count("|") >= 10 for t in texts), texts


def test_random_model_is_uniform(random_model_path: Path, tiny_model_path: Path) -> None:
    props = _props(random_model_path)
    assert props["livernn.vocab"] == _props(tiny_model_path)["livernn.vocab"]
    V = len(json.loads(props["livernn.vocab"]))
    sess = ort.InferenceSession(str(random_model_path), providers=["CPUExecutionProvider"])
    ids = np.random.default_rng(1).integers(0, V, size=(3, 20))
    logits, _ = sess.run(None, {"tokens": ids, "state": np.zeros((2, 3, 32), np.float32)})
    assert logits.shape == (3, 20, V)
    p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    np.testing.assert_allclose(p, 1.0 / V, atol=1e-6)
    assert abs(float(props["livernn.val_bpc"]) - np.log2(V)) < 1e-3


def test_livernn_generate_on_the_tiny_model_prints_abc(tiny_model_path: Path, capsys) -> None:
    from livernn.cli import main

    args = ["generate", "--model", str(tiny_model_path), "--seed", "X:1\\n", "--length", "800"]
    texts = []
    for seed in ("0", "1", "2"):
        assert main([*args, "--temperature", "0.7", "--rng-seed", seed]) == 0
        texts.append(capsys.readouterr().out)
    assert all(t.startswith("X:1\n") and t.count("|") >= 10 for t in texts), texts
    assert any("K:" in t for t in texts), texts
    # a seed character the model does not know: one line naming it
    assert (
        main(["generate", "--model", str(tiny_model_path), "--seed", "X:1 €", "--length", "5"]) == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("livernn: error:") and "'€'" in err and err.count("\n") == 1


def test_train_and_export_without_torch_say_which_extra(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['torch'] = None; sys.modules['onnx'] = None\n"
        "from livernn.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    for argv in (
        ["train", "--corpus", "x.abc", "--out", str(tmp_path)],
        ["export", "c.pt", "--out", "m.onnx"],
    ):
        r = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True)
        assert r.returncode == 2
        assert r.stderr.startswith("livernn: error:") and "[train] extra" in r.stderr
        assert r.stderr.count("\n") == 1, r.stderr
