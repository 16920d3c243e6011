"""Pretraining for clustering: KMeans on the codes of differently trained autoencoders.

``DeepClustering`` starts from KMeans on the codes of its pretrained autoencoder, and DEC
and IDEC refine that start without repairing merged clusters (issue 16). This script
measures what the pretraining recipe does to that start, on all 70,000 MNIST digits (the
deep clustering protocol: fit on every row, labels only to score): every named
configuration trains one autoencoder over ``DeepClustering``'s default autoencoder
parameters, then KMeans (10 restarts) clusters its codes as they are and after L2
normalisation. Columns: NMI and accuracy (best matching of clusters to classes) of both,
the final training loss and the pretraining seconds.

Configurations are given as ``name:key=value,key=value`` (values parsed as Python
literals); a name alone is ``DeepClustering``'s autoencoder unchanged. The user
guide's table (``benchmarks/results/cluster_pretraining.md``) came from three runs, one
thread each (the file gives the load)::

    python benchmarks/bench_cluster_pretraining.py --threads 1 \
        "lr 3e-3:learning_rate_init=3e-3" \
        "sigmoid, lr 3e-3:learning_rate_init=3e-3,output_activation=auto"
    python benchmarks/bench_cluster_pretraining.py --threads 1 \
        "dropout 0.2:dropout=0.2" "40 epochs:max_iter=40"
    python benchmarks/bench_cluster_pretraining.py --threads 1 "batch 64:batch_size=64"

Smoke run: ``python benchmarks/bench_cluster_pretraining.py --quick defaults``.
"""

from __future__ import annotations

import time
import warnings

from _common import Run, base_parser, load_all_rows, parse_params, set_threads, table
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import normalize

from sk_dae import DenoisingAutoencoder
from sk_dae._experiment.cluster_report import scores
from sk_dae.clustering._deep_clustering import DEFAULT_AUTOENCODER_PARAMS


def parse_configuration(text):
    """``name:key=value,...`` -> (name, parameters over the defaults)."""
    name, _, assignments = text.partition(":")
    return name, parse_params(filter(None, assignments.split(",")))


def kmeans_scores(codes, y, seed):
    """(NMI, accuracy) of KMeans on the codes, then on the L2-normalised codes."""
    out = []
    for points in (codes, normalize(codes)):
        row = scores(y, KMeans(10, n_init=10, random_state=seed).fit_predict(points))
        out += [row["nmi"], row["accuracy"]]
    return out


def measure(X, y, params, *, seed, quick, threads):
    extra = {"hidden_layer_sizes": (64,), "max_iter": 10} if quick else {}
    dae = DenoisingAutoencoder(**{**DEFAULT_AUTOENCODER_PARAMS, **params, **extra})
    dae.set_params(random_state=seed, n_threads=threads)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dae.fit(X)
    seconds = time.perf_counter() - start
    return [*kmeans_scores(dae.transform(X), y, seed), dae.loss_curve_[-1], seconds]


def main(argv=None):
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("configurations", nargs="+", help="name:key=value,... (see above)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    set_threads(args.threads)
    run = Run(__file__, argv, threads=args.threads)
    X, y, _ = load_all_rows("digits" if args.quick else "mnist")
    header = ["configuration", "NMI", "accuracy", "NMI (L2)", "accuracy (L2)", "loss", "s"]
    rows = []
    lines = [f"# Pretraining for clustering: {len(X)} rows, seed {args.seed}", ""]
    for text in args.configurations:
        name, params = parse_configuration(text)
        values = measure(X, y, params, seed=args.seed, quick=args.quick, threads=args.threads)
        rows.append([name, *(f"{v:.3f}" for v in values[:4]), f"{values[4]:.5f}"])
        rows[-1].append(f"{values[5]:.0f}")
        print(" | ".join(rows[-1]), flush=True)
    lines += [f"Over `{DEFAULT_AUTOENCODER_PARAMS}`:", ""]
    lines += [f"- {text}" for text in args.configurations] + ["", table(header, rows)]
    return run.finish("\n".join(lines), args.output)


if __name__ == "__main__":
    main()
