"""``livernn generate``: write text offline with the ONNX model (onnxruntime only, no torch).

The same model file, seed text and ``--rng-seed`` always give the same text.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from livernn.abc.tunes import TuneTracker
from livernn.constrain.tables import DEFAULT_LEVEL, LEVELS
from livernn.errors import ConfigError, ModelError
from livernn.paths import DEFAULT_MODEL

if TYPE_CHECKING:
    from livernn.model import OnnxModel
    from livernn.sampling import SamplingParams


def unescape_seed(text: str) -> str:
    """The two characters backslash + ``n`` mean a newline (shells and Pd cannot type one)."""
    return text.replace("\\n", "\n")


#: Counts the tunes that end in a stream of characters (``livernn.abc.tunes.TuneTracker``:
#: ``feed(c)`` returns 2 when an ``X:`` line just ended a tune, 0 for a blank line, else None).
TuneCounter = TuneTracker


def iter_generate(
    model: OnnxModel,
    seed: str,
    length: int,
    params: SamplingParams,
    rng_seed: int | None = None,
    tunes: int | None = None,
    voice: int = 0,
    constrain: str = DEFAULT_LEVEL,
) -> Iterator[str]:
    """Yield up to ``length`` generated characters after ``seed`` (voice ``voice`` is reset).

    With ``tunes``, stops once that many tunes have been completed by the generated text (a
    tune begun in the seed counts when it ends). Characters of a following ``X:`` line are
    held back and never yielded, so the output ends cleanly. ``constrain``: what the
    sampler lets the model write (``livernn/constrain``); the seed is read, never refused.
    """
    import numpy as np

    from livernn.constrain.automaton import MaskCache, make
    from livernn.sampling import sample

    if isinstance(length, bool) or not isinstance(length, int) or length < 0:
        raise ConfigError(f"length must be an integer >= 0, not {length!r}")
    if tunes is not None and (isinstance(tunes, bool) or not isinstance(tunes, int) or tunes < 1):
        raise ConfigError(f"tunes must be a positive integer, not {tunes!r}")
    params.validate()
    model.vocab.encode(seed)  # VocabError naming the character, before any change
    rng = np.random.default_rng(rng_seed)
    automaton = make(constrain, MaskCache(model.vocab.chars))
    if automaton is not None:
        automaton.feed(seed)
    counter = TuneCounter()
    for c in seed:
        counter.feed(c)
    counter.completed = 0
    model.reset(voice)
    logits = model.prefill(voice, seed)
    chars = model.vocab.chars
    held = ""
    for _ in range(length):
        mask = None if automaton is None else automaton.mask()
        i = sample(logits, params, rng, mask)
        c = chars[i]
        if automaton is not None:
            automaton.feed(c)
        ended = counter.feed(c)
        if ended is not None and tunes is not None and counter.completed >= tunes:
            if ended == 0:
                yield held + c
            return
        # hold back a line-initial "X" until we know whether it starts a new tune
        if counter.line == "X":
            held = c
        else:
            if held:
                yield held
                held = ""
            yield c
        logits = model.step([i], [voice])[0]
    if held:
        yield held


def generate_text(
    model: OnnxModel,
    seed: str,
    length: int,
    params: SamplingParams,
    rng_seed: int | None = None,
    tunes: int | None = None,
    constrain: str = DEFAULT_LEVEL,
) -> str:
    """The characters generated after ``seed`` (not including it); see ``iter_generate``."""
    return "".join(iter_generate(model, seed, length, params, rng_seed, tunes, constrain=constrain))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", type=Path, default=DEFAULT_MODEL, help="ONNX model (default: %(default)s)"
    )
    parser.add_argument(
        "--seed",
        default=r"X:1\n",
        help=r"text to start from; the two characters \n mean a newline (default: X:1\n)",
    )
    parser.add_argument(
        "--length",
        type=int,
        default=2000,
        help="most characters to generate after the seed (default %(default)s)",
    )
    parser.add_argument("--temperature", type=float, default=1.0, help="> 0 (default 1.0)")
    parser.add_argument("--top-k", type=int, default=0, help="keep the k likeliest (0 = off)")
    parser.add_argument("--top-p", type=float, default=1.0, help="nucleus mass in (0, 1]")
    parser.add_argument("--rng-seed", type=int, default=None, help="same seed = same text")
    parser.add_argument("--tunes", type=int, default=None, help="stop after N complete tunes")
    parser.add_argument(
        "--constrain",
        choices=LEVELS,
        default=DEFAULT_LEVEL,
        help="none, syntax (valid ABC) or meter (valid ABC, every bar full); default %(default)s",
    )
    parser.add_argument("--out", type=Path, default=None, help="write here instead of stdout")
    parser.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="where the model runs: cuda needs onnxruntime-gpu (default auto)",
    )


def _stream_to(out: TextIO, seed: str, stream: Iterator[str]) -> None:
    out.write(seed)
    last = seed[-1]
    for c in stream:
        out.write(c)
        out.flush()
        last = c[-1]
    if last != "\n":
        out.write("\n")
    out.flush()


def run(args: argparse.Namespace) -> int:
    from livernn import limits as L
    from livernn.model import OnnxModel
    from livernn.sampling import SamplingParams

    L.TEMPERATURE.check(args.temperature)  # the same ranges as serve and OSC
    L.TOP_K.check(args.top_k)
    L.TOP_P.check(args.top_p)
    params = SamplingParams(args.temperature, args.top_k, args.top_p).validate()
    seed = unescape_seed(args.seed)
    if not seed:
        raise ConfigError("--seed is empty")
    if args.length < 0:
        raise ConfigError(f"--length must be >= 0, not {args.length}")
    if args.tunes is not None and args.tunes < 1:
        raise ConfigError(f"--tunes must be >= 1, not {args.tunes}")
    if args.model == DEFAULT_MODEL and not DEFAULT_MODEL.exists():
        raise ModelError(
            f"model file not found: {DEFAULT_MODEL} (train and export one, or pass --model PATH)"
        )
    model = OnnxModel(args.model, device=args.device)
    model.vocab.encode(seed)
    stream = iter_generate(
        model, seed, args.length, params, args.rng_seed, args.tunes, constrain=args.constrain
    )
    if args.out is None:
        try:
            _stream_to(sys.stdout, seed, stream)
        except BrokenPipeError:  # `livernn generate ... | head`: the reader has gone
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # no second error when Python exits
        return 0
    text = seed + "".join(stream)
    try:
        args.out.write_text(text, encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot write {args.out}: {e.strerror}") from None
    return 0
