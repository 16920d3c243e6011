"""Shared pieces of the benchmark scripts: the run header, data, the hand-written
baseline, timing.

Every script writes its results file through :class:`Run`, which puts the same header
above the script's own text: the command, the commit, the date, the machine, the threads
and the load average at the start and at the end (see ``benchmarks/README.md``).

Timings on a shared machine are noisy, so every script measures its candidates in one
process, interleaved (one repetition of each in turn, in a rotating order), and reports
medians and ratios to the baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import ast
import datetime
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

REPO = Path(__file__).resolve().parents[1]
# SK_DAE_MNIST (as sk_dae.datasets.load_mnist reads it) points a checkout that is not
# beside shared/ (a worktree) at the file.
MNIST = Path(os.environ.get("SK_DAE_MNIST", REPO.parent / "shared" / "data" / "mnist.npz"))


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


def reconstruction_error(model, fit_on, test_in, test_clean):
    """Fit ``model`` (an autoencoder or PCA) on ``fit_on``; the mean squared error of its
    reconstruction of ``test_in`` against ``test_clean``, and the fit's wall seconds."""
    start = time.perf_counter()
    model.fit(fit_on)
    seconds = time.perf_counter() - start
    if hasattr(model, "reconstruct"):
        rebuilt = model.reconstruct(test_in)
    else:
        rebuilt = model.inverse_transform(model.transform(test_in))
    return float(np.mean((rebuilt - test_clean) ** 2)), seconds


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


def base_parser(description, *, threads=True):
    """The options every script has: ``--quick``, ``--output`` and, unless the script
    sets the thread counts itself (``threads=False``), ``--threads``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="tiny run on digits (smoke test)")
    if threads:
        parser.add_argument(
            "--threads", type=int, default=None, help="torch and BLAS threads (default: theirs)"
        )
    parser.add_argument(
        "--output", type=Path, default=None, help="also write the report, with its header, here"
    )
    return parser


def parse_params(pairs):
    """Estimator parameters from ``key=value`` strings: values read as Python literals
    (numbers, tuples, None, quoted strings), else kept as the string. A string without
    ``=`` ends the script with a message naming it."""
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"{pair!r}: expected PARAM=VALUE")
        try:
            params[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            params[key.strip()] = value.strip()
    return params


_LIMITS = []


def set_threads(n_threads):
    """Use ``n_threads`` in torch and in the BLAS and OpenMP pools numpy and sklearn use
    (MLPRegressor computes with numpy's BLAS), so all candidates get the same threads."""
    if n_threads is not None:
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(n_threads)
        _LIMITS.append(threadpool_limits(limits=n_threads))
    return torch.get_num_threads()


# ----------------------------------------------------------------------- the run header

#: The fields of the header, in their order; ``tests/test_benchmarks_smoke.py`` checks
#: every results file that starts with the first one for all of them.
HEADER_FIELDS = ("command", "commit", "date", "machine", "software", "threads", "load average")

#: Environment variables that change what a run measures; the command shows those set.
COMMAND_ENVIRONMENT = (
    "PYTHONPATH",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "SK_DAE_MNIST",
)


def load_average():
    """The 1, 5 and 15-minute load averages now, as text."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_model():
    """The CPU's model name as Linux reports it, else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("model name", "Model", "Hardware")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def machine_line():
    """The CPU model, the logical CPUs (in all and available to this process) and the
    instructions torch's kernels use: machines of one model name differ in them, and
    bfloat16 is emulated, several times slower, where oneDNN has no kernels for it."""
    from sk_dae._core.training import emulates_bfloat16

    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    cores = f"{os.cpu_count()} logical CPUs"
    if available is not None:
        cores += f" ({available} available to this process)"
    bfloat16 = "emulated" if emulates_bfloat16(torch.device("cpu")) else "native"
    vector = torch.backends.cpu.get_cpu_capability()
    return f"{cpu_model()}, {cores}, torch on {vector}, bfloat16 {bfloat16}"


def _git(directory, *args):
    out = subprocess.run(
        ["git", "-C", str(directory), *args], capture_output=True, text=True, check=False
    )
    return out.stdout.strip() if out.returncode == 0 else None


def git_commit(directory):
    """The short hash of the checkout holding ``directory``, with "+dirty" when tracked
    files differ from it; None outside a git checkout. Results files do not count:
    rerunning one benchmark after another must not mark the second run dirty."""
    commit = _git(directory, "rev-parse", "--short", "HEAD")
    if commit is None:
        return None
    changes = _git(
        directory,
        "status",
        "--porcelain",
        "--untracked-files=no",
        "--",
        ":/",
        ":(top,exclude)benchmarks/results",
    )
    return commit + ("+dirty" if changes else "")


def _commit_line():
    """The commit of the code measured: the checkout of the sk_dae that was imported (a
    run of an older commit puts that checkout first on PYTHONPATH), then the scripts'
    own commit when they come from another checkout."""
    import sk_dae

    package_dir = Path(sk_dae.__file__).resolve().parent
    measured = git_commit(package_dir)
    scripts = git_commit(REPO)
    if measured is None:
        line = f"unknown (sk_dae from {package_dir}, not a git checkout)"
    else:
        line = measured
        if package_dir.parent != REPO:
            line += f" (sk_dae from {package_dir})"
    if package_dir.parent != REPO and scripts is not None:
        line += f"; scripts {scripts}"
    return line


def _software_line():
    import numpy
    import sklearn

    import sk_dae

    versions = [
        f"Python {platform.python_version()}",
        f"torch {torch.__version__}",
        f"numpy {numpy.__version__}",
        f"scikit-learn {sklearn.__version__}",
        f"sk_dae {sk_dae.__version__}",
    ]
    return ", ".join(versions)


def _pools():
    """The thread counts of torch and of the BLAS/OpenMP pools loaded now."""
    pools = [f"torch {torch.get_num_threads()}"]
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # an optional dependency of sk_dae
        return pools[0]
    for info in threadpool_info():
        pools.append(f"{info['internal_api']} {info['num_threads']}")
    # numpy and scipy may each load an OpenBLAS, torch and scikit-learn each an OpenMP:
    # one entry per library and count is enough.
    return ", ".join(dict.fromkeys(pools))


class Run:
    """One run of a benchmark script, and the header of the results file it writes.

    Made at the start of ``main``, once the thread counts are set (``set_threads``): it
    records the command, the commit, the date, the machine, the threads and the load
    average then; :meth:`finish` adds the load average at the end and writes the file.

    Parameters
    ----------
    script : str
        The script's ``__file__``.
    argv : list of str or None
        The arguments ``main`` was given (None: the command line's).
    threads : int, str or None
        ``--threads`` (None when not given), or a description for a script that sets
        the thread counts per measurement.
    """

    def __init__(self, script, argv=None, *, threads=None):
        self.argv = list(sys.argv[1:] if argv is None else argv)
        self.script = Path(script).resolve()
        self.started = time.time()
        self.load_start = load_average()
        self.fields = {
            "command": f"`{self.command()}`",
            "commit": _commit_line(),
            "date": None,  # filled in by header(), with the duration
            "machine": machine_line(),
            "software": _software_line(),
            "threads": self._threads(threads),
            "load average": None,  # at the start and at the end, by header()
        }

    def command(self):
        """The command line that repeats this run from the directory it ran in."""
        cwd = Path.cwd().resolve()
        python = Path(sys.executable)
        if python.is_relative_to(cwd):
            python = python.relative_to(cwd)
        else:
            python = "python"
        script = self.script.relative_to(cwd) if self.script.is_relative_to(cwd) else self.script
        env = [f"{k}={shlex.quote(os.environ[k])}" for k in COMMAND_ENVIRONMENT if k in os.environ]
        command = shlex.join([str(python), str(script), *self.argv])
        command = " ".join([*env, command])
        return command if cwd == REPO else f"cd {shlex.quote(str(cwd))} && {command}"

    @staticmethod
    def _threads(threads):
        if isinstance(threads, str):
            return f"{threads}; at the start {_pools()}"
        if threads is None:
            return f"--threads not given (the libraries' defaults): {_pools()}"
        return f"{threads} (--threads {threads}): {_pools()}"

    def header(self):
        """The header's lines as a Markdown list, one field a line."""
        start = datetime.datetime.fromtimestamp(self.started, datetime.timezone.utc)
        seconds = time.time() - self.started
        fields = {
            **self.fields,
            "date": f"{start:%Y-%m-%d %H:%M} UTC, {seconds:.0f} s",
            "load average": f"{self.load_start} at the start, {load_average()} at the end"
            " (1, 5, 15 minutes)",
        }
        return "\n".join(f"- {name}: {fields[name]}" for name in HEADER_FIELDS)

    def finish(self, text, path=None):
        """The report: the header, then ``text``; written to ``path`` if one is given."""
        report = self.header() + "\n\n" + text.strip("\n")
        if path is not None:
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(report + "\n")
        return report


def read_header(text):
    """The fields of a header that :class:`Run` wrote at the top of ``text``, as a dict
    (empty when ``text`` does not start with one)."""
    fields = {}
    for line in text.splitlines():
        name, sep, value = line[2:].partition(": ")
        if not (line.startswith("- ") and sep and name in HEADER_FIELDS):
            break
        fields[name] = value
    return fields if next(iter(fields), None) == HEADER_FIELDS[0] else {}


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
