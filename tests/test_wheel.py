"""The wheel carries the shipped model: build it, install it into a fresh virtual environment
outside the checkout, and play and generate with no ``--model``.

Installing the runtime dependencies into the new environment uses the package index (the
network this machine has: PyPI); pip's cache makes a second run fast.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.support.server import OscClient, free_udp_port

ROOT = Path(__file__).resolve().parents[1]


def _run(cmd: list[str], cwd: Path, timeout: float = 600, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False, **kw
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ folder of a fresh venv with the wheel (and only its declared deps) in it."""
    tmp = tmp_path_factory.mktemp("wheel")
    wheels = tmp / "dist"
    built = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "-w", str(wheels), str(ROOT)],
        cwd=tmp,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = wheels.glob("livernn-*.whl")
    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bin_dir = env_dir / "bin"
    got = _run([str(bin_dir / "python"), "-m", "pip", "install", "-q", str(wheel)], cwd=tmp)
    if got.returncode != 0 and "No matching distribution" in got.stderr:
        pytest.skip(f"the package index has no dependency for this platform: {got.stderr[-300:]}")
    assert got.returncode == 0, got.stderr[-3000:]
    return bin_dir


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PYTHONNOUSERSITE"] = "1"
    return env


def test_the_wheel_holds_the_model_and_generates_without_model_flag(installed, tmp_path):
    py = str(installed / "python")
    where = _run(
        [py, "-c", "import livernn.paths as p; print(p.DEFAULT_MODEL)"], tmp_path, env=_clean_env()
    )
    assert where.returncode == 0, where.stderr
    path = Path(where.stdout.strip())
    assert path.is_file() and ROOT not in path.parents  # inside the venv, not the checkout
    assert (path.parent / "tunes.md").is_file()
    gen = _run(
        [str(installed / "livernn"), "generate", "--seed", "X:1", "--length", "200",
         "--rng-seed", "1"],
        tmp_path, env=_clean_env(),
    )  # fmt: skip
    assert gen.returncode == 0, gen.stderr[-2000:]
    assert gen.stdout.startswith("X:1") and len(gen.stdout) >= 150


def test_the_wheel_serves_the_packaged_model(installed, tmp_path):
    port = free_udp_port()
    proc = subprocess.Popen(
        [str(installed / "livernn"), "serve", "--no-midi", "--quiet", "--osc-port", str(port)],
        cwd=tmp_path, env=_clean_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    client = OscClient(("127.0.0.1", port))
    try:
        for _ in range(100):
            client.send("/livernn/ping")
            if client.poll(0.2) and client.messages("/livernn/pong"):
                break
        assert client.messages("/livernn/pong"), "no pong"
        client.send("/livernn/subscribe")
        notes = client.wait_for("/livernn/note", count=3, timeout=20)
        assert all(0 <= n[0] <= 127 for n in notes)
    finally:
        client.close()
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0, out[-2000:]
    assert "exported/tunes.onnx" in out and str(ROOT) not in out
