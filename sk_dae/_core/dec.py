"""Deep embedded clustering: DEC (Xie et al., 2016) and IDEC (Guo et al., 2017); torch only.

The encoder of a pretrained :class:`~sk_dae._core.network.Autoencoder` maps rows to codes, and
``n_clusters`` centres live in the code space as an ``nn.Parameter``. A row's soft
assignment ``q`` to each centre is a Student's t kernel of its distance; the target
distribution ``p`` squares ``q`` and divides by each cluster's total, which sharpens
confident assignments and keeps large clusters from swallowing small ones. Fine-tuning
moves the encoder and the centres to minimise ``KL(P || Q)`` (DEC), plus a weighted
reconstruction loss that keeps the codes' local structure (IDEC).

Stages: :func:`fine_tune` (target refreshes and the stopping rule) -> :func:`refresh`
(``q`` over all rows, the target and the labels) -> :func:`fine_tuning_step` (one
optimizer step) -> :func:`clustering_loss`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

from .data import INFERENCE_BATCH_SIZE, batch_indices
from .training import autocast, reconstruction_loss


class ClusteringModule(nn.Module):
    """An autoencoder and cluster centres in its code space, trained together.

    Parameters
    ----------
    autoencoder : Autoencoder
        The pretrained network; fine-tuning changes its weights in place.
    centers : array-like of shape (n_clusters, n_components)
        Initial centres, copied into the parameter :attr:`centers`.
    degrees_of_freedom : float
        Of the Student's t kernel of the soft assignment (DEC's alpha, 1 in the papers).
    scale : float
        The length in which the kernel measures distances (see :func:`log_soft_assignment`).
    """

    def __init__(self, autoencoder, centers, *, degrees_of_freedom=1.0, scale=1.0):
        super().__init__()
        self.autoencoder = autoencoder
        parameter = next(autoencoder.parameters())
        centers = torch.as_tensor(centers, dtype=parameter.dtype, device=parameter.device)
        self.centers = nn.Parameter(centers.clone())
        self.degrees_of_freedom = float(degrees_of_freedom)
        self.scale = float(scale)

    def encode(self, x):
        return self.autoencoder.encode(x)

    def log_soft_assignment(self, z):
        return log_soft_assignment(z, self.centers, self.degrees_of_freedom, self.scale)

    def forward(self, x):
        """The soft assignment ``q`` of every row of ``x``."""
        return self.log_soft_assignment(self.encode(x)).exp()


def squared_distances(z, centers):
    """``||z_i - c_j||**2`` for every row and centre, without an (n, k, d) intermediate."""
    cross = z @ centers.T
    squared = (z * z).sum(dim=1, keepdim=True) - 2 * cross + (centers * centers).sum(dim=1)
    return squared.clamp_(min=0.0)


def log_soft_assignment(z, centers, degrees_of_freedom=1.0, scale=1.0):
    """``log q``: the logarithm of DEC's soft assignment of every code to every centre.

    ``q_ij`` is proportional to ``(1 + ||z_i - c_j||**2 / (a s**2)) ** (-(a + 1) / 2)``
    with ``a`` the degrees of freedom and ``s`` the ``scale`` of the distances,
    normalised over the centres; computed in log space (a log-softmax), so that far
    rows do not underflow to zero.
    """
    a = degrees_of_freedom
    log_kernel = -(a + 1.0) / 2.0 * torch.log1p(squared_distances(z, centers) / (a * scale**2))
    return torch.log_softmax(log_kernel, dim=1)


def target_distribution(q):
    """DEC's target ``p_ij = (q_ij**2 / f_j) / sum_j' (q_ij'**2 / f_j')`` with
    ``f_j = sum_i q_ij`` over all the rows of ``q``."""
    weight = q * q / q.sum(dim=0).clamp(min=torch.finfo(q.dtype).tiny)
    return weight / weight.sum(dim=1, keepdim=True)


def clustering_loss(log_q, p):
    """``KL(P || Q)`` summed over the centres, averaged over the rows of the batch."""
    return F.kl_div(log_q, p, reduction="batchmean")


def refresh(model, X, *, batch_size=INFERENCE_BATCH_SIZE):
    """The soft assignment of every row of ``X``, the target distribution and the labels
    (the highest soft assignment, i.e. the nearest centre)."""
    with torch.no_grad():
        q = torch.cat(
            [model(X[start : start + batch_size]) for start in range(0, len(X), batch_size)]
        )
    return target_distribution(q), q.argmax(dim=1)


def fine_tuning_step(model, x, p, *, optimizer, reconstruction_weight, loss, autocast_dtype=None):
    """One step on the batch ``x`` with target ``p``; the batch loss.

    The loss is ``KL(P || Q)``, plus ``reconstruction_weight`` times the autoencoder's
    reconstruction loss of the clean batch (IDEC) when that weight is positive. With
    ``autocast_dtype``, the encoder and decoder run in mixed precision (see
    :func:`~sk_dae._core.training.autocast`); the soft assignment and both losses are
    computed in float32.
    """
    with autocast(x.device, autocast_dtype):
        z = model.encode(x)
    z = z.float()
    batch_loss = clustering_loss(model.log_soft_assignment(z), p)
    if reconstruction_weight > 0:
        with autocast(x.device, autocast_dtype):
            logits = model.autoencoder.decode_logits(z)
        recon = reconstruction_loss(model.autoencoder, logits.float(), x, loss)
        batch_loss = batch_loss + reconstruction_weight * recon
    optimizer.zero_grad(set_to_none=True)
    batch_loss.backward()
    optimizer.step()
    return batch_loss.detach()


def make_fine_tuning_optimizer(model, learning_rate, *, reconstruction_weight):
    """Adam over the centres and the encoder, and the decoder when it is trained (IDEC)."""
    params = [model.centers, *model.autoencoder.encoder.parameters()]
    if reconstruction_weight > 0:
        params += list(model.autoencoder.decoder.parameters())
    fused = model.centers.device.type in ("cpu", "cuda")
    return torch.optim.Adam(params, lr=learning_rate, fused=fused)


#: Steps over which fine-tuning's learning rate rises to its full value (see warmup).
WARMUP_STEPS = 100


class FineTuningDivergedError(ValueError):
    """The fine-tuning loss became NaN or infinite."""


@dataclass
class FineTuningResult:
    """What :func:`fine_tune` did: one entry of the lists per target refresh."""

    label_changes: list = field(default_factory=list)
    loss_curve: list = field(default_factory=list)
    n_steps: int = 0
    steps_per_epoch: int = 1
    converged: bool = False
    interrupted: bool = False

    @property
    def n_epochs(self):
        """Passes over the data begun (a partial last one counts)."""
        return math.ceil(self.n_steps / self.steps_per_epoch)


class _Batches:
    """Row indices of successive batches, epoch after epoch, each epoch shuffled.

    Its :meth:`state` (the generator's state when the epoch's permutation was drawn, and
    the batches of the epoch taken since) lets a resumed fine-tuning continue mid-epoch.
    """

    def __init__(self, n_samples, batch_size, generator, device):
        self.n_samples, self.batch_size = n_samples, batch_size
        self.generator, self.device = generator, device
        self.epoch_start, self.taken, self._epoch = None, 0, iter(())

    def __next__(self):
        index = next(self._epoch, None)
        if index is None:
            self._new_epoch()
            index = next(self._epoch)
        self.taken += 1
        return index

    def _new_epoch(self, skip=0):
        self.epoch_start = self.generator.get_state()
        perm = torch.randperm(self.n_samples, generator=self.generator, device=self.device)
        self._epoch = iter(batch_indices(self.n_samples, self.batch_size, perm))
        for _ in range(skip):
            next(self._epoch)
        self.taken = skip

    def state(self):
        return {"epoch_start": self.epoch_start, "taken": self.taken}

    def restore(self, state, generator_state):
        if state["epoch_start"] is None:  # no batch taken yet
            self.generator.set_state(generator_state)
            return
        self.generator.set_state(state["epoch_start"])
        self._new_epoch(skip=state["taken"])


def warmup(optimizer, n_steps):
    """A schedule that raises the learning rate linearly over the first ``n_steps``
    steps (from ``1 / n_steps`` of it). A fresh Adam's first steps move every weight
    by about the learning rate, whatever the gradient; summed over a wide layer, that
    moves the pretrained codes far beyond their clusters when the clusters are small
    (the clustering guide shows it on iris)."""
    n_steps = max(int(n_steps), 1)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / n_steps))


def _run_segment(model, X, p, batches, n_steps, result, step_args, schedule, augment=None):
    """``n_steps`` optimizer steps; their mean loss is appended to ``result``. With
    ``augment`` (a callable), each batch's rows are transformed before the step, while
    their target stays that of the untransformed rows (DEC-DA's rule)."""
    total = torch.zeros((), device=X.device)
    for _ in range(n_steps):
        index = next(batches)
        x, target = X.index_select(0, index), p.index_select(0, index)
        if augment is not None:
            x = augment(x)
        total += fine_tuning_step(model, x, target, **step_args)
        schedule.step()
        result.n_steps += 1
    mean = total.item() / n_steps
    if not math.isfinite(mean):
        raise FineTuningDivergedError(
            f"the fine-tuning loss became {mean} after {result.n_steps} steps"
        )
    result.loss_curve.append(mean)


def fine_tune(
    model,
    X,
    *,
    optimizer,
    generator,
    reconstruction_weight=0.0,
    loss="mse",
    batch_size=256,
    max_iter=1,
    update_interval=None,
    tol=1e-3,
    warmup_steps=WARMUP_STEPS,
    initial_labels=None,
    augmenter=None,
    augment_generator=None,
    autocast_dtype=None,
    progress=None,
    checkpoint=None,
    resume=None,
):
    """Fine-tune ``model`` (a :class:`ClusteringModule`) in place on the rows of ``X``.

    Parameters
    ----------
    X : torch.Tensor of shape (n_samples, n_features)
        Float32, on the device of ``model``, without missing values.
    optimizer : torch.optim.Optimizer
    generator : torch.Generator
        Source of the shuffling, on the device of ``X``.
    reconstruction_weight : float
        Weight of the reconstruction loss (IDEC); 0 trains DEC.
    loss : {"mse", "bce"}
        The autoencoder's reconstruction loss.
    max_iter : int
        Passes over the data at most.
    update_interval : int or None
        Optimizer steps between refreshes of the target distribution; None: one epoch.
    tol : float
        Stop once the share of labels that changed between two refreshes is below it.
    warmup_steps : int
        The learning rate rises linearly to the optimizer's over these first steps
        (see :func:`warmup`); 1 starts at the full rate.
    initial_labels : torch.Tensor of shape (n_samples,) or None
        Labels (int64, on the device of ``X``) whose one-hot encoding is the target of
        the first segment instead of the sharpened soft assignment: fine-tuning then
        first pulls every code towards the centre of its given cluster: this carries a
        clustering found elsewhere (e.g. on a UMAP embedding) into the code space.
    augmenter : Augmenter or None
        Random shifts and rotations of every batch of image rows (DEC-DA, Guo et al.,
        2018): both loss terms see the transformed rows (the reconstruction term
        reconstructs them), while the target ``p`` of a row stays the one computed on
        the row itself at the last refresh.
    augment_generator : torch.Generator or None
        The source of the augmentation's randomness (needed with ``augmenter``), kept
        apart from the shuffling so that a resumed fit draws the same batches.
    autocast_dtype : torch.dtype or None
        Fine-tune in mixed precision (see :func:`fine_tuning_step`); None: float32.
    progress : callable or None
        Called after every refresh but the first as ``progress(result)``.
    checkpoint : callable or None
        Called after every segment as ``checkpoint(n_epochs, state)``, where
        ``state()`` returns the fine-tuning state to write when due.
    resume : dict or None
        A state written by ``checkpoint``: fine-tuning continues from it (same data and
        settings) to the result of an uninterrupted call.

    The autoencoder runs in eval mode (no dropout; batch normalisation keeps the running
    statistics of pretraining), as the papers fine-tune without dropout. A
    ``KeyboardInterrupt`` ends fine-tuning early and sets ``result.interrupted``; the
    weights of the last optimizer step are kept. A non-finite loss raises
    :class:`FineTuningDivergedError`; the weights are then undefined.
    """
    n_samples = X.shape[0]
    result = FineTuningResult(steps_per_epoch=sum(1 for _ in batch_indices(n_samples, batch_size)))
    interval = update_interval or result.steps_per_epoch
    max_steps = max_iter * result.steps_per_epoch
    step_args = dict(optimizer=optimizer, reconstruction_weight=reconstruction_weight, loss=loss)
    step_args["autocast_dtype"] = autocast_dtype
    batches = _Batches(n_samples, batch_size, generator, X.device)
    schedule = warmup(optimizer, warmup_steps)
    augment = None if augmenter is None else (lambda x: augmenter(x, augment_generator))
    model.eval()
    previous = None
    if resume is not None:
        previous = _resume(resume, model, optimizer, schedule, batches, result)
        if augment_generator is not None and resume.get("augment_generator") is not None:
            augment_generator.set_state(resume["augment_generator"])
    try:
        while True:
            p, labels = refresh(model, X)
            if previous is None and initial_labels is not None:
                p = F.one_hot(initial_labels, p.shape[1]).to(p.dtype)
                labels = initial_labels
            elif previous is not None:
                result.label_changes.append(float((labels != previous).float().mean()))
                if progress is not None:
                    progress(result)
                if result.label_changes[-1] < tol:
                    result.converged = True
                    break
            previous = labels
            if result.n_steps >= max_steps:
                break
            n_steps = min(interval, max_steps - result.n_steps)
            _run_segment(model, X, p, batches, n_steps, result, step_args, schedule, augment)
            if checkpoint is not None:
                parts = (model, optimizer, schedule, batches, result, previous, augment_generator)
                checkpoint(result.n_epochs, lambda: _state(*parts))
    except KeyboardInterrupt:
        result.interrupted = True
    return result


def _state(model, optimizer, schedule, batches, result, previous, augment_generator=None):
    """What :func:`fine_tune` needs to continue after a segment: tensors and plain data,
    the tensors on the CPU."""
    cpu = lambda value: value.detach().cpu() if torch.is_tensor(value) else value  # noqa: E731
    optimizer_state = optimizer.state_dict()
    optimizer_state["state"] = {
        index: {k: cpu(v) for k, v in s.items()} for index, s in optimizer_state["state"].items()
    }
    return {
        "model": {k: cpu(v) for k, v in model.state_dict().items()},
        "optimizer": optimizer_state,
        "schedule": schedule.state_dict(),
        "batches": batches.state(),
        "generator": batches.generator.get_state(),
        "result": dataclasses.asdict(result),
        "previous": cpu(previous),
        "augment_generator": None if augment_generator is None else augment_generator.get_state(),
    }


def _resume(state, model, optimizer, schedule, batches, result):
    """Restore a state of :func:`_state`; the labels of the last refresh."""
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    schedule.load_state_dict(state["schedule"])
    if state["generator"] is not None:
        batches.restore(state["batches"], state["generator"])
    for name, value in state["result"].items():
        setattr(result, name, value)
    previous = state["previous"]
    return None if previous is None else previous.to(next(model.parameters()).device)
