"""The default thread policy (``n_threads=None``) against fixed counts, idle and busy; the
first fit in a fresh process; a wide network against the FLOP floor; ``torch.compile``.

Sections, each measured in this one process (the fresh-process section in subprocesses),
candidates interleaved in a rotating order, medians reported:

* **crossover**: one training step of hand-built networks at 1 and 2 threads, by the
  FLOPs of the batch's products: where two threads start to pay
  (``sk_dae._core.threads.PARALLEL_MIN_FLOPS``).
* **small data, idle**: ``fit`` on digits (1,797 x 64, the demo's model), 2,000 x 64
  rows (64-128-8, batch 256) and breast_cancer (569 x 30), with the default and with
  ``n_threads`` 1 and 2; MNIST 20,000 x 784 (784-128-32, batch 256) the same way.
* **busy**: the same small fits while one process per core spins (started and stopped
  here): the default's time against its idle time.
* **first fit**: a fresh process's first ``fit`` against its repeats, and what
  ``import torch._dynamo`` alone costs (``torch.optim.Optimizer.__init__`` imports it).
* **wide network**: (500, 500, 2000)-10 mirrored on 784 features at batch 256 against
  the FLOP floor from the best measured float32 ``torch.mm`` rate.
* **torch.compile** (``--compile``): compile time of the training step, eager and
  compiled milliseconds per step, and the steps after which compiling pays.

Full run::

    python benchmarks/bench_policy.py --compile --output benchmarks/results/policy.md

``--sections`` runs some of them (crossover small mnist wide first busy compile).

Smoke run: ``python benchmarks/bench_policy.py --quick``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import warnings

import numpy as np
import torch
from _common import (
    REPO,
    Run,
    base_parser,
    interleaved,
    load_average,
    load_data,
    median,
    mirrored,
    table,
)
from bench_fit import epoch_flops, matmul_gflops
from torch.nn import functional as F
from torch.nn.modules.module import register_module_forward_pre_hook

from sk_dae import DenoisingAutoencoder
from sk_dae._core import threads as _threads
from sk_dae._experiment.presets import DIGITS_DAE_PARAMS

WIDE = (500, 500, 2000)


def small_problems(quick):
    """name -> (X float32, DenoisingAutoencoder parameters), fixed epoch budgets."""
    from sklearn.datasets import load_breast_cancer, load_digits, make_classification
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    digits = load_digits().data.astype(np.float32) / np.float32(16.0)
    table_X = make_classification(2000, 64, n_informative=16, random_state=0)[0]
    cancer = StandardScaler().fit_transform(load_breast_cancer().data)
    epochs = 2 if quick else 10
    demo = {**DIGITS_DAE_PARAMS, "n_components": 10, "max_iter": epochs}
    return {
        "digits 1797x64 (the digits preset)": (digits, demo),
        "2000x64 (64-128-8, batch 256)": (
            MinMaxScaler().fit_transform(table_X).astype(np.float32),
            {"hidden_layer_sizes": (128,), "n_components": 8, "batch_size": 256},
        ),
        "breast_cancer 569x30 (defaults, 8 codes)": (
            cancer.astype(np.float32),
            {"n_components": 8, "noise_scale": "std"},
        ),
    }, epochs


def make_fit(X, params, n_threads, epochs, seen=None):
    """A callable that fits a fresh model; records the thread counts it ran with."""

    def fit():
        params_ = {"max_iter": epochs, **params}
        model = DenoisingAutoencoder(
            **params_, n_iter_no_change=10**6, random_state=0, n_threads=n_threads
        )
        handle = None
        if seen is not None:
            handle = register_module_forward_pre_hook(
                lambda m, a: seen.add(torch.get_num_threads())
            )
        try:
            model.fit(X)
        finally:
            if handle is not None:
                handle.remove()

    return fit


def compare_counts(problems, epochs, repeats, warmup=1):
    """name -> {candidate: median seconds}, and the counts the default used."""
    results, counts = {}, {}
    for name, (X, params) in problems.items():
        seen = set()
        cands = {
            "default": make_fit(X, params, None, epochs, seen),
            "1 thread": make_fit(X, params, 1, epochs),
            "2 threads": make_fit(X, params, 2, epochs),
        }
        times = interleaved(cands, repeats=repeats, warmup=warmup, progress=False)
        results[name] = {k: median(v) for k, v in times.items()}
        counts[name] = sorted(seen)
    return results, counts


def count_rows(results, counts, idle=None):
    rows = []
    for name, t in results.items():
        best = min(t["1 thread"], t["2 threads"])
        row = [name, *(f"{t[k]:.3f}" for k in ("default", "1 thread", "2 threads"))]
        row += [f"{t['default'] / best:.2f}", ", ".join(map(str, counts[name]))]
        if idle is not None:
            row.append(f"{t['default'] / idle[name]['default']:.2f}")
        rows.append(row)
    header = ["problem", "default s", "1 thread s", "2 threads s", "default / best fixed"]
    header.append("threads the default used")
    if idle is not None:
        header.append("default busy / idle")
    return table(header, rows)


class Spinners:
    """One process per available core spinning in a loop, for the duration of a block."""

    def __init__(self, n):
        self.n = n

    def __enter__(self):
        code = "print(flush=True)\nwhile True: pass"
        self.procs = [
            subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
            for _ in range(self.n)
        ]
        for p in self.procs:
            p.stdout.readline()
        time.sleep(0.5)
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            p.kill()
            p.wait()
            p.stdout.close()
        return False


def crossover(quick):
    """Milliseconds of one training step at 1 and 2 threads for growing networks."""
    shapes = [(64, 128, 16, 64), (64, 128, 8, 256), (128, 256, 16, 256), (256, 256, 32, 256)]
    shapes += [(784, 128, 32, 64), (784, 128, 32, 256), (784, 500, 10, 256)]
    shapes = shapes[:2] if quick else shapes
    rows = []
    for n_in, hidden, code, batch in shapes:
        widths = [n_in, hidden, code, hidden, n_in]
        model = torch.nn.Sequential(
            *[torch.nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:])]
        )
        opt = torch.optim.Adam(model.parameters(), fused=True)
        x = torch.rand(batch, n_in)

        def step(threads):
            def run():
                with _threads.limit(threads):
                    for _ in range(20):
                        opt.zero_grad()
                        F.mse_loss(model(x), x).backward()
                        opt.step()

            return run

        times = interleaved({1: step(1), 2: step(2)}, repeats=3 if quick else 7, progress=False)
        flops = _threads.Work.of_layers(widths, batch, batch, training=True).flops_per_batch
        one, two = (median(times[k]) / 20 * 1e3 for k in (1, 2))
        rows.append(
            ("-".join(map(str, widths)), batch, f"{flops / 1e6:.1f}", f"{one:.2f}", f"{two:.2f}")
            + (f"{two / one:.2f}",)
        )
    header = ("network", "batch", "MFLOP/batch", "1 thread ms", "2 threads ms", "2 / 1")
    return table(header, rows)


FIRST_FIT = """
import sys, time, warnings
warnings.simplefilter("ignore")
t0 = time.perf_counter()
import torch
t1 = time.perf_counter()
from sklearn.datasets import load_digits
from sk_dae import DenoisingAutoencoder
t2 = time.perf_counter()
X = (load_digits().data / 16).astype("float32")
def fit():
    s = time.perf_counter()
    DenoisingAutoencoder(max_iter=5, n_iter_no_change=100, random_state=0).fit(X)
    return time.perf_counter() - s
first = fit()
repeat = min(fit() for _ in range(3))
print(t1 - t0, t2 - t1, first, repeat)
"""

DYNAMO = """
import time, torch
t = time.perf_counter()
import torch._dynamo
print(time.perf_counter() - t)
"""


def fresh_process(code):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    return [float(x) for x in out.stdout.split()]


def first_fit(runs):
    fits = [fresh_process(FIRST_FIT) for _ in range(runs)]
    dynamo = [fresh_process(DYNAMO)[0] for _ in range(runs)]
    med = [median([f[i] for f in fits]) for i in range(4)]
    rows = [
        ("import torch", f"{med[0]:.2f}"),
        ("import sklearn, sk_dae (after torch)", f"{med[1]:.2f}"),
        ("first fit (digits, 5 epochs)", f"{med[2]:.3f}"),
        ("repeated fit, best of 3", f"{med[3]:.3f}"),
        ("first fit - repeated fit", f"{med[2] - med[3]:.3f}"),
        ("import torch._dynamo alone (after torch)", f"{median(dynamo):.3f}"),
    ]
    return table((f"fresh process, median of {runs}", "seconds"), rows)


def peak_gflops(widths, batch, threads, quick):
    """The best float32 torch.mm rate with ``threads`` threads: the network's shapes or a
    square product, whichever is faster."""
    sizes = {"repeats": 2, "square": 256} if quick else {"repeats": 10, "square": 2048}
    with _threads.limit(threads):
        rates = matmul_gflops(widths, batch, **sizes)
    return max(rates.values())


def wide_network(X, quick, repeats):
    """Seconds per epoch of the (500, 500, 2000) network and its distance to the floor."""
    widths = mirrored(X.shape[1], WIDE, 10)
    params = {"hidden_layer_sizes": WIDE, "n_components": 10, "batch_size": 256}
    params.update(noise="masking", noise_level=0.2)
    seen = set()
    cands = {
        "default": make_fit(X, params, None, 1, seen),
        "1 thread": make_fit(X, params, 1, 1),
        "2 threads": make_fit(X, params, 2, 1),
    }
    times = interleaved(cands, repeats=repeats, warmup=0 if quick else 1, progress=False)
    flops = epoch_flops(widths, X.shape[0])
    peaks = {k: peak_gflops(widths, 256, k, quick) for k in (1, 2)}
    rows = []
    for name, t in times.items():
        threads = max(seen) if name == "default" else int(name[0])
        floor = flops / (peaks[threads] * 1e9)
        rows.append((name, threads, f"{median(t):.3f}", f"{floor:.3f}", f"{median(t) / floor:.2f}"))
    text = table(("candidate", "threads", "s/epoch", "FLOP floor s", "x floor"), rows)
    return text + (
        f"\n\n{X.shape[0]} rows, {'-'.join(map(str, widths))}: {flops / 1e9:.1f} GFLOP per "
        f"epoch; peak float32 torch.mm {peaks[1]:.0f} GFLOP/s on 1 thread, "
        f"{peaks[2]:.0f} on 2."
    )


def compile_step(widths, batch, steps):
    """Compile time and eager/compiled ms per training step (forward, MSE, backward,
    fused Adam) of a mirrored network; torch.compile on the step function."""
    from _common import hand_written_module

    model = hand_written_module(widths)
    opt = torch.optim.Adam(model.parameters(), fused=True)
    x = torch.rand(batch, widths[0])

    def step():
        loss = F.mse_loss(model(x), x)
        loss.backward()
        return loss

    compiled = torch.compile(step)
    t0 = time.perf_counter()
    compiled()
    compile_s = time.perf_counter() - t0

    def run(fn):
        def many():
            for _ in range(steps):
                fn()
                opt.step()
                opt.zero_grad()

        return many

    times = interleaved({"eager": run(step), "compiled": run(compiled)}, repeats=5, progress=False)
    eager, comp = (median(times[k]) / steps * 1e3 for k in ("eager", "compiled"))
    return compile_s, eager, comp


def compile_rows(X_rows):
    rows = []
    for hidden, code in (((128,), 32), (WIDE, 10)):
        widths = mirrored(784, hidden, code)
        # The count the default would take for an epoch of these rows, now.
        work = _threads.Work.of_layers(widths, 256, X_rows, training=True)
        threads = _threads.choose(work)
        with _threads.limit(threads):
            compile_s, eager, comp = compile_step(widths, 256, 10)
        gain = eager - comp
        steps = compile_s / (gain / 1e3) if gain > 0 else float("inf")
        epochs = steps / -(-X_rows // 256)
        rows.append(
            (
                "-".join(map(str, widths)),
                threads,
                f"{compile_s:.1f}",
                f"{eager:.2f}",
                f"{comp:.2f}",
                f"{steps:,.0f}" if gain > 0 else "never",
                f"{epochs:,.0f}" if gain > 0 else "never",
            )
        )
    header = ("network, batch 256", "threads", "compile s", "eager ms/step", "compiled ms/step")
    header += ("steps to pay back", f"epochs of {X_rows:,} rows")
    return table(header, rows)


def section(lines, title, body):
    lines += [f"## {title}", "", f"(load average {load_average()} when it ended)", "", body, ""]
    print("\n".join(lines[-6:]), flush=True)


SECTIONS = ("crossover", "small", "mnist", "wide", "first", "busy", "compile")


def main(argv=None):
    parser = base_parser(__doc__.splitlines()[0], threads=False)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=SECTIONS[:-1])
    parser.add_argument("--compile", action="store_true", help="add the compile section")
    args = parser.parse_args(argv)
    run = Run(__file__, argv, threads="set per measurement (see the tables)")
    quick, repeats = args.quick, (1 if args.quick else args.repeats)
    todo = set(args.sections) | ({"compile"} if args.compile else set())
    warnings.filterwarnings("ignore")
    cores = _threads.available_cores()
    lines = ["# The default thread policy", "", f"available cores {cores}", ""]
    if "crossover" in todo:
        section(lines, "Crossover: one training step at 1 and 2 threads", crossover(quick))
    problems, epochs = small_problems(quick)
    X, name = load_data(300 if quick else 20000, quick=quick)
    idle = None
    if "small" in todo or "busy" in todo:
        idle, counts = compare_counts(problems, epochs, repeats)
        section(lines, f"Small data, {epochs} epochs", count_rows(idle, counts))
    if "mnist" in todo:
        mnist = {f"{name} {X.shape[0]}x{X.shape[1]} (784-128-32, batch 256)": (X, {})}
        mnist_t, mnist_c = compare_counts(mnist, 1 if quick else 3, max(1, repeats - 2))
        section(lines, "MNIST, 784-128-32, 3 epochs", count_rows(mnist_t, mnist_c))
    if "wide" in todo:
        wide_X = X[:256] if quick else X[:5120]
        section(lines, "Wide network", wide_network(wide_X, quick, 1 if quick else 2))
    if "first" in todo:
        section(lines, "First fit in a fresh process", first_fit(1 if quick else 3))
    if "busy" in todo:
        with Spinners(cores):
            busy, busy_counts = compare_counts(problems, epochs, min(2, repeats), warmup=0)
        title = f"Small data, {epochs} epochs, {cores} spinning processes"
        section(lines, title, count_rows(busy, busy_counts, idle=idle))
    if "compile" in todo:
        section(lines, "torch.compile of the training step", compile_rows(X.shape[0]))
    return run.finish("\n".join(lines), args.output)


if __name__ == "__main__":
    main()
