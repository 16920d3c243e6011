"""Threads torch uses inside joblib's loky workers, and what oversubscription costs.

``GridSearchCV(n_jobs=k)`` fits in k loky worker processes. joblib sets
``OMP_NUM_THREADS = cores // k`` in them, and torch reads it at import, so with the
default ``n_threads=None`` k workers x threads stay within the cores. This script reports
the thread count a fit sees in the workers for several k and, with ``--time``, times a
small grid search with the default against ``n_threads=<cores>`` (every worker takes
all cores: oversubscribed). Full run::

    python benchmarks/bench_threads.py --time --output benchmarks/results/threads.md

Smoke run: ``python benchmarks/bench_threads.py --quick``.
"""

from __future__ import annotations

import sys
import time
import warnings

import cloudpickle
import joblib
import numpy as np
import torch
from _common import Run, base_parser, load_data, median, table
from sklearn.model_selection import GridSearchCV

from sk_dae import DenoisingAutoencoder


def threads_in_fit(estimator, X, y=None):
    """A scorer: the torch thread count in the process that just fitted ``estimator``."""
    return float(torch.get_num_threads())


# loky reuses its workers within a process: those started before benchmarks/ was on the
# path (by an earlier GridSearchCV in the same test session) cannot import this module,
# so its functions travel by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def grid(X, n_jobs, n_threads, max_iter, scoring=None):
    search = GridSearchCV(
        DenoisingAutoencoder(
            n_components=16,
            hidden_layer_sizes=(64,),
            max_iter=max_iter,
            random_state=0,
            n_threads=n_threads,
        ),
        {"noise_level": [0.1, 0.2, 0.3, 0.4]},
        cv=2,
        n_jobs=n_jobs,
        scoring=scoring,
        refit=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(X)
    return search


def main(argv=None):
    parser = base_parser(__doc__.splitlines()[0], threads=False)
    parser.add_argument("--time", action="store_true", help="also time the grid searches")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-samples", type=int, default=4000)
    args = parser.parse_args(argv)
    run = Run(__file__, argv, threads="set by joblib in each worker (see the tables)")
    cores = joblib.cpu_count()
    X, data_name = load_data(args.n_samples, quick=args.quick)
    X = X[:300] if args.quick else X
    lines = ["# threads under GridSearchCV(n_jobs=k)", ""]
    rows = []
    for n_jobs in sorted({1, 2, cores}):
        search = grid(X, n_jobs, None, 1, scoring=threads_in_fit)
        seen = sorted(
            {int(s) for i in range(2) for s in search.cv_results_[f"split{i}_test_score"]}
        )
        rows.append((n_jobs, ", ".join(map(str, seen)), n_jobs * max(seen), cores))
    lines += [
        table(("n_jobs", "torch threads in a worker's fit", "total threads", "cores"), rows),
        "",
    ]
    if args.time:
        cands = {
            f"n_jobs={cores}, n_threads=None": lambda: grid(X, cores, None, 3),
            f"n_jobs={cores}, n_threads={cores} (oversubscribed)": lambda: grid(X, cores, cores, 3),
        }
        times = {name: [] for name in cands}
        for fn in cands.values():  # warm-up: starts the workers
            fn()
        for r in range(args.repeats):
            names = list(cands)
            for name in names[r % 2 :] + names[: r % 2]:
                t0 = time.perf_counter()
                cands[name]()
                times[name].append(time.perf_counter() - t0)
        base = median(next(iter(times.values())))
        trows = [(n, f"{median(t):.2f}", f"{median(t) / base:.2f}") for n, t in times.items()]
        lines += [
            f"Grid search of 8 fits ({X.shape[0]} {data_name} rows, {X.shape[1]}-64-16, 3 epochs), "
            f"median of {args.repeats}:",
            "",
            table(("setting", "seconds", "x default"), trows),
            "",
        ]
    text = "\n".join(lines)
    text = run.finish(text, args.output)
    print(text, flush=True)
    return text


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
