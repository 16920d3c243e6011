"""The outlier detector's default autoencoder: its pinned training regime against the
autoencoder's own defaults, ROC AUC and fit seconds.

Every detector is ``DAEOutlierDetector(random_state=0)`` at its defaults but for the
autoencoder: ``pinned`` is what ``autoencoder=None`` builds (``DEFAULT_AUTOENCODER_PARAMS``
of ``sk_dae/_outliers.py``: a random start, a constant step to the convergence test on
all rows);
``pinned, held-out check`` is the same with ``early_stopping="auto"`` (a tenth of the
rows held out, the best epoch kept); ``defaults`` is ``DenoisingAutoencoder(output_activation=
"identity")`` with nothing else set, the autoencoder's defaults plus the linear output
that outlier scores need (its PCA start and held-out check included). The cases are
those of ``bench_outliers.py`` (novelty detection, 10% anomalies in every test set) on
the first ``--n-train`` MNIST training digits for each size given, on scikit-learn's
digits (the 8x8 images, ``sk_dae.datasets.load_digits``), and on the breast cancer table
(mean of ``--splits`` splits).

Full run (about 15 minutes on one thread)::

    python benchmarks/bench_outlier_defaults.py --threads 1 --n-train 1000 5000 \\
        --output benchmarks/results/outlier_defaults.md

Smoke run: ``python benchmarks/bench_outlier_defaults.py --quick``.
"""

from __future__ import annotations

import copy
import time
import warnings

import numpy as np
from _common import MNIST, Run, base_parser, set_threads, table
from bench_outliers import image_cases, tabular_split
from sklearn.metrics import roc_auc_score

from sk_dae import DAEOutlierDetector, DenoisingAutoencoder
from sk_dae._outliers import DEFAULT_AUTOENCODER_PARAMS
from sk_dae.datasets import load_digits, load_mnist

#: The detector's own regime: a random start, a constant step to the convergence test
#: on all rows, at most 200 epochs.
PINNED = DEFAULT_AUTOENCODER_PARAMS

CANDIDATES = {
    "pinned": lambda: DAEOutlierDetector(DenoisingAutoencoder(**PINNED), random_state=0),
    "pinned, held-out check": lambda: DAEOutlierDetector(
        DenoisingAutoencoder(**{**PINNED, "early_stopping": "auto"}), random_state=0
    ),
    "defaults": lambda: DAEOutlierDetector(
        DenoisingAutoencoder(output_activation="identity"), random_state=0
    ),
}


def fit(make, X_train):
    """A detector fitted on ``X_train``, and its fit seconds."""
    start = time.perf_counter()
    detector = make().fit(X_train)
    return detector, time.perf_counter() - start


def auc(detector, X_test, y_test):
    return roc_auc_score(y_test, -detector.score_samples(X_test))


def image_rows(data, label, classes, seed):
    """One row per case; the cases that share their training rows share their fits."""
    rows, fitted, fitted_on = [], None, None
    rng = np.random.default_rng(seed)
    heldout_train = len(data.X_train)
    for name, X_train, X_test, y_test, _ in image_cases(
        data, rng, classes=classes, heldout_train=heldout_train
    ):
        if fitted_on is not X_train:
            fitted = [fit(make, X_train) for make in CANDIDATES.values()]
            fitted_on = X_train
        cells = [(auc(detector, X_test, y_test), seconds) for detector, seconds in fitted]
        rows.append([label, name, len(X_train), *cells])
        print(" | ".join(_cells(rows[-1])), flush=True)
    return rows


def tabular_rows(splits):
    per = {name: [] for name in CANDIDATES}
    for seed in range(splits):
        X_train, X_test, y_test = tabular_split(seed)
        for name, make in CANDIDATES.items():
            detector, seconds = fit(make, X_train)
            per[name].append((auc(detector, X_test, y_test), seconds))
    cells = [tuple(np.mean(per[name], axis=0)) for name in CANDIDATES]
    row = ["breast cancer", f"malignant (mean of {splits} splits)", len(X_train), *cells]
    print(" | ".join(_cells(row)), flush=True)
    return [row]


def _cells(row):
    data, case, n, *cells = row
    out = [data, case, f"{n:,}"]
    for auc, seconds in cells:
        out += [f"{auc:.4f}", f"{seconds:.1f}"]
    return out


def main(argv=None):
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, nargs="*", default=[1000, 5000])
    parser.add_argument("--classes", type=int, nargs="*", default=[0, 1, 7])
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.quick:
        args.n_train, args.classes, args.splits = [], args.classes[:1], 1
    set_threads(args.threads)
    run = Run(__file__, argv, threads=args.threads)
    warnings.simplefilter("ignore")  # report, do not stop, whatever either regime warns
    rows = image_rows(load_digits(), "digits", args.classes, args.seed)
    if MNIST.exists():
        mnist = load_mnist(MNIST, download=False)
        for n in args.n_train:
            data = copy.copy(mnist)
            data.X_train, data.y_train = mnist.X_train[:n], mnist.y_train[:n]
            rows += image_rows(data, f"MNIST {n:,}", args.classes, args.seed)
    rows += tabular_rows(args.splits)
    header = ["data", "anomalies", "training rows"]
    for name in CANDIDATES:
        header += [f"{name} AUC", f"{name} fit (s)"]
    text = "\n".join(
        [
            "# The outlier detector: its pinned autoencoder against the autoencoder's "
            "defaults with a linear output",
            "",
            "ROC AUC of `score_samples` (10% anomalies in every test set) and fit seconds; "
            "a held-out digit's detectors train on the other classes' rows.",
            "",
            table(header, [_cells(row) for row in rows]),
        ]
    )
    text = run.finish(text, args.output)
    print(text)
    return text


if __name__ == "__main__":
    main()
