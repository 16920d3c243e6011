"""Who owns the CPU threads while sk_dae computes, and how many it takes by default.

torch's intra-op thread count is process-wide. sk_dae sets it for the duration of one
call (``fit``, ``transform``, ...) and restores the previous count afterwards, also when
the call fails. An explicit ``n_threads`` is used as given. ``n_threads=None`` chooses the
count with :func:`choose`, from three things:

1. **The work.** Each call describes its work (:class:`Work`): the FLOPs of the matrix
   products of one batch (from the layer widths and the batch size) and the number of
   batches. Below :data:`PARALLEL_MIN_FLOPS` per batch, or when the whole call is shorter
   than :data:`PROBE_MIN_FLOPS`, the count is **1, whatever the machine's state**:
   OpenMP's fork/join and its barriers cost more than small products gain (digits, most
   tables, the test suite), and these fits stay bit-reproducible. A larger batch allows
   one thread per half of :data:`PARALLEL_MIN_FLOPS`.
2. **The cores this process may use** (:func:`available_cores`): its CPU affinity
   (``os.sched_getaffinity``), a cgroup CPU quota (``cpu.max`` or
   ``cpu.cfs_quota_us``), ``OMP_NUM_THREADS``, torch's thread count when sk_dae was
   imported (which reflects ``OMP_NUM_THREADS`` as joblib's loky workers and Dask's
   workers set it) and torch's count now (``torch.set_num_threads``, ``threadpoolctl``).
   numba (under UMAP) sets OpenMP's count, and so torch's, to every core when it first
   starts its thread pool; :func:`kept` sets it back where sk_dae runs UMAP, and the count
   at import keeps a UMAP of the user's own from oversubscribing a joblib worker.
3. **How busy those cores are now** (:func:`busy_cores`): the CPU time other processes
   used on them during a short window (:data:`PROBE_SECONDS`) read from
   ``/proc/stat``, less this process's own CPU time, cached for
   :data:`PROBE_CACHE_SECONDS`. An OpenMP thread that waits for a core held by another
   process makes every barrier wait, so only the cores nobody else is using are taken.
   The load average is not used: it counts this process's own threads and lags by a
   minute.
   Where ``/proc/stat`` does not exist (macOS, Windows), the load average is the fallback.

So the default count, and with it possibly the low bits of a fit (torch does not promise
the same bits on different thread counts: its parallel reductions and the kernels MKL
picks depend on the count), depends on the machine's state only for large batches (at
least :data:`PARALLEL_MIN_FLOPS`) in calls of at least :data:`PROBE_MIN_FLOPS` on a
process with more than one available core. An explicit ``n_threads`` gives bit-identical
results for the same ``random_state`` on the same machine and torch build (what differs
between thread counts is shown in docs/performance.rst). ``limit(None)`` without a work
description leaves torch's count as it is (and sets it back if the block changed it).
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch

#: FLOPs of one batch's matrix products below which one thread is used: between the
#: batch sizes where two threads lose and where they win, as ``benchmarks/bench_policy.py``
#: measures them (docs/performance.rst).
PARALLEL_MIN_FLOPS = 16e6
#: FLOPs of a whole call below which one thread is used without looking at the load:
#: about 0.3 s on one thread at 60 GFLOP/s, so the probe costs at most a tenth of it.
PROBE_MIN_FLOPS = 2e10
#: How long the other processes' CPU use is watched, in seconds. /proc/stat counts in
#: clock ticks (10 ms): 30 ms on 2 cores resolve a third of a core; 10 ms read a busy
#: core as 0, 1 or 2 cores.
PROBE_SECONDS = 0.03
#: How long a measurement of the other processes' CPU use is reused, in seconds.
PROBE_CACHE_SECONDS = 2.0

#: torch's thread count when sk_dae was imported (OMP_NUM_THREADS, joblib, Dask).
_THREADS_AT_IMPORT = torch.get_num_threads()
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_busy_cache = {}


@dataclass(frozen=True)
class Work:
    """What one call computes: ``flops_per_batch`` in matrix products, ``n_batches``."""

    flops_per_batch: float
    n_batches: int = 1

    @property
    def total_flops(self):
        return self.flops_per_batch * self.n_batches

    @classmethod
    def of_layers(cls, widths, batch_size, n_samples, *, passes=1, training=False):
        """The products of a network with layer ``widths`` (input to output) over
        ``passes`` passes of ``n_samples`` rows in batches of ``batch_size``; a training
        step costs three times a forward pass (forward, and two products backward)."""
        batch_size = max(1, min(int(batch_size), int(n_samples)))
        per_row = sum(a * b for a, b in zip(widths[:-1], widths[1:]))
        flops = 2 * batch_size * per_row * (3 if training else 1)
        return cls(flops, passes * math.ceil(n_samples / batch_size))


@functools.lru_cache(maxsize=1)
def _cgroup_quota():
    """CPUs allowed by this process's cgroup CPU quota (v2 or v1), or None; read once
    per process (0.6 ms)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        root = Path("/sys/fs/cgroup")
        if controllers == "":
            files = [(root / path.lstrip("/") / "cpu.max", None), (root / "cpu.max", None)]
        elif "cpu" in controllers.split(","):
            base = root / "cpu"
            files = [(base / path.lstrip("/"), "v1"), (base, "v1")]
        else:
            continue
        for file, version in files:
            quota = _read_quota(file, version)
            if quota is not None:
                return quota
    return None


def _read_quota(file, version):
    try:
        if version == "v1":
            quota = int((file / "cpu.cfs_quota_us").read_text())
            period = int((file / "cpu.cfs_period_us").read_text())
        else:
            text = file.read_text().split()
            quota = -1 if text[0] == "max" else int(text[0])
            period = int(text[1])
    except (OSError, ValueError, IndexError):
        return None
    return max(1, math.ceil(quota / period)) if quota > 0 and period > 0 else None


def _env_threads():
    value = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def _affinity():
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def available_cores():
    """How many threads this process may use: the smallest of its CPU affinity, its
    cgroup quota, ``OMP_NUM_THREADS``, torch's count at import and torch's count now."""
    limits = [len(_affinity()), _THREADS_AT_IMPORT, torch.get_num_threads()]
    limits += [x for x in (_cgroup_quota(), _env_threads()) if x is not None]
    return max(1, min(limits))


def _cpu_ticks(cpus):
    """Busy and total clock ticks of ``cpus`` (summed) from /proc/stat, or None."""
    wanted = {f"cpu{i}" for i in cpus}
    busy = total = 0
    try:
        with open("/proc/stat") as f:
            for line in f:
                fields = line.split()
                if fields and fields[0] in wanted:
                    ticks = [int(x) for x in fields[1:9]]  # user ... steal
                    total += sum(ticks)
                    busy += sum(ticks) - ticks[3] - ticks[4]  # not idle, not iowait
    except (OSError, ValueError):
        return None
    return busy, total


def busy_cores(cpus=None, *, window=PROBE_SECONDS):
    """How many of ``cpus`` (default: this process's) other processes keep busy now.

    The CPU time spent on them during ``window`` seconds, less this process's own, in
    cores; the load average where /proc/stat is missing. Cached for
    :data:`PROBE_CACHE_SECONDS`.
    """
    cpus = tuple(_affinity() if cpus is None else cpus)
    cached = _busy_cache.get(cpus)
    if cached is not None and time.monotonic() - cached[0] < PROBE_CACHE_SECONDS:
        return cached[1]
    start = _cpu_ticks(cpus)
    if start is None:
        busy = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    else:
        wall, own = time.monotonic(), time.process_time()
        time.sleep(window)
        end = _cpu_ticks(cpus)
        wall, own = time.monotonic() - wall, time.process_time() - own
        others = (end[0] - start[0]) / _CLOCK_TICKS - own
        busy = min(len(cpus), max(0.0, others / wall))
    _busy_cache[cpus] = (time.monotonic(), busy)
    return busy


def choose(work, cap=None):
    """The thread count for ``work`` (a :class:`Work`) under the policy above; ``cap``
    replaces :func:`available_cores`."""
    if work.flops_per_batch < PARALLEL_MIN_FLOPS or work.total_flops < PROBE_MIN_FLOPS:
        return 1
    cap = available_cores() if cap is None else cap
    if cap <= 1:
        return 1
    by_work = int(work.flops_per_batch // (PARALLEL_MIN_FLOPS / 2))
    # Idle cores of the affinity set, not of the cap: joblib's other workers keep their
    # own shares busy, and this worker's share is still free.
    idle = len(_affinity()) - busy_cores()
    return max(1, min(cap, by_work, math.floor(idle + 0.5)))


@contextlib.contextmanager
def limit(n_threads, work=None):
    """Run the block with torch using ``n_threads`` intra-op threads; with None, the
    count :func:`choose` gives for ``work`` (without ``work``: unchanged)."""
    if n_threads is None:
        if work is None:
            with kept():
                yield
            return
        n_threads = choose(work)
    with kept():
        if torch.get_num_threads() != n_threads:
            torch.set_num_threads(int(n_threads))
        yield


@contextlib.contextmanager
def kept():
    """Run the block and give torch back the thread count it had before, also when the
    block fails or something in it (numba's first parallel call) changed the count."""
    previous = torch.get_num_threads()
    try:
        yield
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)


def current():
    """The number of intra-op threads torch uses now."""
    return torch.get_num_threads()
