"""Scores used to compare representations: clustering accuracy, PSNR, and a scorer
that rates a model as a denoiser."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics.cluster import contingency_matrix
from sklearn.utils import Bunch
from sklearn.utils.validation import check_array, check_consistent_length

from ._core.data import corrupt_array
from ._core.noise import NOISE_KINDS, Corruptor


def clustering_accuracy(labels_true, labels_pred):
    """Accuracy of a clustering under the best one-to-one matching of clusters to classes.

    The matching maximises the number of samples whose cluster is mapped to their class
    (the Hungarian algorithm, :func:`scipy.optimize.linear_sum_assignment`, on the
    contingency matrix), as in the deep clustering literature (e.g. Xie et al., 2016).
    Clusters left without a class (more clusters than classes) count as errors.

    Parameters
    ----------
    labels_true : array-like of shape (n_samples,)
        Ground-truth classes.
    labels_pred : array-like of shape (n_samples,)
        Cluster labels; their values need not match those of the classes.

    Returns
    -------
    accuracy : float
        Fraction of samples in [0, 1]; 1 for a clustering equal to the classes up to a
        renaming of the clusters.

    See Also
    --------
    sklearn.metrics.normalized_mutual_info_score : Another permutation-invariant score.
    sklearn.metrics.adjusted_rand_score : Agreement of pairs, adjusted for chance.

    Examples
    --------
    >>> from sk_dae.metrics import clustering_accuracy
    >>> clustering_accuracy([0, 0, 1, 1, 2, 2], [5, 5, 3, 3, 3, 7])
    0.8333...
    >>> clustering_accuracy([0, 1, 2], [2, 0, 1])
    1.0
    """
    match = _match_clusters(labels_true, labels_pred)
    table = match.table
    return float(table[match.rows, match.cols].sum() / table.sum())


def _match_clusters(labels_true, labels_pred):
    """The one-to-one matching of clusters to classes that agrees on the most samples.

    The Hungarian algorithm on the contingency matrix; shared by
    :func:`clustering_accuracy` and :func:`sk_dae.plotting.plot_confusion_matrix`.

    Returns
    -------
    match : Bunch
        ``classes`` and ``clusters`` (the sorted unique labels), ``table`` (the
        contingency matrix, classes by clusters) and ``rows``, ``cols``: class
        ``classes[rows[k]]`` is matched to cluster ``clusters[cols[k]]``. With more
        clusters than classes (or the reverse) some are left unmatched.
    """
    labels_true = check_array(labels_true, ensure_2d=False, dtype=None)
    labels_pred = check_array(labels_pred, ensure_2d=False, dtype=None)
    if labels_true.ndim != 1 or labels_pred.ndim != 1:
        raise ValueError("labels_true and labels_pred must be 1-D arrays of labels.")
    check_consistent_length(labels_true, labels_pred)
    # contingency_matrix orders its rows and columns as np.unique does.
    table = contingency_matrix(labels_true, labels_pred)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return Bunch(
        classes=np.unique(labels_true),
        clusters=np.unique(labels_pred),
        table=table,
        rows=rows,
        cols=cols,
    )


def psnr(X_true, X_est, *, data_range=1.0):
    """Peak signal-to-noise ratio of ``X_est`` against ``X_true``, in decibels.

    ``10 * log10(data_range**2 / MSE)`` with the mean squared error over all entries of
    the arrays (so a set of images is scored as one signal, not as a mean of per-image
    scores). Higher is better; every halving of the MSE adds about 3 dB.

    Parameters
    ----------
    X_true : array-like
        Clean data.
    X_est : array-like of the same shape
        Estimate of the clean data (a noisy or a denoised version).
    data_range : float, default=1.0
        Distance between the smallest and largest possible values (1 for images scaled
        to [0, 1], 255 for uint8 pixels).

    Returns
    -------
    psnr : float
        In dB; ``inf`` when the arrays are equal.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_dae.metrics import psnr
    >>> clean = np.zeros((2, 4))
    >>> round(psnr(clean, clean + 0.1), 6)
    20.0
    >>> psnr(clean, clean)
    inf
    """
    X_true = np.asarray(X_true, dtype=np.float64)
    X_est = np.asarray(X_est, dtype=np.float64)
    if X_true.shape != X_est.shape:
        raise ValueError(
            f"X_true and X_est must have the same shape; got {X_true.shape} and {X_est.shape}."
        )
    if not data_range > 0:
        raise ValueError(f"data_range must be positive; got {data_range}.")
    mse = float(np.mean((X_true - X_est) ** 2))
    if mse == 0:
        return float("inf")
    return float(10 * np.log10(data_range**2 / mse))


def make_denoising_scorer(noise="gaussian", noise_level=0.5, *, clip=True, random_state=0):
    """A scorer that rates a fitted autoencoder as a denoiser of a known corruption.

    A :class:`~sk_dae.DenoisingAutoencoder`'s own ``score`` rates the clean
    reconstruction, which favours wide models trained with little noise. This scorer
    corrupts the held-out rows with ``noise`` (the same draw for every candidate, from
    ``random_state``), denoises them with ``reconstruct`` and returns the negative mean
    squared error against the clean rows: pass it as ``scoring=`` to
    :class:`~sklearn.model_selection.GridSearchCV` to pick the best denoiser of that noise.

    Parameters
    ----------
    noise : {"gaussian", "masking", "salt_and_pepper", "swap"}, default="gaussian"
        The corruption to remove.
    noise_level : float, default=0.5
        Its standard deviation (gaussian) or the fraction of entries it corrupts.
    clip : bool, default=True
        Clip Gaussian-corrupted values to the range of the model's training data
        (``data_min_``, ``data_max_``), as saved images are.
    random_state : int, default=0
        Seeds the corruption, so that all candidates are scored on the same noisy rows.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y=None)``: ``-mean((D(E(X~)) - X)**2)`` over the observed
        entries of ``X``, where ``X~`` is the corrupted ``X``; higher is better.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sk_dae import DenoisingAutoencoder
    >>> from sk_dae.metrics import make_denoising_scorer
    >>> X = load_digits().data / 16.0
    >>> search = GridSearchCV(
    ...     DenoisingAutoencoder(n_components=16, max_iter=40, tol=None, random_state=0),
    ...     {"noise_level": [0.0, 0.3]},
    ...     scoring=make_denoising_scorer("gaussian", 0.5),
    ...     cv=2,
    ... ).fit(X)
    >>> search.best_params_  # the model's own score would pick noise_level=0.0
    {'noise_level': 0.3}
    """
    if noise not in NOISE_KINDS:
        raise ValueError(f"noise must be one of {NOISE_KINDS}; got {noise!r}.")
    if not noise_level >= 0:
        raise ValueError(f"noise_level must be non-negative; got {noise_level!r}.")
    seed = int(random_state)

    def denoising_score(estimator, X, y=None):
        if not hasattr(estimator, "reconstruct"):
            raise TypeError(
                "make_denoising_scorer rates models with a reconstruct method (a "
                f"DenoisingAutoencoder); got {type(estimator).__name__}."
            )
        X = check_array(X, dtype=[np.float64, np.float32], ensure_all_finite="allow-nan")
        low, high = estimator.data_min_, estimator.data_max_
        corruptor = Corruptor(noise, noise_level, low=low, high=high, clip=clip)
        noisy = corrupt_array(X, corruptor, seed, dtype=X.dtype)
        noisy[np.isnan(X)] = np.nan
        squared = (estimator.reconstruct(noisy).astype(np.float64) - X) ** 2
        return -float(np.nanmean(squared))

    return denoising_score
