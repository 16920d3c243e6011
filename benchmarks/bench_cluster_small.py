"""``DeepClustering`` with every default against KMeans on scikit-learn's small data sets.

What a new user tries first: ``DeepClustering(n_clusters=k).fit(X)`` on iris, wine,
breast cancer and the 8x8 digits, as they come (raw units) and standardized
(``StandardScaler``), beside ``KMeans(k, n_init=10)`` on the same X. Cells: median
accuracy (best matching of clusters to classes) over the seeds, the range in brackets,
and the median NMI. All rows of each set are clustered and scored.

The user guide's table::

    python benchmarks/bench_cluster_small.py --threads 1 \\
        --output benchmarks/results/cluster_small.md

The same on an older commit, e.g. the code before the input scale, the kernel scale and
the warm-up of fine-tuning (232693b)::

    git worktree add /tmp/sk_dae_before 232693b
    PYTHONPATH=/tmp/sk_dae_before python benchmarks/bench_cluster_small.py --threads 1

With ``--autoencoder defaults``, DeepClustering's autoencoder is the DEC network and its
masking noise with the autoencoder's own defaults for the rest (a PCA start on fewer than
10,000 rows, the held-out check, the step size, batch size and budget that follow the
rows): ``DenoisingAutoencoder(n_components=10, hidden_layer_sizes=(500, 500, 2000),
noise="masking", noise_level=0.2, output_activation="identity")``. The user guide's
comparison of the two::

    python benchmarks/bench_cluster_small.py --threads 1 --seeds 0 1 2 \
        --datasets wine digits --autoencoder pinned defaults \
        --output benchmarks/results/cluster_defaults.md

``--autoencoder dec-keras-100`` pretrains with DEC-keras's recipe cut to 100 epochs (SGD
at 1.0 with momentum 0.9; see the user guide's "Pretraining" section)::

    python benchmarks/bench_cluster_small.py --threads 1 --seeds 0 1 2 \
        --datasets iris wine "breast cancer" --autoencoder pinned dec-keras-100 \
        --output benchmarks/results/cluster_small_sgd.md

Smoke run: ``python benchmarks/bench_cluster_small.py --quick``.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from _common import Run, base_parser, set_threads, table
from sklearn import datasets
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from sk_dae import DeepClustering, DenoisingAutoencoder
from sk_dae._experiment.cluster_report import scores
from sk_dae.clustering import make_pretraining_autoencoder

DATASETS = {
    "iris": datasets.load_iris,
    "wine": datasets.load_wine,
    "breast cancer": datasets.load_breast_cancer,
    "digits": datasets.load_digits,
}


#: DeepClustering's autoencoder: its own (None) or the autoencoder's defaults.
AUTOENCODERS = {
    "pinned": lambda: None,
    "defaults": lambda: DenoisingAutoencoder(
        n_components=10,
        hidden_layer_sizes=(500, 500, 2000),
        noise="masking",
        noise_level=0.2,
        output_activation="identity",
    ),
    # DEC-keras's SGD recipe, cut to 100 epochs: is it a default for small tables?
    "dec-keras-100": lambda: make_pretraining_autoencoder("dec-keras", max_iter=100),
}


def cell(y, labelings):
    """'median accuracy (min-max), NMI median' of several labelings of the same rows."""
    measured = [scores(y, labels) for labels in labelings]
    accuracy = [m["accuracy"] for m in measured]
    nmi = [m["nmi"] for m in measured]
    spread = f" ({min(accuracy):.3f}-{max(accuracy):.3f})" if len(accuracy) > 1 else ""
    return f"{np.median(accuracy):.3f}{spread}", f"{np.median(nmi):.3f}"


#: How many fits ended with a ConvergenceWarning (fine-tuning stopped at max_iter).
WARNED = []


def fit_labels(model, X):
    """The labels of ``model`` fitted on ``X``, or None when the fit raised a ValueError
    (a fine-tuning that diverges raises one; counted as "diverged" in the table). A
    ConvergenceWarning is counted in ``WARNED``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            labels = model.fit(X).labels_
        except ValueError:
            return None
    WARNED.append(any(issubclass(w.category, ConvergenceWarning) for w in caught))
    return labels


def main(argv=None):
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--datasets", nargs="+", choices=list(DATASETS), default=list(DATASETS))
    parser.add_argument("--autoencoder", nargs="+", choices=list(AUTOENCODERS), default=["pinned"])
    args = parser.parse_args(argv)
    set_threads(args.threads)
    run = Run(__file__, argv, threads=args.threads)
    names = ["iris"] if args.quick else args.datasets
    seeds = args.seeds[:1] if args.quick else args.seeds
    header = ["data", "X", "KMeans accuracy", "NMI"]
    for name in args.autoencoder:
        suffix = "" if args.autoencoder == ["pinned"] else f" ({name} autoencoder)"
        header += [f"DeepClustering accuracy{suffix}", "NMI", "s", "warned"]
    rows = []
    for name in names:
        X, y = DATASETS[name](return_X_y=True)
        k = len(np.unique(y))
        for units, Xu in (("as it comes", X), ("standardized", StandardScaler().fit_transform(X))):
            kmeans = [KMeans(k, n_init=10, random_state=s).fit_predict(Xu) for s in seeds]
            cells = []
            for autoencoder in args.autoencoder:
                make = AUTOENCODERS[autoencoder]
                start = time.perf_counter()
                WARNED.clear()
                fits = [
                    fit_labels(DeepClustering(k, autoencoder=make(), random_state=s), Xu)
                    for s in seeds
                ]
                seconds = (time.perf_counter() - start) / len(seeds)
                failed = sum(labels is None for labels in fits)
                fits = [labels for labels in fits if labels is not None]
                deep = cell(y, fits) if fits else ("diverged", "")
                if failed and fits:
                    deep = (f"{deep[0]}, {failed} diverged", deep[1])
                cells += [*deep, f"{seconds:.1f}", f"{sum(WARNED)}/{len(WARNED)}"]
            rows.append([name, units, *cell(y, kmeans), *cells])
            print(" | ".join(rows[-1]), flush=True)
    text = "\n".join(
        [
            f"# DeepClustering defaults against KMeans, seeds {', '.join(map(str, seeds))}",
            "",
            "Median accuracy over the seeds (range), median NMI; seconds per DeepClustering fit;",
            "warned: fits that ended with a ConvergenceWarning.",
            "",
            table(header, rows),
        ]
    )
    text = run.finish(text, args.output)
    print(text)
    return text


if __name__ == "__main__":
    main()
