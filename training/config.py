"""Every training and export option, declared once (torch-free, so ``livernn --help`` is fast).

``ModelConfig``, ``TrainConfig`` and ``ExportConfig`` are the single declaration of each option:
field name, type, default, and ``field(metadata=...)`` with its help text and, where the
command line needs them, ``choices``, ``group``, ``metavar``, ``nargs``/``const``. The
``livernn train`` / ``livernn export`` parsers are derived from them by ``add_options`` (flag
``--seq-len`` from field ``seq_len``, type from the annotation; a bool that defaults to True
becomes ``--no-NAME``, one that defaults to False ``--NAME``) and read back by
``from_args``.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from livernn import contract
from livernn.contract import CELLS
from livernn.errors import ConfigError

BATCHING = ("random", "stateful")
TEXT_SPLITS = ("blank", "file")
AMP_MODES = ("auto", "bf16", "fp16", "off")
OPTIMIZERS = ("adamw", "adam")
SCHEDULES = ("cosine", "constant")

T = TypeVar("T")


def opt(default: Any = dataclasses.MISSING, help: str = "", **cli: Any) -> Any:
    """A dataclass field with its command-line description in ``metadata``.

    ``cli`` keys: ``choices``, ``group``, ``metavar``, ``nargs``, ``const``, ``positional``,
    ``cli=False`` (not on the command line).
    """
    return field(default=default, metadata={"help": help, **cli})


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild the model; stored in checkpoints and ONNX metadata."""

    vocab_size: int = opt(help="set from the corpus", cli=False)
    cell: str = opt("gru", "gru (default), lstm or rnn", group="model")
    layers: int = opt(3, "stacked recurrent layers", group="model")
    hidden: int = opt(512, "units per layer", group="model")
    embedding: int = opt(64, "character embedding size", group="model")
    dropout: float = opt(
        0.3,
        "on layer inputs and outputs (default 0.3; with --init, the base model's)",
        group="model",
    )

    def validate(self) -> ModelConfig:
        if self.cell not in CELLS:
            raise ConfigError(f"unknown cell {self.cell!r}; choose one of {', '.join(CELLS)}")
        if self.vocab_size < 1:
            raise ConfigError("vocabulary size must be at least 1")
        for name in ("layers", "hidden", "embedding"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout}")
        return self

    @property
    def state_size(self) -> int:
        return contract.state_size(self.cell, self.hidden)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        try:
            return cls(**known).validate()
        except TypeError as e:
            raise ConfigError(f"bad model config: {e}") from None


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser, data and run options (the model's own options live in ``ModelConfig``)."""

    corpus: tuple[str, ...] = opt(
        help="files, folders (recursive .abc/.txt) or globs (** recursive)", metavar="PATH"
    )
    out: str = opt(help="checkpoints, plot, samples", metavar="RUN_DIR")
    # data
    clean: str = opt(
        "all",
        "ABC cleaning: all (default), none, or a comma list of "
        "headers,eol_bang,quotes,decorations,comments",
        group="data",
    )
    text_split: str = opt(
        "blank",
        "plain text: one document per blank-line block or per file",
        choices=TEXT_SPLITS,
        group="data",
    )
    val_fraction: float = opt(
        0.1, "tunes held out (by tune, within each --corpus argument)", group="data"
    )
    mix: tuple[float, ...] = opt(
        (),
        "sampling weight of each --corpus argument, e.g. --mix 2 1 (default: by size; "
        "random windows only)",
        metavar="W",
        group="data",
    )
    batching: str = opt(
        "random",
        "random windows, or stateful truncated BPTT carrying the state",
        choices=BATCHING,
        group="data",
    )
    # optimisation
    batch_size: int = opt(
        64, "sequences per step (per process under torchrun)", group="optimisation"
    )
    seq_len: int = opt(128, "characters per sequence", group="optimisation")
    lr: float = opt(2e-3, "peak learning rate", group="optimisation")
    min_lr_ratio: float = opt(0.1, "cosine floor, as a fraction of --lr", group="optimisation")
    warmup_steps: int = opt(50, "linear warmup steps", group="optimisation")
    weight_decay: float = opt(0.01, "AdamW weight decay", group="optimisation")
    grad_clip: float = opt(1.0, "max gradient norm", group="optimisation")
    epochs: int = opt(30, "epochs at most", group="optimisation")
    max_steps: int = opt(0, "step budget (0 = none)", group="optimisation")
    max_minutes: float = opt(0.0, "time budget (0 = none)", group="optimisation")
    max_chars: int = opt(0, "character budget (0 = none)", group="optimisation")
    patience: int = opt(
        5, "early stopping: epochs without a better val loss (0 = off)", group="optimisation"
    )
    steps_per_epoch: int = opt(0, "0 = one pass over the data", group="optimisation")
    val_chars: int = opt(0, "cap validation (0 = all)", group="optimisation")
    # run
    device: str = opt("auto", "auto, cpu or cuda", group="run")
    amp: str = opt("auto", "mixed precision on CUDA", choices=AMP_MODES, group="run")
    seed: int = opt(0, "random seed (split, init, batches)", group="run")
    sample_chars: int = opt(300, "sample size each epoch", group="run")
    sample_prefix: str = opt("X:1\n", "what each epoch's sample starts with", cli=False)
    init: str = opt(
        "",
        "fine-tune: start from this checkpoint's weights, shape and vocabulary "
        "(e.g. exported/tunes.pt)",
        metavar="CHECKPOINT",
        group="fine-tuning",
    )
    train_layers: int = opt(
        0,
        "with --init: train only the top N recurrent layers and the output layer (0 = all)",
        metavar="N",
        group="fine-tuning",
    )
    resume: str = opt(
        "",
        "resume from RUN_DIR/latest.pt (or the checkpoint given)",
        nargs="?",
        const="auto",
        group="run",
    )
    plot: bool = opt(True, "no loss.png", group="run")
    quiet: bool = opt(False, "no progress bar or epoch lines", group="run")
    threads: int = opt(0, "CPU threads (0 = torch default)", group="run")
    optimizer: str = opt(
        "adamw", "adam is the MIT lab baseline", choices=OPTIMIZERS, group="optimisation"
    )
    schedule: str = opt("cosine", "learning-rate schedule", choices=SCHEDULES, group="optimisation")

    def validate(self) -> TrainConfig:
        if self.batching not in BATCHING:
            raise ConfigError(f"unknown batching {self.batching!r}; choose random or stateful")
        if self.batch_size < 1 or self.seq_len < 1:
            raise ConfigError("batch size and sequence length must be at least 1")
        if self.lr <= 0:
            raise ConfigError(f"learning rate must be > 0, got {self.lr}")
        if self.amp not in AMP_MODES:
            raise ConfigError(f"unknown amp mode {self.amp!r}; choose auto, bf16, fp16 or off")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ConfigError(f"unknown device {self.device!r}; choose auto, cpu or cuda")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"unknown optimizer {self.optimizer!r}; choose adamw or adam")
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"unknown schedule {self.schedule!r}; choose cosine or constant")
        if self.mix:
            if len(self.mix) != len(self.corpus):
                raise ConfigError(
                    f"--mix gives {len(self.mix)} weights for {len(self.corpus)} --corpus "
                    "arguments: give one per argument"
                )
            if any(w < 0 for w in self.mix) or not any(w > 0 for w in self.mix):
                raise ConfigError("--mix weights must be >= 0, and one of them > 0")
            if self.batching != "random":
                raise ConfigError("--mix needs random batching (stateful streams read in order)")
        if self.train_layers < 0:
            raise ConfigError(f"--train-layers must be >= 0, got {self.train_layers}")
        if self.train_layers and not self.init:
            raise ConfigError("--train-layers needs --init (it fine-tunes a trained model)")
        if self.init and self.resume:
            raise ConfigError("--init starts a new run and --resume continues one: give one")
        return self


@dataclass(frozen=True)
class ExportConfig:
    """``livernn export``."""

    checkpoint: str = opt(
        help="a best.pt / latest.pt from train", positional=True, metavar="CHECKPOINT"
    )
    out: str = opt(help="the ONNX file to write", metavar="MODEL.onnx")
    check: bool = opt(True, "skip the parity check")
    int8: bool = opt(
        False, "write the int8 variant (onnxruntime dynamic quantisation of the weight matrices)"
    )
    pt: str = opt(
        "",
        "also write the checkpoint without its optimiser state, for train --init",
        metavar="FILE.pt",
    )


# ----------------------------------------------------------------------------- argparse


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_options(
    parser: argparse.ArgumentParser,
    cls: type,
    groups: dict[str, argparse._ArgumentGroup] | None = None,
) -> None:
    """Add one argument per command-line field of the dataclass ``cls`` to ``parser``.

    A field's ``group`` puts it in ``groups[group]`` (created on ``parser`` when missing).
    """
    hints = typing.get_type_hints(cls)
    groups = {} if groups is None else groups
    for f in dataclasses.fields(cls):
        meta = f.metadata
        if meta.get("cli", True) is False:
            continue
        target: Any = parser
        if "group" in meta:
            if meta["group"] not in groups:
                groups[meta["group"]] = parser.add_argument_group(meta["group"])
            target = groups[meta["group"]]
        typ = hints[f.name]
        required = f.default is dataclasses.MISSING
        kw: dict[str, Any] = {"help": meta.get("help") or None, "dest": f.name}
        if typ is bool:
            flag = _flag(f.name) if not f.default else _flag("no_" + f.name)
            target.add_argument(flag, action="store_false" if f.default else "store_true", **kw)
            continue
        if typing.get_origin(typ) is tuple:  # tuple[str, ...]
            kw.update(nargs="+", type=typing.get_args(typ)[0])
        else:
            kw["type"] = typ
        for k in ("choices", "metavar", "nargs", "const"):
            if k in meta:
                kw[k] = meta[k]
        if meta.get("positional"):
            del kw["dest"]
            target.add_argument(f.name, **kw)
            continue
        if required:
            kw["required"] = True
        else:
            kw["default"] = f.default
        target.add_argument(_flag(f.name), **kw)


def from_args(cls: type[T], args: argparse.Namespace, **fixed: Any) -> T:
    """An instance of the dataclass ``cls`` from parsed ``args`` (``fixed`` fields win)."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in fixed:
            values[f.name] = fixed[f.name]
        elif f.metadata.get("cli", True) is not False and hasattr(args, f.name):
            v = getattr(args, f.name)
            if v is None:  # not given where the parser's default is None: the field's own
                continue
            values[f.name] = tuple(v) if isinstance(v, list) else v
    return cls(**values)
