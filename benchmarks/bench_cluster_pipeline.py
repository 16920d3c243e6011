"""make_clustering_pipeline across sizes: the autoencoder's budget against KMeans on pixels.

``make_clustering_pipeline`` trains its autoencoder (the DEC network, masking noise 0.2,
batches of 256) for ``max_iter="clustering"`` epochs, worked out from the rows in ``fit``;
it used to train a fixed 20, which are 5,470 steps of all 70,000 MNIST digits but 80 of
the first 1,000. This script fits the
pipeline at each budget of ``--budgets`` on scikit-learn's 8x8 digits and on the first N
of all MNIST digits (the training split first; every row clustered and scored, the
labels used only to score), and clusters the same codes through each embedding of
``--embeddings`` (the pipeline's steps after the autoencoder, as the pipeline runs them);
``--sizes iris,wine,breast_cancer`` takes scikit-learn's small tables as they come.
Budgets: an epoch count, ``auto`` (the autoencoder's own, about 5,000 steps, at most 200
epochs) or ``clustering`` (the pipeline's default: ``DeepClustering``'s default
pretraining, ``sk_dae.clustering.default_pretraining_passes``). Cells: median accuracy
over the seeds (range) and median NMI; seconds: median of the autoencoder's fit; the floor is
``KMeans(k, n_init=10)`` on the pixels.

The user guide's table (one thread; the file gives the load)::

    python benchmarks/bench_cluster_pipeline.py --threads 1 \\
        --output benchmarks/results/cluster_pipeline.md

Smoke run: ``python benchmarks/bench_cluster_pipeline.py --quick``.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from _common import Run, base_parser, load_all_rows, set_threads, table
from bench_cluster_small import DATASETS, cell
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline

from sk_dae.clustering import make_clustering_pipeline, umap_available


def epochs_of(budget):
    """The pipeline's ``max_iter`` for ``budget``."""
    return budget if budget in ("auto", "clustering") else int(budget)


def fit_codes(X, k, max_iter, seed, quick):
    """The pipeline's autoencoder fitted on ``X``: its codes, epochs and seconds."""
    extra = {"hidden_layer_sizes": (32,)} if quick else {}
    pipe = make_clustering_pipeline(k, random_state=seed, max_iter=max_iter, **extra)
    start = time.perf_counter()
    with warnings.catch_warnings():
        # A fixed budget on a constant step size warns that the loss still falls.
        warnings.simplefilter("ignore", ConvergenceWarning)
        codes = pipe.named_steps["dae"].fit_transform(X)
    return codes, pipe.named_steps["dae"].n_iter_, time.perf_counter() - start


def cluster_codes(codes, k, embedding, seed):
    """The labels of the pipeline's steps after the autoencoder, fitted on ``codes``."""
    steps = make_clustering_pipeline(k, embedding=embedding, random_state=seed).steps[1:]
    return Pipeline(steps).fit_predict(codes)


#: scikit-learn's small tables of ``bench_cluster_small``, named for ``--sizes``
#: (``breast_cancer``).
TABLES = {name.replace(" ", "_"): load for name, load in DATASETS.items() if name != "digits"}


def sized_data(size, quick):
    """(name, X, y) of one entry of ``--sizes``: ``digits`` (scaled to [0, 1]), a table
    of ``TABLES`` or the first N MNIST rows."""
    if size in TABLES:
        X, y = TABLES[size](return_X_y=True)
        return size, X, y
    if quick or size == "digits":
        X, y, _ = load_all_rows("digits")
        return "digits", X[:300] if quick else X, y[:300] if quick else y
    X, y, _ = load_all_rows("mnist")
    return "MNIST", X[: int(size)], y[: int(size)]


def main(argv=None):
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default="digits,1000,3000,10000",
        help="digits, iris, wine, breast_cancer or MNIST row counts",
    )
    parser.add_argument("--budgets", default="20,clustering,auto", help="see above")
    parser.add_argument("--embeddings", default="normalize,umap", help="make_embedding names")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    args = parser.parse_args(argv)
    set_threads(args.threads)
    run = Run(__file__, argv, threads=args.threads)
    sizes = ["digits"] if args.quick else args.sizes.split(",")
    budgets = ["2"] if args.quick else args.budgets.split(",")
    seeds = [0] if args.quick else [int(s) for s in args.seeds.split(",")]
    embeddings = [e for e in args.embeddings.split(",") if e != "umap" or umap_available()]
    header = ["data", "rows", "budget", "epochs", "KMeans on pixels", "NMI"]
    for embedding in embeddings:
        header += [f"{embedding} accuracy", "NMI"]
    rows = []
    for size in sizes:
        name, X, y = sized_data(size, args.quick)
        k = len(np.unique(y))
        floor = cell(y, [KMeans(k, n_init=10, random_state=s).fit_predict(X) for s in seeds])
        for budget in budgets:
            labelings, epochs, seconds = {e: [] for e in embeddings}, set(), []
            for seed in seeds:
                codes, n_iter, fit_seconds = fit_codes(X, k, epochs_of(budget), seed, args.quick)
                epochs.add(n_iter)
                seconds.append(fit_seconds)
                for embedding in embeddings:
                    labelings[embedding].append(cluster_codes(codes, k, embedding, seed))
            row = [name, str(len(X)), budget, ",".join(map(str, sorted(epochs))), *floor]
            for embedding in embeddings:
                row += cell(y, labelings[embedding])
            rows.append(row + [f"{np.median(seconds):.1f}"])
            print(" | ".join(rows[-1]), flush=True)
    text = "\n".join(
        [
            f"# make_clustering_pipeline's budget, seeds {', '.join(map(str, seeds))}",
            "",
            "Median accuracy over the seeds (range), median NMI; s: median seconds of the",
            "autoencoder's fit; epochs: those it trained (fewer where its loss converged).",
            "",
            table(header + ["s"], rows),
        ]
    )
    text = run.finish(text, args.output)
    print(text)
    return text


if __name__ == "__main__":
    main()
