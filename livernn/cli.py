"""The ``livernn`` command line.

Each subcommand lives in its own module that exposes ``add_arguments(parser)`` and
``run(args) -> int``; those modules keep heavy imports (torch, onnxruntime) inside ``run`` so
``livernn --help`` is instant and the runtime never needs torch. Errors a user can cause are
``LivernnError``s and are printed as one line, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from livernn import __version__
from livernn.errors import LivernnError

# name -> (module, one-line help). The modules are imported lazily, only the one that runs
# (and, for --help, all of them: they must import nothing heavy at module level).
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("livernn.serve", "play the model live: OSC in, MIDI and OSC out"),
    "generate": ("livernn.generate", "generate text offline with onnxruntime"),
    "render": ("livernn.render", "render an ABC file to a MIDI (or WAV) file"),
    "train": ("training.cli", "train a character model (needs the [train] extra)"),
    "export": ("training.cli_export", "export a checkpoint to ONNX (needs the [train] extra)"),
    "info": ("livernn.info", "print the model card of an ONNX model"),
    "ports": ("livernn.outputs.ports", "list MIDI output ports (and JACK's MIDI inputs)"),
}


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line, like every other livernn error (exit status 2);
    subcommand parsers inherit it."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"livernn: error: {message} (see '{self.prog} --help')\n")


DESCRIPTION = (
    "livernn: a recurrent network writes folk tunes (ABC) live; you steer it over OSC and hear"
    " it on MIDI or the built-in synth. Start with 'livernn serve --synth'."
)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="livernn", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"livernn {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (modname, helptext) in COMMANDS.items():
        p = sub.add_parser(name, help=helptext, description=helptext)
        try:
            module = importlib.import_module(modname)
        except ImportError as e:  # a command whose module is missing or needs an extra
            p.set_defaults(_import_error=f"'livernn {name}' is unavailable: {e}")
            continue
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if getattr(args, "_import_error", None):
        print(f"livernn: error: {args._import_error}", file=sys.stderr)
        return 2
    try:
        return int(args._run(args) or 0)
    except LivernnError as e:
        print(f"livernn: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `livernn ... | head`: the reader left; end quietly, as cat does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
