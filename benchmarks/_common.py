"""Shared pieces of the benchmark scripts: data, the hand-written baseline, timing.

Timings on a shared machine are noisy, so every script measures its candidates in one
process, interleaved (one repetition of each in turn, in a rotating order), and reports
medians and ratios to the baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

REPO = Path(__file__).resolve().parents[1]
MNIST = REPO.parent / "shared" / "data" / "mnist.npz"


def load_all_rows(dataset):
    """Every row of ``dataset`` ("mnist" or "digits", through sk_dae.datasets), the
    training split first, their labels and the number of training rows: the deep
    clustering protocol's data."""
    from sk_dae.datasets import load_digits, load_mnist

    data = load_mnist(MNIST, download=False) if dataset == "mnist" else load_digits()
    X = np.concatenate([data.X_train, data.X_test])
    y = np.concatenate([data.y_train, data.y_test])
    return X, y, len(data.X_train)


def load_data(n_samples, *, quick=False):
    """``n_samples`` MNIST training rows scaled to [0, 1] as float32 (digits when MNIST
    is absent or ``quick``), and the name of the data set."""
    if not quick and MNIST.exists():
        with np.load(MNIST) as data:
            X = data["X_train"][:n_samples]
        return np.ascontiguousarray(X, dtype=np.float32) / np.float32(255.0), "MNIST"
    from sklearn.datasets import load_digits

    X = load_digits().data.astype(np.float32) / np.float32(16.0)
    return X[:n_samples], "digits"


def mirrored(n_features, hidden, n_components):
    """Layer widths of the mirrored network, e.g. 784-128-32-128-784."""
    widths = [n_features, *hidden, n_components]
    return widths + widths[-2::-1]


def hand_written_module(widths, *, seed=0):
    """The network a PyTorch user writes for ``widths``: Linear + ReLU, a linear code
    layer, a sigmoid output."""
    torch.manual_seed(seed)
    n_code = widths.index(min(widths))
    layers = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(a, b))
        if i + 1 == len(widths) - 1:
            layers.append(nn.Sigmoid())
        elif i + 1 != n_code:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class HandWrittenLoop:
    """The baseline: a minimal PyTorch loop over a pre-made float32 tensor.

    ``randperm`` shuffling, slicing, Gaussian noise clipped to [0, 1] (``noise_level`` is
    its standard deviation; None trains a plain autoencoder), MSE, ``torch.optim.Adam``
    with its defaults. No DataLoader.
    """

    def __init__(self, X, widths, *, batch_size, noise_level, lr=1e-3, seed=0):
        self.X = torch.from_numpy(X)
        self.model = hand_written_module(widths, seed=seed)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=lr)
        self.batch_size = batch_size
        self.noise_level = noise_level

    def epoch(self):
        X, model, opt, bs, std = self.X, self.model, self.opt, self.batch_size, self.noise_level
        perm = torch.randperm(X.shape[0])
        total = 0.0
        for start in range(0, X.shape[0], bs):
            xb = X[perm[start : start + bs]]
            xin = xb if std is None else (xb + std * torch.randn_like(xb)).clamp_(0.0, 1.0)
            loss = F.mse_loss(model(xin), xb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * xb.shape[0]
        return total / X.shape[0]


def interleaved(candidates, *, repeats, warmup=1, progress=True):
    """Time each callable of ``candidates`` (a dict name -> fn) ``repeats`` times,
    interleaved in a rotating order; return name -> list of seconds."""
    names = list(candidates)
    for _ in range(warmup):
        for name in names:
            candidates[name]()
    times = {name: [] for name in names}
    for r in range(repeats):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            t0 = time.perf_counter()
            candidates[name]()
            times[name].append(time.perf_counter() - t0)
        if progress:
            print(f"  repetition {r + 1}/{repeats} done", file=sys.stderr, flush=True)
    return times


def median(values):
    return statistics.median(values)


def peak_rss_mib():
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_anon_mib():
    """Anonymous resident memory now (not file-backed pages such as a memmap's), MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def base_parser(description):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="tiny run on digits (smoke test)")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch and BLAS threads (default: theirs)"
    )
    parser.add_argument("--output", type=Path, default=None, help="also write the table here")
    return parser


_LIMITS = []


def set_threads(n_threads):
    """Use ``n_threads`` in torch and in the BLAS and OpenMP pools numpy and sklearn use
    (MLPRegressor computes with numpy's BLAS), so all candidates get the same threads."""
    if n_threads is not None:
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(n_threads)
        _LIMITS.append(threadpool_limits(limits=n_threads))
    return torch.get_num_threads()


def machine_line():
    return (
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{os.cpu_count()} logical CPUs, load average {os.getloadavg()[0]:.2f} at start"
    )


def write_output(text, path):
    """Write a script's report to ``path`` (its ``--output``), if one was given."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")


def table(header, rows):
    """A Markdown table (reST-compatible grid is made by the docs from the same rows)."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(f"{str(c):<{w}}" for c, w in zip(r, widths)) + " |"  # noqa: E731
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), sep, *map(line, rows)])


class PeakMemory:
    """Peak anonymous RSS above the level at entry, sampled every 5 ms (MiB)."""

    def __enter__(self):
        self.base = current_rss_anon_mib()
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, current_rss_anon_mib())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, current_rss_anon_mib())
        self.extra = self.peak - self.base
        return False
