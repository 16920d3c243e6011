"""Unit tests of ``sk_dae._core.threads``: how the default policy chooses a thread count
from the work of a call, the cores this process may use (affinity, cgroup quota,
``OMP_NUM_THREADS``, torch's count) and how busy other processes keep them. What the
estimators do with it is tested in tests/test_n_threads.py.
"""

import os
import subprocess
import sys

import pytest
import torch

from sk_dae._core import threads as _threads


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
    # A count set by the user, neither 1 nor the number of cores (tests/conftest.py
    # gives torch's count back after the test).
    torch.set_num_threads(3)
    cores = _threads.available_cores()
    assert 1 <= cores <= len(os.sched_getaffinity(0))
    assert cores <= 3
    torch.set_num_threads(1)
    assert _threads.available_cores() == 1
    torch.set_num_threads(3)
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


@pytest.mark.parametrize("n_threads", [None, 1])
def test_limit_gives_back_a_count_the_block_changed(n_threads):
    # numba's first parallel call inside a block sets torch's count; the caller's stays.
    before = torch.get_num_threads()
    with _threads.limit(n_threads):
        torch.set_num_threads(before + 1)
    assert torch.get_num_threads() == before
