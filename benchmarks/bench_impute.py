"""Imputation: RMSE on hidden entries and fit+transform times of ``DAEImputer`` against
SimpleImputer (mean), KNNImputer and IterativeImputer.

Each data set has a ``--fraction`` of its entries hidden completely at random (MCAR,
seeded); every imputer fits and transforms the data with holes, and is scored by the
root mean squared error between its fills and the hidden true values. Data sets:
scikit-learn's digits divided by 16 (values in [0, 1]) and breast_cancer standardized
(``StandardScaler`` on the full data, as in issue 17's table). ``DAEImputer`` runs with
its defaults and with the variants given by ``--variants`` (named in the table), the
candidates its defaults were chosen from; ``--datasets`` adds wine and diabetes
(standardized). Full run (the user guide's table)::

    python benchmarks/bench_impute.py --threads 1 \
        --output benchmarks/results/impute.md

Every data set at 20% and 50% with the defaults alone::

    python benchmarks/bench_impute.py --threads 1 --fraction 0.2 0.5 --variants \
        --datasets "digits /16" "breast_cancer std" "wine std" "diabetes std" \
        --output benchmarks/results/impute_all.md

Smoke run: ``python benchmarks/bench_impute.py --quick``.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from _common import base_parser, machine_line, set_threads, table, write_output
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.preprocessing import StandardScaler

from sk_dae import DAEImputer, DenoisingAutoencoder
from sk_dae._imputer import DEFAULT_AUTOENCODER_PARAMS

#: Other autoencoders tried, by name: their parameters over the defaults.
VARIANTS = {
    "swap 0.2": {"noise": "swap"},
    "gaussian std 0.5": {"noise": "gaussian", "noise_level": 0.5, "noise_scale": "std"},
    "masking 0.5": {"noise_level": 0.5},
    "no noise": {"noise": None},
    "batch 256 (estimator's)": {"batch_size": "auto", "n_iter_no_change": 10},
    "(128,)-16": {"hidden_layer_sizes": (128,), "n_components": 16},
    "dropout 0.1": {"dropout": 0.1},
    "early stopping": {"early_stopping": True},
}


def datasets():
    def standardized(loader):
        return StandardScaler().fit_transform(loader().data)

    return {
        "digits /16": load_digits().data / 16.0,
        "breast_cancer std": standardized(load_breast_cancer),
        "wine std": standardized(load_wine),
        "diabetes std": standardized(load_diabetes),
    }


DATASETS = ["digits /16", "breast_cancer std", "wine std", "diabetes std"]


def hide(X, fraction, seed):
    hidden = np.random.default_rng(seed).random(X.shape) < fraction
    return np.where(hidden, np.nan, X), hidden


def imputers(variants, seed, quick):
    extra = {"max_iter": 5} if quick else {}
    out = {
        "mean": lambda: SimpleImputer(),
        "KNN (5)": lambda: KNNImputer(),
        "Iterative": lambda: IterativeImputer(max_iter=3 if quick else 10, random_state=seed),
        "DAEImputer": lambda: DAEImputer(
            autoencoder=DenoisingAutoencoder(**{**DEFAULT_AUTOENCODER_PARAMS, **extra}),
            random_state=seed,
        ),
    }
    for name in variants:
        params = {**DEFAULT_AUTOENCODER_PARAMS, **VARIANTS[name], **extra}
        out[f"DAE {name}"] = lambda p=params: DAEImputer(
            autoencoder=DenoisingAutoencoder(**p), random_state=seed
        )
    return out


def main(argv=None):
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--fraction", type=float, nargs="*", default=[0.2])
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument(
        "--datasets", nargs="*", default=["digits /16", "breast_cancer std"], choices=DATASETS
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.quick:
        args.variants = args.variants[:1]
    set_threads(args.threads)
    warnings.filterwarnings("ignore", message="Stopped at max_iter")
    warnings.filterwarnings("ignore", message=r"\[IterativeImputer\] Early stopping")
    data = {name: X for name, X in datasets().items() if name in args.datasets}
    if args.quick:
        data = {name: X[:200] for name, X in data.items()}
    header = ["imputer"]
    columns = []
    for name in data:
        for fraction in args.fraction:
            columns.append((name, fraction))
            header += [f"{name} {fraction:.0%} RMSE", "s"]
    rows = {}
    for name, fraction in columns:
        X_missing, hidden = hide(data[name], fraction, args.seed)
        for label, make in imputers(args.variants, args.seed, args.quick).items():
            start = time.perf_counter()
            filled = make().fit_transform(X_missing)
            seconds = time.perf_counter() - start
            rmse = float(np.sqrt(np.mean((filled - data[name])[hidden] ** 2)))
            rows.setdefault(label, [label]).extend([f"{rmse:.3f}", f"{seconds:.1f}"])
    text = "\n".join(
        [
            "# Imputation: RMSE on hidden entries (MCAR), fit + transform seconds",
            "",
            machine_line(),
            "",
            table(header, list(rows.values())),
        ]
    )
    print(text)
    write_output(text, args.output)
    return text


if __name__ == "__main__":
    main()
