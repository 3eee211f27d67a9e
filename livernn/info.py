"""``livernn info MODEL.onnx``: print a model's card from its ``livernn.*`` metadata."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from livernn.model import OnnxModel

# metadata shown in their own lines (everything else livernn.* is listed after them)
_SHOWN = {
    "livernn.format",
    "livernn.vocab",
    "livernn.cell",
    "livernn.layers",
    "livernn.hidden",
    "livernn.state_size",
    "livernn.embedding",
    "livernn.corpus",
    "livernn.clean",
    "livernn.val_bpc",
    "livernn.tokens_seen",
}


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


def model_card(model: OnnxModel, parameters: int) -> list[str]:
    """The lines ``livernn info`` prints."""
    m = model.meta
    p = m.props
    arch = f"{m.cell.upper()}, {m.layers} layers x {m.hidden} hidden (state {m.state_size})"
    lines = [f"model        {model.path}", f"architecture {arch}"]
    if "livernn.embedding" in p:
        lines.append(f"embedding    {p['livernn.embedding']}")
    lines += [
        f"parameters   {_count(parameters)}",
        f"vocabulary   {len(m.vocab)} characters: {_chars(m.vocab.chars)}",
        f"corpus       {m.corpus}",
    ]
    if "livernn.clean" in p:
        clean = p["livernn.clean"]
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
    extra = sorted(k for k in p if k.startswith("livernn.") and k not in _SHOWN)
    for k in extra:
        v = p[k].replace("\n", " ")
        lines.append(f"{k[8:]:<12} {v if len(v) <= 200 else v[:197] + '...'}")
    return lines


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", type=Path, metavar="MODEL.onnx", help="the model file")


def run(args: argparse.Namespace) -> int:
    from livernn.model import OnnxModel, count_parameters

    model = OnnxModel(args.model, device="cpu")
    try:
        parameters = count_parameters(args.model)
    except (ValueError, IndexError):  # a file onnxruntime read but we cannot walk
        parameters = 0
    try:
        print("\n".join(model_card(model, parameters)), flush=True)
    except BrokenPipeError:  # `livernn info ... | head`: the reader has gone
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
