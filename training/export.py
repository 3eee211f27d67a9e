"""ONNX export (``livernn export CKPT --out model.onnx``) following ``livernn/contract.py``.

One graph for prefill and stepping (names, shapes and the ``livernn.*`` metadata are the
contract module's). ``onnx.checker`` runs on
every export, then a parity check: onnxruntime against PyTorch against the numpy reference.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import numpy as np
import torch

from livernn import contract
from livernn.errors import ModelError
from livernn.vocab import Vocab
from training import reference
from training.checkpoint import load_checkpoint, model_from_checkpoint
from training.model import CharRNN

log = logging.getLogger(__name__)

PARITY_TOL = 1e-4
OPSET = 17


def metadata(
    model: CharRNN,
    vocab: Vocab,
    *,
    corpus: str,
    val_bpc: float,
    tokens_seen: int,
    clean: str = "{}",
    extra: dict | None = None,
) -> dict[str, str]:
    """The ``livernn.*`` metadata_props of an exported model (``contract.encode_metadata``)."""
    cfg = model.cfg
    return contract.encode_metadata(
        vocab=vocab,
        cell=cfg.cell,
        layers=cfg.layers,
        hidden=cfg.hidden,
        embedding=cfg.embedding,
        dropout=cfg.dropout,
        corpus=corpus,
        val_bpc=val_bpc,
        tokens_seen=tokens_seen,
        parameters=model.num_params(),
        clean=clean,
        config=cfg.to_dict(),
        extra=extra,
    )


def export_model(model: CharRNN, vocab: Vocab, out: str | Path, meta: dict[str, str]) -> Path:
    """Write ``model`` to ``out`` as ONNX with ``meta``; runs ``onnx.checker``."""
    import onnx

    if len(vocab) != model.cfg.vocab_size:
        raise ModelError("vocabulary size does not match the model")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    model = model.cpu().eval()
    ids = torch.zeros(2, 3, dtype=torch.long)  # [B, T]
    state = model.initial_state(2)  # [L, B, S]
    tmp = out.with_name(out.name + ".tmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter warns about batch_first RNNs
        torch.onnx.export(
            model,
            (ids, state),
            str(tmp),
            input_names=list(contract.INPUT_NAMES),
            output_names=list(contract.OUTPUT_NAMES),
            dynamic_axes=contract.dynamic_axes(),
            opset_version=OPSET,
            dynamo=False,  # the TorchScript exporter gives one clean GRU/LSTM/RNN node per layer
        )
    proto = onnx.load(str(tmp))
    del proto.metadata_props[:]
    for k, v in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = k, v
    proto.doc_string = "livernn character model (see livernn.* metadata)"
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, str(tmp))
    tmp.replace(out)
    return out


def parity_check(
    model: CharRNN,
    onnx_path: str | Path,
    *,
    shapes: tuple[tuple[int, int], ...] = ((1, 1), (1, 17), (4, 1), (4, 17)),
    seed: int = 0,
    tol: float = PARITY_TOL,
    reference_check: bool = True,
) -> dict[str, float]:
    """Max abs logit/state differences onnxruntime vs PyTorch (and vs the numpy reference).

    Random token sequences and random initial states for every (B, T) in ``shapes``; raises
    ``ModelError`` when any difference exceeds ``tol``.
    """
    import onnxruntime as ort

    model = model.cpu().eval()
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    cfg = model.cfg
    weights = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    worst = {"ort_vs_torch": 0.0, "ref_vs_torch": 0.0, "ref_vs_ort": 0.0}
    for B, T in shapes:
        ids = rng.integers(0, cfg.vocab_size, size=(B, T), dtype=np.int64)
        state = (0.5 * rng.standard_normal((cfg.layers, B, cfg.state_size))).astype(np.float32)
        with torch.no_grad():
            tl, ts = model(torch.from_numpy(ids), torch.from_numpy(state))
        tl, ts = tl.numpy(), ts.numpy()
        ol, os_ = sess.run(
            list(contract.OUTPUT_NAMES), {contract.TOKENS: ids, contract.STATE: state}
        )
        worst["ort_vs_torch"] = max(worst["ort_vs_torch"], _maxdiff(ol, tl), _maxdiff(os_, ts))
        if reference_check:
            rl, rs = reference.forward(weights, cfg.cell, cfg.layers, cfg.hidden, ids, state)
            worst["ref_vs_torch"] = max(worst["ref_vs_torch"], _maxdiff(rl, tl), _maxdiff(rs, ts))
            worst["ref_vs_ort"] = max(worst["ref_vs_ort"], _maxdiff(rl, ol), _maxdiff(rs, os_))
    bad = {k: v for k, v in worst.items() if v > tol}
    if bad:
        raise ModelError(f"export parity check failed: {bad} (tolerance {tol})")
    return worst


def _maxdiff(a: np.ndarray, b: np.ndarray) -> float:
    if a.shape != b.shape:
        raise ModelError(f"export parity check: shape {a.shape} != {b.shape}")
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))


def _val_by_collection(ck: dict, val: float | None) -> dict[str, str]:
    """The per-collection validation of the epoch the checkpoint's figure comes from."""
    history = json.loads(ck.get("history", "[]"))
    for entry in history:
        if entry.get("val_by_collection") and val is not None and entry["val_bpc"] == val:
            each = {k: round(v, 4) for k, v in entry["val_by_collection"].items()}
            return {contract.K_VAL_BY_COLLECTION: json.dumps(each, sort_keys=True)}
    return {}


def export_checkpoint(
    ckpt: str | Path, out: str | Path, *, check: bool = True, int8: bool = False
) -> tuple[Path, dict]:
    """Export a training checkpoint (float, or int8 with ``training/quantize.py``); returns
    the path and the parity figures."""
    ck = load_checkpoint(ckpt)
    model, vocab = model_from_checkpoint(ck)
    val = ck.get("best_val_bpc") if Path(ckpt).name == "best.pt" else ck.get("val_bpc")
    meta = metadata(
        model,
        vocab,
        corpus=str(ck.get("corpus", "")),
        val_bpc=float(val if val is not None else float("nan")),
        tokens_seen=int(ck.get("tokens_seen", 0)),
        clean=str(ck.get("clean", "{}")),
        extra={
            contract.K_TRAIN_CONFIG: ck.get("train_config", "{}"),
            contract.K_STEPS: ck.get("step", 0),
            **_val_by_collection(ck, val),
        },
    )
    if int8:
        from training.quantize import export_int8

        return export_int8(model, vocab, out, meta, OPSET)
    path = export_model(model, vocab, out, meta)
    parity = parity_check(model, path) if check else {}
    return path, parity
