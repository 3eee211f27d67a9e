"""Build contract-following ONNX character models with onnx.helper (no torch).

An independent check of the runtime loader (it does not share code with training/export) and
a quick way to make models of any size for tests and benchmarks. The graph is
Gather(embedding) -> L x ONNX GRU (linear_before_reset=1, as PyTorch) -> MatMul + Add, with the
docs/DESIGN.md names ``tokens``/``state`` -> ``logits``/``state_out``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

CHARS = list(
    "\n !\"#'()+,-./0123456789:<=>ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_abcdefghijklmnopqrstuvwxyz|~"
)


def gru_model(
    *,
    chars: list[str] | None = None,
    layers: int = 2,
    hidden: int = 16,
    embed: int = 8,
    seed: int = 0,
    scale: float = 0.5,
    metadata: dict[str, str] | None = None,
    drop_keys: tuple[str, ...] = (),
    vocab_out: int | None = None,
    names: tuple[str, str, str, str] = ("tokens", "state", "logits", "state_out"),
    tokens_dtype: int | None = None,
    dynamic_vocab: bool = False,
    time_dependent: bool = False,
    nan_weights: bool = False,
    slow: int = 0,
):
    """An ``onnx.ModelProto`` with random weights (``scale`` sets how peaked the logits are).

    ``metadata`` overrides/extends the livernn.* props; ``drop_keys`` removes some;
    ``vocab_out`` makes the output layer a different size than the vocabulary; ``names`` and
    ``tokens_dtype`` break the I/O contract on purpose; ``dynamic_vocab`` leaves the logits'
    last axis unnamed in the signature (only a real run shows its size); ``time_dependent``
    makes the logits' width T * V (right for one character only); ``nan_weights`` puts NaN
    in the output bias; ``slow`` adds a [slow, slow] matrix product per step that depends on
    the input (so it cannot be folded away).
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    chars = list(CHARS if chars is None else chars)
    V = len(chars)
    Vo = V if vocab_out is None else vocab_out
    rng = np.random.default_rng(seed)
    H, E, L = hidden, embed, layers
    tok_name, state_name, logits_name, state_out_name = names
    tdt = TensorProto.INT64 if tokens_dtype is None else tokens_dtype

    def w(*shape, s=1.0):
        return (rng.standard_normal(shape) * s).astype(np.float32)

    inits = [numpy_helper.from_array(w(V, E), "emb")]
    nodes = []
    x = "x_in"
    if tdt == TensorProto.INT64:
        nodes.append(helper.make_node("Gather", ["emb", tok_name], ["x_bte"], axis=0))
    else:
        nodes.append(helper.make_node("Cast", [tok_name], ["tok64"], to=TensorProto.INT64))
        nodes.append(helper.make_node("Gather", ["emb", "tok64"], ["x_bte"], axis=0))
    nodes.append(helper.make_node("Transpose", ["x_bte"], [x], perm=[1, 0, 2]))  # [T, B, E]
    split_outs = [f"h0_{i}" for i in range(L)]
    inits.append(numpy_helper.from_array(np.ones(L, dtype=np.int64), "split_sizes"))
    if L > 1:
        nodes.append(helper.make_node("Split", [state_name, "split_sizes"], split_outs, axis=0))
    else:
        nodes.append(helper.make_node("Identity", [state_name], split_outs))
    inits.append(numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"))
    finals = []
    for i in range(L):
        inp = E if i == 0 else H
        k = 1.0 / np.sqrt(H)
        inits += [
            numpy_helper.from_array(w(1, 3 * H, inp, s=k * 2), f"W{i}"),
            numpy_helper.from_array(w(1, 3 * H, H, s=k * 2), f"R{i}"),
            numpy_helper.from_array(w(1, 6 * H, s=k), f"B{i}"),
        ]
        nodes.append(
            helper.make_node(
                "GRU",
                [x, f"W{i}", f"R{i}", f"B{i}", "", f"h0_{i}"],
                [f"y{i}", f"hN{i}"],
                hidden_size=H,
                linear_before_reset=1,
            )
        )
        nodes.append(helper.make_node("Squeeze", [f"y{i}", "axis1"], [f"x{i}"]))  # [T, B, H]
        x = f"x{i}"
        finals.append(f"hN{i}")
    nodes.append(helper.make_node("Concat", finals, [state_out_name], axis=0))
    nodes.append(helper.make_node("Transpose", [x], ["h_bth"], perm=[1, 0, 2]))
    bout = w(Vo, s=0.1)
    if nan_weights:
        bout[:] = np.nan
    inits += [
        numpy_helper.from_array(w(H, Vo, s=scale * 4 / np.sqrt(H)), "Wout"),
        numpy_helper.from_array(bout, "bout"),
    ]
    nodes.append(helper.make_node("MatMul", ["h_bth", "Wout"], ["lin"]))
    if dynamic_vocab:  # a reshape to a runtime-computed shape hides V from shape inference
        nodes.append(helper.make_node("Add", ["lin", "bout"], ["pre"]))
        nodes.append(helper.make_node("Shape", ["pre"], ["pre_shape"]))
        nodes.append(helper.make_node("Reshape", ["pre", "pre_shape"], [logits_name]))
    elif time_dependent or slow:
        nodes.append(helper.make_node("Add", ["lin", "bout"], ["pre"]))
        last = "pre"
        if slow:
            inits.append(numpy_helper.from_array(np.array([slow, slow], dtype=np.int64), "nn"))
            nodes += [
                helper.make_node("Cast", [tok_name], ["tokf"], to=TensorProto.FLOAT),
                helper.make_node("ReduceSum", ["tokf"], ["toks"], keepdims=0),
                helper.make_node("Expand", ["toks", "nn"], ["big"]),
                helper.make_node("MatMul", ["big", "big"], ["prod"]),
                helper.make_node("ReduceMin", ["prod"], ["pmin"], keepdims=0),
                helper.make_node("Mul", ["pmin", "zero"], ["nothing"]),
                helper.make_node("Add", [last, "nothing"], ["slow_out"]),
            ]
            inits.append(numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero"))
            last = "slow_out"
        if time_dependent:  # tile the last axis T times: [B, T, V] -> [B, T, T*V]
            inits.append(numpy_helper.from_array(np.array([1, 1], dtype=np.int64), "ones2"))
            inits.append(numpy_helper.from_array(np.array([1], dtype=np.int64), "i1"))
            inits.append(numpy_helper.from_array(np.array([2], dtype=np.int64), "i2"))
            nodes += [
                helper.make_node("Shape", [tok_name], ["tshape"]),
                helper.make_node("Slice", ["tshape", "i1", "i2"], ["tlen"]),
                helper.make_node("Concat", ["ones2", "tlen"], ["reps"], axis=0),
                helper.make_node("Tile", [last, "reps"], ["tiled"]),
            ]
            last = "tiled"
        nodes.append(helper.make_node("Identity", [last], [logits_name]))
    else:
        nodes.append(helper.make_node("Add", ["lin", "bout"], [logits_name]))

    graph = helper.make_graph(
        nodes,
        "livernn_test_gru",
        [
            helper.make_tensor_value_info(tok_name, tdt, ["batch", "time"]),
            helper.make_tensor_value_info(state_name, TensorProto.FLOAT, [L, "batch", H]),
        ],
        [
            helper.make_tensor_value_info(
                logits_name,
                TensorProto.FLOAT,
                ["batch", "time", "v" if dynamic_vocab or time_dependent else Vo],
            ),
            helper.make_tensor_value_info(state_out_name, TensorProto.FLOAT, [L, "batch", H]),
        ],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    props = {
        "livernn.format": "1",
        "livernn.vocab": json.dumps(chars),
        "livernn.cell": "gru",
        "livernn.layers": str(L),
        "livernn.hidden": str(H),
        "livernn.embedding": str(E),
        "livernn.corpus": "random weights (tests/onnx_gru.py)",
        "livernn.val_bpc": "nan",
        "livernn.tokens_seen": "0",
    }
    props.update(metadata or {})
    for k in drop_keys:
        props.pop(k, None)
    helper.set_model_props(model, props)
    onnx.checker.check_model(model)
    return model


def save_gru(path: str | Path, **kwargs) -> Path:
    """Write ``gru_model(**kwargs)`` to ``path`` and return it."""
    import onnx

    path = Path(path)
    onnx.save(gru_model(**kwargs), str(path))
    return path


def param_count(layers: int, hidden: int, embed: int, vocab: int) -> int:
    """Weights in ``gru_model`` (for checking ``count_parameters``)."""
    n = vocab * embed + hidden * vocab + vocab
    for i in range(layers):
        inp = embed if i == 0 else hidden
        n += 3 * hidden * inp + 3 * hidden * hidden + 6 * hidden
    return n + layers + 1  # + the split_sizes (L) and axis1 (1) constants
