"""Fixtures and helpers shared by the test files.

pytest finds the fixtures by name. The helpers are plain functions: pytest's default
(``prepend``) import mode puts this folder on ``sys.path``, so a test file imports them
with ``from conftest import small, fit_quiet``.
"""

import contextlib
import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from torch.optim.optimizer import register_optimizer_step_pre_hook

import sk_dae.datasets
from sk_dae import DenoisingAutoencoder
from sk_dae._core import threads as _threads

# ----------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def _restore_torch_threads():
    """Give torch's process-wide thread count back after every test.

    Tests and what they run change it: UMAP's numba kernels set OpenMP's thread count,
    which torch shares, to every core. Left so, the tests after them would train on all
    cores (plot_denoising after plot_clustering: 39 s instead of 1.5 s on 2 busy cores).
    """
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run a module's tests with one torch thread.

    Tiny networks gain nothing from threads, and on a busy machine spinning threads cost
    more than the work. Tests that exercise threads set their own.
    """
    with _threads.limit(1):
        yield


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's 1,797 8x8 digits scaled to [0, 1]: ``(X, y)``, X float64.

    Shared by every test, so both arrays are read-only; take a copy to change them.
    """
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


@pytest.fixture(scope="session")
def few_digits(digits):
    """The first 200 digits as float32 (read-only): enough rows to train a tiny model in
    milliseconds."""
    X = digits[0][:200].astype(np.float32)
    X.flags.writeable = False
    return X


@pytest.fixture(scope="session")
def digits_split():
    """:func:`sk_dae.datasets.load_digits`: the digits in [0, 1], split into train and
    test. Shared by every test, so its arrays are read-only."""
    data = sk_dae.datasets.load_digits()
    for name in ("X_train", "X_test", "y_train", "y_test"):
        data[name].flags.writeable = False
    return data


# ----------------------------------------------------------------- models


#: The training of :func:`small` and :func:`tiny`: a random start, all rows trained on
#: (no held-out rows unless a test asks), a constant step size (1e-3) and the convergence
#: test, so that a fit of k epochs is the first k epochs of a longer one, which many
#: semantics tests compare. The defaults (a PCA start, the held-out check, the cosine
#: schedule) have tests of their own.
CONSTANT_STEP = dict(
    init="random", early_stopping=False, learning_rate="constant", learning_rate_init=1e-3
)


def small(**params):
    """A small, seeded model that fits 600 digits in about a tenth of a second: 8
    components, one hidden layer of 32, batches of 64, 10 epochs at a constant step size.
    Tests override what they exercise."""
    defaults = dict(
        n_components=8, hidden_layer_sizes=(32,), batch_size=64, max_iter=10, random_state=0
    )
    return DenoisingAutoencoder(**{**defaults, **CONSTANT_STEP, **params})


def tiny(**params):
    """Smaller still, for tests that fit many models: 3 components, one hidden layer of
    12, batches of 50, 4 epochs at a constant step size, seeded."""
    defaults = dict(
        n_components=3, hidden_layer_sizes=(12,), batch_size=50, max_iter=4, random_state=0
    )
    return DenoisingAutoencoder(**{**defaults, **CONSTANT_STEP, **params})


@contextlib.contextmanager
def short_training():
    """Silence the ConvergenceWarning of fits stopped at a small ``max_iter`` on purpose."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def fit_quiet(estimator, X):
    """``estimator.fit(X)`` without the ConvergenceWarning of a deliberately short fit."""
    with short_training():
        return estimator.fit(X)


# ----------------------------------------------------------------- faults


@contextlib.contextmanager
def interrupt_at_step(n):
    """Raise ``KeyboardInterrupt`` as the ``n``-th optimizer step (1-based) begins.

    The hook is torch's global optimizer step pre-hook, so it reaches whatever optimizer
    a fit creates without knowing how sk_dae builds it; the interrupted step changes no
    weight. Yields a one-element list counting the steps begun so far.
    """
    steps = [0]

    def hook(optimizer, args, kwargs):
        steps[0] += 1
        if steps[0] == n:
            raise KeyboardInterrupt

    handle = register_optimizer_step_pre_hook(hook)
    try:
        yield steps
    finally:
        handle.remove()
