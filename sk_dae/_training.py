"""The training loop and batched inference; torch only, no sklearn.

The loop follows the data path of a hand-written PyTorch loop: one float32 tensor, a
``randperm`` per epoch from an explicit generator, ``index_select`` of each batch, fresh
corruption per batch into a reused buffer, forward, loss against the clean batch, step.
"""

from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.nn import functional as F

from ._network import use_generator


class TrainingDivergedError(ValueError):
    """The training loss became NaN or infinite."""


@dataclass
class TrainingResult:
    """What one call of :func:`train` did; lists cover only the epochs of this call."""

    loss_curve: list = field(default_factory=list)
    validation_scores: list = field(default_factory=list)
    best_loss: float = math.inf
    best_validation_score: float = -math.inf
    n_iter: int = 0
    n_samples_seen: int = 0
    converged: bool = False
    interrupted: bool = False


def make_optimizer(module, name, learning_rate, *, weight_decay=0.0):
    """Adam, AdamW or SGD (momentum 0.9, Nesterov) over ``module``'s parameters.

    ``weight_decay`` applies to weight matrices only, never to biases or batch-norm
    parameters (L2 for adam and sgd, decoupled decay for adamw).
    """
    decay, no_decay = [], []
    for param in module.parameters():
        (decay if param.ndim >= 2 else no_decay).append(param)
    groups = [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    device = next(module.parameters()).device
    if name in ("adam", "adamw"):
        cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW
        # The fused kernel is the fastest Adam on CPU and on CUDA for float32 parameters.
        fused = device.type in ("cpu", "cuda")
        return cls(groups, lr=learning_rate, fused=fused)
    if name == "sgd":
        return torch.optim.SGD(groups, lr=learning_rate, momentum=0.9, nesterov=True)
    raise ValueError(f"unknown optimizer {name!r}")


def reconstruction_loss(module, logits, target, loss):
    """Mean over all entries of the batch: squared error or binary cross-entropy."""
    if loss == "bce":
        return F.binary_cross_entropy_with_logits(logits, target)
    return F.mse_loss(module.output(logits), target)


def _l1_penalty(module):
    return sum(p.abs().sum() for p in module.parameters() if p.ndim >= 2)


def _batches(n_samples, batch_size, perm):
    """Row indices of each batch; a lone trailing row joins the batch before it, since
    batch normalisation cannot train on a single row."""
    starts = list(range(0, n_samples, batch_size))
    if len(starts) > 1 and n_samples - starts[-1] == 1:
        starts.pop()
    for i, start in enumerate(starts):
        stop = starts[i + 1] if i + 1 < len(starts) else n_samples
        yield (perm[start:stop] if perm is not None else slice(start, stop))


def train(
    module,
    X,
    *,
    optimizer,
    corruptor,
    generator,
    loss="mse",
    batch_size=256,
    max_iter=1,
    shuffle=True,
    tol=1e-4,
    n_iter_no_change=10,
    X_val=None,
    l1=0.0,
    check_convergence=True,
    device=None,
    progress=None,
):
    """Train ``module`` in place on the rows of ``X`` and return a :class:`TrainingResult`.

    Parameters
    ----------
    module : Autoencoder
    X : torch.Tensor of shape (n_samples, n_features)
        Float32; on ``device`` already, or on the CPU (then each batch is moved).
    optimizer : torch.optim.Optimizer
    corruptor : Corruptor
    generator : torch.Generator
        Source of the permutations and of the noise, on the device of ``X``.
    X_val : torch.Tensor or None
        Held-out rows: when given, every epoch is scored on them (negative mean squared
        reconstruction error), training stops when that score stops improving and the
        best-scoring weights are restored.
    check_convergence : bool
        Stop once the monitored quantity has not improved by ``tol`` for more than
        ``n_iter_no_change`` epochs.
    progress : callable or None
        Called after every epoch as ``progress(epoch, loss, validation_score)``.

    A ``KeyboardInterrupt`` ends training early: the weights of the best epoch so far are
    restored and ``result.interrupted`` is set. A non-finite loss raises
    :class:`TrainingDivergedError`; the module's weights are then undefined.
    """
    device = torch.device(device) if device is not None else X.device
    n_samples = X.shape[0]
    result = TrainingResult()
    best_state = None
    no_improvement = 0
    early_stopping = X_val is not None
    module.train()
    use_generator(module, generator)
    try:
        for epoch in range(max_iter):
            perm = None
            if shuffle:
                perm = torch.randperm(n_samples, generator=generator, device=X.device)
            total = torch.zeros((), device=device)
            for index in _batches(n_samples, batch_size, perm):
                clean = X[index] if perm is None else X.index_select(0, index)
                if clean.device != device:
                    clean = clean.to(device, non_blocking=True)
                noisy = corruptor(clean, generator)
                logits = module.decode_logits(module.encode(noisy))
                batch_loss = reconstruction_loss(module, logits, clean, loss)
                if l1 > 0:
                    batch_loss = batch_loss + l1 * _l1_penalty(module)
                optimizer.zero_grad(set_to_none=True)
                batch_loss.backward()
                optimizer.step()
                total.add_(batch_loss.detach(), alpha=clean.shape[0])
            epoch_loss = total.item() / n_samples
            if not math.isfinite(epoch_loss):
                raise TrainingDivergedError(
                    f"the training loss became {epoch_loss} at epoch {epoch + 1}"
                )
            result.n_iter += 1
            result.n_samples_seen += n_samples
            result.loss_curve.append(epoch_loss)

            if early_stopping:
                score = validation_score(module, X_val, batch_size=4 * batch_size, device=device)
                module.train()
                result.validation_scores.append(score)
                improved = score > result.best_validation_score
                no_improvement = (
                    0 if score >= result.best_validation_score + tol else no_improvement + 1
                )
                if improved:
                    result.best_validation_score = score
            else:
                score = None
                improved = epoch_loss < result.best_loss
                no_improvement = 0 if epoch_loss <= result.best_loss - tol else no_improvement + 1
            result.best_loss = min(result.best_loss, epoch_loss)
            if improved:
                best_state = copy.deepcopy(module.state_dict())
            if progress is not None:
                progress(epoch, epoch_loss, score)
            if check_convergence and no_improvement > n_iter_no_change:
                result.converged = True
                break
    except KeyboardInterrupt:
        result.interrupted = True
        if best_state is not None:
            module.load_state_dict(best_state)
    else:
        if early_stopping and best_state is not None:
            module.load_state_dict(best_state)
    finally:
        use_generator(module, None)
    module.eval()
    return result


def map_batches(fn, X, *, batch_size, device, dtype=np.float32):
    """Apply ``fn`` to ``X`` batch by batch under ``torch.inference_mode``.

    Batches enter ``fn`` as tensors of ``dtype`` (float32 or float64).
    ``X`` may be any array that slices into rows (ndarray, memmap, tensor). Only one batch
    is converted and on ``device`` at a time, and results are written into one
    preallocated output, so extra memory is bounded by a batch, not by the data size.
    """
    n_samples = X.shape[0]
    torch_dtype = torch.float64 if np.dtype(dtype) == np.float64 else torch.float32
    out = None
    with torch.inference_mode():
        for start in range(0, n_samples, batch_size):
            rows = X[start : start + batch_size]
            if not torch.is_tensor(rows):
                rows = as_tensor(rows, dtype)
            result = fn(rows.to(device, dtype=torch_dtype)).cpu().numpy()
            if out is None:
                out = np.empty((n_samples, *result.shape[1:]), dtype=dtype)
            out[start : start + batch_size] = result
    return out


def as_tensor(X, dtype=np.float32):
    """A CPU tensor sharing memory with ``X`` when it already has ``dtype`` and is
    C-contiguous (one copy otherwise)."""
    X = np.ascontiguousarray(X, dtype=dtype)
    with warnings.catch_warnings():
        # Read-only arrays (memmaps opened with mode="r") are only ever read here.
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(X)


def validation_score(module, X_val, *, batch_size, device):
    """Negative mean squared error of the clean reconstruction of ``X_val``."""
    module.eval()
    total = 0.0
    with torch.inference_mode():
        for start in range(0, X_val.shape[0], batch_size):
            clean = X_val[start : start + batch_size].to(device)
            total += F.mse_loss(module(clean), clean, reduction="sum").item()
    return -total / X_val.numel()
