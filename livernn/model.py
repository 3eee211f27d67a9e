"""The runtime model: an ONNX character model stepped with onnxruntime (no torch).

``OnnxModel`` loads a file that follows ``livernn/contract.py`` (inputs ``tokens`` int64
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
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from livernn.contract import (
    INPUTS,
    LOGITS,
    OUTPUT_NAMES,
    OUTPUTS,
    STATE,
    STATE_OUT,
    TOKENS,
    ModelMeta,
    TensorSpec,
)
from livernn.errors import ConfigError, ModelError, VocabError
from livernn.vocab import Vocab

log = logging.getLogger(__name__)

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
_CPU = "CPUExecutionProvider"
_CUDA = "CUDAExecutionProvider"
# auto picks CUDA only if its step takes at most this fraction of the CPU's.
_AUTO_CUDA_RATIO = 0.75


def _check_io(
    kind: str, actual: Sequence, spec: tuple[TensorSpec, ...], sizes: dict[str, int]
) -> None:
    by_name = {a.name: a for a in actual}
    for t in spec:
        if t.name not in by_name:
            names = ", ".join(sorted(by_name)) or "none"
            raise ModelError(f"has no {kind} named {t.name!r} (its {kind}s: {names})")
        a = by_name[t.name]
        if a.type != t.onnx_type:
            raise ModelError(f"{kind} {t.name!r} is {a.type[7:-1]}, the contract says {t.dtype}")
        if len(a.shape) != t.rank:
            raise ModelError(
                f"{kind} {t.name!r} has rank {len(a.shape)}, the contract says {t.rank}"
            )
        for axis, what in t.fixed_axes().items():
            dim = a.shape[axis]
            if isinstance(dim, int) and dim > 0 and dim != sizes[what]:
                raise ModelError(
                    f"{kind} {t.name!r} axis {axis} is {dim} but the metadata gives "
                    f"{what.replace('_', ' ')} {sizes[what]}"
                )
    if kind == "input" and len(by_name) != len(spec):
        extra = sorted(set(by_name) - {t.name for t in spec})
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
        self._warned_nonfinite = False
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

        if hasattr(ort, "disable_telemetry_events"):  # no events about this machine queued
            ort.disable_telemetry_events()
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
        sizes = m.sizes()
        _check_io("input", sess.get_inputs(), INPUTS, sizes)
        _check_io("output", sess.get_outputs(), OUTPUTS, sizes)
        # Real runs pin the dynamic axes the signature leaves open: one step, and batches of
        # several lengths (a model whose logits' width follows the input is refused).
        for b, t in ((1, 1), (2, 3), (1, 7)):
            tokens = np.zeros((b, t), dtype=np.int64)
            state = np.zeros((m.layers, b, m.state_size), dtype=np.float32)
            try:
                logits, state_out = sess.run(list(OUTPUT_NAMES), {TOKENS: tokens, STATE: state})
            except Exception as e:
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                raise ModelError(
                    f"fails on tokens [{b}, {t}] with the metadata's shapes ({first[:200]})"
                ) from None
            what = "one character" if (b, t) == (1, 1) else f"tokens [{b}, {t}]"
            if logits.shape != (b, t, len(m.vocab)):
                raise ModelError(
                    f"gives logits of shape {list(logits.shape)} for {what}, expected "
                    f"[{b}, {t}, {len(m.vocab)}] (vocabulary size {len(m.vocab)})"
                )
            if state_out.shape != state.shape:
                raise ModelError(
                    f"gives state_out of shape {list(state_out.shape)}, expected "
                    f"{list(state.shape)} from the metadata"
                )
            if logits.dtype != np.float32 or state_out.dtype != np.float32:
                raise ModelError("outputs must be float32")
            if not self._finite(logits):
                break  # said once, at load

    def _finite(self, logits: np.ndarray) -> bool:
        """False (and one warning, the first time) when logits hold NaN or infinity: the
        model's weights are broken and what it plays is noise."""
        if self._warned_nonfinite or np.isfinite(logits).all():
            return True
        self._warned_nonfinite = True
        log.warning(
            "%s gives logits that are not finite (NaN or infinity): its weights are broken; "
            "it plays uniformly random characters", self.path,
        )  # fmt: skip
        return False

    def time_step(self, repeats: int = 7) -> float:
        """The median seconds of one batched step of every voice (the state is kept)."""
        saved = self._state.copy()
        tok = np.zeros(self.voices, dtype=np.int64)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            self.step(tok)
            times.append(time.perf_counter() - t0)
        self.set_state(None, saved)
        return float(np.median(times[1:] if len(times) > 1 else times))

    def _faster(self, gpu, cpu) -> bool:
        """auto: time a batched step of all voices on each session, pick CUDA if clearly faster."""
        L, S = self.meta.layers, self.meta.state_size
        feed = {
            TOKENS: np.zeros((self.voices, 1), dtype=np.int64),
            STATE: np.zeros((L, self.voices, S), dtype=np.float32),
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
            io.bind_ortvalue_input(TOKENS, ort.OrtValue.ortvalue_from_numpy(self._tok))
            io.bind_ortvalue_input(STATE, ort.OrtValue.ortvalue_from_numpy(src))
            io.bind_ortvalue_output(LOGITS, ort.OrtValue.ortvalue_from_numpy(self._logits))
            io.bind_ortvalue_output(STATE_OUT, ort.OrtValue.ortvalue_from_numpy(dst))
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
            logits, state = self._session_.run(list(OUTPUT_NAMES), feed)
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
            logits, new = self._run({TOKENS: ids[None, :], STATE: state})
            self._state[:, v, :] = new[:, 0, :]
        self._finite(logits)
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
            logits, new = self._run({TOKENS: tok.astype(np.int64)[:, None], STATE: state})
            self._state[:, vs, :] = new
        self._finite(logits)
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
        out = self._logits[:, 0, :].copy()
        self._finite(out)
        return out
