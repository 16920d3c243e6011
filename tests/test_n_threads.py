"""The ``n_threads`` knob of DenoisingAutoencoder: the count torch computes with during
``fit``, ``partial_fit`` and inference, given or chosen by the default policy
(``n_threads=None``), the user's count restored afterwards, also when the call fails, and
no oversubscription when joblib runs several fits at once (``GridSearchCV(n_jobs=k)``
uses loky worker processes). The policy itself is tested in tests/core/test_threads.py.

The thread count torch computes with is observed through torch's global forward pre-hook,
which runs at every layer of every network while sk_dae trains or infers.
"""

import contextlib
import os

import numpy as np
import pytest
import torch
from conftest import interrupt_at_step, short_training, small, tiny
from sklearn.model_selection import GridSearchCV
from torch.nn.modules.module import register_module_forward_pre_hook

from sk_dae import DenoisingAutoencoder
from sk_dae._autoencoder import _training_work
from sk_dae._core import threads as _threads

# torch's thread count while a test runs: not 1 (what sk_dae's tests otherwise use) and
# not the number of cores, so that neither can pass for it by accident.
USER_THREADS = 3


@pytest.fixture(autouse=True)
def user_threads():
    """torch set to USER_THREADS threads by the user, restored after the test."""
    previous = torch.get_num_threads()
    torch.set_num_threads(USER_THREADS)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextlib.contextmanager
def thread_counts():
    """Collect ``torch.get_num_threads()`` at every forward call of every torch module."""
    seen = []
    handle = register_module_forward_pre_hook(
        lambda module, args: seen.append(torch.get_num_threads())
    )
    try:
        yield seen
    finally:
        handle.remove()


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_explicit_n_threads_applies_while_training_and_is_restored(few_digits, method):
    model = tiny(n_threads=1, max_iter=2)
    with thread_counts() as seen, short_training():
        getattr(model, method)(few_digits)
    assert seen and set(seen) == {1}
    assert torch.get_num_threads() == USER_THREADS


@pytest.mark.parametrize("method", ["transform", "reconstruct", "score_samples", "score"])
def test_explicit_n_threads_applies_while_inferring_and_is_restored(few_digits, method):
    model = tiny(max_iter=1).partial_fit(few_digits).set_params(n_threads=1)
    with thread_counts() as seen:
        getattr(model, method)(few_digits)
    assert seen and set(seen) == {1}
    assert torch.get_num_threads() == USER_THREADS


def test_explicit_n_threads_applies_to_inverse_transform(few_digits):
    model = tiny(max_iter=1).partial_fit(few_digits)
    codes = model.transform(few_digits)
    with thread_counts() as seen:
        model.set_params(n_threads=2).inverse_transform(codes)
    assert seen and set(seen) == {2}
    assert torch.get_num_threads() == USER_THREADS


def test_previous_thread_count_is_restored_when_fit_fails(few_digits):
    inf = few_digits.copy()
    inf[0, 0] = np.inf  # NaN is a missing value now; infinity is still refused
    with pytest.raises(ValueError, match="infinity"):
        tiny(n_threads=1).fit(inf)
    assert torch.get_num_threads() == USER_THREADS

    # Divergence fails the fit after it has trained on one thread.
    with thread_counts() as seen, pytest.raises(ValueError, match="Training diverged"):
        tiny(n_threads=1).fit(few_digits * 1e30)
    assert seen and set(seen) == {1}
    assert torch.get_num_threads() == USER_THREADS

    with interrupt_at_step(1), pytest.raises(KeyboardInterrupt):
        tiny(n_threads=1).fit(few_digits)
    assert torch.get_num_threads() == USER_THREADS


def test_default_uses_one_thread_on_small_work_and_restores_the_users_count(few_digits):
    # Batches of 64 features through a hidden layer of 12: far below PARALLEL_MIN_FLOPS,
    # so one thread whatever the cores and the load.
    with thread_counts() as seen, short_training():
        tiny(max_iter=1).fit(few_digits).transform(few_digits)
    assert seen and set(seen) == {1}
    assert torch.get_num_threads() == USER_THREADS


def test_default_count_is_restored_when_fit_fails(few_digits):
    inf = few_digits.copy()
    inf[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        tiny().fit(inf)
    assert torch.get_num_threads() == USER_THREADS
    with thread_counts() as seen, pytest.raises(ValueError, match="Training diverged"):
        tiny().fit(few_digits * 1e30)
    assert seen and set(seen) == {1}
    assert torch.get_num_threads() == USER_THREADS


@pytest.mark.parametrize("n_threads", [None, 1])
def test_count_is_restored_when_transform_fails_midway(few_digits, n_threads):
    model = tiny(max_iter=1, n_threads=n_threads).partial_fit(few_digits)

    def fail(module, args):
        raise RuntimeError("failed inside the network")

    handle = register_module_forward_pre_hook(fail)
    try:
        with pytest.raises(RuntimeError, match="failed inside"):
            model.transform(few_digits)
    finally:
        handle.remove()
    assert torch.get_num_threads() == USER_THREADS


def test_default_on_large_work_stays_within_the_available_cores():
    # 3 epochs of 600 rows x 1,024 features through (1024,): 3.2 GFLOP a batch, 29 in
    # all: large enough that the policy looks at the cores and their load.
    X = np.random.default_rng(0).random((600, 1024), dtype=np.float32)
    model = DenoisingAutoencoder(
        4, hidden_layer_sizes=(1024,), batch_size=256, max_iter=3, random_state=0
    )
    widths = [1024, 1024, 4, 1024, 1024]
    work = _threads.Work.of_layers(widths, 256, 600, passes=3, training=True)
    assert work.flops_per_batch >= _threads.PARALLEL_MIN_FLOPS
    assert work.total_flops >= _threads.PROBE_MIN_FLOPS
    assert _training_work(model, X.shape, (1024,), incremental=False) == work  # what fit does
    with thread_counts() as seen, short_training():
        model.fit(X).transform(X)
    cores = _threads.available_cores()
    assert seen and all(1 <= n <= cores for n in seen), (seen, cores)
    assert torch.get_num_threads() == USER_THREADS


def test_default_fit_on_small_data_runs_on_one_thread_and_is_reproducible(digits):
    # The whole fit runs on one thread, so nothing of it depends on the cores or the load.
    X = digits[0][:400]
    with thread_counts() as seen, short_training():
        fits = [small().fit(X), small().fit(X)]
    assert seen and set(seen) == {1}
    weights = [[p.detach().numpy() for p in f.module_.parameters()] for f in fits]
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


# Scorers that run in the worker right after the fit there, each reporting one number.


def _threads_while_transforming(estimator, X, y=None):
    with thread_counts() as seen:
        estimator.transform(X)
    return float(max(seen))


def _threads_joblib_allows(estimator, X, y=None):
    # loky starts its workers with OMP_NUM_THREADS set to their share of the cores (or
    # to the parent's own setting), and torch reads it at import.
    return float(os.environ["OMP_NUM_THREADS"])


def _process_id(estimator, X, y=None):
    return float(os.getpid())


def test_grid_search_workers_use_at_most_the_threads_joblib_gives_them(few_digits):
    search = GridSearchCV(
        tiny(max_iter=1),
        {"noise_level": [0.1, 0.2]},
        cv=2,
        n_jobs=2,
        scoring={
            "threads": _threads_while_transforming,
            "allowed": _threads_joblib_allows,
            "pid": _process_id,
        },
        refit=False,
        error_score="raise",
    )
    with short_training():
        search.fit(few_digits)
    results = search.cv_results_

    def per_fit(name):
        return np.concatenate([results[f"split{i}_test_{name}"] for i in range(2)])

    threads, allowed = per_fit("threads"), per_fit("allowed")
    assert os.getpid() not in per_fit("pid")  # the fits ran in worker processes
    assert (threads >= 1).all()
    assert (threads <= allowed).all(), (threads, allowed)
    assert torch.get_num_threads() == USER_THREADS
