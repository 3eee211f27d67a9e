"""Bad models (issue 14.9-11): checked at load, said once, never a traceback or a broken
terminal; onnxruntime's telemetry is switched off. The one-line refusals are rows of the
bad-input table (tests/test_stage_badinput.py); these are the rest."""

from __future__ import annotations

import logging
import subprocess
import sys

import numpy as np
import pytest

from livernn.errors import ModelError, VocabError
from livernn.model import OnnxModel
from livernn.vocab import Vocab, printable
from tests.onnx_gru import CHARS, save_gru
from tests.support.server import serve


def test_a_lone_surrogate_is_not_a_vocabulary_character():
    with pytest.raises(VocabError, match="U\\+D800 is a lone surrogate"):
        Vocab(["a", "\ud800"])


def test_logits_whose_width_follows_the_input_length_are_refused(tmp_path):
    path = save_gru(tmp_path / "wide.onnx", time_dependent=True)
    with pytest.raises(ModelError, match="for tokens \\[2, 3\\]"):
        OnnxModel(path)


def test_non_finite_logits_are_said_once(tmp_path, caplog):
    path = save_gru(tmp_path / "nan.onnx", nan_weights=True)
    with caplog.at_level(logging.WARNING, logger="livernn.model"):
        m = OnnxModel(path, voices=2)
        for _ in range(20):
            m.step([1, 2])
        m.prefill(0, "X:1")
    said = [r for r in caplog.records if "not finite" in r.getMessage()]
    assert len(said) == 1


def test_a_finite_model_says_nothing(tiny_model_path, caplog):
    with caplog.at_level(logging.WARNING, logger="livernn.model"):
        m = OnnxModel(tiny_model_path, voices=2)
        for _ in range(20):
            m.step([1, 2])
    assert not [r for r in caplog.records if "not finite" in r.getMessage()]


def test_the_step_is_timed_at_load_and_the_state_kept(tiny_model_path):
    m = OnnxModel(tiny_model_path, voices=3)
    m.prefill(1, "X:1\nK:D\n")
    before = m.get_state().copy()
    t = m.time_step()
    assert 0 < t < 1.0
    assert np.array_equal(m.get_state(), before)


@pytest.mark.slow
def test_a_slow_model_plays_with_allow_slow_model_and_a_warning(tmp_path):
    path = save_gru(tmp_path / "slow.onnx", slow=1500)
    with serve(path, "--allow-slow-model", ready_timeout=60) as s:
        assert s.ask("/livernn/ping", "/livernn/pong") == []
        out = s.output()
    assert "warning:" in out and "more than the 10 ms real time needs" in out
    assert "Traceback" not in s.final_output


def test_info_escapes_control_characters(tmp_path):
    evil = "\x1b[2J\x1b]0;pwned\x07\x9b31m"
    path = save_gru(
        tmp_path / "evil.onnx",
        chars=[*CHARS, "\x1b"],
        metadata={"livernn.corpus": evil, "livernn.note": "ring\x07bell"},
    )
    r = subprocess.run(
        [sys.executable, "-m", "livernn", "info", str(path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert not any(c in r.stdout for c in "\x1b\x07\x9b")
    assert "\\x1b[2J" in r.stdout and "\\x07" in r.stdout
    assert printable("a\tb\u2028c\x7f") == "a\\x09b\\u2028c\\x7f"


def test_onnxruntime_telemetry_is_disabled(tiny_model_path, monkeypatch):
    import onnxruntime as ort

    if not hasattr(ort, "disable_telemetry_events"):
        pytest.skip("this onnxruntime has no telemetry switch")
    calls = []
    monkeypatch.setattr(ort, "disable_telemetry_events", lambda: calls.append(1))
    OnnxModel(tiny_model_path)
    assert calls
