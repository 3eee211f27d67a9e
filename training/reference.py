"""A numpy reference forward pass: the math of the seeds, the oracle that keeps export honest.

GRU (PyTorch/ONNX ``linear_before_reset`` form, seed 000's equations with the reset gate
applied to the recurrent term):
    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)          reset gate
    z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)          update gate
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn))       candidate state
    h' = (1 - z) * n + z * h
LSTM and vanilla RNN are here too so every cell type has an oracle.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def gru_cell(
    x: np.ndarray,
    h: np.ndarray,
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    b_ih: np.ndarray,
    b_hh: np.ndarray,
) -> np.ndarray:
    """One GRU step. x[B, I], h[B, H] -> h'[B, H]; weights stacked (r, z, n) as in PyTorch."""
    gi = x @ w_ih.T + b_ih  # [B, 3H]
    gh = h @ w_hh.T + b_hh  # [B, 3H]
    i_r, i_z, i_n = np.split(gi, 3, axis=1)
    h_r, h_z, h_n = np.split(gh, 3, axis=1)
    r = _sigmoid(i_r + h_r)
    z = _sigmoid(i_z + h_z)
    n = np.tanh(i_n + r * h_n)
    return (1.0 - z) * n + z * h


def lstm_cell(
    x: np.ndarray,
    h: np.ndarray,
    c: np.ndarray,
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    b_ih: np.ndarray,
    b_hh: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """One LSTM step; gates stacked (i, f, g, o) as in PyTorch."""
    g = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh  # [B, 4H]
    i, f, gg, o = np.split(g, 4, axis=1)
    c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(gg)
    h = _sigmoid(o) * np.tanh(c)
    return h, c


def rnn_cell(
    x: np.ndarray,
    h: np.ndarray,
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    b_ih: np.ndarray,
    b_hh: np.ndarray,
) -> np.ndarray:
    return np.tanh(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh)


def forward(
    weights: Mapping[str, np.ndarray],
    cell: str,
    layers: int,
    hidden: int,
    ids: np.ndarray,
    state: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """ids[B, T] int, state[L, B, S] -> logits[B, T, V], state[L, B, S] (float64 math)."""
    w = {k: np.asarray(v, dtype=np.float64) for k, v in weights.items()}
    state = np.array(state, dtype=np.float64)  # [L, B, S]
    B, T = ids.shape
    out = []
    for t in range(T):
        x = w["embed.weight"][ids[:, t]]  # [B, E]
        for layer in range(layers):
            p = [w[f"rnn.{n}_l{layer}"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            if cell == "gru":
                state[layer] = gru_cell(x, state[layer], *p)
                x = state[layer]
            elif cell == "rnn":
                state[layer] = rnn_cell(x, state[layer], *p)
                x = state[layer]
            elif cell == "lstm":
                h, c = state[layer, :, :hidden], state[layer, :, hidden:]
                h, c = lstm_cell(x, h, c, *p)
                state[layer] = np.concatenate([h, c], axis=1)
                x = h
            else:
                raise ValueError(f"unknown cell {cell!r}")
        out.append(x @ w["head.weight"].T + w["head.bias"])  # [B, V]
    return np.stack(out, axis=1), state
