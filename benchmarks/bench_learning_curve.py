"""The defaults against PCA across training-set sizes: a learning curve on MNIST.

Every row fits ``DenoisingAutoencoder(n_components=32, random_state=0)`` with nothing
else set (or the ``--params`` given) and ``PCA(32)`` on the same training rows: the first
``n`` of a fixed permutation of the 60,000 MNIST training digits. It reports the mean
squared error of each on 2,000 test digits against the clean digits, their ratio (below
1: the autoencoder wins), the epochs and the fit time:

- ``clean``: both fitted on clean digits, scored on the reconstruction of clean digits;
- ``noisy``: both fitted on digits with Gaussian noise of std 0.25 (not clipped), scored
  on the reconstruction of noisy test digits against their clean originals.

Full run, with the figure of the user guide (about 20 minutes on one thread)::

    python benchmarks/bench_learning_curve.py --threads 1 \\
        --output benchmarks/results/learning_curve.md --figure docs/images/learning_curve.png

Smoke run: ``python benchmarks/bench_learning_curve.py --quick`` (digits, two sizes).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
from _common import MNIST, Run, base_parser, reconstruction_error, set_threads, table
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

from sk_dae import DenoisingAutoencoder

SIZES = (100, 300, 1000, 3000, 10000, 60000)
QUICK_SIZES = (100, 1000)
NOISE = 0.25
WIDTH = 32
N_TEST = 2000


def load(quick):
    """Training rows in a fixed random order, and test rows, scaled to [0, 1]."""
    if quick:
        X = (load_digits().data / 16.0).astype(np.float32)
        order = np.random.default_rng(0).permutation(len(X))
        return X[order[:-300]], X[order[-300:]]
    with np.load(MNIST) as data:
        X_train = data["X_train"].astype(np.float32) / np.float32(255.0)
        X_test = data["X_test"][:N_TEST].astype(np.float32) / np.float32(255.0)
    return X_train[np.random.default_rng(0).permutation(len(X_train))], X_test


def _fit_and_score(model, fit_on, test_in, test_clean):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # report, do not stop, whatever the defaults warn
        return reconstruction_error(model, fit_on, test_in, test_clean)


def rows(X_train, X_test, sizes, params, width):
    noise = np.random.default_rng(1)
    noisy_train = X_train + noise.normal(0.0, NOISE, X_train.shape).astype(np.float32)
    noisy_test = X_test + noise.normal(0.0, NOISE, X_test.shape).astype(np.float32)
    out = []
    for n in sizes:
        if n > len(X_train):
            continue
        for kind, fit_on, test_in in (
            ("clean", X_train[:n], X_test),
            ("noisy", noisy_train[:n], noisy_test),
        ):
            dae = DenoisingAutoencoder(n_components=width, random_state=0, **params)
            dae_mse, dae_s = _fit_and_score(dae, fit_on, test_in, X_test)
            pca_mse, _ = _fit_and_score(PCA(width, random_state=0), fit_on, test_in, X_test)
            out.append([n, kind, dae_mse, pca_mse, dae_mse / pca_mse, dae.n_iter_, dae_s])
            print(" | ".join(_cells(out[-1])), flush=True)
    return out


def _cells(row):
    n, kind, dae_mse, pca_mse, ratio, epochs, seconds = row
    return [f"{n:,}", kind, f"{dae_mse:.4g}", f"{pca_mse:.4g}", f"{ratio:.2f}", f"{epochs}",
            f"{seconds:.1f}"]  # fmt: skip


def figure(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    for kind, marker in (("clean", "o"), ("noisy", "s")):
        points = [(r[0], r[4]) for r in results if r[1] == kind]
        ax.plot(*zip(*points), marker=marker, label=f"fitted on {kind} digits")
    ax.axhline(1.0, color="grey", linestyle="--", linewidth=1, label="PCA")
    ax.set_xscale("log")
    ax.set_xlabel("training rows (MNIST)")
    ax.set_ylabel(f"test MSE / PCA({WIDTH})'s")
    ax.set_title(f"DenoisingAutoencoder({WIDTH}) at its defaults against PCA({WIDTH})")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None):
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=None, help="comma-separated training-set sizes")
    parser.add_argument("--params", default="{}", help="DenoisingAutoencoder parameters (JSON)")
    parser.add_argument("--figure", default=None, help="also draw the curve into this PNG")
    args = parser.parse_args(argv)
    set_threads(args.threads)
    run = Run(__file__, argv, threads=args.threads)
    params = json.loads(args.params)
    sizes = QUICK_SIZES if args.quick else SIZES
    if args.sizes:
        sizes = tuple(int(n) for n in args.sizes.split(","))
    X_train, X_test = load(args.quick)
    width = 8 if args.quick else WIDTH
    results = rows(X_train, X_test, sizes, params, width)
    header = ["training rows", "fitted on", "DAE MSE", "PCA MSE", "DAE / PCA", "epochs",
              "DAE fit (s)"]  # fmt: skip
    text = (
        f"DenoisingAutoencoder(n_components={width}, random_state=0, **{params}) against "
        f"PCA({width}); test MSE against the clean test digits.\n\n"
        + table(header, [_cells(r) for r in results])
    )
    if args.figure:
        figure(results, args.figure)
    return run.finish(text, args.output)


if __name__ == "__main__":
    print(main())
