"""Benign-only autoencoder detector (PyTorch): flows it cannot reconstruct are anomalous.

Trained on benign flows only, so it can flag attacks never seen in training. The score
of a row is its reconstruction error in the transformed input space (signed log1p,
standardised, clipped; see :class:`~riskscope.models._torch.InputTransform`), each
feature's squared error divided by that feature's mean squared error on benign
validation rows so that no single hard-to-reconstruct feature dominates, then averaged.
Training stops early on the benign validation loss and keeps the best weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from riskscope.models._base import AnomalyDetector
from riskscope.models._torch import (
    InputTransform,
    copy_state,
    load_weights,
    save_weights,
    to_tensor,
    torch_session,
    torch_threads,
)

__all__ = ["AutoencoderDetector", "AutoencoderNet"]


class AutoencoderNet(nn.Module):
    """Input transform, encoder ``hidden`` widths down to the code, mirrored decoder.

    ``forward`` returns ``(target, reconstruction)``, both in the transformed space.
    ``err_scale`` (a buffer) holds each feature's benign mean squared error.

    Shapes:
        input: (N, F); output: two (N, F) tensors
    """

    def __init__(
        self,
        n_features: int,
        hidden: tuple[int, ...],
        *,
        dropout: float,
        log_input: bool,
        input_clip: float,
    ) -> None:
        super().__init__()
        self.transform = InputTransform(n_features, log=log_input, clip=input_clip)
        self.register_buffer("err_scale", torch.ones(n_features))
        widths = [n_features, *hidden]
        enc: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:], strict=True):
            enc += [nn.Linear(a, b), nn.ReLU()]
            if dropout > 0:
                enc.append(nn.Dropout(dropout))
        enc = enc[:-2] if dropout > 0 else enc[:-1]  # the code layer is linear
        dec: list[nn.Module] = []
        back = widths[::-1]
        for a, b in zip(back[:-1], back[1:], strict=True):
            dec += [nn.Linear(a, b), nn.ReLU()]
        self.encoder = nn.Sequential(*enc)
        self.decoder = nn.Sequential(*dec[:-1])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.transform(x)
        return z, self.decoder(self.encoder(z))

    @torch.no_grad()
    def errors(self, x: torch.Tensor, batch: int = 8192) -> torch.Tensor:
        """Per-feature squared reconstruction error, shape (N, F)."""
        out = []
        for i in range(0, x.shape[0], batch):
            z, r = self(x[i : i + batch])
            out.append((z - r) ** 2)
        return torch.cat(out)


class AutoencoderDetector(AnomalyDetector):
    """Autoencoder trained on benign flows; anomaly score = normalised reconstruction error.

    ``fit(X, y=None, *, X_val=None, y_val=None)`` uses the benign rows only (see
    :class:`~riskscope.models._base.AnomalyDetector`); the benign validation rows drive
    early stopping and the per-feature error scale (without them, a ``validation_fraction``
    of the training rows is held out).

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(128, 64, 16)
        Encoder widths, the last being the code; the decoder mirrors them.
    dropout : float, default=0.0
    learning_rate : float, default=3e-3
    weight_decay : float, default=1e-5
    batch_size : int, default=256
    max_epochs : int, default=150
    patience : int, default=15
    validation_fraction : float, default=0.15
        Share of the benign training rows held out when no validation rows are given.
    log_input : bool, default=True
    input_clip : float, default=10.0
    contamination : float, default=0.01
        Share of benign validation rows above ``offset_`` (the default operating point).
    benign_label : str, default="BENIGN"
    seed : int, default=0
    n_jobs : int, default=1
    verbose : bool, default=False

    Attributes
    ----------
    classes_ : ndarray, ``[0, 1]``
    net_ : AutoencoderNet
    offset_, scale_ : float
        The benign threshold and spread of the ``predict_proba`` mapping.
    best_epoch_, n_epochs_, history_
        As for :class:`~riskscope.models.nn.MLPDetector` (``val_loss`` is benign MSE).

    Examples
    --------
    >>> import numpy as np
    >>> from riskscope.models import AutoencoderDetector
    >>> rng = np.random.default_rng(0)
    >>> latent = rng.normal(size=(400, 2))
    >>> X = np.hstack([latent, latent @ rng.normal(size=(2, 4))])
    >>> det = AutoencoderDetector(hidden_layer_sizes=(8, 2), max_epochs=5, seed=0).fit(X)
    >>> det.predict_proba(X[:3]).shape
    (3, 2)
    """

    kind: ClassVar[str] = "autoencoder"
    _libraries: ClassVar[tuple[str, ...]] = ("torch", "safetensors")
    _json_state: ClassVar[tuple[str, ...]] = (
        "offset_",
        "scale_",
        "n_train_rows_",
        "best_epoch_",
        "n_epochs_",
        "history_",
    )
    _param_rules: ClassVar[dict[str, tuple]] = {
        "hidden_layer_sizes": ("int_tuple",),
        "dropout": ("float", 0.0, 0.9),
        "learning_rate": ("float", 1e-8, 10.0),
        "weight_decay": ("float", 0.0, None),
        "batch_size": ("int", 2, None),
        "max_epochs": ("int", 1, None),
        "patience": ("int", 1, None),
        "validation_fraction": ("float", 0.0, 0.5),
        "log_input": ("bool",),
        "input_clip": ("float", 0.0, None),
        "contamination": ("float", 1e-6, 0.5),
        "seed": ("int", 0, None),
        "n_jobs": ("int", 1, None),
        "verbose": ("bool",),
    }

    def __init__(
        self,
        *,
        hidden_layer_sizes: tuple[int, ...] = (128, 64, 16),
        dropout: float = 0.0,
        learning_rate: float = 3e-3,
        weight_decay: float = 1e-5,
        batch_size: int = 256,
        max_epochs: int = 150,
        patience: int = 15,
        validation_fraction: float = 0.15,
        log_input: bool = True,
        input_clip: float = 10.0,
        contamination: float = 0.01,
        benign_label: str = "BENIGN",
        seed: int = 0,
        n_jobs: int = 1,
        verbose: bool = False,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.log_input = log_input
        self.input_clip = input_clip
        self.contamination = contamination
        self.benign_label = benign_label
        self.seed = seed
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _build(self) -> AutoencoderNet:
        return AutoencoderNet(
            self.n_features_in_,
            tuple(self.hidden_layer_sizes),
            dropout=self.dropout,
            log_input=self.log_input,
            input_clip=self.input_clip,
        )

    def _fit(self, X, y, X_val, y_val, sample_weight) -> None:
        w = np.ones(X.shape[0]) if sample_weight is None else sample_weight / sample_weight.mean()
        if X_val is None or len(X_val) == 0:
            rng = np.random.default_rng(self.seed)
            n_val = int(round(self.validation_fraction * X.shape[0]))
            if n_val >= 1 and X.shape[0] - n_val >= 2:
                perm = rng.permutation(X.shape[0])
                X_val, X, w = X[perm[:n_val]], X[perm[n_val:]], w[perm[n_val:]]
            else:
                X_val = None
        with torch_session(self.seed, self.n_jobs) as gen:
            Xt, wt = to_tensor(X), torch.from_numpy(w).float()
            Xv = to_tensor(X_val) if X_val is not None else None
            net = self._build()
            net.transform.fit(Xt)
            opt = torch.optim.AdamW(
                net.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay
            )
            history: list[dict[str, Any]] = []
            best, best_state, best_epoch, stale = np.inf, copy_state(net), 1, 0
            n = Xt.shape[0]
            for epoch in range(1, self.max_epochs + 1):
                net.train()
                perm = torch.randperm(n, generator=gen)
                total = 0.0
                for start in range(0, n, self.batch_size):
                    idx = perm[start : start + self.batch_size]
                    z, r = net(Xt[idx])
                    loss = (((z - r) ** 2).mean(dim=1) * wt[idx]).mean()
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    total += float(loss.detach()) * idx.numel()
                net.eval()
                row = {"epoch": epoch, "train_loss": total / n, "val_loss": None}
                if Xv is not None:
                    row["val_loss"] = float(net.errors(Xv).mean())
                monitored = row["val_loss"] if Xv is not None else row["train_loss"]
                history.append(row)
                if self.verbose:
                    print(f"epoch {epoch}: train={row['train_loss']:.5f} val={row['val_loss']}")
                if monitored < best - 1e-7:
                    best, best_state, best_epoch, stale = monitored, copy_state(net), epoch, 0
                else:
                    stale += 1
                    if stale >= self.patience:
                        break
            net.load_state_dict(best_state)
            net.eval()
            ref = Xv if Xv is not None else Xt
            scale = net.errors(ref).mean(dim=0)
            net.err_scale.copy_(torch.clamp(scale, min=1e-6))
        self.net_ = net
        self.history_ = history
        self.best_epoch_ = best_epoch
        self.n_epochs_ = len(history)

    def _score(self, X: np.ndarray) -> np.ndarray:
        with torch_threads(self.n_jobs):
            err = self.net_.errors(to_tensor(X)) / self.net_.err_scale
        return err.mean(dim=1).double().numpy()

    def _save_artifacts(self, directory: Path) -> list[str]:
        return save_weights(self.net_, directory)

    def _load_artifacts(self, directory: Path, files: list[str]) -> None:
        net = self._build()
        load_weights(net, directory)
        self.net_ = net
