"""Checks of user input shared by sk_dae's estimators, and where their warnings point.

Each check raises a ``ValueError`` that names the problem in the user's terms, before
anything of the estimator changes.
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from numbers import Integral

import joblib
import numpy as np
import sklearn
import torch
from sklearn.utils.validation import check_array

from ._core.training import emulates_bfloat16

# Frames of these folders are skipped when a warning names the line that caused it.
_LIBRARY_DIRS = tuple(
    os.path.dirname(module.__file__) + os.sep
    for module in (sklearn, joblib, sys.modules[__package__])
)


def caller_stacklevel():
    """The ``stacklevel`` that makes a warning raised by the calling function point at the
    first line outside sk_dae, scikit-learn and joblib: the user's ``fit`` or
    ``Pipeline.fit``, not ``sklearn/base.py``."""
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_LIBRARY_DIRS):
        frame, level = frame.f_back, level + 1
    return level


def observed_range(X):
    """``(min, max)`` of the observed (non-NaN) entries of ``X``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's all-NaN warning
        low, high = float(np.nanmin(X)), float(np.nanmax(X))
    if math.isnan(low):
        raise ValueError("X holds no observed value: every entry is missing (NaN).")
    return low, high


def validate_targets(estimator, X, y):
    """``y`` checked as the clean rows of the pairs ``(X, y)`` of ``target="y"``."""
    if y is None:
        raise ValueError(
            "target='y' learns to reconstruct clean rows from noisy ones: pass them as y, "
            "e.g. fit(X_noisy, X_clean). Use target='input' to reconstruct X itself."
        )
    y = np.asarray(y) if not hasattr(y, "shape") else y
    if getattr(y, "ndim", 2) != 2 or y.shape != X.shape:
        raise ValueError(
            f"With target='y', y must hold the clean rows of X, of X's shape {X.shape}; "
            f"got y of shape {getattr(y, 'shape', None)}. Class labels as y need "
            "target='input' (the default), which ignores y."
        )
    return check_array(y, dtype=X.dtype, ensure_all_finite="allow-nan", input_name="y")


def refuse_featureless(estimator, X):
    """sklearn's own check words a DataFrame without columns as a numpy internal error."""
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) == 2 and shape[1] == 0:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={tuple(shape)}) while a minimum of 1 is "
            f"required by {type(estimator).__name__}."
        )


def check_hidden_layer_sizes(sizes):
    if isinstance(sizes, str) and sizes == "auto":
        return sizes
    try:
        sizes = tuple(sizes)
    except TypeError:
        raise ValueError(
            f"hidden_layer_sizes must be a tuple of positive ints, got {sizes!r}."
        ) from None
    for size in sizes:
        if (
            isinstance(size, (bool, np.bool_))
            or not isinstance(size, (Integral, np.integer))
            or size < 1
        ):
            raise ValueError(f"hidden_layer_sizes must be a tuple of positive ints, got {sizes!r}.")
    return tuple(int(s) for s in sizes)


def warn_if_precision_emulated(precision, device):
    """Warn that ``precision="bfloat16"`` is slower than float32 on ``device``, a CPU
    that PyTorch runs bfloat16 on only by emulation."""
    if precision == "bfloat16" and emulates_bfloat16(device):
        warnings.warn(
            "precision='bfloat16' on this CPU, which lacks the instructions of PyTorch's "
            "bfloat16 kernels (AVX-512 on x86): PyTorch emulates bfloat16 here, which makes "
            "training several times slower than precision='float32'. Use "
            "precision='float32' on this machine.",
            UserWarning,
            stacklevel=caller_stacklevel(),
        )


def resolve_device(device):
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, ValueError):
        raise ValueError(
            f"device={device!r} is not a torch device; use 'auto', 'cpu', 'cuda', 'cuda:0', ..."
        ) from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was asked for, but CUDA is not available here.")
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device={device!r} was asked for, but MPS is not available here.")
    return resolved
