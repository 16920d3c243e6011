"""Who owns the CPU threads: the ``n_threads`` knob, the default policy (``n_threads=None``)
and no oversubscription when joblib runs several fits at once (``GridSearchCV(n_jobs=k)``
uses loky worker processes).

The thread count torch computes with is observed through torch's global forward pre-hook,
which runs at every layer of every network while sk_dae trains or infers.
"""

import contextlib
import os
import subprocess
import sys

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
    model = DenoisingAutoencoder(4, hidden_layer_sizes=(1024,), max_iter=3, random_state=0)
    widths = [1024, 1024, 4, 1024, 1024]
    work = _threads.Work.of_layers(widths, 256, 600, passes=3, training=True)
    assert work.flops_per_batch >= _threads.PARALLEL_MIN_FLOPS
    assert work.total_flops >= _threads.PROBE_MIN_FLOPS
    assert _training_work(model, X, incremental=False) == work  # what fit describes
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


def test_policy_small_work_gets_one_thread_whatever_the_cores():
    # The digits demo's network: 64-128-16-128-64 at batch 64.
    small_batches = _threads.Work.of_layers([64, 128, 16, 128, 64], 64, 10**6, training=True)
    assert small_batches.flops_per_batch < _threads.PARALLEL_MIN_FLOPS
    assert _threads.choose(small_batches, cap=64) == 1
    # Large batches, but a call too short to be worth more threads (or a probe).
    short_call = _threads.Work(10 * _threads.PARALLEL_MIN_FLOPS, n_batches=1)
    assert _threads.choose(short_call, cap=64) == 1
    large = _threads.Work(1e9, n_batches=1000)
    assert _threads.choose(large, cap=1) == 1


@pytest.mark.parametrize("cap", [1, 2, 3, 64])
def test_policy_never_exceeds_the_cap_nor_one_thread_per_half_threshold(cap):
    large = _threads.Work(1e9, n_batches=1000)
    assert 1 <= _threads.choose(large, cap=cap) <= cap
    # Enough for two threads by its size, not for more.
    medium = _threads.Work(2.5 * _threads.PARALLEL_MIN_FLOPS / 2, n_batches=10**6)
    assert 1 <= _threads.choose(medium, cap=cap) <= min(cap, 2)


@pytest.mark.parametrize(
    "cpus, cap, busy, expected",
    [
        (2, 2, 0.0, 2),
        (2, 2, 0.3, 2),  # a little background activity
        (2, 2, 1.0, 1),  # one other busy process: one thread, not two waiting
        (2, 2, 2.0, 1),
        (16, 4, 12.0, 4),  # three other joblib workers busy with their shares
        (16, 4, 14.0, 2),
        (16, 16, 16.0, 1),
    ],
)
def test_policy_takes_only_the_cores_others_leave_idle(monkeypatch, cpus, cap, busy, expected):
    # The policy's arithmetic, given what the machine reports: the affinity and the
    # measured CPU use of other processes (sk_dae's own readers, not torch, stand in).
    monkeypatch.setattr(_threads, "_affinity", lambda: list(range(cpus)))
    monkeypatch.setattr(_threads, "busy_cores", lambda: busy)
    large = _threads.Work(1e9, n_batches=1000)
    assert _threads.choose(large, cap=cap) == expected


def test_available_cores_honours_affinity_torch_and_omp_num_threads(monkeypatch):
    cores = _threads.available_cores()
    assert 1 <= cores <= len(os.sched_getaffinity(0))
    assert cores <= torch.get_num_threads()  # USER_THREADS, set by the user
    torch.set_num_threads(1)
    assert _threads.available_cores() == 1
    torch.set_num_threads(USER_THREADS)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert _threads.available_cores() == 1


AFFINITY_SCRIPT = """
import os, torch
from sk_dae._core import threads as _threads
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
large = _threads.Work(1e9, n_batches=1000)
print(_threads.available_cores(), _threads.choose(large))
"""


@pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="needs CPU affinity and at least two CPUs",
)
def test_a_process_pinned_to_one_cpu_gets_one_thread():
    # The affinity changes after torch chose its own count at import (all cores).
    out = subprocess.run(
        [sys.executable, "-c", AFFINITY_SCRIPT], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["1", "1"]


@pytest.mark.parametrize(
    "files, expected",
    [
        ({"cpu.max": "150000 100000\n"}, 2),
        ({"cpu.max": "max 100000\n"}, None),
        ({"cpu.cfs_quota_us": "100000\n", "cpu.cfs_period_us": "100000\n"}, 1),
        ({"cpu.cfs_quota_us": "-1\n", "cpu.cfs_period_us": "100000\n"}, None),
    ],
)
def test_cgroup_quota_is_read_in_whole_cpus(tmp_path, files, expected):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    version = "v1" if "cpu.cfs_quota_us" in files else None
    target = tmp_path if version else tmp_path / "cpu.max"
    assert _threads._read_quota(target, version) == expected


def test_busy_cores_sees_a_process_spinning_on_a_cpu():
    cpu = min(os.sched_getaffinity(0))
    spin = f"import os\nos.sched_setaffinity(0, {{{cpu}}})\nprint(flush=True)\nwhile True: pass"
    with subprocess.Popen([sys.executable, "-c", spin], stdout=subprocess.PIPE) as child:
        try:
            child.stdout.readline()  # pinned and spinning
            _threads._busy_cache.clear()
            busy = _threads.busy_cores([cpu], window=0.3)
        finally:
            child.kill()
            _threads._busy_cache.clear()
    assert 0.5 <= busy <= 1.0


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
