"""Checkpoints of a long fit: written atomically during training, resumed by a new process.

A checkpoint file holds everything the training loop needs to continue exactly where it
was: the network's weights, the optimizer's state, the state of the generator that
draws the permutations, the noise and dropout, the learning-rate schedule's step, the
stopping rule (its count of epochs without progress and the best weights) and the
history of the epochs so far, with the seeds that built the network and split the rows.
Resuming from it gives the result of an uninterrupted fit, bit for bit on the CPU with
the same threads.

The file is written by ``torch.save`` and read by ``torch.load(weights_only=True)``,
which rebuilds tensors and plain containers only and refuses anything else: loading a
checkpoint runs no code named in it. Each write goes to a temporary file beside the
checkpoint and is renamed over it, so a process killed while writing leaves the previous
checkpoint whole. There is no ``fsync``: the rename protects against a crash of the
process (the case checkpoints are for), not against losing power, and an ``fsync`` per
epoch would cost more than the write itself.

Torch only; the estimators decide what a fit's fingerprint is.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tempfile
import time
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import torch

FORMAT = "sk_dae.checkpoint"
FORMAT_VERSION = 1


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """Where and how often a long ``fit`` saves its state, so that it can be resumed.

    Pass it (or just a path, which means every epoch) as the ``checkpoint`` parameter of
    an estimator. After every ``every_epochs`` epochs, or once ``every_minutes`` have
    passed since the last write, ``fit`` writes its training state to ``path``. When a
    ``fit`` with the same parameters and data finds the file, it resumes from it instead
    of starting over, and ends where an uninterrupted fit would have ended (bit-identical
    on the CPU with the same threads); a file of another fit is refused. The file is
    removed when ``fit`` completes, unless ``keep``.

    Parameters
    ----------
    path : str or path-like
        The checkpoint file; its folder must exist.
    every_epochs : int or None, default=1
        Write after this many epochs since the last write; None: by time only.
    every_minutes : float or None, default=None
        Write after an epoch that ends this many minutes or more after the last write.
    keep : bool, default=False
        Keep the file when ``fit`` completes; a later ``fit`` of the same parameters
        and data then resumes at its end (with the last epoch written) instead of
        training again.

    See Also
    --------
    DenoisingAutoencoder : Its ``checkpoint`` parameter.
    DeepClustering : Its ``checkpoint`` parameter, for pretraining and fine-tuning.

    Examples
    --------
    >>> from sk_dae import Checkpoint, DenoisingAutoencoder
    >>> checkpoint = Checkpoint("fit.ckpt", every_epochs=5, every_minutes=10)
    >>> DenoisingAutoencoder(checkpoint=checkpoint).checkpoint.every_epochs
    5
    """

    path: str | os.PathLike
    every_epochs: int | None = 1
    every_minutes: float | None = None
    keep: bool = False

    def __post_init__(self):
        if not isinstance(self.path, (str, os.PathLike)):
            raise TypeError(f"path must be a str or path-like; got {self.path!r}.")
        every, minutes = self.every_epochs, self.every_minutes
        if every is not None and (
            not isinstance(every, Integral) or isinstance(every, bool) or every < 1
        ):
            raise ValueError(f"every_epochs must be an int >= 1 or None; got {every!r}.")
        if minutes is not None and (
            not isinstance(minutes, Real) or isinstance(minutes, bool) or not minutes > 0
        ):
            raise ValueError(f"every_minutes must be a number > 0 or None; got {minutes!r}.")
        if every is None and minutes is None:
            raise ValueError("every_epochs and every_minutes cannot both be None.")


def as_checkpoint(value):
    """``value`` (a :class:`Checkpoint`, a path or None) as a :class:`Checkpoint` or None."""
    if value is None or isinstance(value, Checkpoint):
        return value
    return Checkpoint(value)


class CheckpointError(ValueError):
    """A checkpoint file that cannot be resumed from."""


class Writer:
    """Writes the training state to a checkpoint's file when it is due.

    ``header`` (plain data: the fit's fingerprint, its seeds, ...) is written in every
    file beside the training state. The training loop calls the writer after every epoch
    with the number of epochs done and a function that returns the state.
    """

    def __init__(self, checkpoint, header):
        self.checkpoint = checkpoint
        self.path = Path(checkpoint.path)
        self.header = dict(header)
        self.last_epoch = 0
        self.last_time = time.monotonic()

    def __call__(self, epoch, state):
        if self.due(epoch):
            self.write(state())
            self.last_epoch = epoch

    def due(self, epoch):
        every, minutes = self.checkpoint.every_epochs, self.checkpoint.every_minutes
        if every is not None and epoch - self.last_epoch >= every:
            return True
        return minutes is not None and time.monotonic() - self.last_time >= 60 * minutes

    def write(self, training_state):
        payload = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            **self.header,
            "training": training_state,
        }
        fd, tmp = tempfile.mkstemp(
            prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent
        )
        try:
            with os.fdopen(fd, "wb") as file:
                torch.save(payload, file)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.last_time = time.monotonic()

    def remove(self):
        """Remove the file once the fit it protects is complete (unless it is kept)."""
        if not self.checkpoint.keep:
            self.path.unlink(missing_ok=True)


def read(path, fingerprint):
    """The contents of the checkpoint at ``path``, or None when there is none.

    Raises :class:`CheckpointError` for a file that is not a checkpoint or belongs to
    another fit (its ``fingerprint`` differs).
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a damaged or foreign file
        raise CheckpointError(
            f"{str(path)!r} is not a readable sk_dae checkpoint ({type(exc).__name__}: "
            f"{exc}). Delete it, or choose another checkpoint path."
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(
            f"{str(path)!r} is not an sk_dae checkpoint. Delete it, or choose another "
            "checkpoint path."
        )
    if payload.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{str(path)!r} is a checkpoint of format version "
            f"{payload.get('format_version')!r}; this sk_dae resumes version "
            f"{FORMAT_VERSION} only. Delete it to start the fit over."
        )
    if payload.get("fingerprint") != fingerprint:
        raise CheckpointError(
            f"{str(path)!r} holds the checkpoint of another fit (other parameters or "
            "other data), which this fit cannot resume. Delete it to start over, or "
            "choose another checkpoint path."
        )
    return payload


def fingerprint(description, *arrays):
    """A digest of a fit: ``description`` (a string: the parameters) and the bytes,
    dtype and shape of each array (the data); None arrays are skipped."""
    digest = hashlib.blake2b(description.encode(), digest_size=16)
    for array in arrays:
        if array is None:
            continue
        array = np.ascontiguousarray(array)
        digest.update(f"\0{array.dtype.str}\0{array.shape}\0".encode())
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()
