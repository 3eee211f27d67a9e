"""The model-file contract, written once: what ``livernn export`` writes and the runtime reads.

One ONNX graph for prefill and stepping: inputs ``tokens`` int64 [B, T] and ``state`` float32
[L, B, S]; outputs ``logits`` float32 [B, T, V] and ``state_out`` float32 [L, B, S]; B and T
dynamic; S = hidden for GRU/RNN and 2 * hidden for LSTM (h then c on the last axis).
``livernn.*`` metadata_props make the file self-describing; ``encode_metadata`` writes them and
``ModelMeta.from_props`` reads and checks them.

Pure: imports neither torch nor onnxruntime, so the trainer (``training/export.py``,
``training/model.py``) and the runtime (``livernn/model.py``, ``livernn/info.py``) share it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from livernn.errors import ModelError, VocabError
from livernn.vocab import Vocab

#: The ``livernn.format`` this code writes, and the versions it reads.
FORMAT: int = 1
KNOWN_FORMATS: frozenset[int] = frozenset({FORMAT})

#: Recurrent cell kinds (torch ``nn.GRU``/``nn.LSTM``/``nn.RNN``, one ONNX node per layer).
CELLS: tuple[str, ...] = ("gru", "lstm", "rnn")


def state_size(cell: str, hidden: int) -> int:
    """S, the last axis of ``state``: hidden for GRU/RNN, 2 * hidden for LSTM (h then c)."""
    return 2 * hidden if cell == "lstm" else hidden


# ----------------------------------------------------------------------------- graph I/O

TOKENS, STATE = "tokens", "state"
LOGITS, STATE_OUT = "logits", "state_out"
INPUT_NAMES: tuple[str, str] = (TOKENS, STATE)
OUTPUT_NAMES: tuple[str, str] = (LOGITS, STATE_OUT)

#: Symbolic names of the dynamic axes.
BATCH, TIME = "B", "T"


@dataclass(frozen=True)
class TensorSpec:
    """One graph input or output: its element type and its axes, each either a dynamic axis
    (``B``/``T``) or the ``ModelMeta`` size that fixes it (``layers``/``state_size``/
    ``vocab_size``)."""

    name: str
    dtype: str  # onnx element type as onnxruntime spells it inside "tensor(...)"
    axes: tuple[str, ...]

    @property
    def onnx_type(self) -> str:
        return f"tensor({self.dtype})"

    @property
    def rank(self) -> int:
        return len(self.axes)

    def dynamic_axes(self) -> dict[int, str]:
        return {i: a for i, a in enumerate(self.axes) if a in (BATCH, TIME)}

    def fixed_axes(self) -> dict[int, str]:
        return {i: a for i, a in enumerate(self.axes) if a not in (BATCH, TIME)}


INPUTS: tuple[TensorSpec, ...] = (
    TensorSpec(TOKENS, "int64", (BATCH, TIME)),
    TensorSpec(STATE, "float", ("layers", BATCH, "state_size")),
)
OUTPUTS: tuple[TensorSpec, ...] = (
    TensorSpec(LOGITS, "float", (BATCH, TIME, "vocab_size")),
    TensorSpec(STATE_OUT, "float", ("layers", BATCH, "state_size")),
)


def dynamic_axes() -> dict[str, dict[int, str]]:
    """``torch.onnx.export``'s ``dynamic_axes`` for the contract's inputs and outputs."""
    return {s.name: s.dynamic_axes() for s in (*INPUTS, *OUTPUTS)}


# ----------------------------------------------------------------------------- metadata

PREFIX = "livernn."
K_FORMAT = "livernn.format"
K_VOCAB = "livernn.vocab"
K_CELL = "livernn.cell"
K_LAYERS = "livernn.layers"
K_HIDDEN = "livernn.hidden"
K_STATE_SIZE = "livernn.state_size"
K_CORPUS = "livernn.corpus"
K_VAL_BPC = "livernn.val_bpc"
K_TOKENS_SEEN = "livernn.tokens_seen"
K_EMBEDDING = "livernn.embedding"
K_DROPOUT = "livernn.dropout"
K_CLEAN = "livernn.clean"
K_CONFIG = "livernn.config"
K_PARAMETERS = "livernn.parameters"
K_TRAIN_CONFIG = "livernn.train_config"
K_STEPS = "livernn.steps"
K_QUANTIZED = "livernn.quantized"  # the int8 variant: how it was quantised (training/quantize.py)
K_VAL_BY_COLLECTION = "livernn.val_by_collection"  # JSON: held-out bits/char per collection

#: Keys every model file must carry.
REQUIRED_KEYS: tuple[str, ...] = (
    K_FORMAT,
    K_VOCAB,
    K_CELL,
    K_LAYERS,
    K_HIDDEN,
    K_CORPUS,
    K_VAL_BPC,
    K_TOKENS_SEEN,
)


#: What each key holds (docs/DESIGN.md's contract table is made from this).
MEANINGS: dict[str, str] = {
    K_FORMAT: "integer format version of this contract (bumped on any change)",
    K_VOCAB: "JSON list of the characters; index = id",
    K_CELL: "gru, lstm or rnn",
    K_LAYERS: "stacked layers L",
    K_HIDDEN: "hidden size per layer",
    K_STATE_SIZE: "S: hidden for GRU/RNN, 2*hidden for LSTM (h then c)",
    K_CORPUS: "what it was trained on",
    K_VAL_BPC: "held-out bits per character (nan: not measured)",
    K_TOKENS_SEEN: "characters seen in training",
    K_EMBEDDING: "embedding size",
    K_DROPOUT: "dropout used in training",
    K_CLEAN: "the cleaning applied to the corpus (JSON)",
    K_CONFIG: "the model configuration (JSON)",
    K_PARAMETERS: "number of weights (livernn info shows it)",
    K_TRAIN_CONFIG: "the training configuration (JSON)",
    K_STEPS: "optimiser steps taken",
    K_QUANTIZED: "absent for float weights; how the int8 variant was quantised",
    K_VAL_BY_COLLECTION: "held-out bits per character per collection (JSON)",
}


def key(name: str) -> str:
    """``livernn.NAME`` (a name that already has the prefix is kept)."""
    return name if name.startswith(PREFIX) else PREFIX + name


def encode_metadata(
    *,
    vocab: Vocab,
    cell: str,
    layers: int,
    hidden: int,
    embedding: int,
    dropout: float,
    corpus: str,
    val_bpc: float,
    tokens_seen: int,
    parameters: int,
    clean: str = "{}",
    config: Mapping | None = None,
    extra: Mapping | None = None,
) -> dict[str, str]:
    """The ``livernn.*`` metadata_props of a model file, as strings.

    ``config`` is the model config (stored as sorted JSON); ``extra`` keys get the prefix.
    """
    meta = {
        K_FORMAT: str(FORMAT),
        K_VOCAB: vocab.to_json(),
        K_CELL: cell,
        K_LAYERS: str(layers),
        K_HIDDEN: str(hidden),
        K_STATE_SIZE: str(state_size(cell, hidden)),
        K_CORPUS: corpus,
        K_VAL_BPC: f"{val_bpc:.4f}",
        K_TOKENS_SEEN: str(int(tokens_seen)),
        K_EMBEDDING: str(embedding),
        K_DROPOUT: str(dropout),
        K_CLEAN: clean,
        K_CONFIG: json.dumps(dict(config or {}), sort_keys=True),
        K_PARAMETERS: str(int(parameters)),
    }
    for k, v in (extra or {}).items():
        meta[key(k)] = str(v)
    return meta


def decode_int(props: Mapping[str, str], k: str, positive: bool = False) -> int:
    """An integer property; ``ModelError`` when it is not one or is out of range."""
    raw = props[k]
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ModelError(f"{k} {raw!r} is not an integer") from None
    if positive and value <= 0 or value < 0:
        raise ModelError(f"{k} {value} must be {'positive' if positive else 'non-negative'}")
    return value


def decode_float(props: Mapping[str, str], k: str) -> float:
    try:
        return float(props[k])
    except ValueError:
        raise ModelError(f"{k} {props[k]!r} is not a number") from None


def decode_parameters(props: Mapping[str, str]) -> int | None:
    """``livernn.parameters``, or None for files exported before that key (or a bad value)."""
    raw = props.get(K_PARAMETERS)
    if raw is None:
        return None
    try:
        n = int(raw.strip())
    except ValueError:
        return None
    return n if n >= 0 else None


@dataclass(frozen=True)
class ModelMeta:
    """What a model file says about itself (its ``livernn.*`` metadata)."""

    format: int
    vocab: Vocab
    cell: str
    layers: int
    hidden: int
    state_size: int
    corpus: str
    val_bpc: float
    tokens_seen: int
    props: dict[str, str] = field(default_factory=dict)

    @property
    def parameters(self) -> int | None:
        return decode_parameters(self.props)

    def sizes(self) -> dict[str, int]:
        """The sizes that fix the non-dynamic axes of ``INPUTS``/``OUTPUTS``."""
        return {"layers": self.layers, "state_size": self.state_size, "vocab_size": len(self.vocab)}

    @classmethod
    def from_props(cls, props: Mapping[str, str]) -> ModelMeta:
        """Parse and check the metadata; ``ModelError`` names the first problem."""
        missing = [k for k in REQUIRED_KEYS if k not in props]
        if missing:
            if len(missing) == len(REQUIRED_KEYS):
                raise ModelError("has no livernn metadata (not exported by 'livernn export'?)")
            raise ModelError(f"metadata is missing {', '.join(missing)}")
        fmt = decode_int(props, K_FORMAT)
        if fmt not in KNOWN_FORMATS:
            known = ", ".join(str(f) for f in sorted(KNOWN_FORMATS))
            raise ModelError(f"{K_FORMAT} {fmt} is not supported (this runtime reads {known})")
        try:
            vocab = Vocab.from_json(props[K_VOCAB])
        except VocabError as e:
            raise ModelError(f"{K_VOCAB} is invalid: {e}") from None
        cell = props[K_CELL].strip().lower()
        if cell not in CELLS:
            raise ModelError(f"{K_CELL} {cell!r} is not one of {', '.join(CELLS)}")
        layers = decode_int(props, K_LAYERS, positive=True)
        hidden = decode_int(props, K_HIDDEN, positive=True)
        val_bpc = decode_float(props, K_VAL_BPC)
        tokens_seen = decode_int(props, K_TOKENS_SEEN)
        size = state_size(cell, hidden)
        if K_STATE_SIZE in props:
            declared = decode_int(props, K_STATE_SIZE, positive=True)
            if declared != size:
                raise ModelError(
                    f"{K_STATE_SIZE} {declared} does not match {cell} hidden {hidden} "
                    f"(expected {size})"
                )
        return cls(
            format=fmt,
            vocab=vocab,
            cell=cell,
            layers=layers,
            hidden=hidden,
            state_size=size,
            corpus=props[K_CORPUS],
            val_bpc=val_bpc,
            tokens_seen=tokens_seen,
            props=dict(props),
        )
