"""The training loop; torch only, no sklearn.

The loop follows the data path of a hand-written PyTorch loop: one float32 tensor, a
``randperm`` per epoch from an explicit generator, ``index_select`` of each batch, fresh
corruption per batch into a reused buffer, forward, loss against the clean batch, step.
Stages, each a function: :func:`train` (epochs, stopping rule, best weights) ->
:func:`run_epoch` (batches) -> :func:`train_step` (one optimizer step) ->
:func:`reconstruction_loss`.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import math
import sys
from dataclasses import dataclass, field

import torch
from torch.nn import functional as F

from .data import batch_indices
from .network import use_generator


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
    n_steps: int = 0
    n_samples_seen: int = 0
    converged: bool = False
    interrupted: bool = False


def make_optimizer(module, name, learning_rate, *, weight_decay=0.0, momentum=0.9, nesterov=True):
    """Adam, AdamW or SGD (with ``momentum``, Nesterov's when ``nesterov``; they apply to
    SGD only) over ``module``'s parameters.

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
        nesterov = nesterov and momentum > 0  # torch refuses Nesterov without momentum
        return torch.optim.SGD(groups, lr=learning_rate, momentum=momentum, nesterov=nesterov)
    raise ValueError(f"unknown optimizer {name!r}")


#: The step size of ``learning_rate_init="auto"``: a network that starts as PCA is
#: already near a good solution, and larger steps throw it away in the first epochs.
AUTO_LEARNING_RATES = {"pca start": 1e-3, "random start": 3e-3}


def learning_rate_for(learning_rate, pca_start):
    """``learning_rate``, with ``"auto"`` resolved for a network that starts as PCA (or
    not)."""
    if learning_rate != "auto":
        return float(learning_rate)
    return AUTO_LEARNING_RATES["pca start" if pca_start else "random start"]


class CosineSchedule:
    """Anneal the learning rate of every parameter group of ``optimizer`` from its value
    at creation to zero over ``total_steps`` optimizer steps, along half a cosine
    (Loshchilov & Hutter, 2017, without restarts). Call :meth:`step` after every
    optimizer step."""

    def __init__(self, optimizer, total_steps):
        self.optimizer = optimizer
        self.total_steps = max(1, int(total_steps))
        self.n_steps = 0
        self.base = [group["lr"] for group in optimizer.param_groups]

    def step(self):
        self.n_steps += 1
        progress = min(self.n_steps, self.total_steps) / self.total_steps
        factor = 0.5 * (1.0 + math.cos(math.pi * progress))
        for group, base in zip(self.optimizer.param_groups, self.base):
            group["lr"] = base * factor


def reconstruction_loss(module, logits, target, loss, observed=None):
    """Mean over the entries of the batch: squared error or binary cross-entropy.

    With ``observed`` (a bool tensor shaped like ``target``), the mean runs over the
    observed entries only: a missing entry's reconstruction costs nothing, whatever
    ``target`` holds there.
    """
    if observed is None:
        if loss == "bce":
            return F.binary_cross_entropy_with_logits(logits, target)
        return F.mse_loss(module.output(logits), target)
    if loss == "bce":
        errors = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    else:
        errors = (module.output(logits) - target) ** 2
    return torch.where(observed, errors, 0.0).sum() / observed.sum().clamp(min=1)


def row_mse(module, x, target=None):
    """Mean squared error of the reconstruction of every row of ``x``, against ``x``
    itself (clean reconstruction) or against ``target`` (a denoiser's clean rows), over
    the row's observed entries when some are missing (NaN; missing inputs enter the
    network as zeros); 0 for a row without any."""
    if target is None:
        target = x
    observed = ~torch.isnan(target)
    if bool(observed.all()) and (target is x or not bool(torch.isnan(x).any())):
        return ((module(x) - target) ** 2).mean(dim=1)
    output = module(torch.nan_to_num(x, nan=0.0))
    squared = torch.where(observed, (output - torch.where(observed, target, 0.0)) ** 2, 0.0)
    return squared.sum(dim=1) / observed.sum(dim=1).clamp(min=1)


def _mean_row_mse(module, inputs, targets, batch_size):
    total = torch.zeros((), dtype=torch.float64, device=inputs.device)
    with torch.inference_mode():
        for start in range(0, inputs.shape[0], batch_size):
            rows = slice(start, start + batch_size)
            target = None if targets is None else targets[rows]
            total += row_mse(module, inputs[rows], target).sum(dtype=torch.float64)
    return float(total) / inputs.shape[0]


def validation_errors(module, X_val, *, batch_size, Y_val=None, X_val_corrupted=None):
    """Mean squared errors on held-out rows: of the reconstruction of ``X_val`` (against
    ``Y_val`` when given) and, with ``X_val_corrupted`` (a fixed corruption of
    ``X_val``), of the reconstruction of ``X_val`` from it (else None)."""
    module.eval()
    clean = _mean_row_mse(module, X_val, Y_val, batch_size)
    if X_val_corrupted is None:
        return clean, None
    target = X_val if Y_val is None else Y_val
    return clean, _mean_row_mse(module, X_val_corrupted, target, batch_size)


def validation_score(module, X_val, *, batch_size, Y_val=None, X_val_corrupted=None):
    """The held-out score of :func:`validation_errors`: the negative mean of its errors.

    The two errors are the two things a denoising autoencoder is used for: reconstructing
    rows as they come, as PCA does, and removing noise. Scoring the first alone stops a
    fit while it is still learning the second, the objective it trains on.
    """
    errors = validation_errors(
        module, X_val, batch_size=batch_size, Y_val=Y_val, X_val_corrupted=X_val_corrupted
    )
    return held_out_score(errors)


def held_out_score(errors):
    clean, denoised = errors
    return -clean if denoised is None else -(clean + denoised) / 2


def _l1_penalty(module):
    return sum(p.abs().sum() for p in module.parameters() if p.ndim >= 2)


#: The ``precision`` settings of training: each name's autocast dtype (None: float32
#: throughout, no autocast).
PRECISIONS = {"float32": None, "bfloat16": torch.bfloat16}


def emulates_bfloat16(device):
    """Whether PyTorch emulates bfloat16 matrix products on ``device``: on a CPU without
    the instructions oneDNN's bfloat16 kernels need (AVX-512, or ARM's bfloat16),
    PyTorch falls back to reference kernels several times slower than float32's. False
    on other devices and where this PyTorch cannot tell."""
    if device.type != "cpu":
        return False
    try:
        return not torch.ops.mkldnn._is_mkldnn_bf16_supported()
    except (AttributeError, RuntimeError):
        return False


def autocast(device, dtype):
    """The context of a training step's forward pass: torch's automatic mixed precision
    in ``dtype`` on ``device`` (its matrix products in ``dtype``, the weights, their
    gradients and the optimizer's state in float32), or nothing when ``dtype`` is None."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def train_step(
    module,
    clean,
    *,
    target=None,
    optimizer,
    corruptor,
    generator,
    loss,
    l1,
    missing=False,
    augmenter=None,
    autocast_dtype=None,
):
    """Corrupt ``clean``, reconstruct it, take one optimizer step; the batch loss.

    An ``augmenter`` (an :class:`~sk_dae._core.augment.Augmenter` or None) first
    transforms ``clean`` (and ``target`` alike): the augmented batch is then the clean
    one the loss compares with.

    The loss compares the reconstruction with ``clean`` itself or, given ``target`` (the
    clean rows of a pair whose input ``clean`` is already noisy), with ``target``. With
    ``missing``, the batch may hold NaN: missing inputs enter the network as zeros, as
    masked ones do (after the corruption too), and the loss counts the observed entries of
    the target only. With ``autocast_dtype`` (e.g. ``torch.bfloat16``), the network runs
    under :func:`autocast`; the loss is computed in float32 on its output.
    """
    if augmenter is not None:
        if target is None:
            clean = augmenter(clean, generator)
        else:
            clean, target = augmenter(clean, generator, target)
    observed = None
    if missing:
        present = ~torch.isnan(clean)
        observed = present if target is None else ~torch.isnan(target)
        clean = torch.where(present, clean, 0.0)
        target = None if target is None else torch.where(observed, target, 0.0)
    noisy = corruptor(clean, generator)
    if missing:
        noisy = torch.where(present, noisy, 0.0)
    with autocast(noisy.device, autocast_dtype):
        logits = module.decode_logits(module.encode(noisy))
    logits = logits.float()
    target = clean if target is None else target
    batch_loss = reconstruction_loss(module, logits, target, loss, observed)
    if l1 > 0:
        batch_loss = batch_loss + l1 * _l1_penalty(module)
    optimizer.zero_grad(set_to_none=True)
    batch_loss.backward()
    optimizer.step()
    return batch_loss.detach()


def run_epoch(module, X, *, batch_size, shuffle, generator, result, Y=None, schedule=None, **step):
    """One pass over the rows of ``X`` (and their targets ``Y``); the mean training loss
    per row.

    Every optimizer step and the rows it saw are counted in ``result`` as they happen, so
    that an interrupted epoch still tells how far it got. ``schedule`` (a
    :class:`CosineSchedule` or None) steps after every optimizer step. ``step`` holds the
    keyword arguments of :func:`train_step`.
    """
    n_samples = X.shape[0]
    perm = torch.randperm(n_samples, generator=generator, device=X.device) if shuffle else None
    total = torch.zeros((), device=X.device)
    for index in batch_indices(n_samples, batch_size, perm):
        clean = X[index] if perm is None else X.index_select(0, index)
        target = None
        if Y is not None:
            target = Y[index] if perm is None else Y.index_select(0, index)
        batch_loss = train_step(module, clean, target=target, generator=generator, **step)
        if schedule is not None:
            schedule.step()
        result.n_steps += 1
        result.n_samples_seen += clean.shape[0]
        total.add_(batch_loss, alpha=clean.shape[0])
    return total.item() / n_samples


class _StoppingRule:
    """The stopping rule of scikit-learn's MLP over the training loss or, with held-out
    rows, the validation score; remembers the weights of the best epoch."""

    def __init__(self, module, tol, n_iter_no_change, held_out, score_to_beat, clean_error_bar):
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        # (X_val, Y_val, X_val_corrupted, batch_size); X_val None: no early stopping.
        self.held_out = held_out
        self.early_stopping = held_out[0] is not None
        self.clean_error_bar = clean_error_bar
        self.no_improvement = 0
        # Continuing a model whose weights scored score_to_beat: they are the best so far.
        self.best_state = None
        if self.early_stopping and math.isfinite(score_to_beat):
            self.best_state = copy.deepcopy(module.state_dict())

    def record(self, module, result, epoch_loss):
        """Record a finished epoch in ``result``, scored on the held-out rows when there
        are some; return the validation score (or None) and whether training should
        stop."""
        if not math.isfinite(epoch_loss):
            raise TrainingDivergedError(
                f"the training loss became {epoch_loss} at epoch {result.n_iter + 1}"
            )
        result.n_iter += 1
        result.loss_curve.append(epoch_loss)
        score, eligible = None, True
        if self.early_stopping:
            X_val, Y_val, X_val_corrupted, batch_size = self.held_out
            errors = validation_errors(
                module,
                X_val,
                batch_size=4 * batch_size,
                Y_val=Y_val,
                X_val_corrupted=X_val_corrupted,
            )
            module.train()
            score, eligible = held_out_score(errors), errors[0] <= self.clean_error_bar
            result.validation_scores.append(score)
        return score, self.update(module, result, epoch_loss, score, eligible)

    def update(self, module, result, epoch_loss, score, eligible=True):
        """Record one epoch in ``result``; whether training should stop (never with
        ``tol=None``, a fixed budget of epochs). An epoch that is not ``eligible``
        counts as progress when its score is, but its weights are not kept."""
        tol = 0.0 if self.tol is None else self.tol
        if self.early_stopping:
            # Progress on held-out rows is a share of the best score: reconstruction
            # errors of data in any units (pixels in [0, 1], prices in thousands) need the
            # same relative improvement to count.
            best = result.best_validation_score
            improved = score > best and eligible
            progressed = score >= best + tol * abs(best) if math.isfinite(best) else score > best
            if improved:
                result.best_validation_score = score
        else:
            # The training loss's test is scikit-learn's MLP's: an absolute improvement.
            improved = epoch_loss < result.best_loss
            progressed = epoch_loss <= result.best_loss - tol
        self.no_improvement = 0 if progressed else self.no_improvement + 1
        result.best_loss = min(result.best_loss, epoch_loss)
        if improved:
            self.best_state = copy.deepcopy(module.state_dict())
        return self.tol is not None and self.no_improvement > self.n_iter_no_change

    def restore_best(self, module, *, held_out_only=False):
        """Load the best epoch's weights (with ``held_out_only``, only when they were
        chosen on held-out rows)."""
        if held_out_only and not self.early_stopping:
            return
        if self.best_state is not None:
            module.load_state_dict(self.best_state)


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
    Y=None,
    Y_val=None,
    X_val_corrupted=None,
    best_validation_score=-math.inf,
    clean_error_bar=math.inf,
    l1=0.0,
    check_convergence=True,
    schedule=None,
    progress=None,
    checkpoint=None,
    resume=None,
    augmenter=None,
    autocast_dtype=None,
):
    """Train ``module`` in place on the rows of ``X`` and return a :class:`TrainingResult`.

    Parameters
    ----------
    module : Autoencoder
    X : torch.Tensor of shape (n_samples, n_features)
        Float32, on the device of ``module``. Missing entries are NaN: they enter the
        network as zeros and the loss ignores them (see :func:`train_step`).
    optimizer : torch.optim.Optimizer
    corruptor : Corruptor
    generator : torch.Generator
        Source of the permutations, the noise and dropout, on the device of ``X``.
    X_val : torch.Tensor or None
        Held-out rows: when given, every epoch is scored on them
        (:func:`validation_score`), training stops when that score stops improving and
        the best-scoring weights are restored.
    Y, Y_val : torch.Tensor or None
        Targets of the rows of ``X`` and ``X_val`` (training on pairs: ``X`` noisy, ``Y``
        clean); None reconstructs ``X`` itself.
    X_val_corrupted : torch.Tensor or None
        A fixed corruption of ``X_val``: the score then averages the clean and the
        denoising error (:func:`validation_score`).
    best_validation_score : float
        With ``X_val``, the score of the starting weights when they continue an earlier
        fit (as scikit-learn's MLP does under ``warm_start``): they are restored unless an
        epoch beats it.
    clean_error_bar : float
        With ``X_val``, an epoch's weights are kept only when they reconstruct ``X_val``
        with at most this error (that of a PCA start: its score may improve by
        denoising better while its clean reconstruction gets worse than PCA's).
    check_convergence : bool
        Stop once the monitored quantity has not improved by ``tol`` for more than
        ``n_iter_no_change`` epochs (``tol=None``: never, all ``max_iter`` epochs run).
    schedule : CosineSchedule or None
        Stepped after every optimizer step; None keeps the optimizer's learning rate.
    progress : callable or None
        Called after every epoch as ``progress(epoch, loss, validation_score)``.
    checkpoint : callable or None
        Called after every epoch as ``checkpoint(n_epochs, state)``, where ``state()``
        returns the training state (see :func:`training_state`) to write when due.
    resume : dict or None
        A training state written by ``checkpoint``: training continues from it (the
        module, optimizer, generator, schedule and stopping rule as they were then, on
        the same data and settings) to the result of an uninterrupted call.
    augmenter : Augmenter or None
        Transforms every training batch (and its targets alike) before the corruption;
        held-out rows are scored as they are.
    autocast_dtype : torch.dtype or None
        Train in mixed precision: every step's forward pass under :func:`autocast` in
        this dtype; None trains in float32.

    A ``KeyboardInterrupt`` ends training early and sets ``result.interrupted``: the
    weights of the best epoch so far are restored, or, when no epoch has ended, the
    weights of the last optimizer step are kept (``result.n_steps`` tells how many). A
    non-finite loss raises :class:`TrainingDivergedError`; the module's weights are then
    undefined.
    """
    result = TrainingResult(best_validation_score=best_validation_score)
    held_out = (X_val, Y_val, X_val_corrupted, batch_size)
    bars = (best_validation_score, clean_error_bar)
    rule = _StoppingRule(module, tol, n_iter_no_change, held_out, *bars)
    missing = any(bool(torch.isnan(t).any()) for t in (X, Y) if t is not None)
    epoch_args = dict(batch_size=batch_size, shuffle=shuffle, generator=generator, Y=Y)
    epoch_args["schedule"] = schedule
    step_args = dict(optimizer=optimizer, corruptor=corruptor, loss=loss, l1=l1, missing=missing)
    step_args.update(augmenter=augmenter, autocast_dtype=autocast_dtype)
    parts = (module, optimizer, generator, schedule, rule, result)
    if resume is not None:
        _resume(parts, resume)
    after_epoch = _after_epoch(progress, checkpoint, parts)
    module.train()
    use_generator(module, generator)
    try:
        for epoch in range(result.n_iter, 0 if result.converged else max_iter):
            epoch_loss = run_epoch(module, X, result=result, **epoch_args, **step_args)
            score, stop = rule.record(module, result, epoch_loss)
            result.converged = bool(check_convergence and stop)
            after_epoch(epoch, epoch_loss, score)
            if result.converged:
                break
    except KeyboardInterrupt:
        result.interrupted = True
        rule.restore_best(module)
    else:
        rule.restore_best(module, held_out_only=True)
    finally:
        use_generator(module, None)
    module.eval()
    return result


def _after_epoch(progress, checkpoint, parts):
    """What :func:`train` calls after every epoch: ``progress``, then ``checkpoint``
    with the state of ``parts`` (each may be None)."""

    def call(epoch, epoch_loss, score):
        if progress is not None:
            progress(epoch, epoch_loss, score)
        if checkpoint is not None:
            checkpoint(parts[-1].n_iter, lambda: training_state(*parts))

    return call


def training_state(module, optimizer, generator, schedule, rule, result):
    """What :func:`train` needs to continue after the epochs of ``result``: tensors and
    plain data only, the tensors on the CPU (a ``torch.load(weights_only=True)`` of them
    runs no code)."""
    return {
        "module": _cpu(module.state_dict()),
        "optimizer": _cpu(optimizer.state_dict()),
        "generator": generator.get_state(),
        "schedule_steps": None if schedule is None else schedule.n_steps,
        "no_improvement": rule.no_improvement,
        "best_state": None if rule.best_state is None else _cpu(rule.best_state),
        "result": dataclasses.asdict(result),
    }


def _resume(parts, state):
    module, optimizer, generator, schedule, rule, result = parts
    module.load_state_dict(state["module"])
    optimizer.load_state_dict(state["optimizer"])
    if state["generator"] is not None:  # None: a new stream, as from another device
        generator.set_state(state["generator"])
    if schedule is not None:
        schedule.n_steps = state["schedule_steps"]
    rule.no_improvement = state["no_improvement"]
    rule.best_state = state["best_state"]
    for name, value in state["result"].items():
        setattr(result, name, value)


def _cpu(value):
    """``value`` (nested dicts and lists of tensors) with its tensors copied to the CPU."""
    if torch.is_tensor(value):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {k: _cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cpu(v) for v in value)
    return value


@contextlib.contextmanager
def progress_bar(enabled, total, desc="DenoisingAutoencoder"):
    """Yield the per-epoch callback that :func:`train` takes (None when not ``enabled``).

    On a terminal it drives a tqdm bar over ``total`` epochs; elsewhere (a log file, a
    notebook's captured output) it prints one plain line per epoch, as scikit-learn's MLP
    does with ``verbose``.
    """
    if not enabled:
        yield None
        return
    if not sys.stderr.isatty():

        def line(epoch, loss, score):
            validation = "" if score is None else f", validation MSE = {-score:.6g}"
            print(f"{desc}: epoch {epoch + 1}/{total}, loss = {loss:.6g}{validation}", flush=True)

        yield line
        return
    from tqdm.auto import tqdm

    with tqdm(total=total, desc=desc, unit="epoch") as bar:

        def update(epoch, loss, score):
            postfix = {"loss": f"{loss:.4g}"}
            if score is not None:
                postfix["val_mse"] = f"{-score:.4g}"
            bar.set_postfix(postfix, refresh=False)
            bar.update(1)

        yield update
