"""Pieces shared by the torch detectors: input transform, seeded sessions, safetensors I/O."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

__all__ = ["InputTransform", "WEIGHTS_FILE", "load_weights", "save_weights", "torch_session"]

WEIGHTS_FILE = "weights.safetensors"


@contextlib.contextmanager
def torch_session(seed: int, n_jobs: int) -> Iterator[torch.Generator]:
    """Seed torch for one fit without touching the caller's global RNG or thread count.

    Yields a generator for shuffling. The same seed and ``n_jobs`` give bit-identical
    results on the same machine (CPU kernels are deterministic for a fixed thread count).
    """
    old = torch.get_num_threads()
    torch.set_num_threads(n_jobs)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            gen = torch.Generator().manual_seed(seed)
            yield gen
    finally:
        torch.set_num_threads(old)


@contextlib.contextmanager
def torch_threads(n_jobs: int) -> Iterator[None]:
    """Run inference on ``n_jobs`` threads, restoring the caller's setting afterwards."""
    old = torch.get_num_threads()
    torch.set_num_threads(n_jobs)
    try:
        yield
    finally:
        torch.set_num_threads(old)


class InputTransform(nn.Module):
    """Tame heavy-tailed flow features: signed log1p, standardise, clip.

    ``z = clip((sign(x) * log1p(|x|) - mean) / std, -clip, clip)`` with ``mean``/``std``
    learned from the training rows (buffers, so they are saved with the weights). Robust
    scaling leaves CICIDS2017 rates and byte counts spread over ~10 decades; the log keeps
    their order while bringing them to a range a network trains on, and the clip bounds
    what an unseen extreme value can do to the activations.

    Shapes:
        input: (N, F); output: (N, F)
    """

    def __init__(self, n_features: int, *, log: bool = True, clip: float = 10.0) -> None:
        super().__init__()
        self.log = log
        self.clip = clip
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("std", torch.ones(n_features))

    def _log(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sign(x) * torch.log1p(torch.abs(x)) if self.log else x

    @torch.no_grad()
    def fit(self, x: torch.Tensor) -> InputTransform:
        z = self._log(x)
        self.mean.copy_(z.mean(dim=0))
        std = z.std(dim=0, unbiased=False)
        self.std.copy_(torch.where(std > 1e-6, std, torch.ones_like(std)))
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = (self._log(x) - self.mean) / self.std
        return torch.clamp(z, -self.clip, self.clip) if self.clip else z


def to_tensor(X: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))


def save_weights(module: nn.Module, directory: Path) -> list[str]:
    state = {k: v.detach().contiguous() for k, v in module.state_dict().items()}
    save_file(state, str(directory / WEIGHTS_FILE))
    return [WEIGHTS_FILE]


def load_weights(module: nn.Module, directory: Path) -> None:
    module.load_state_dict(load_file(str(directory / WEIGHTS_FILE)), strict=True)
    module.eval()


def copy_state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}
