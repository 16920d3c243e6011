"""The defaults against PCA at equal width, on data sets nobody tuned them for.

Every row fits ``DenoisingAutoencoder(n_components=k, random_state=0)`` with nothing else
set (or the ``--params`` given) and ``PCA(k)`` on the same training rows, and reports the
test error of each and their ratio (below 1: the autoencoder wins):

- ``clean``: the mean squared error of the clean reconstruction of held-out rows;
- ``noisy fit``: both models fitted on noisy training rows (Gaussian noise of std 0.3:
  of [0, 1] images, clipped to [0, 1], or of standardized features), the error of the
  reconstruction of noisy test rows against their clean originals: a denoiser fitted
  directly on noisy data, as users of scikit-learn's denoising examples do;
- ``features``: the accuracy of a logistic regression on the codes (100 of them) against
  scikit-learn's ``BernoulliRBM`` pipeline of its gallery example (100 components,
  ``learning_rate=0.06``, ``n_iter=10``; the logistic regression with ``C=6000``) and
  PCA, on the digits.

Images are scaled to [0, 1]; tabular data are standardized on the training rows (the
test rows with the training means and deviations). Full run (MNIST included; about half
an hour on 2 busy cores)::

    python benchmarks/bench_defaults.py --output benchmarks/results/defaults.md

Smoke run: ``python benchmarks/bench_defaults.py --quick``.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from _common import (
    MNIST,
    Run,
    base_parser,
    parse_params,
    reconstruction_error,
    set_threads,
    table,
)
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import BernoulliRBM
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_dae import DenoisingAutoencoder


def _tabular(loader):
    def load():
        X = loader().data.astype(np.float64)
        X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
        scaler = StandardScaler().fit(X_train)
        return scaler.transform(X_train), scaler.transform(X_test), False

    return load


def _digits():
    X = load_digits().data / 16.0
    X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
    return X_train, X_test, True


def _mnist():
    with np.load(MNIST) as data:
        scale = np.float32(255.0)
        X_train = data["X_train"].astype(np.float32) / scale
        X_test = data["X_test"].astype(np.float32) / scale
    return X_train, X_test, True


#: Data set -> (loader, the code widths measured).
DATASETS = {
    "digits": (_digits, (8, 32)),
    "breast_cancer": (_tabular(load_breast_cancer), (5, 10)),
    "wine": (_tabular(load_wine), (2, 5)),
    "diabetes": (_tabular(load_diabetes), (2, 5)),
    "MNIST": (_mnist, (32,)),
}
QUICK = ("digits", "wine")


def _noisy(X, images, rng):
    """``X`` with Gaussian noise of std 0.3 (of [0, 1] images, or of standardized
    features), clipped to [0, 1] for images."""
    noisy = X + rng.normal(0.0, 0.3, X.shape).astype(X.dtype)
    return np.clip(noisy, 0.0, 1.0) if images else noisy


def reconstruction_rows(name, params, *, noisy):
    loader, widths = DATASETS[name]
    X_train, X_test, images = loader()
    fit_on, test_in = X_train, X_test
    if noisy:
        rng = np.random.default_rng(0)
        fit_on = _noisy(X_train, images, rng)
        test_in = _noisy(X_test, images, rng)
    rows = []
    for width in widths:
        dae = DenoisingAutoencoder(n_components=width, random_state=0, **params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a ConvergenceWarning is part of the defaults
            dae_mse, dae_s = reconstruction_error(dae, fit_on, test_in, X_test)
        pca_mse, pca_s = reconstruction_error(PCA(width, random_state=0), fit_on, test_in, X_test)
        rows.append(
            [
                name,
                "noisy fit" if noisy else "clean",
                f"{X_train.shape[0]}x{X_train.shape[1]}",
                width,
                f"{dae_mse:.4g}",
                f"{pca_mse:.4g}",
                f"{dae_mse / pca_mse:.2f}",
                f"{dae.n_iter_}",
                f"{dae_s:.1f}",
            ]
        )
        print(" | ".join(map(str, rows[-1])), flush=True)
    return rows


def feature_rows(params):
    """Logistic regression on 100 features of the digits: DAE codes, RBM, PCA."""
    X_train, X_test, _ = _digits()
    y = load_digits().target
    y_train, y_test = train_test_split(y, test_size=0.25, random_state=0)
    logistic = dict(C=6000.0, max_iter=2000)
    candidates = {
        "DenoisingAutoencoder(100)": DenoisingAutoencoder(
            n_components=100, random_state=0, **params
        ),
        "BernoulliRBM(100), gallery settings": BernoulliRBM(
            n_components=100, learning_rate=0.06, n_iter=10, random_state=0
        ),
        "PCA(64)": PCA(64, random_state=0),
        "raw pixels": None,
    }
    rows = []
    for label, step in candidates.items():
        steps = [s for s in (step, LogisticRegression(**logistic)) if s is not None]
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pipe = make_pipeline(*steps).fit(X_train, y_train)
        seconds = time.perf_counter() - start
        rows.append([label, f"{pipe.score(X_test, y_test):.3f}", f"{seconds:.1f}"])
        print(" | ".join(rows[-1]), flush=True)
    return rows


def main(argv=None):
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--params", nargs="*", default=[], help="DenoisingAutoencoder parameters, key=value"
    )
    parser.add_argument("--datasets", nargs="*", choices=list(DATASETS), default=None)
    parser.add_argument("--tasks", nargs="*", choices=["clean", "noisy", "features"], default=None)
    args = parser.parse_args(argv)
    set_threads(args.threads)
    run = Run(__file__, argv, threads=args.threads)
    params = parse_params(args.params)
    if args.quick:
        params.setdefault("max_iter", 5)  # a smoke test of the script, not a measurement
    names = QUICK if args.quick else [n for n in DATASETS if n != "MNIST" or MNIST.exists()]
    names = [n for n in names if args.datasets is None or n in args.datasets]
    tasks = args.tasks or ["clean", "noisy", "features"]
    rows = []
    for name in names if "clean" in tasks else ():
        rows += reconstruction_rows(name, params, noisy=False)
    for name in ("digits", "MNIST") if "noisy" in tasks else ():
        if name in names:
            rows += reconstruction_rows(name, params, noisy=True)
    header = ["data", "task", "train rows x features", "width", "DAE MSE", "PCA MSE"]
    header += ["DAE / PCA", "DAE epochs", "DAE fit (s)"]
    text = "\n\n".join(
        [
            "DenoisingAutoencoder(n_components=k, random_state=0"
            + "".join(f", {k}={v!r}" for k, v in params.items())
            + ") against PCA(k)",
            table(header, rows),
        ]
    )
    if "features" in tasks:
        text += "\n\nLogistic regression (C=6000) on 100 features of the digits, test accuracy:"
        text += "\n\n" + table(["features", "accuracy", "fit (s)"], feature_rows(params))
    text = run.finish(text, args.output)
    print(text)
    return text


if __name__ == "__main__":
    main()
