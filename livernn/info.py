"""``livernn info MODEL.onnx``: print a model's card from its ``livernn.*`` metadata."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from livernn import contract as C
from livernn.vocab import printable

if TYPE_CHECKING:
    from livernn.model import OnnxModel

# metadata shown in their own lines (everything else livernn.* is listed after them)
_SHOWN = {
    C.K_FORMAT,
    C.K_VOCAB,
    C.K_CELL,
    C.K_LAYERS,
    C.K_HIDDEN,
    C.K_STATE_SIZE,
    C.K_EMBEDDING,
    C.K_CORPUS,
    C.K_CLEAN,
    C.K_VAL_BPC,
    C.K_TOKENS_SEEN,
    C.K_PARAMETERS,
}


def count_parameters(path: str | Path, props: Mapping[str, str] | None = None) -> int | None:
    """The number of weights of a model file.

    ``livernn.parameters`` from its metadata (``props``, else read with onnxruntime); for
    files exported before that key, the initializers counted with the ``onnx`` package when it
    is installed (the [train] extra); None when neither can tell.
    """
    if props is None:
        import onnxruntime as ort

        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        props = dict(sess.get_modelmeta().custom_metadata_map)
    n = C.decode_parameters(props)
    return n if n is not None else _count_initializers(path)


def _count_initializers(path: str | Path) -> int | None:
    try:
        import onnx
    except ImportError:
        return None
    try:
        graph = onnx.load(str(path), load_external_data=False).graph
    except Exception:  # onnxruntime read it, onnx may still refuse: then unknown
        return None
    return sum(math.prod(t.dims) for t in graph.initializer)


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _count(n: int) -> str:
    if n >= 1_000_000:
        return f"{n:,} ({n / 1e6:.2f} M)"
    if n >= 10_000:
        return f"{n:,} ({n / 1e3:.1f} k)"
    return f"{n:,}"


def _chars(chars: tuple[str, ...]) -> str:
    """The vocabulary as one readable line (escapes for newline, tab and space)."""
    names = {"\n": "\\n", "\t": "\\t", " ": "␠"}
    return "".join(names.get(c, c) for c in chars)


def model_card(model: OnnxModel, parameters: int | None) -> list[str]:
    """The lines ``livernn info`` prints (control characters escaped)."""
    return [printable(line) for line in _card(model, parameters)]


def _card(model: OnnxModel, parameters: int | None) -> list[str]:
    m = model.meta
    p = m.props
    arch = f"{m.cell.upper()}, {m.layers} layers x {m.hidden} hidden (state {m.state_size})"
    lines = [f"model        {model.path}", f"architecture {arch}"]
    if C.K_EMBEDDING in p:
        lines.append(f"embedding    {p[C.K_EMBEDDING]}")
    lines += [
        f"parameters   {'unknown' if parameters is None else _count(parameters)}",
        f"vocabulary   {len(m.vocab)} characters: {_chars(m.vocab.chars)}",
        f"corpus       {m.corpus}",
    ]
    if C.K_CLEAN in p:
        clean = p[C.K_CLEAN]
        with contextlib.suppress(ValueError):  # compact JSON on one line
            clean = json.dumps(json.loads(clean), sort_keys=True)
        lines.append(f"cleaning     {clean}")
    bpc = "not measured" if math.isnan(m.val_bpc) else f"{m.val_bpc:.4f} bits/char"
    lines += [
        f"val bpc      {bpc}",
        f"tokens seen  {m.tokens_seen:,}",
        f"file size    {_size(model.file_size)}",
        f"format       {m.format}",
    ]
    extra = sorted(k for k in p if k.startswith(C.PREFIX) and k not in _SHOWN)
    for k in extra:
        v = p[k].replace("\n", " ")
        lines.append(f"{k[len(C.PREFIX) :]:<12} {v if len(v) <= 200 else v[:197] + '...'}")
    return lines


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", type=Path, metavar="MODEL.onnx", help="the model file")


def run(args: argparse.Namespace) -> int:
    from livernn.model import OnnxModel

    model = OnnxModel(args.model, device="cpu")
    parameters = count_parameters(args.model, model.meta.props)
    try:
        print("\n".join(model_card(model, parameters)), flush=True)
    except BrokenPipeError:  # `livernn info ... | head`: the reader has gone
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
