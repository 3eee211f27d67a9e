"""The int8 variant of a model (``livernn export CKPT --out MODEL.onnx --int8``).

onnxruntime's dynamic quantisation (``onnxruntime.quantization.quantize_dynamic``, weights
int8, activations quantised per call) rewrites ``MatMul`` nodes, and its only recurrent op is
``LSTM`` (``DynamicQuantizeLSTM``); an ONNX ``GRU`` node stays float. So a GRU model is first
written as plain ONNX ops that compute exactly what ``nn.GRU`` does
(https://pytorch.org/docs/stable/generated/torch.nn.GRU.html):

    x W_ih^T + b_ih for all T at once     one MatMul per layer, [T, B, In] @ [In, 3H]
    Scan over T:  h W_hh^T + b_hh          one MatMul per step, [B, H] @ [H, 3H]
                  r = sigmoid(x_r + h_r), z = sigmoid(x_z + h_z)
                  n = tanh(x_n + r * h_n),  h' = n + z * (h - n)
    y W_out^T + b_out                      the output layer

That float graph is checked against PyTorch (``PARITY_TOL``). Then every weight matrix goes
int8 (symmetric, one scale per output column): the input and output MatMuls by
``quantize_dynamic``, and the recurrent one, which it leaves alone inside a Scan body, written
out the way it writes one (DynamicQuantizeLinear, MatMulInteger, rescale). The
embedding stays float (a Gather of 64 floats per step). An LSTM model is quantised from its
usual export. The contract (names, shapes, metadata) is the float model's, plus
``livernn.quantized``. See docs/DESIGN.md, "Training".
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np

from livernn import contract
from livernn.errors import ModelError
from livernn.vocab import Vocab
from training.model import CharRNN

log = logging.getLogger(__name__)

K_QUANTIZED = contract.K_QUANTIZED
QUANTIZED = "int8 dynamic (weights QInt8 per column, activations per call)"


def _int8_columns(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 weights per output column: (w_q [K, N] int8, scale [N] float32)."""
    scale = np.maximum(np.abs(w).max(axis=0), 1e-12) / 127.0
    return np.clip(np.round(w / scale), -127, 127).astype(np.int8), scale.astype(np.float32)


def _recurrent_matmul(k: int, w_hh_t: np.ndarray, int8: bool) -> tuple[list, list]:
    """Nodes and initialisers of ``hw_ = h @ W_hh^T`` in the Scan body of layer ``k``: float,
    or int8 written out as quantize_dynamic writes a MatMul (DynamicQuantizeLinear of ``h``,
    MatMulInteger, rescale), which it does not do inside a Scan body itself."""
    from onnx import helper, numpy_helper

    if not int8:
        return [helper.make_node("MatMul", ["h", f"w_hh{k}"], ["hw_"])], [
            numpy_helper.from_array(w_hh_t, f"w_hh{k}")
        ]
    w_q, scale = _int8_columns(w_hh_t)
    inits = [
        numpy_helper.from_array(w_q, f"w_hh{k}_q"),
        numpy_helper.from_array(scale, f"w_hh{k}_scale"),
        numpy_helper.from_array(np.zeros(w_q.shape[1], dtype=np.int8), f"w_hh{k}_zero"),
    ]
    nodes = [
        helper.make_node("DynamicQuantizeLinear", ["h"], ["h_q", "h_scale", "h_zero"]),
        helper.make_node(
            "MatMulInteger", ["h_q", f"w_hh{k}_q", "h_zero", f"w_hh{k}_zero"], ["hw_i"]
        ),
        helper.make_node("Cast", ["hw_i"], ["hw_f"], to=1),  # int32 -> float
        helper.make_node("Mul", ["h_scale", f"w_hh{k}_scale"], ["hw_scale"]),
        helper.make_node("Mul", ["hw_f", "hw_scale"], ["hw_"]),
    ]
    return nodes, inits


def _gru_graph(model: CharRNN, opset: int, int8: bool = False):  # -> onnx.ModelProto
    """The GRU model as MatMul/Scan ONNX ops (see the module docstring); ``int8``: the
    recurrent MatMuls int8 already (the others are left to quantize_dynamic)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    cfg = model.cfg
    H, L = cfg.hidden, cfg.layers
    sd = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    inits = [numpy_helper.from_array(sd["embed.weight"], "embed")]
    nodes = [
        helper.make_node("Gather", ["embed", contract.TOKENS], ["emb"]),  # [B, T, E]
        helper.make_node("Transpose", ["emb"], ["x0"], perm=[1, 0, 2]),  # [T, B, E]
    ]
    finals = []
    for k in range(L):
        w_ih, w_hh = sd[f"rnn.weight_ih_l{k}"], sd[f"rnn.weight_hh_l{k}"]  # [3H, In], [3H, H]
        b_ih, b_hh = sd[f"rnn.bias_ih_l{k}"], sd[f"rnn.bias_hh_l{k}"]  # [3H]
        inits += [
            numpy_helper.from_array(np.ascontiguousarray(w_ih.T), f"w_ih{k}"),
            numpy_helper.from_array(b_ih, f"b_ih{k}"),
            numpy_helper.from_array(np.array([k], dtype=np.int64), f"layer{k}"),
        ]
        nodes += [
            helper.make_node("MatMul", [f"x{k}", f"w_ih{k}"], [f"xw{k}_"]),  # [T, B, 3H]
            helper.make_node("Add", [f"xw{k}_", f"b_ih{k}"], [f"xw{k}"]),
            helper.make_node("Gather", [contract.STATE, f"layer{k}"], [f"h0_{k}_"], axis=0),
            helper.make_node("Squeeze", [f"h0_{k}_", f"layer{k}_axis"], [f"h0_{k}"]),  # [B, H]
        ]
        inits.append(numpy_helper.from_array(np.array([0], dtype=np.int64), f"layer{k}_axis"))
        rec_nodes, rec_inits = _recurrent_matmul(k, np.ascontiguousarray(w_hh.T), int8)
        body_inits = [
            *rec_inits,
            numpy_helper.from_array(b_hh, f"b_hh{k}"),
            numpy_helper.from_array(np.array([H, H, H], dtype=np.int64), f"split{k}"),
        ]
        body = helper.make_graph(
            [
                *rec_nodes,  # hw_ = h @ W_hh^T: [B, 3H]
                helper.make_node("Add", ["hw_", f"b_hh{k}"], ["hw"]),
                helper.make_node("Split", ["xt", f"split{k}"], ["xr", "xz", "xn"], axis=1),
                helper.make_node("Split", ["hw", f"split{k}"], ["hr", "hz", "hn"], axis=1),
                helper.make_node("Add", ["xr", "hr"], ["r_"]),
                helper.make_node("Sigmoid", ["r_"], ["r"]),
                helper.make_node("Add", ["xz", "hz"], ["z_"]),
                helper.make_node("Sigmoid", ["z_"], ["z"]),
                helper.make_node("Mul", ["r", "hn"], ["rhn"]),
                helper.make_node("Add", ["xn", "rhn"], ["n_"]),
                helper.make_node("Tanh", ["n_"], ["n"]),
                helper.make_node("Sub", ["h", "n"], ["h_n"]),
                helper.make_node("Mul", ["z", "h_n"], ["zh"]),
                helper.make_node("Add", ["n", "zh"], ["h_new"]),
                helper.make_node("Identity", ["h_new"], ["y"]),
            ],
            f"gru_step{k}",
            [
                helper.make_tensor_value_info("h", TensorProto.FLOAT, ["B", H]),
                helper.make_tensor_value_info("xt", TensorProto.FLOAT, ["B", 3 * H]),
            ],
            [
                helper.make_tensor_value_info("h_new", TensorProto.FLOAT, ["B", H]),
                helper.make_tensor_value_info("y", TensorProto.FLOAT, ["B", H]),
            ],
            body_inits,
        )
        nodes.append(
            helper.make_node(
                "Scan",
                [f"h0_{k}", f"xw{k}"],
                [f"hT{k}", f"x{k + 1}"],
                num_scan_inputs=1,
                body=body,
            )  # fmt: skip
        )
        nodes.append(helper.make_node("Unsqueeze", [f"hT{k}", f"layer{k}_axis"], [f"hT{k}_"]))
        finals.append(f"hT{k}_")
    inits += [
        numpy_helper.from_array(np.ascontiguousarray(sd["head.weight"].T), "w_out"),  # [H, V]
        numpy_helper.from_array(sd["head.bias"], "b_out"),
    ]
    nodes += [
        helper.make_node("Transpose", [f"x{L}"], ["y"], perm=[1, 0, 2]),  # [B, T, H]
        helper.make_node("MatMul", ["y", "w_out"], ["logits_"]),  # [B, T, V]
        helper.make_node("Add", ["logits_", "b_out"], [contract.LOGITS]),
        helper.make_node("Concat", finals, [contract.STATE_OUT], axis=0),  # [L, B, H]
    ]
    V = cfg.vocab_size
    graph = helper.make_graph(
        nodes,
        "livernn_gru_matmul",
        [
            helper.make_tensor_value_info(contract.TOKENS, TensorProto.INT64, ["B", "T"]),
            helper.make_tensor_value_info(contract.STATE, TensorProto.FLOAT, [L, "B", H]),
        ],
        [
            helper.make_tensor_value_info(contract.LOGITS, TensorProto.FLOAT, ["B", "T", V]),
            helper.make_tensor_value_info(contract.STATE_OUT, TensorProto.FLOAT, [L, "B", H]),
        ],
        inits,
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    proto.ir_version = min(proto.ir_version, 9)
    onnx.checker.check_model(proto)
    return proto


def export_matmul(model: CharRNN, out: str | Path, meta: dict[str, str], opset: int) -> Path:
    """The float MatMul/Scan graph of a GRU model with ``meta`` (for measuring: is a speed-up
    of the int8 file int8's or the graph's?)."""
    import onnx

    proto = _gru_graph(model.cpu().eval(), opset)
    for k, v in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.save(proto, str(out))
    return Path(out)


def export_int8(
    model: CharRNN, vocab: Vocab, out: str | Path, meta: dict[str, str], opset: int
) -> tuple[Path, dict[str, float]]:
    """Write the int8 variant of ``model`` to ``out``; returns the path and the max abs
    differences of the float MatMul graph (must be exact) and of the int8 one (reported)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from training.export import PARITY_TOL, export_model, parity_check

    if len(vocab) != model.cfg.vocab_size:
        raise ModelError("vocabulary size does not match the model")
    model = model.cpu().eval()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        if model.cfg.cell == "gru":
            onnx.save(_gru_graph(model, opset), str(fp32))
            figures["float_graph_vs_torch"] = parity_check(model, fp32, reference_check=False)[
                "ort_vs_torch"
            ]
            onnx.save(_gru_graph(model, opset, int8=True), str(fp32))
            ops = ["MatMul"]
        elif model.cfg.cell == "lstm":
            export_model(model, vocab, fp32, meta)
            ops = ["MatMul", "LSTM"]
        else:
            raise ModelError("int8 export supports GRU and LSTM models, not a plain RNN")
        q = Path(tmp) / "int8.onnx"
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # the quantiser advises pre-processing on the root logger
        try:
            quantize_dynamic(
                str(fp32),
                str(q),
                weight_type=QuantType.QInt8,
                op_types_to_quantize=ops,
                per_channel=True,
            )
        finally:
            root.setLevel(level)
        proto = onnx.load(str(q))
    quantized = sum(
        n.op_type in ("MatMulInteger", "DynamicQuantizeLSTM") for n in _all_nodes(proto)
    )
    if quantized == 0:
        raise ModelError("int8 export: onnxruntime quantised no weight matrix")
    del proto.metadata_props[:]
    for k, v in {**meta, K_QUANTIZED: QUANTIZED}.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = k, v
    proto.doc_string = "livernn character model, int8 weights (see livernn.* metadata)"
    tmp_out = out.with_name(out.name + ".tmp")
    onnx.save(proto, str(tmp_out))
    tmp_out.replace(out)
    figures["int8_vs_torch"] = parity_check(model, out, tol=float("inf"), reference_check=False)[
        "ort_vs_torch"
    ]
    figures["quantized_matmuls"] = float(quantized)
    log.info("int8 export %s: %s (float graph tolerance %g)", out, figures, PARITY_TOL)
    return out, figures


def _all_nodes(proto):
    """Every node of the graph and of its subgraphs (Scan bodies)."""
    stack = [proto.graph]
    while stack:
        g = stack.pop()
        for n in g.node:
            yield n
            stack.extend(a.g for a in n.attribute if a.type == a.GRAPH)
