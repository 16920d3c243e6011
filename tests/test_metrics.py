"""Tests of sk_dae.metrics."""

import numpy as np
import pytest
from sklearn.metrics import accuracy_score

from sk_dae.metrics import clustering_accuracy, psnr


def test_clustering_accuracy_is_invariant_to_renaming_clusters():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, 200)
    permutation = rng.permutation(5) + 10
    assert clustering_accuracy(y, permutation[y]) == 1.0


def test_clustering_accuracy_matches_accuracy_after_best_matching():
    y_true = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
    y_pred = np.array([1, 1, 0, 0, 0, 0, 2, 2, 1])
    # Best matching: cluster 1 -> class 0, 0 -> 1, 2 -> 2.
    mapped = np.array([{1: 0, 0: 1, 2: 2}[c] for c in y_pred])
    assert clustering_accuracy(y_true, y_pred) == pytest.approx(accuracy_score(y_true, mapped))


def test_clustering_accuracy_extra_clusters_count_as_errors():
    assert clustering_accuracy([0, 0, 1, 1], [0, 1, 2, 3]) == 0.5


def test_clustering_accuracy_bad_input():
    with pytest.raises(ValueError):
        clustering_accuracy([0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match="1-D"):
        clustering_accuracy([[0, 1]], [[0, 1]])


def test_psnr_values():
    clean = np.zeros((3, 5))
    assert psnr(clean, clean + 0.1) == pytest.approx(20.0)
    assert psnr(clean, clean + 25.5, data_range=255) == pytest.approx(20.0)
    assert psnr(clean, clean) == float("inf")
    # Halving the squared error adds 10 log10(2) dB.
    assert psnr(clean, clean + 0.1 / np.sqrt(2)) - psnr(clean, clean + 0.1) == pytest.approx(
        10 * np.log10(2)
    )


def test_psnr_bad_input():
    with pytest.raises(ValueError, match="shape"):
        psnr(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="data_range"):
        psnr(np.zeros(3), np.ones(3), data_range=0)
