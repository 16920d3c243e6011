"""Who owns the CPU threads: the ``n_threads`` knob, and no oversubscription when joblib
runs several fits at once (``GridSearchCV(n_jobs=k)`` uses loky worker processes)."""

import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

import sk_dae._estimator as estimator_module
from sk_dae import DenoisingAutoencoder


@pytest.fixture(scope="module")
def X():
    return (load_digits().data[:240] / 16.0).astype(np.float32)


def tiny(**params):
    return DenoisingAutoencoder(
        n_components=2, hidden_layer_sizes=(8,), max_iter=1, random_state=0, **params
    )


def spy(monkeypatch, name):
    """Record torch's thread count whenever ``sk_dae._estimator.<name>`` is called."""
    seen = []
    real = getattr(estimator_module, name)

    def wrapper(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(estimator_module, name, wrapper)
    return seen


def fit(estimator, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X)


def test_default_uses_the_process_thread_count(X, monkeypatch):
    # n_threads=None leaves torch's setting alone: all cores, unless OMP_NUM_THREADS
    # (set by joblib in its workers) says otherwise.
    before = torch.get_num_threads()
    seen = spy(monkeypatch, "train")
    fit(tiny(), X)
    assert seen == [before]
    assert torch.get_num_threads() == before


def test_n_threads_applies_to_transform_and_is_restored(X, monkeypatch):
    model = fit(tiny(), X)
    before = torch.get_num_threads()
    seen = spy(monkeypatch, "map_batches")
    model.set_params(n_threads=1).transform(X)
    model.reconstruct(X)
    assert seen == [1, 1]
    assert torch.get_num_threads() == before


def test_n_threads_is_restored_when_fit_fails(X):
    before = torch.get_num_threads()
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError):
        tiny(n_threads=1).fit(bad)
    assert torch.get_num_threads() == before


def test_grid_search_workers_do_not_oversubscribe(X):
    # Two fits (cv=2), one per worker. The scorer runs in the worker right after the fit
    # there and reports the thread count that fit used (n_threads=None leaves it as it
    # is). k workers x threads must not exceed the cores: joblib sets
    # OMP_NUM_THREADS = cores // k in its loky workers, and torch reads it at import.
    n_jobs = 2
    search = GridSearchCV(
        tiny(),
        {"noise_level": [0.1]},
        cv=2,
        n_jobs=n_jobs,
        scoring=lambda estimator, X, y=None: float(torch.get_num_threads()),
        error_score="raise",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X)
    threads = np.concatenate([search.cv_results_[f"split{i}_test_score"] for i in range(2)])
    cores = joblib.cpu_count()
    assert threads.min() >= 1
    assert threads.max() * n_jobs <= max(cores, n_jobs), (threads, cores)
    assert set(threads) == {max(cores // n_jobs, 1)}
