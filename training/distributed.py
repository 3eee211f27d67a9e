"""Where a run runs: the device, and under torchrun the process group, DDP wrapping and the
decisions made once on rank 0.

Every rank must leave the training loop at the same step, or the others hang in DDP's
all-reduce. Decisions that depend on one rank's view (its clock, or the validation loss only
rank 0 measures) are therefore taken on rank 0 and broadcast (``Dist.agree``,
``Dist.shared_clock``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from torch import nn

from livernn.errors import ConfigError


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' requested but no CUDA GPU is available to torch")
    return torch.device(name)


def amp_dtype(mode: str, device: torch.device) -> torch.dtype | None:
    if device.type != "cuda" or mode == "off":
        return None
    if mode == "bf16" or (mode == "auto" and torch.cuda.is_bf16_supported()):
        return torch.bfloat16
    return torch.float16


@dataclass
class Dist:
    """The process's place in the run: rank 0 of 1 when not under torchrun."""

    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")
    active: bool = False  # a process group is up

    @property
    def master(self) -> bool:
        return self.rank == 0

    @classmethod
    def init(cls, device: torch.device) -> Dist:
        """Join the torchrun process group (nccl on CUDA, gloo on the CPU) when there is one."""
        if not (int(os.environ.get("WORLD_SIZE", "1")) > 1 or "LOCAL_RANK" in os.environ):
            return cls(device=device)
        import torch.distributed as dist

        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        if device.type == "cuda":
            device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}")
            torch.cuda.set_device(device)
        return cls(dist.get_rank(), dist.get_world_size(), device, True)

    def wrap(self, model: nn.Module) -> nn.Module:
        """``model`` in DistributedDataParallel when under torchrun, else itself."""
        if not self.active:
            return model
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)

    def _broadcast(self, value: float) -> float:
        import torch.distributed as dist

        t = torch.tensor([value], dtype=torch.float64, device=self._comm_device())
        dist.broadcast(t, src=0)
        return float(t.item())

    def _comm_device(self) -> torch.device:
        return self.device if self.device.type == "cuda" else torch.device("cpu")

    def agree(self, decision: bool) -> bool:
        """Rank 0's ``decision``, on every rank."""
        return bool(self._broadcast(float(decision))) if self.active else decision

    def shared_clock(self, seconds: float) -> float:
        """Rank 0's elapsed ``seconds``, on every rank (time budgets and the time-based lr
        schedule then agree)."""
        return self._broadcast(seconds) if self.active else seconds

    def close(self) -> None:
        """Destroy the process group, and collect now what still refers to it (a DDP wrapper
        in a reference cycle; the caller drops its own references first), while the
        interpreter is whole. Left to interpreter exit, gloo's worker threads ended in
        ``terminate called without an active exception`` (SIGABRT) in 2 of 20 two-process
        runs on a loaded 2-core machine; 0 of 60 since."""
        if self.active:
            import gc

            import torch.distributed as dist

            dist.destroy_process_group()
            gc.collect()
            self.active = False
