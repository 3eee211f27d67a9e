"""Validation bits per character, and the plain torch samples written each epoch."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from livernn.vocab import Vocab
from training.model import CharRNN


@torch.no_grad()
def evaluate_bpc(
    model: CharRNN, data: torch.Tensor, device: torch.device, batch: int = 16, seq: int = 256
) -> float:
    """Bits per character of ``data`` (stateful over B parallel streams, state carried)."""
    model.eval()
    n = data.numel() - 1
    if n < 1:
        return float("nan")
    batch = max(1, min(batch, n // 64 or 1))
    per = n // batch
    x_all = data[: per * batch].view(batch, per).to(device)  # [B, N]
    y_all = data[1 : per * batch + 1].view(batch, per).to(device)  # [B, N]
    state = model.initial_state(batch, device)  # [L, B, S]
    total, count = 0.0, 0
    for s in range(0, per, seq):
        logits, state = model(x_all[:, s : s + seq], state)  # [B, t, V]
        y = y_all[:, s : s + seq]  # [B, t]
        loss = F.cross_entropy(
            logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum"
        )
        total += loss.item()
        count += y.numel()
    return total / max(count, 1) / math.log(2)


def evaluate_parts(
    model: CharRNN, parts: dict[str, torch.Tensor], device: torch.device
) -> tuple[float, dict[str, float]]:
    """Bits per character of each collection's held-out stream, and of all of them together
    (weighted by characters)."""
    each = {name: evaluate_bpc(model, ids, device) for name, ids in parts.items()}
    sizes = {name: ids.numel() - 1 for name, ids in parts.items() if ids.numel() > 1}
    total = sum(sizes.values())
    overall = sum(each[n] * k for n, k in sizes.items()) / total if total else float("nan")
    return overall, each


@torch.no_grad()
def sample_text(
    model: CharRNN,
    vocab: Vocab,
    prefix: str,
    length: int,
    device: torch.device,
    temperature: float = 1.0,
    seed: int = 0,
) -> str:
    """Plain categorical sampling in torch, for progress samples (the runtime uses ONNX)."""
    model.eval()
    gen = torch.Generator(device="cpu").manual_seed(seed)
    ids = torch.from_numpy(vocab.encode(prefix, errors="ignore")).view(1, -1).to(device)
    if ids.numel() == 0:
        ids = torch.zeros(1, 1, dtype=torch.long, device=device)
    state = model.initial_state(1, device)
    logits, state = model(ids, state)  # [1, T, V]
    out = []
    for _ in range(length):
        p = torch.softmax(logits[0, -1].float().cpu() / temperature, dim=-1)  # [V]
        nxt = int(torch.multinomial(p, 1, generator=gen))
        out.append(vocab.chars[nxt])
        logits, state = model(torch.tensor([[nxt]], device=device), state)
    return prefix + "".join(out)
