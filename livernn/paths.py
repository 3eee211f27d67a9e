"""Where livernn finds the files it ships."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = REPO_ROOT / "exported" / "tunes.onnx"
BUILTIN_CORPUS = REPO_ROOT / "data" / "irish.abc"
