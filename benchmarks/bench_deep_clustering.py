"""Deep clustering: KMeans on pixels, on PCA codes and on pretrained autoencoder codes,
against ``DeepClustering`` (DEC and IDEC), optionally with the manifold (UMAP) start.

The protocol of the deep clustering papers: every model is fitted on all the rows (on
MNIST the 60,000 training and 10,000 test digits together) and clusters them; the labels
are used only to score (NMI, ARI, and accuracy under the best matching of clusters to
classes). The test-split columns score the same clustering on the test split's rows
alone.

One autoencoder is pretrained per seed (``DeepClustering``'s default autoencoder, or a
(64,)-10 one in ``--quick`` mode) and shared through ``prefit=True``: "KMeans on the
pretrained codes" is ``DeepClustering(max_iter=0)``, and the IDEC row is exactly
``DeepClustering(n_clusters=10, random_state=seed).fit(X)`` with every default. The
seconds of the autoencoder rows include the pretraining.

Full run on MNIST (the user guide's table; ``--no-baselines`` leaves out KMeans on the
pixels and on PCA, 7 minutes of the run on a busy machine)::

    python benchmarks/bench_deep_clustering.py --verbose --no-baselines \
        --output benchmarks/results/deep_clustering_mnist.md

Digits, seeds 0 to 4, with the UMAP start::

    python benchmarks/bench_deep_clustering.py --dataset digits --seeds 0 1 2 3 4 \
        --manifold --output benchmarks/results/deep_clustering_digits.md

The UMAP start on MNIST alone (pretraining, KMeans on the codes, UMAP and KMeans, IDEC
from there)::

    python benchmarks/bench_deep_clustering.py --verbose --no-baselines --manifold-only \
        --output benchmarks/results/deep_clustering_mnist_umap.md

Smoke run: ``python benchmarks/bench_deep_clustering.py --quick``.
"""

from __future__ import annotations

import statistics
import time
import warnings

import numpy as np
from _common import MNIST, base_parser, machine_line, set_threads, table, write_output
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from sk_dae import DeepClustering, DenoisingAutoencoder
from sk_dae._deep_clustering import DEFAULT_AUTOENCODER_PARAMS
from sk_dae.datasets import load_digits, load_mnist
from sk_dae.metrics import clustering_accuracy

QUICK_AUTOENCODER = dict(n_components=10, hidden_layer_sizes=(64,), max_iter=30, batch_size=64)


def load(dataset):
    """All rows and labels, and how many of the first rows are the training split."""
    data = load_mnist(MNIST, download=False) if dataset == "mnist" else load_digits()
    X = np.concatenate([data.X_train, data.X_test])
    y = np.concatenate([data.y_train, data.y_test])
    return X, y, len(data.X_train)


def scores(y, labels, n_train):
    """(NMI, ARI, accuracy) on all rows, then accuracy and NMI on the test rows."""
    test = slice(n_train, None)
    return (
        normalized_mutual_info_score(y, labels),
        adjusted_rand_score(y, labels),
        clustering_accuracy(y, labels),
        clustering_accuracy(y[test], labels[test]),
        normalized_mutual_info_score(y[test], labels[test]),
    )


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def run_seed(X, y, n_train, *, seed, autoencoder, manifold, baselines, verbose, log):
    """method -> (scores..., seconds) for one seed."""
    rows = {}

    def record(name, labels, seconds):
        rows[name] = (*scores(y, labels, n_train), seconds)
        nmi, ari, acc = rows[name][:3]
        log(f"  seed {seed} {name}: NMI {nmi:.3f} ARI {ari:.3f} acc {acc:.3f} ({seconds:.0f} s)")

    if baselines:
        kmeans = KMeans(10, n_init=10, random_state=seed)
        labels, seconds = timed(lambda: clone(kmeans).fit_predict(X))
        record("KMeans on pixels", labels, seconds)
        pca = PCA(10, random_state=seed)
        labels, seconds = timed(lambda: clone(kmeans).fit_predict(pca.fit_transform(X)))
        record("KMeans on PCA-10", labels, seconds)
    dae = clone(autoencoder).set_params(random_state=seed, verbose=verbose)
    dae, pretrain = timed(lambda: dae.fit(X))
    log(f"  seed {seed} pretraining: {pretrain:.0f} s")

    def deep(**params):
        model = DeepClustering(10, autoencoder=dae, prefit=True, random_state=seed, **params)
        model, seconds = timed(lambda: model.fit(X))
        return model, pretrain + seconds

    model, seconds = deep(max_iter=0)
    record("pretrained codes, KMeans", model.labels_, seconds)
    if manifold != "only":
        model, seconds = deep(verbose=verbose)
        record("IDEC (the defaults)", model.labels_, seconds)
        model, seconds = deep(method="dec", verbose=verbose)
        record("DEC", model.labels_, seconds)
    if manifold:
        model, seconds = deep(manifold="umap", verbose=verbose)
        record("codes, UMAP, KMeans (N2D start)", model.initial_labels_, seconds)
        record("IDEC from the UMAP start", model.labels_, seconds)
    return rows


def summarise(per_seed):
    """Table rows: the median of every column over seeds, with the range if several."""
    rows = []
    for name in per_seed[0]:
        cells = []
        for i in range(6):
            values = [r[name][i] for r in per_seed]
            fmt = "{:.0f}" if i == 5 else "{:.3f}"
            cell = fmt.format(statistics.median(values))
            if len(values) > 1 and i < 5:
                cell += f" ({min(values):.3f}-{max(values):.3f})"
            cells.append(cell)
        rows.append((name, *cells))
    return rows


def main(argv=None):
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=("mnist", "digits"), default="mnist")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--manifold", action="store_true", help="add the UMAP start")
    parser.add_argument(
        "--manifold-only", action="store_true", help="the UMAP start without IDEC and DEC"
    )
    parser.add_argument("--verbose", action="store_true", help="report every epoch")
    parser.add_argument(
        "--no-baselines", action="store_true", help="leave out KMeans on pixels and on PCA"
    )
    args = parser.parse_args(argv)
    if args.quick or not MNIST.exists():
        args.dataset = "digits"
    autoencoder = DenoisingAutoencoder(
        **(QUICK_AUTOENCODER if args.quick else DEFAULT_AUTOENCODER_PARAMS)
    )
    set_threads(args.threads)
    warnings.filterwarnings("ignore", message="Stopped at max_iter")
    warnings.filterwarnings("ignore", message="Fine-tuning stopped at max_iter")
    X, y, n_train = load(args.dataset)
    header = machine_line()
    start = time.perf_counter()
    per_seed = [
        run_seed(
            X,
            y,
            n_train,
            seed=seed,
            autoencoder=autoencoder,
            manifold="only" if args.manifold_only else args.manifold,
            baselines=not args.no_baselines,
            verbose=int(args.verbose),
            log=lambda line: print(line, flush=True),
        )
        for seed in args.seeds
    ]
    seeds = ", ".join(map(str, args.seeds))
    lines = [
        f"# Deep clustering: all {len(X)} {args.dataset} rows ({n_train} train + "
        f"{len(X) - n_train} test), 10 clusters, seeds {seeds}",
        "",
        header + f"; total {time.perf_counter() - start:.0f} s",
        "",
        f"Autoencoder: {autoencoder!r}",
        "",
        "Medians over the seeds (range in brackets). Test columns: the same clustering "
        "scored on the test split's rows. Seconds include the pretraining for the "
        "autoencoder rows.",
        "",
        table(
            ("method", "NMI", "ARI", "accuracy", "test accuracy", "test NMI", "fit (s)"),
            summarise(per_seed),
        ),
    ]
    text = "\n".join(lines)
    print(text)
    write_output(text, args.output)
    return text


if __name__ == "__main__":
    main()
