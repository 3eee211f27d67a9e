"""The runtime model: an ONNX character model stepped with onnxruntime (no torch).

``OnnxModel`` loads a file that follows the contract in DESIGN.md (inputs ``tokens`` int64
[B, T] and ``state`` float32 [L, B, S]; outputs ``logits`` [B, T, V] and ``state_out``
[L, B, S]; ``livernn.*`` metadata), checks it, and owns the recurrent state of ``voices``
independent voices (one row each of an [L, voices, S] array).

Provider choice (``device``): ``"cpu"`` is onnxruntime's CPU provider; ``"cuda"`` is the CUDA
provider (onnxruntime-gpu and a GPU needed, else ``ModelError``); ``"auto"`` uses the CPU
unless the CUDA provider is available AND stepping all voices on it is measured at load to be
at least 25% faster than on the CPU. A step of a small GRU is a few hundred microseconds of
weight streaming on a CPU core, below the fixed cost of a CUDA launch and copy, so one voice
of a small model runs on the CPU (see BENCHMARKS.md).

Not meant to be shared between threads without the engine's own discipline; a lock makes
concurrent calls safe, not fast.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from livernn.errors import ConfigError, ModelError, VocabError
from livernn.vocab import Vocab

log = logging.getLogger(__name__)

#: ``livernn.format`` versions this runtime understands.
KNOWN_FORMATS: frozenset[int] = frozenset({1})
CELLS: tuple[str, ...] = ("gru", "lstm", "rnn")
REQUIRED_KEYS: tuple[str, ...] = (
    "livernn.format",
    "livernn.vocab",
    "livernn.cell",
    "livernn.layers",
    "livernn.hidden",
    "livernn.corpus",
    "livernn.val_bpc",
    "livernn.tokens_seen",
)
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
_CPU = "CPUExecutionProvider"
_CUDA = "CUDAExecutionProvider"
# auto picks CUDA only if its step takes at most this fraction of the CPU's.
_AUTO_CUDA_RATIO = 0.75


@dataclass(frozen=True)
class ModelMeta:
    """What a model file says about itself (its ``livernn.*`` metadata)."""

    format: int
    vocab: Vocab
    cell: str
    layers: int
    hidden: int
    state_size: int
    corpus: str
    val_bpc: float
    tokens_seen: int
    props: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_props(cls, props: dict[str, str]) -> ModelMeta:
        """Parse and check the metadata; ``ModelError`` names the first problem."""
        missing = [k for k in REQUIRED_KEYS if k not in props]
        if missing:
            if len(missing) == len(REQUIRED_KEYS):
                raise ModelError("has no livernn metadata (not exported by 'livernn export'?)")
            raise ModelError(f"metadata is missing {', '.join(missing)}")
        fmt = _int_prop(props, "livernn.format")
        if fmt not in KNOWN_FORMATS:
            known = ", ".join(str(f) for f in sorted(KNOWN_FORMATS))
            raise ModelError(f"livernn.format {fmt} is not supported (this runtime reads {known})")
        try:
            vocab = Vocab.from_json(props["livernn.vocab"])
        except VocabError as e:
            raise ModelError(f"livernn.vocab is invalid: {e}") from None
        cell = props["livernn.cell"].strip().lower()
        if cell not in CELLS:
            raise ModelError(f"livernn.cell {cell!r} is not one of {', '.join(CELLS)}")
        layers = _int_prop(props, "livernn.layers", positive=True)
        hidden = _int_prop(props, "livernn.hidden", positive=True)
        try:
            val_bpc = float(props["livernn.val_bpc"])
        except ValueError:
            raise ModelError(
                f"livernn.val_bpc {props['livernn.val_bpc']!r} is not a number"
            ) from None
        tokens_seen = _int_prop(props, "livernn.tokens_seen")
        state_size = 2 * hidden if cell == "lstm" else hidden
        if "livernn.state_size" in props:
            declared = _int_prop(props, "livernn.state_size", positive=True)
            if declared != state_size:
                raise ModelError(
                    f"livernn.state_size {declared} does not match {cell} hidden {hidden} "
                    f"(expected {state_size})"
                )
        return cls(
            format=fmt,
            vocab=vocab,
            cell=cell,
            layers=layers,
            hidden=hidden,
            state_size=state_size,
            corpus=props["livernn.corpus"],
            val_bpc=val_bpc,
            tokens_seen=tokens_seen,
            props=dict(props),
        )


def _int_prop(props: dict[str, str], key: str, positive: bool = False) -> int:
    raw = props[key]
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ModelError(f"{key} {raw!r} is not an integer") from None
    if positive and value <= 0 or value < 0:
        raise ModelError(f"{key} {value} must be {'positive' if positive else 'non-negative'}")
    return value


# name -> (onnx type, rank, {axis: meta attribute that fixes it}) of the contract.
_INPUTS = {
    "tokens": ("tensor(int64)", 2, {}),
    "state": ("tensor(float)", 3, {0: "layers", 2: "state_size"}),
}
_OUTPUTS = {
    "logits": ("tensor(float)", 3, {2: "vocab_size"}),
    "state_out": ("tensor(float)", 3, {0: "layers", 2: "state_size"}),
}


def _check_io(kind: str, actual: Sequence, spec: dict, sizes: dict[str, int]) -> None:
    by_name = {a.name: a for a in actual}
    for name, (typ, rank, fixed) in spec.items():
        if name not in by_name:
            names = ", ".join(sorted(by_name)) or "none"
            raise ModelError(f"has no {kind} named {name!r} (its {kind}s: {names})")
        a = by_name[name]
        if a.type != typ:
            want = typ[7:-1]
            raise ModelError(f"{kind} {name!r} is {a.type[7:-1]}, the contract says {want}")
        if len(a.shape) != rank:
            raise ModelError(f"{kind} {name!r} has rank {len(a.shape)}, the contract says {rank}")
        for axis, what in fixed.items():
            dim = a.shape[axis]
            if isinstance(dim, int) and dim > 0 and dim != sizes[what]:
                raise ModelError(
                    f"{kind} {name!r} axis {axis} is {dim} but the metadata gives "
                    f"{what.replace('_', ' ')} {sizes[what]}"
                )
    if kind == "input" and len(by_name) != len(spec):
        extra = sorted(set(by_name) - set(spec))
        raise ModelError(f"has inputs the contract does not know: {', '.join(extra)}")


def cuda_available() -> bool:
    """Whether onnxruntime here can use the CUDA provider (onnxruntime-gpu installed)."""
    import onnxruntime as ort

    return _CUDA in ort.get_available_providers()


class OnnxModel:
    """A loaded model plus the recurrent state of ``voices`` voices.

    ``prefill`` and ``step`` return float32 logits (next-character scores). Every method checks
    its arguments before changing anything, so a bad call leaves the state as it was.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        voices: int = 1,
        device: str = "auto",
        threads: int = 1,
    ) -> None:
        if not isinstance(voices, int) or voices < 1:
            raise ConfigError(f"voices must be a positive integer, not {voices!r}")
        if device not in DEVICES:
            raise ConfigError(f"device must be one of {', '.join(DEVICES)}, not {device!r}")
        if not isinstance(threads, int) or threads < 1:
            raise ConfigError(f"threads must be a positive integer, not {threads!r}")
        self.path = Path(path)
        self.voices = voices
        self.threads = threads
        self._lock = threading.RLock()
        if not self.path.is_file():
            what = "is a directory" if self.path.is_dir() else "not found"
            raise ModelError(f"model file {what}: {self.path}")
        try:
            data = self.path.read_bytes()
        except OSError as e:
            raise ModelError(f"cannot read model file {self.path}: {e.strerror}") from None
        self.file_size = len(data)

        cpu = self._session(data, [_CPU])
        try:
            self.meta = ModelMeta.from_props(dict(cpu.get_modelmeta().custom_metadata_map))
            self._validate(cpu)
        except ModelError as e:
            raise ModelError(f"{self.path}: {e}") from None
        self.vocab: Vocab = self.meta.vocab
        L, S = self.meta.layers, self.meta.state_size
        self._state = np.zeros((L, voices, S), dtype=np.float32)
        self._session_ = cpu
        if device == "cuda" or (device == "auto" and cuda_available()):
            if not cuda_available():
                raise ModelError(
                    "device 'cuda' needs onnxruntime-gpu and a GPU "
                    "(pip uninstall onnxruntime && pip install onnxruntime-gpu)"
                )
            try:
                gpu = self._session(data, [_CUDA, _CPU])
                usable = _CUDA in gpu.get_providers()
            except ModelError as e:
                if device == "cuda":
                    raise
                log.warning("auto device: CUDA session failed, using the CPU (%s)", e)
                usable = False
            if not usable:
                if device == "cuda":
                    raise ModelError("onnxruntime-gpu is installed but no CUDA GPU could be used")
            elif device == "cuda" or self._faster(gpu, cpu):
                self._session_ = gpu
        self.providers: list[str] = list(self._session_.get_providers())
        self.device = "cuda" if self.providers[0] == _CUDA else "cpu"
        self._prepare_binding()
        log.info("loaded %s (%s) on %s", self.path, self.describe(), self.device)

    # -- loading -------------------------------------------------------------------------

    def _session(self, data: bytes, providers: list[str]):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        try:
            return ort.InferenceSession(data, sess_options=opts, providers=providers)
        except Exception as e:  # onnxruntime raises several unrelated types
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ModelError(f"{self.path} is not a loadable ONNX model ({first[:200]})") from None

    def _validate(self, sess) -> None:
        m = self.meta
        sizes = {"layers": m.layers, "state_size": m.state_size, "vocab_size": len(m.vocab)}
        _check_io("input", sess.get_inputs(), _INPUTS, sizes)
        _check_io("output", sess.get_outputs(), _OUTPUTS, sizes)
        # One real step pins the dynamic axes the signature leaves open.
        tokens = np.zeros((1, 1), dtype=np.int64)
        state = np.zeros((m.layers, 1, m.state_size), dtype=np.float32)
        try:
            logits, state_out = sess.run(
                ["logits", "state_out"], {"tokens": tokens, "state": state}
            )
        except Exception as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ModelError(
                f"fails on one step with the metadata's shapes ({first[:200]})"
            ) from None
        if logits.shape != (1, 1, len(m.vocab)):
            raise ModelError(
                f"gives logits of shape {list(logits.shape)} for one character, expected "
                f"[1, 1, {len(m.vocab)}] (vocabulary size {len(m.vocab)})"
            )
        if state_out.shape != state.shape:
            raise ModelError(
                f"gives state_out of shape {list(state_out.shape)}, expected "
                f"{list(state.shape)} from the metadata"
            )
        if logits.dtype != np.float32 or state_out.dtype != np.float32:
            raise ModelError("outputs must be float32")

    def _faster(self, gpu, cpu) -> bool:
        """auto: time a batched step of all voices on each session, pick CUDA if clearly faster."""
        L, S = self.meta.layers, self.meta.state_size
        feed = {
            "tokens": np.zeros((self.voices, 1), dtype=np.int64),
            "state": np.zeros((L, self.voices, S), dtype=np.float32),
        }

        def median(sess) -> float:
            for _ in range(3):
                sess.run(None, feed)
            times = []
            for _ in range(15):
                t0 = time.perf_counter()
                sess.run(None, feed)
                times.append(time.perf_counter() - t0)
            return float(np.median(times))

        t_gpu, t_cpu = median(gpu), median(cpu)
        log.info("auto device: step %.0f us on CUDA, %.0f us on CPU", t_gpu * 1e6, t_cpu * 1e6)
        return t_gpu <= _AUTO_CUDA_RATIO * t_cpu

    def _prepare_binding(self) -> None:
        """Preallocated buffers and two IO bindings (state ping-pong) for stepping all voices."""
        import onnxruntime as ort

        L, B, S, V = self.meta.layers, self.voices, self.meta.state_size, len(self.vocab)
        self._tok = np.zeros((B, 1), dtype=np.int64)
        self._logits = np.zeros((B, 1, V), dtype=np.float32)
        self._other = np.zeros((L, B, S), dtype=np.float32)
        self._bindings = {}
        sess = self._session_
        for src, dst in ((self._state, self._other), (self._other, self._state)):
            io = sess.io_binding()
            io.bind_ortvalue_input("tokens", ort.OrtValue.ortvalue_from_numpy(self._tok))
            io.bind_ortvalue_input("state", ort.OrtValue.ortvalue_from_numpy(src))
            io.bind_ortvalue_output("logits", ort.OrtValue.ortvalue_from_numpy(self._logits))
            io.bind_ortvalue_output("state_out", ort.OrtValue.ortvalue_from_numpy(dst))
            self._bindings[id(src)] = (io, dst)

    # -- info ----------------------------------------------------------------------------

    def describe(self) -> str:
        m = self.meta
        return f"{m.cell} {m.layers}x{m.hidden}, {len(m.vocab)} chars"

    def __repr__(self) -> str:
        return f"OnnxModel({str(self.path)!r}, {self.describe()}, voices={self.voices})"

    # -- state ---------------------------------------------------------------------------

    def _voice(self, voice: int) -> int:
        if isinstance(voice, (bool, np.bool_)) or not isinstance(voice, (int, np.integer)):
            raise ConfigError(f"voice must be an integer, not {voice!r}")
        if not 0 <= voice < self.voices:
            raise ConfigError(f"voice {voice} is out of range (0..{self.voices - 1})")
        return int(voice)

    def reset(self, voice: int | None = None) -> None:
        """Zero the state of one voice, or of all voices."""
        with self._lock:
            if voice is None:
                self._state[...] = 0.0
            else:
                self._state[:, self._voice(voice), :] = 0.0

    def get_state(self, voice: int | None = None) -> np.ndarray:
        """A copy of one voice's state [L, S], or of all [L, voices, S]."""
        with self._lock:
            if voice is None:
                return self._state.copy()
            return self._state[:, self._voice(voice), :].copy()

    def set_state(self, voice: int | None, arr: np.ndarray) -> None:
        """Replace one voice's state ([L, S]) or all of it ([L, voices, S], voice=None)."""
        with self._lock:
            target = self._state if voice is None else self._state[:, self._voice(voice), :]
            a = np.asarray(arr)
            if a.shape != target.shape:
                raise ConfigError(
                    f"state must have shape {list(target.shape)}, not {list(a.shape)}"
                )
            if not np.issubdtype(a.dtype, np.floating) or not np.all(np.isfinite(a)):
                raise ConfigError("state must be finite floating-point numbers")
            target[...] = a

    # -- running -------------------------------------------------------------------------

    def _run(self, feed: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        try:
            logits, state = self._session_.run(["logits", "state_out"], feed)
        except Exception as e:
            raise ModelError(f"model run failed: {str(e).strip().splitlines()[0][:200]}") from None
        return logits, state

    def prefill(self, voice: int, text: str) -> np.ndarray:
        """Feed ``text`` to one voice in one call (T = len(text)); logits [V] after its last char.

        Continues from the voice's current state (``reset`` first for a fresh seed). Raises
        ``VocabError`` for an unknown character and ``ConfigError`` for empty text, before
        any change.
        """
        v = self._voice(voice)
        if not isinstance(text, str) or not text:
            raise ConfigError("seed text is empty")
        ids = self.vocab.encode(text)
        with self._lock:
            state = np.ascontiguousarray(self._state[:, v : v + 1, :])
            logits, new = self._run({"tokens": ids[None, :], "state": state})
            self._state[:, v, :] = new[:, 0, :]
        return logits[0, -1].copy()

    def step(
        self, ids: Sequence[int] | np.ndarray, voices: Sequence[int] | None = None
    ) -> np.ndarray:
        """Advance voices by one character each in one batched call; logits [n, V].

        ``ids[i]`` is fed to voice ``voices[i]`` (default: all voices, in order).
        """
        tok = np.asarray(ids)
        if tok.ndim != 1 or (tok.size and tok.dtype.kind not in "iu"):
            raise ConfigError("ids must be a 1-D sequence of integers")
        V = len(self.vocab)
        if tok.size and (int(tok.min()) < 0 or int(tok.max()) >= V):
            raise VocabError(f"character id out of range 0..{V - 1}")
        if voices is None:
            if tok.size != self.voices:
                raise ConfigError(f"step needs {self.voices} ids (one per voice), got {tok.size}")
            with self._lock:
                return self._step_all(tok)
        vs = [self._voice(v) for v in voices]
        if len(vs) != tok.size:
            raise ConfigError(f"step got {tok.size} ids for {len(vs)} voices")
        if len(set(vs)) != len(vs):
            raise ConfigError("step got the same voice twice")
        if not vs:
            return np.zeros((0, V), dtype=np.float32)
        if vs == list(range(self.voices)):
            with self._lock:
                return self._step_all(tok)
        with self._lock:
            state = self._state[:, vs, :]  # fancy indexing: a contiguous copy
            logits, new = self._run({"tokens": tok.astype(np.int64)[:, None], "state": state})
            self._state[:, vs, :] = new
        return logits[:, 0, :]

    def _step_all(self, tok: np.ndarray) -> np.ndarray:
        self._tok[:, 0] = tok
        io, dst = self._bindings[id(self._state)]
        try:
            self._session_.run_with_iobinding(io)
        except Exception as e:
            raise ModelError(f"model run failed: {str(e).strip().splitlines()[0][:200]}") from None
        # The new state is in dst; swap so self._state always names the current one.
        self._state, self._other = dst, self._state
        return self._logits[:, 0, :].copy()

    def step_plain(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """``step`` of all voices through ``session.run`` (no IO binding); for benchmarks."""
        tok = np.asarray(ids, dtype=np.int64).reshape(self.voices, 1)
        with self._lock:
            logits, new = self._run({"tokens": tok, "state": self._state})
            self._state[...] = new
        return logits[:, 0, :]


def count_parameters(path: str | Path) -> int:
    """Number of weights stored as initializers in an ONNX file (reads protobuf directly)."""
    data = Path(path).read_bytes()
    graph = _pb_fields(data, 7)  # ModelProto.graph
    total = 0
    for g in graph:
        for tensor in _pb_fields(g, 5):  # GraphProto.initializer
            dims = _pb_varints(tensor, 1)  # TensorProto.dims
            total += math.prod(dims) if dims else 1
    return total


def _read_varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def _pb_walk(buf: bytes):
    i, n = 0, len(buf)
    while i < n:
        key, i = _read_varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            val, i = _read_varint(buf, i)
            yield num, wt, val
        elif wt == 1:
            yield num, wt, buf[i : i + 8]
            i += 8
        elif wt == 2:
            ln, i = _read_varint(buf, i)
            yield num, wt, buf[i : i + ln]
            i += ln
        elif wt == 5:
            yield num, wt, buf[i : i + 4]
            i += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wt}")


def _pb_fields(buf: bytes, number: int) -> list[bytes]:
    return [v for num, wt, v in _pb_walk(buf) if num == number and wt == 2]


def _pb_varints(buf: bytes, number: int) -> list[int]:
    out: list[int] = []
    for num, wt, v in _pb_walk(buf):
        if num != number:
            continue
        if wt == 0:
            out.append(v)
        elif wt == 2:  # packed
            j = 0
            while j < len(v):
                x, j = _read_varint(v, j)
                out.append(x)
    return out
