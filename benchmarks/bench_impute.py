"""Imputation: RMSE on hidden entries, fit+transform times and a downstream model's
cross-validated score of ``DAEImputer`` against SimpleImputer (mean), KNNImputer and
IterativeImputer.

Each data set has a ``--fraction`` of its entries hidden, completely at random (``mcar``,
seeded) or not at random (``mnar``: in a random half of the columns, the largest
``2 * fraction`` of each column's values, ties broken at random; ``fraction`` < 0.5).
Every imputer fits and transforms the data with holes and is scored by the root mean
squared error between its fills and the hidden true values; ``x best`` is that error
over the best scikit-learn imputer's in the same case. With ``--downstream``, a model is
then cross-validated (5 folds) on the filled data: logistic regression (accuracy) on the
labelled data sets, ridge regression (R^2) on diabetes; the imputers never see the labels,
and the row ``complete data`` is the model on the data without holes.

Data sets: scikit-learn's digits divided by 16 (values in [0, 1]); breast_cancer, wine
and diabetes standardized (``StandardScaler`` on the full data, as in issue 17's table);
``MNIST``: the first ``--mnist-rows`` of MNIST's 70,000 digits (training then test rows)
divided by 255, read from ``--mnist-path`` (an ``.npz`` with ``X_train``, ``y_train``,
``X_test``, ``y_test``). IterativeImputer on more than 100 columns regresses each on its
``n_nearest_features=50`` most correlated others (all 784 would fit 784 regressions on
783 inputs per round: hours); its name in the table says so. ``DAEImputer`` runs with
its defaults and with the variants given by ``--variants`` (named in the table).

The user guide's tables::

    python benchmarks/bench_impute.py --threads 1 --datasets "breast_cancer std" "digits /16" \
        --variants "masking 0.1" "dropout 0.1" "(512, 256)-64" "swap 0.2" \
        "before (batch 32, 1e-3 for 300 epochs, patience 30)" \
        --output benchmarks/results/impute.md
    python benchmarks/bench_impute.py --threads 1 --fraction 0.2 0.5 --variants \
        --datasets "digits /16" "breast_cancer std" "wine std" "diabetes std" \
        --output benchmarks/results/impute_all.md
    python benchmarks/bench_impute.py --threads 1 --mask mcar mnar --downstream \
        --variants --datasets "digits /16" "breast_cancer std" "wine std" "diabetes std" \
        --output benchmarks/results/impute_mnar.md
    python benchmarks/bench_impute.py --threads 1 --fraction 0.3 \
        --variants standardized "(256, 128)-32" --datasets MNIST \
        --output benchmarks/results/impute_mnist.md

All 70,000 MNIST digits (30% MCAR) imputed by ``DAEImputer`` with its defaults, timed,
next to the column means::

    python benchmarks/bench_impute.py --threads 1 --mnist-all \
        --output benchmarks/results/impute_mnist_all.md

Smoke run: ``python benchmarks/bench_impute.py --quick``.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
from _common import MNIST, Run, base_parser, set_threads, table
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_dae import DAEImputer, DenoisingAutoencoder
from sk_dae._imputer import default_params
from sk_dae.datasets import load_mnist

#: Other autoencoders tried, by name: their parameters over the defaults for the data
#: (``default_params``); "standardize" is the imputer's own parameter.
VARIANTS = {
    "swap 0.2": {"noise": "swap"},
    "gaussian std 0.5": {"noise": "gaussian", "noise_level": 0.5, "noise_scale": "std"},
    "masking 0.1": {"noise_level": 0.1},
    "masking 0.5": {"noise_level": 0.5},
    "no noise": {"noise": None},
    "batch 256": {"batch_size": 256},
    "(128,)-16": {"hidden_layer_sizes": (128,), "n_components": 16},
    "(256, 128)-32": {"hidden_layer_sizes": (256, 128), "n_components": 32},
    "(512, 256)-64": {"hidden_layer_sizes": (512, 256), "n_components": 64},
    "dropout 0.1": {"dropout": 0.1},
    "early stopping": {"early_stopping": True},
    "standardized": {"standardize": True},
    "autoencoder defaults": {
        "n_components": 16,
        "hidden_layer_sizes": "auto",
        "init": "auto",
        "early_stopping": "auto",
        "learning_rate_init": "auto",
        "batch_size": "auto",
    },
    "before (batch 32, 1e-3 for 300 epochs, patience 30)": {
        "batch_size": 32,
        "learning_rate": "constant",
        "learning_rate_init": 1e-3,
        "max_iter": 300,
        "n_iter_no_change": 30,
    },
}

DATASETS = ["digits /16", "breast_cancer std", "wine std", "diabetes std", "MNIST"]
SKLEARN = ("mean", "KNN (5)", "Iterative")


def load(name, args):
    """``(X, y, task)`` of a data set: task is "classification" or "regression"."""
    if name == "MNIST":
        path = args.mnist_path
        if not Path(path).is_file():
            raise SystemExit(f"MNIST needs --mnist-path (an .npz); {path} does not exist.")
        data = load_mnist(path, download=False)
        X = np.concatenate([data.X_train, data.X_test])  # float32, as loaded
        y = np.concatenate([data.y_train, data.y_test])
        rows = None if args.mnist_all else args.mnist_rows
        return X[:rows], y[:rows], "classification"
    loaders = {
        "digits /16": load_digits,
        "breast_cancer std": load_breast_cancer,
        "wine std": load_wine,
        "diabetes std": load_diabetes,
    }
    X, y = loaders[name](return_X_y=True)
    X = X / 16.0 if name == "digits /16" else StandardScaler().fit_transform(X)
    return X, y, "regression" if name == "diabetes std" else "classification"


def hide(X, fraction, seed, mask="mcar"):
    """``X`` with holes, and the boolean array of the hidden entries."""
    rng = np.random.default_rng(seed)
    if mask == "mcar":
        hidden = rng.random(X.shape) < fraction
    else:
        if not 0 < fraction < 0.5:
            raise ValueError(f"The MNAR mask needs 0 < fraction < 0.5, got {fraction}.")
        hidden = np.zeros(X.shape, dtype=bool)
        n_top = round(2 * fraction * X.shape[0])
        for j in np.flatnonzero(rng.random(X.shape[1]) < 0.5):
            order = np.lexsort((rng.random(X.shape[0]), X[:, j]))  # by value, ties at random
            hidden[order[X.shape[0] - n_top :], j] = True
    return np.where(hidden, np.nan, X), hidden


def imputers(variants, seed, quick, shape):
    extra = {"max_iter": 5} if quick else {}
    nearest = 50 if shape[1] > 100 else None
    iterative = "Iterative" + ("" if nearest is None else f" ({nearest} nearest)")
    out = {
        "mean": SimpleImputer,
        "KNN (5)": KNNImputer,
        iterative: lambda: IterativeImputer(
            max_iter=3 if quick else 10, n_nearest_features=nearest, random_state=seed
        ),
        "DAEImputer": _default_imputer(seed, quick, shape),
    }
    for name in variants:
        params = {**default_params(*shape), **VARIANTS[name], **extra}
        standardize = params.pop("standardize", "auto")
        out[f"DAE {name}"] = lambda p=params, s=standardize: DAEImputer(
            autoencoder=DenoisingAutoencoder(**p), standardize=s, random_state=seed
        )
    return out


def downstream(X, y, task, quick):
    """The model's mean 5-fold score on ``X`` (accuracy or R^2) and its seconds."""
    if task == "regression":
        model = Ridge()
    else:
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300 if quick else 2000))
    start = time.perf_counter()
    score = cross_val_score(model, X, y, cv=3 if quick else 5).mean()
    return float(score), time.perf_counter() - start


def run_case(X, y, task, case, args):
    """The rows of one data set, mask and fraction: one per imputer."""
    name, mask, fraction = case
    X_missing, hidden = hide(X, fraction, args.seed, mask)
    rows, errors = [], {}
    for label, make in imputers(args.variants, args.seed, args.quick, X.shape).items():
        start = time.perf_counter()
        filled = make().fit_transform(X_missing)
        seconds = time.perf_counter() - start
        errors[label] = float(np.sqrt(np.mean((filled - X)[hidden] ** 2)))
        row = [name, f"{mask.upper()} {fraction:.0%}", label, f"{errors[label]:.3f}", ""]
        rows.append(row + [f"{seconds:.1f}"])
        if args.downstream:
            score, seconds = downstream(filled, y, task, args.quick)
            rows[-1] += [f"{score:.3f}", f"{seconds:.1f}"]
    best = min(error for label, error in errors.items() if label.startswith(SKLEARN))
    for row, error in zip(rows, errors.values()):
        row[4] = f"{error / best:.2f}"
    return rows


def time_all_mnist(X, args):
    """All of ``X`` (the 70,000 digits) filled by the column means and by ``DAEImputer``
    with its defaults: RMSE and seconds."""
    X_missing, hidden = hide(X, args.fraction[0], args.seed)
    rows = []
    dae = _default_imputer(args.seed, args.quick, X.shape)
    for label, make in (("mean", SimpleImputer), ("DAEImputer", dae)):
        start = time.perf_counter()
        filled = make().fit_transform(X_missing)
        seconds = time.perf_counter() - start
        rmse = float(np.sqrt(np.mean((filled - X)[hidden] ** 2)))
        rows.append(["MNIST, all rows", f"MCAR {args.fraction[0]:.0%}", label, f"{rmse:.3f}"])
        rows[-1].append(f"{seconds:.1f}")
    return rows


def _default_imputer(seed, quick, shape):
    """DAEImputer with its defaults (their budget cut to 5 epochs with ``quick``)."""
    if not quick:
        return lambda: DAEImputer(random_state=seed)
    params = {**default_params(*shape), "max_iter": 5}
    return lambda: DAEImputer(autoencoder=DenoisingAutoencoder(**params), random_state=seed)


def parse(argv):
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--fraction", type=float, nargs="*", default=None, help="default 0.2")
    parser.add_argument("--mask", nargs="*", default=["mcar"], choices=["mcar", "mnar"])
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument(
        "--datasets", nargs="*", default=["digits /16", "breast_cancer std"], choices=DATASETS
    )
    parser.add_argument("--downstream", action="store_true", help="cross-validate a model")
    parser.add_argument("--mnist-path", type=Path, default=MNIST)
    parser.add_argument("--mnist-rows", type=int, default=10_000)
    parser.add_argument(
        "--mnist-all", action="store_true", help="time DAEImputer on all MNIST rows only"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.quick:
        args.variants = args.variants[:1]
        args.mnist_rows = 300
    if args.mnist_all:
        args.datasets, args.fraction = ["MNIST"], (args.fraction or [0.3])[:1]
    args.fraction = args.fraction or [0.2]
    return args


def main(argv=None):
    args = parse(argv)
    set_threads(args.threads)
    run = Run(__file__, argv, threads=args.threads)
    warnings.filterwarnings("ignore", message="Stopped at max_iter")
    warnings.filterwarnings("ignore", message=r"\[IterativeImputer\] Early stopping")
    warnings.filterwarnings("ignore", message="lbfgs failed to converge")
    header = ["data", "holes", "imputer", "RMSE", "x best sklearn", "fit+transform s"]
    header += ["downstream CV score", "CV s"] if args.downstream else []
    rows = []
    for name in args.datasets:
        X, y, task = load(name, args)
        if args.quick:
            X, y = X[: args.mnist_rows], y[: args.mnist_rows]
        if args.mnist_all:
            rows += time_all_mnist(X, args)
            header = header[:4] + header[5:6]
            continue
        if args.downstream:
            score, seconds = downstream(X, y, task, args.quick)
            rows.append([name, "none", "complete data", "", "", "", f"{score:.3f}"])
            rows[-1].append(f"{seconds:.1f}")
        for mask in args.mask:
            for fraction in args.fraction:
                rows += run_case(X, y, task, (name, mask, fraction), args)
    text = "\n".join(
        [
            "# Imputation: RMSE on hidden entries, fit + transform seconds",
            "",
            table(header, rows),
        ]
    )
    text = run.finish(text, args.output)
    print(text)
    return text


if __name__ == "__main__":
    main()
