"""What the held-out check scores: the clean reconstruction alone, or the mean of it and
the reconstruction of a corrupted copy (the default).

``DenoisingAutoencoder(n_components=w, random_state=0)`` at its defaults on each data set,
once as it is and once with a held-out check that scores the clean reconstruction only
(a subclass that skips the corrupted copy of the held-out rows; the check of the
previous commits), and once with the default score but a strict bar: trained weights
kept only when their clean held-out error is at most PCA's (without the default's
``CLEAN_ERROR_SLACK`` of 10%). Against ``PCA(w)`` on the same rows: the mean squared error of the
clean test rows' reconstruction (x PCA), and the PSNR (dB, peak 1) of the reconstruction
of corrupted test rows against the clean ones (Gaussian noise of std 0.1, the training
noise, and 0.3, both clipped to [0, 1]; a quarter of the pixels masked to 0), beside
PCA's; the epochs and fit seconds.

Data: scikit-learn's 8x8 digits (``sk_dae.datasets.load_digits``: 1,437 training and 360
test rows in [0, 1]) at widths 8 and 32; the first 1,000 and 3,000 of a fixed permutation
of the MNIST training digits at width 32, 2,000 test digits.

Full run (about 5 minutes on one thread)::

    python benchmarks/bench_held_out_score.py --threads 1 \\
        --output benchmarks/results/held_out_score.md

Smoke run: ``python benchmarks/bench_held_out_score.py --quick`` (digits only).
"""

from __future__ import annotations

import dataclasses
import time
import warnings

import numpy as np
from _common import MNIST, Run, base_parser, set_threads, table
from sklearn.decomposition import PCA

from sk_dae import DenoisingAutoencoder
from sk_dae._autoencoder import CLEAN_ERROR_SLACK
from sk_dae.datasets import load_digits


class StrictCleanBar(DenoisingAutoencoder):
    """The default held-out score, keeping trained weights only when their clean
    held-out error is at most PCA's (no ``CLEAN_ERROR_SLACK``)."""

    def _score_to_beat(self, model, data, continuing):
        score, bar = super()._score_to_beat(model, data, continuing)
        return score, bar / (1 + CLEAN_ERROR_SLACK) if model.pca_start else bar


class CleanCheckOnly(DenoisingAutoencoder):
    """The held-out check scoring the clean reconstruction alone."""

    def _with_corrupted_check(self, data, model, seed):
        return dataclasses.replace(data, X_val_corrupted=None)


def mse(a, b):
    return float(np.mean((a - b) ** 2))


def psnr(a, b):
    return 10 * np.log10(1.0 / mse(a, b))


def corruptions(X, rng):
    return {
        "gaussian 0.1": np.clip(X + rng.normal(0, 0.1, X.shape), 0, 1).astype(X.dtype),
        "gaussian 0.3": np.clip(X + rng.normal(0, 0.3, X.shape), 0, 1).astype(X.dtype),
        "masking 0.25": (X * (rng.random(X.shape) >= 0.25)).astype(X.dtype),
    }


def measure(label, width, X_train, X_test):
    rng = np.random.default_rng(1)
    noisy = corruptions(X_test, rng)
    pca = PCA(width, random_state=0).fit(X_train)

    def rebuilt(model, X):
        return model.inverse_transform(model.transform(X))

    rows = []
    checks = (
        ("clean and corrupted", DenoisingAutoencoder),
        ("clean and corrupted, strict clean bar", StrictCleanBar),
        ("clean", CleanCheckOnly),
    )
    for check, cls in checks:
        start = time.perf_counter()
        dae = cls(n_components=width, random_state=0).fit(X_train)
        seconds = time.perf_counter() - start
        ratio = mse(rebuilt(dae, X_test), X_test) / mse(rebuilt(pca, X_test), X_test)
        cells = [label, f"{width}", check, f"{ratio:.3f}"]
        for X in noisy.values():
            cells.append(
                f"{psnr(rebuilt(dae, X), X_test):.2f} / {psnr(rebuilt(pca, X), X_test):.2f}"
            )
        rows.append([*cells, f"{dae.n_iter_}", f"{seconds:.1f}"])
        print(" | ".join(rows[-1]), flush=True)
    return rows


def main(argv=None):
    parser = base_parser(__doc__.splitlines()[0])
    args = parser.parse_args(argv)
    set_threads(args.threads)
    run = Run(__file__, argv, threads=args.threads)
    warnings.simplefilter("ignore")  # report, do not stop, whatever the defaults warn
    digits = load_digits()
    rows = []
    for width in (8, 32):
        rows += measure("digits", width, digits.X_train, digits.X_test)
    if not args.quick and MNIST.exists():
        with np.load(MNIST) as data:
            X_train = data["X_train"].astype(np.float32) / np.float32(255.0)
            X_test = data["X_test"][:2000].astype(np.float32) / np.float32(255.0)
        X_train = X_train[np.random.default_rng(0).permutation(len(X_train))]
        for n in (1000, 3000):
            rows += measure(f"MNIST {n:,}", 32, X_train[:n], X_test)
    header = ["data", "width", "held-out check scores", "clean MSE x PCA"]
    header += [
        f"PSNR {name}: DAE / PCA"
        for name in corruptions(digits.X_test[:1], np.random.default_rng())
    ]
    header += ["epochs", "fit (s)"]
    text = "\n".join(
        [
            "# The held-out check: clean reconstruction alone against clean and corrupted",
            "",
            table(header, rows),
        ]
    )
    text = run.finish(text, args.output)
    print(text)
    return text


if __name__ == "__main__":
    main()
