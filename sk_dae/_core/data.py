"""The data path shared by fitting and inference; numpy and torch only, no sklearn.

``X`` arrives here validated (a float32 or float64 array). Fitting takes it to one float32
tensor on the training device (:func:`training_tensors`, which also holds out the
validation rows), the training loop walks it in batches (:func:`batch_indices`), and
inference maps a function over it batch by batch (:func:`map_batches`), also used to
corrupt arrays with a seed (:func:`corrupt_array`).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

#: Rows per batch of inference (transform, reconstruct, corrupt, scores).
INFERENCE_BATCH_SIZE = 4096


def as_tensor(X, dtype=np.float32):
    """A CPU tensor sharing memory with ``X`` when it already has ``dtype`` and is
    C-contiguous (one copy otherwise)."""
    X = np.ascontiguousarray(X, dtype=dtype)
    with warnings.catch_warnings():
        # Read-only arrays (memmaps opened with mode="r") are only ever read here.
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(X)


def split_rows(X, fraction, seed):
    """``(X_train, X_val)``: a seeded ``fraction`` of the rows held out, order kept.

    At least one row goes to each side.
    """
    n_samples = X.shape[0]
    n_val = min(max(1, int(round(fraction * n_samples))), n_samples - 1)
    order = np.random.default_rng(seed).permutation(n_samples)
    return X[np.sort(order[n_val:])], X[np.sort(order[:n_val])]


def training_tensors(X, *, device, validation_fraction=None, seed=0):
    """The float32 training rows on ``device`` and the held-out rows (or None).

    With ``validation_fraction``, that fraction of the rows is held out by
    :func:`split_rows` with ``seed``.
    """
    X_val = None
    if validation_fraction is not None:
        X, X_val = split_rows(X, validation_fraction, seed)
    train = as_tensor(X).to(device)
    val = as_tensor(X_val).to(device) if X_val is not None else None
    return train, val


#: The largest ``"auto"`` batch (of an MLP: see :data:`CONV_LARGEST_AUTO_BATCH`).
LARGEST_AUTO_BATCH = 256


def batch_size_for(batch_size, n_samples, *, largest=LARGEST_AUTO_BATCH):
    """Rows per training batch: ``"auto"`` is a sixteenth of the rows, from 32 to
    ``largest`` (small data sets get more, smaller steps per pass), never more rows than
    there are."""
    if batch_size == "auto":
        batch_size = min(largest, max(32, n_samples // 16))
    return min(int(batch_size), n_samples)


#: The largest ``"auto"`` batch of a convolutional network. A convolution's cost per row
#: hardly falls with the batch on a CPU, unlike a dense layer's, so smaller batches buy
#: more steps for almost the same time per epoch (the images page of the user guide has
#: the measurements).
CONV_LARGEST_AUTO_BATCH = 64


def n_batches(n_samples, batch_size):
    """The number of batches :func:`batch_indices` makes of ``n_samples`` rows."""
    count = -(-n_samples // batch_size)
    return count - 1 if count > 1 and n_samples - (count - 1) * batch_size == 1 else count


#: ``max_iter="clustering"``: ``CLUSTERING_PASSES`` passes, or from
#: ``CLUSTERING_STEPS_FROM_ROWS`` rows on as many as make ``CLUSTERING_STEPS`` optimizer
#: steps, at most ``CLUSTERING_MAX_PASSES``. Twenty passes are 5,470 steps of all 70,000
#: MNIST digits but 80 of the first 1,000, whose codes then cluster worse than the pixels.
#: Tables of a few hundred rows (iris, wine, breast cancer) clustered worse after 200
#: passes than after 20: the large network fits so few rows too closely.
CLUSTERING_PASSES, CLUSTERING_STEPS, CLUSTERING_MAX_PASSES = 20, 1500, 200
CLUSTERING_STEPS_FROM_ROWS = 1000


def epochs_for(max_iter, n_samples, batch_size, *, steps=5000, cap=200):
    """Epochs of a fit: ``max_iter`` itself; for ``"auto"``, enough epochs for about
    ``steps`` optimizer steps, at most ``cap`` (a fixed compute budget: few epochs of a
    large data set, many of a small one); for ``"clustering"``, the length that pretrains
    codes for clustering (:func:`clustering_epochs`)."""
    if max_iter == "clustering":
        return clustering_epochs(n_samples, batch_size)
    if max_iter != "auto":
        return int(max_iter)
    return max(1, min(cap, -(-steps // n_batches(n_samples, batch_size))))


def clustering_epochs(n_samples, batch_size):
    """Epochs of ``max_iter="clustering"`` on ``n_samples`` rows in batches of
    ``batch_size`` (see :data:`CLUSTERING_PASSES`)."""
    if n_samples < CLUSTERING_STEPS_FROM_ROWS:
        return CLUSTERING_PASSES
    steps = epochs_for(
        "auto", n_samples, batch_size, steps=CLUSTERING_STEPS, cap=CLUSTERING_MAX_PASSES
    )
    return max(CLUSTERING_PASSES, steps)


def batch_indices(n_samples, batch_size, perm=None):
    """Row indices (a slice, or a slice of ``perm``) of each training batch.

    A lone trailing row joins the batch before it, since batch normalisation cannot train
    on a single row.
    """
    starts = list(range(0, n_samples, batch_size))
    if len(starts) > 1 and n_samples - starts[-1] == 1:
        starts.pop()
    for i, start in enumerate(starts):
        stop = starts[i + 1] if i + 1 < len(starts) else n_samples
        yield (perm[start:stop] if perm is not None else slice(start, stop))


def map_batches(fn, X, *, device, dtype=np.float32, batch_size=None):
    """Apply ``fn`` to ``X`` batch by batch under ``torch.inference_mode``; numpy out.

    Batches enter ``fn`` as tensors of ``dtype`` (float32 or float64) on ``device``.
    ``X`` may be any array that slices into rows (ndarray, memmap, tensor). Only one batch
    is converted and on ``device`` at a time, and results are written into one
    preallocated output, so extra memory is bounded by a batch, not by the data size.
    ``batch_size`` defaults to :data:`INFERENCE_BATCH_SIZE`.
    """
    batch_size = INFERENCE_BATCH_SIZE if batch_size is None else batch_size
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


def column_spread(X, *, batch_size=INFERENCE_BATCH_SIZE):
    """The standard deviation of every column of ``X`` over its observed (non-NaN)
    entries, float64; NaN for a column without any.

    Computed batch by batch with float64 sums, so extra memory is bounded by a batch (a
    memmap is never copied whole).
    """
    n_features = X.shape[1]
    count, total, squares = (np.zeros(n_features) for _ in range(3))
    for start in range(0, X.shape[0], batch_size):
        rows = np.asarray(X[start : start + batch_size], dtype=np.float64)
        observed = ~np.isnan(rows)
        rows = np.where(observed, rows, 0.0)
        count += observed.sum(axis=0)
        total += rows.sum(axis=0)
        squares += np.square(rows).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
        variance = squares / count - np.square(mean)
    return np.sqrt(np.maximum(variance, 0.0))


def fill_missing(batch):
    """``batch`` with its missing (NaN) entries set to zero, as masking noise sets the
    entries it hides; the batch itself when nothing is missing."""
    return torch.nan_to_num(batch, nan=0.0) if torch.isnan(batch).any() else batch


def corrupt_array(X, corruptor, seed, *, dtype=np.float32):
    """A corrupted copy of the array ``X``, drawn from a generator seeded with ``seed``.

    ``X`` is left unchanged. Missing (NaN) entries are corrupted as the zeros they enter
    the network as in training (see :func:`fill_missing`).
    """
    generator = torch.Generator().manual_seed(int(seed))
    return map_batches(
        lambda batch: corruptor(fill_missing(batch), generator, reuse_buffer=False),
        X,
        device="cpu",
        dtype=dtype,
    )


def column_means(X, max_rows=10_000):
    """Every column's mean over its observed entries, from at most ``max_rows`` rows
    spread over ``X`` (0 for a column without any): where training starts the output."""
    rows = np.asarray(X[:: max(1, X.shape[0] // max_rows)], dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing column
        return np.nan_to_num(np.nanmean(rows, axis=0), nan=0.0)
