"""Characters <-> ids, shared by training and the runtime.

The vocabulary is the sorted set of characters of the training corpus, so ids are stable for
a given corpus; it is stored in the model file (``livernn.vocab``) as a JSON list.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import numpy as np

from livernn.errors import VocabError


class Vocab:
    """An immutable character vocabulary. ``Vocab(chars)[c]`` is the id of ``c``."""

    __slots__ = ("_chars", "_index")

    def __init__(self, chars: Sequence[str]) -> None:
        chars = list(chars)
        if not chars:
            raise VocabError("vocabulary is empty")
        for c in chars:
            if not isinstance(c, str) or len(c) != 1:
                raise VocabError(f"vocabulary entries must be single characters, got {c!r}")
            if 0xD800 <= ord(c) <= 0xDFFF:  # not text: it cannot be printed or encoded
                raise VocabError(f"vocabulary entry U+{ord(c):04X} is a lone surrogate, not text")
        if len(set(chars)) != len(chars):
            raise VocabError("vocabulary has duplicate characters")
        self._chars: tuple[str, ...] = tuple(chars)
        self._index: dict[str, int] = {c: i for i, c in enumerate(self._chars)}

    @classmethod
    def from_text(cls, texts: Iterable[str]) -> Vocab:
        """The sorted set of characters in ``texts`` (one string or several)."""
        if isinstance(texts, str):
            texts = [texts]
        seen: set[str] = set()
        for t in texts:
            seen.update(t)
        return cls(sorted(seen))

    @classmethod
    def from_json(cls, data: str) -> Vocab:
        try:
            chars = json.loads(data)
        except (json.JSONDecodeError, TypeError) as e:
            raise VocabError(f"vocabulary is not valid JSON: {e}") from None
        if not isinstance(chars, list):
            raise VocabError("vocabulary JSON must be a list of characters")
        return cls(chars)

    def to_json(self) -> str:
        return json.dumps(list(self._chars), ensure_ascii=False)

    @property
    def chars(self) -> tuple[str, ...]:
        return self._chars

    def __len__(self) -> int:
        return len(self._chars)

    def __contains__(self, c: object) -> bool:
        return c in self._index

    def __getitem__(self, c: str) -> int:
        try:
            return self._index[c]
        except KeyError:
            raise VocabError(f"character {c!r} is not in the model's vocabulary") from None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and other._chars == self._chars

    def __hash__(self) -> int:
        return hash(self._chars)

    def __repr__(self) -> str:
        return f"Vocab({len(self)} chars)"

    def unknown(self, text: str) -> list[str]:
        """The distinct characters of ``text`` that are not in the vocabulary, in order."""
        out: list[str] = []
        for c in text:
            if c not in self._index and c not in out:
                out.append(c)
        return out

    def encode(self, text: str, errors: str = "strict") -> np.ndarray:
        """Ids of ``text`` as int64.

        errors: ``"strict"`` raises ``VocabError`` naming the first unknown character (and
        encodes nothing); ``"ignore"`` drops unknown characters.
        """
        if errors not in ("strict", "ignore"):
            raise ValueError(f"errors must be 'strict' or 'ignore', not {errors!r}")
        bad = self.unknown(text)
        if bad and errors == "strict":
            shown = ", ".join(repr(c) for c in bad[:5])
            raise VocabError(f"character {shown} not in the model's vocabulary of {len(self)}")
        idx = self._index
        return np.fromiter((idx[c] for c in text if c in idx), dtype=np.int64)

    def decode(self, ids: Iterable[int]) -> str:
        chars = self._chars
        return "".join(chars[int(i)] for i in ids)


def printable(text: str) -> str:
    """``text`` with every control character escaped (``\\x1b``, ``\\u009b`` ...): a crafted
    model's metadata must not clear the screen or retitle the window (issue 14.10)."""
    out = []
    for c in text:
        o = ord(c)
        if o < 0x20 or 0x7F <= o <= 0x9F or 0xD800 <= o <= 0xDFFF or c in "\u2028\u2029":
            out.append(f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}")
        else:
            out.append(c)
    return "".join(out)
