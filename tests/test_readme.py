"""The README's first screen, run as a newcomer would: its venv + install + play command in a
clean virtual environment (no ``--system-site-packages``: every dependency comes from the
package index this machine has), from this checkout. With no sound card here, the play step
gets ``--synth-wav`` (as the README says for such a machine) and must write audible audio;
and the test command the README gives is exactly what ``.ci/run`` runs."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from livernn.outputs import wav

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def first_screen_blocks() -> list[str]:
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)```", quick, re.S)


def test_the_readme_test_command_is_what_ci_runs():
    blocks = first_screen_blocks()
    assert blocks[-1].strip() == "python -m pytest -q"
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1] == "python -m pytest -q"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="fluidsynth is not installed")
@pytest.mark.skipif(shutil.which("python3") is None, reason="no python3 command")
def test_the_readme_first_command_plays_in_a_clean_venv(tmp_path):
    play = next(ln for ln in first_screen_blocks()[0].splitlines() if "-m venv" in ln)
    assert play.endswith("livernn serve --synth"), play
    venv = tmp_path / "venv"
    wav_path = tmp_path / "set.wav"
    cmd = play.replace(".venv", shlex.quote(str(venv)))
    cmd = cmd.replace(
        "livernn serve --synth",
        f"timeout -s TERM 12 livernn serve --synth --synth-wav {shlex.quote(str(wav_path))}"
        " --osc-port 0 --quiet",
    )
    r = subprocess.run(
        ["bash", "-c", cmd], cwd=ROOT, capture_output=True, text=True, timeout=900, check=False
    )
    out = r.stdout[-3000:] + r.stderr[-3000:]
    assert r.returncode in (0, 124), out  # 124: timeout ended the set
    assert "synth: " in r.stderr and "Traceback" not in r.stderr, out
    assert (venv / "bin" / "livernn").exists()
    samples, _ = wav.read(wav_path)
    assert wav.rms_dbfs(samples) > -40, out
