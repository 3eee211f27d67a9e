"""OnnxModel on real onnxruntime sessions: loading, validation, prefill, batched steps, state."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto

from livernn.errors import ConfigError, ModelError, VocabError
from livernn.info import count_parameters
from livernn.model import OnnxModel, cuda_available
from tests.onnx_gru import CHARS, param_count, save_gru

SEED = "X:1\nT:The Kesh\nM:6/8\nK:G\n|:GAG GAB|"


@pytest.fixture(scope="module")
def gru_path(tmp_path_factory) -> Path:
    return save_gru(tmp_path_factory.mktemp("onnx") / "gru.onnx", layers=2, hidden=16)


@pytest.fixture(scope="module")
def gru3_path(tmp_path_factory) -> Path:
    return save_gru(tmp_path_factory.mktemp("onnx") / "gru3.onnx", layers=3, hidden=24, seed=5)


@pytest.fixture(scope="module")
def trained_path(request) -> Path:
    """The training engineer's tiny exported model (real torch + real export)."""
    try:
        return request.getfixturevalue("tiny_model_path")
    except pytest.FixtureLookupError:
        pytest.skip("tiny_model_path fixture (tests/conftest.py) is not available")


# -- loading -------------------------------------------------------------------------------


def test_loads_a_good_model(gru_path):
    m = OnnxModel(gru_path, voices=3)
    assert m.meta.cell == "gru"
    assert (m.meta.layers, m.meta.hidden, m.meta.state_size) == (2, 16, 16)
    assert m.vocab.chars == tuple(CHARS)
    assert m.meta.format == 1 and m.meta.tokens_seen == 0 and np.isnan(m.meta.val_bpc)
    assert m.meta.props["livernn.embedding"] == "8"
    assert m.providers[0] == "CPUExecutionProvider" and m.device == "cpu"
    assert m.get_state().shape == (2, 3, 16)
    assert not m.get_state().any()


def test_count_parameters_reads_the_initializers(gru_path, gru3_path):
    assert count_parameters(gru_path) == param_count(2, 16, 8, len(CHARS))
    assert count_parameters(gru3_path) == param_count(3, 24, 8, len(CHARS))


def test_lstm_state_is_twice_hidden(tmp_path):
    # the graph is a GRU of width 16; metadata calling it an LSTM of hidden 8 is consistent
    p = save_gru(
        tmp_path / "l.onnx", hidden=16, metadata={"livernn.cell": "lstm", "livernn.hidden": "8"}
    )
    assert OnnxModel(p).meta.state_size == 16


def _text(p: Path, content: bytes) -> Path:
    p.write_bytes(content)
    return p


# (name, how to make the file in tmp_path, words the one-line message must contain)
BAD = [
    ("missing", lambda d: d / "nope.onnx", ["not found", "nope.onnx"]),
    ("directory", lambda d: d, ["is a directory"]),
    ("text", lambda d: _text(d / "t.onnx", b"hello, not a model\n"), ["not a loadable ONNX"]),
    ("empty", lambda d: _text(d / "e.onnx", b""), ["not a loadable ONNX"]),
    (
        "truncated",
        lambda d: _text(d / "tr.onnx", save_gru(d / "full.onnx").read_bytes()[:3000]),
        ["not a loadable ONNX"],
    ),
    (
        "no metadata",
        lambda d: save_gru(d / "m.onnx", drop_keys=tuple(_keys())),
        ["no livernn metadata"],
    ),
    (
        "missing key",
        lambda d: save_gru(d / "m.onnx", drop_keys=("livernn.corpus",)),
        ["missing livernn.corpus"],
    ),
    (
        "future format",
        lambda d: save_gru(d / "m.onnx", metadata={"livernn.format": "99"}),
        ["livernn.format 99", "not supported"],
    ),
    (
        "bad cell",
        lambda d: save_gru(d / "m.onnx", metadata={"livernn.cell": "transformer"}),
        ["livernn.cell 'transformer'"],
    ),
    (
        "vocab not json",
        lambda d: save_gru(d / "m.onnx", metadata={"livernn.vocab": "abc["}),
        ["livernn.vocab is invalid"],
    ),
    (
        "layers not int",
        lambda d: save_gru(d / "m.onnx", metadata={"livernn.layers": "two"}),
        ["livernn.layers 'two'", "not an integer"],
    ),
    (
        "state_size inconsistent",
        lambda d: save_gru(d / "m.onnx", metadata={"livernn.state_size": "32"}),
        ["livernn.state_size 32"],
    ),
    (
        "input name",
        lambda d: save_gru(d / "m.onnx", names=("ids", "state", "logits", "state_out")),
        ["no input named 'tokens'", "ids"],
    ),
    (
        "output name",
        lambda d: save_gru(d / "m.onnx", names=("tokens", "state", "scores", "state_out")),
        ["no output named 'logits'"],
    ),
    (
        "tokens dtype",
        lambda d: save_gru(d / "m.onnx", tokens_dtype=TensorProto.INT32),
        ["input 'tokens' is int32", "int64"],
    ),
    (
        "layers mismatch",
        lambda d: save_gru(d / "m.onnx", metadata={"livernn.layers": "3"}),
        ["axis 0 is 2", "layers 3"],
    ),
    (
        "hidden mismatch",
        lambda d: save_gru(d / "m.onnx", metadata={"livernn.hidden": "32"}),
        ["axis 2 is 16", "state size 32"],
    ),
    (
        "vocab mismatch (declared)",
        lambda d: save_gru(d / "m.onnx", vocab_out=len(CHARS) + 1),
        ["axis 2 is 86", "vocab size 85"],
    ),
    (
        "vocab mismatch (found by running)",
        lambda d: save_gru(d / "m.onnx", vocab_out=len(CHARS) - 3, dynamic_vocab=True),
        ["logits of shape [1, 1, 82]", "vocabulary size 85"],
    ),
]


def _keys() -> list[str]:
    from livernn.contract import REQUIRED_KEYS

    return [*REQUIRED_KEYS, "livernn.embedding"]


@pytest.mark.parametrize("make,words", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_rejects_bad_models_with_one_line(tmp_path, make, words):
    path = make(tmp_path)
    with pytest.raises(ModelError) as ei:
        OnnxModel(path)
    msg = str(ei.value)
    assert "\n" not in msg and len(msg) < 300, msg
    for w in words:
        assert w in msg, msg


def test_bad_options(gru_path):
    with pytest.raises(ConfigError, match="device"):
        OnnxModel(gru_path, device="tpu")
    with pytest.raises(ConfigError, match="voices"):
        OnnxModel(gru_path, voices=0)
    with pytest.raises(ConfigError, match="threads"):
        OnnxModel(gru_path, threads=0)


@pytest.mark.skipif(cuda_available(), reason="onnxruntime-gpu is installed here")
def test_cuda_without_onnxruntime_gpu_is_a_clear_error(gru_path):
    with pytest.raises(ModelError, match="onnxruntime-gpu"):
        OnnxModel(gru_path, device="cuda")
    assert OnnxModel(gru_path, device="auto").device == "cpu"


# -- prefill and step ------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["gru_path", "gru3_path", "trained_path"])
def test_prefill_equals_stepping_char_by_char(request, fixture):
    path = request.getfixturevalue(fixture)
    a = OnnxModel(path)
    b = OnnxModel(path)
    seed = SEED if set(SEED) <= set(a.vocab.chars) else "".join(a.vocab.chars[:20])
    la = a.prefill(0, seed)
    for c in seed:
        lb = b.step([b.vocab[c]])[0]
    assert la.shape == (len(a.vocab),) and la.dtype == np.float32
    np.testing.assert_allclose(la, lb, atol=2e-5, rtol=1e-4)
    np.testing.assert_allclose(a.get_state(0), b.get_state(0), atol=2e-5, rtol=1e-4)
    assert np.abs(a.get_state(0)).max() > 0


def test_prefill_continues_from_the_current_state(gru_path):
    a, b = OnnxModel(gru_path), OnnxModel(gru_path)
    a.prefill(0, SEED[:10])
    la = a.prefill(0, SEED[10:])
    lb = b.prefill(0, SEED)
    np.testing.assert_allclose(la, lb, atol=2e-5)
    a.reset()
    np.testing.assert_allclose(a.prefill(0, SEED), lb, atol=1e-6)


def test_prefill_errors_change_nothing(gru_path):
    m = OnnxModel(gru_path, voices=2)
    m.prefill(1, SEED)
    before = m.get_state()
    with pytest.raises(VocabError, match="'é'"):
        m.prefill(1, "abcé")
    with pytest.raises(ConfigError, match="empty"):
        m.prefill(1, "")
    with pytest.raises(ConfigError, match="voice 2 is out of range"):
        m.prefill(2, "abc")
    np.testing.assert_array_equal(m.get_state(), before)


def _single(path: Path, seed: str, ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    m = OnnxModel(path)
    m.prefill(0, seed)
    for i in ids:
        out = m.step([i])
    return out[0], m.get_state(0)


def test_batched_step_equals_each_voice_alone(gru3_path):
    seeds = ["X:1\n", "T:Reel\nK:D\n", "|:ABc", "dfed cBAG|"]
    m = OnnxModel(gru3_path, voices=4)
    for v, s in enumerate(seeds):
        m.prefill(v, s)
    ids = [[3, 30, 50, 60], [7, 8, 9, 10]]
    for row in ids:
        out = m.step(row)
    assert out.shape == (4, len(m.vocab))
    for v, s in enumerate(seeds):
        logits, state = _single(gru3_path, s, [ids[0][v], ids[1][v]])
        np.testing.assert_allclose(out[v], logits, atol=2e-5, rtol=1e-4)
        np.testing.assert_allclose(m.get_state(v), state, atol=2e-5, rtol=1e-4)


def test_step_of_some_voices_leaves_the_others(gru3_path):
    m = OnnxModel(gru3_path, voices=3)
    for v in range(3):
        m.prefill(v, SEED[: 5 + v])
    before = m.get_state()
    out = m.step([40, 41], voices=[2, 0])
    after = m.get_state()
    np.testing.assert_array_equal(after[:, 1], before[:, 1])
    assert not np.allclose(after[:, 0], before[:, 0])
    l2, s2 = _single(gru3_path, SEED[:7], [40])  # voice 2 was primed with SEED[:7], got 40
    np.testing.assert_allclose(out[0], l2, atol=2e-5, rtol=1e-4)
    np.testing.assert_allclose(after[:, 2], s2, atol=2e-5, rtol=1e-4)


def test_step_errors_change_nothing(gru_path):
    m = OnnxModel(gru_path, voices=2)
    m.prefill(0, SEED)
    before = m.get_state()
    V = len(m.vocab)
    for ids, voices, err in [
        ([0, V], None, VocabError),
        ([-1, 0], None, VocabError),
        ([0], None, ConfigError),
        ([0, 1, 2], None, ConfigError),
        ([0, 1], [0], ConfigError),
        ([0, 1], [1, 1], ConfigError),
        ([0], [5], ConfigError),
        ([0.5, 1.0], None, ConfigError),
    ]:
        with pytest.raises(err):
            m.step(ids, voices)
    np.testing.assert_array_equal(m.get_state(), before)


def test_returned_logits_are_not_overwritten_by_the_next_step(gru_path):
    m = OnnxModel(gru_path)
    first = m.step([5])
    kept = first.copy()
    m.step([6])
    np.testing.assert_array_equal(first, kept)


def test_get_set_state_round_trip(gru_path):
    m = OnnxModel(gru_path, voices=2)
    m.prefill(0, SEED)
    saved = m.get_state(0)
    la = m.step([3, 3])[0]
    m.set_state(0, saved)
    lb = m.step([3, 3])[0]
    np.testing.assert_allclose(la, lb, atol=1e-6)
    with pytest.raises(ConfigError, match="shape"):
        m.set_state(0, np.zeros((2, 17), np.float32))
    with pytest.raises(ConfigError, match="finite"):
        m.set_state(1, np.full((2, 16), np.nan, np.float32))
    m.set_state(None, np.ones((2, 2, 16)))
    assert (m.get_state() == 1).all()
    m.reset(1)
    assert (m.get_state(0) == 1).all() and not m.get_state(1).any()
    m.reset()
    assert not m.get_state().any()


def test_trained_model_metadata(trained_path):
    m = OnnxModel(trained_path)
    meta = m.meta
    assert meta.cell in ("gru", "lstm", "rnn") and meta.layers >= 1 and meta.hidden >= 1
    assert "X" in m.vocab and "\n" in m.vocab
    assert meta.tokens_seen > 0 and np.isfinite(meta.val_bpc)
    assert json.loads(meta.props["livernn.vocab"]) == list(m.vocab.chars)
    assert count_parameters(trained_path) > 0


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_real_export_of_other_cells(tmp_path, cell):
    """The training exporter's LSTM/RNN files load, with S = 2*hidden for the LSTM."""
    torch = pytest.importorskip("torch", reason="needs the [train] extra (torch)")
    from livernn.vocab import Vocab
    from training.export import export_model, metadata
    from training.model import CharRNN, ModelConfig

    torch.manual_seed(0)
    vocab = Vocab(CHARS)
    cfg = ModelConfig(len(vocab), cell, layers=2, hidden=12, embedding=8, dropout=0.0)
    model = CharRNN(cfg)
    meta = metadata(model, vocab, corpus="test", val_bpc=3.5, tokens_seen=10)
    path = export_model(model, vocab, tmp_path / f"{cell}.onnx", meta)
    a, b = OnnxModel(path, voices=2), OnnxModel(path)
    assert a.meta.state_size == (24 if cell == "lstm" else 12)
    la = a.prefill(1, SEED)
    for c in SEED:
        lb = b.step([b.vocab[c]])[0]
    np.testing.assert_allclose(la, lb, atol=2e-5, rtol=1e-4)
    np.testing.assert_allclose(a.get_state(1), b.get_state(0), atol=2e-5, rtol=1e-4)
    assert not a.get_state(0).any()
    with torch.no_grad():
        ids = torch.from_numpy(b.vocab.encode(SEED)[None, :])
        tl, _ = model(ids, model.initial_state(1))
    np.testing.assert_allclose(la, tl[0, -1].numpy(), atol=1e-4)
