"""Where livernn finds the files it ships.

The shipped model and its card are package data: the repository's ``exported/`` folder is
installed as the ``livernn.exported`` package (pyproject's ``package-dir``), so a wheel or a
non-editable ``pip install .`` finds them through ``importlib.resources``. Run from a
checkout without installing, the folder beside the package is used.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
MODEL_PACKAGE = "livernn.exported"
MODEL_FILE = "tunes.onnx"


def shipped(name: str) -> Path:
    """A file shipped with the model (``tunes.onnx``, ``tunes.md``) as a path on disk."""
    try:
        if importlib.util.find_spec(MODEL_PACKAGE) is not None:
            path = Path(str(importlib.resources.files(MODEL_PACKAGE) / name))
            if path.exists():
                return path
    except (ModuleNotFoundError, ValueError):
        pass
    return REPO_ROOT / "exported" / name


DEFAULT_MODEL = shipped(MODEL_FILE)
BUILTIN_CORPUS = REPO_ROOT / "data" / "irish.abc"
