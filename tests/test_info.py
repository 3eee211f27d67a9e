"""``livernn info``: the model card, parameter count, and one-line errors."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from livernn.info import count_parameters
from tests.onnx_gru import CHARS, param_count, save_gru


def livernn(*args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("livernn")
    cmd = [exe] if exe else [sys.executable, "-m", "livernn"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=60)


def onnx_parameter_count(path) -> int:
    """The same count through the onnx library (an independent reader)."""
    import numpy as np
    import onnx

    model = onnx.load(str(path))
    return sum(int(np.prod(t.dims)) for t in model.graph.initializer)


def test_card_of_a_built_model(tmp_path):
    path = save_gru(tmp_path / "m.onnx", layers=3, hidden=24, embed=12)
    r = livernn("info", str(path))
    assert r.returncode == 0, r.stderr
    out = r.stdout
    n = param_count(3, 24, 12, len(CHARS))
    assert "GRU, 3 layers x 24 hidden" in out
    assert "embedding    12" in out
    assert f"parameters   {n:,}" in out
    assert f"vocabulary   {len(CHARS)} characters: \\n␠!" in out
    assert "random weights (tests/onnx_gru.py)" in out
    assert "val bpc      not measured" in out
    assert "format       1" in out
    assert f"{path.stat().st_size / 1024:.1f} KiB" in out


def test_card_of_the_trained_model(tiny_model_path):
    r = livernn("info", str(tiny_model_path))
    assert r.returncode == 0, r.stderr
    n = onnx_parameter_count(tiny_model_path)
    assert count_parameters(tiny_model_path) == n > 0
    assert f"parameters   {n:,}" in r.stdout
    from livernn.model import OnnxModel

    m = OnnxModel(tiny_model_path).meta
    arch = f"{m.cell.upper()}, {m.layers} layers x {m.hidden} hidden"
    for words in [
        arch,
        "irish.abc",
        f"{m.val_bpc:.4f} bits/char",
        "cleaning",
        f"{m.tokens_seen:,}",
    ]:
        assert words in r.stdout, r.stdout


@pytest.mark.parametrize("content,words", [(b"junk", "not a loadable ONNX"), (None, "not found")])
def test_errors_are_one_line(tmp_path, content, words):
    path = tmp_path / "bad.onnx"
    if content is not None:
        path.write_bytes(content)
    r = livernn("info", str(path))
    assert r.returncode == 2 and r.stdout == ""
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("livernn: error: ") and words in lines[0]


def test_no_metadata_is_refused(tmp_path):
    from livernn.contract import REQUIRED_KEYS

    path = save_gru(tmp_path / "m.onnx", drop_keys=(*REQUIRED_KEYS, "livernn.embedding"))
    r = livernn("info", str(path))
    assert r.returncode == 2 and "no livernn metadata" in r.stderr


def test_closed_pipe_is_quiet(tmp_path):
    # `livernn info MODEL | true`: the reader is gone before the card is written
    path = save_gru(tmp_path / "m.onnx")
    exe = shutil.which("livernn")
    cmd = [exe] if exe else [sys.executable, "-m", "livernn"]
    proc = subprocess.Popen(
        [*cmd, "info", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # long before the child has loaded the model
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, err
    assert err == ""


def test_parameters_come_from_the_metadata(tmp_path):
    # livernn.parameters (written by 'livernn export') is what the card shows
    path = save_gru(tmp_path / "m.onnx", metadata={"livernn.parameters": "4321"})
    r = livernn("info", str(path))
    assert r.returncode == 0, r.stderr
    assert "parameters   4,321" in r.stdout
    assert "\nparameters   4321" not in r.stdout  # not listed again among the extra keys


def test_parameters_unknown_without_the_key_or_onnx(tmp_path):
    # a file from before livernn.parameters, on a runtime without the onnx package
    path = save_gru(tmp_path / "m.onnx")
    code = (
        "import sys; sys.modules['onnx'] = None\n"
        "from livernn.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, "info", str(path)], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    assert "parameters   unknown" in r.stdout
