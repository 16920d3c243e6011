"""Pretraining budgets for clustering: the start (KMeans on the codes) per minute of CPU.

Deep clustering starts from KMeans on the codes of a pretrained autoencoder, and the
papers' start (0.879 accuracy on all 70,000 MNIST digits for DEC-keras) takes 300 epochs.
This script trains each named pretraining recipe on the first ``--n-samples`` of all the
MNIST digits (the training split first; the clustering protocol fits on every row and
uses the labels only to score) and, after each epoch count of ``--epochs``, clusters the
codes with KMeans (10 clusters, 10 restarts): accuracy (best matching of clusters to
classes), NMI, the training loss and the seconds of pretraining so far.

Configurations are ``label:key=value,...`` over a recipe of
``sk_dae.clustering.PRETRAINING_RECIPES`` (``recipe=dec-keras`` picks it; the default is
``adam``, ``DeepClustering``'s own below 20,000 rows); values are Python literals. A
recipe at a constant learning rate trains once, one epoch per ``partial_fit`` (the same
steps, noise and shuffling as one long fit), and is scored at every epoch count on the
way; a cosine schedule depends on its length, so such a recipe is fitted anew for each
epoch count. The user guide's table
came from (one thread; the file gives the load)::

    python benchmarks/bench_cluster_budget.py --threads 1 --n-samples 10000 \
        --epochs 10,25,50,100,200,300 "DEC-keras:recipe=dec-keras" \
        --output benchmarks/results/cluster_budget_10k.md

Smoke run: ``python benchmarks/bench_cluster_budget.py --quick "DEC-keras:recipe=dec-keras"``.
"""

from __future__ import annotations

import time
import warnings

from _common import Run, base_parser, load_all_rows, set_threads, table
from bench_cluster_pretraining import parse_configuration
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning

from sk_dae._experiment.cluster_report import scores
from sk_dae.clustering import PRETRAINING_RECIPES, make_pretraining_autoencoder


def start_scores(dae, X, y, seed):
    """Accuracy and NMI of KMeans (10 restarts) on the codes of ``X``."""
    labels = KMeans(len(set(y)), n_init=10, random_state=seed).fit_predict(dae.transform(X))
    row = scores(y, labels)
    return row["accuracy"], row["nmi"]


def curve(X, y, params, epochs, *, seed, threads):
    """(epochs, accuracy, NMI, loss, seconds) after each epoch count of ``epochs``."""
    params = {**params, "random_state": seed, "n_threads": threads}
    recipe = params.pop("recipe", "adam")
    cosine = {**PRETRAINING_RECIPES[recipe], **params}.get("learning_rate") == "cosine"
    points = []
    if cosine:
        for n_epochs in epochs:
            dae = make_pretraining_autoencoder(recipe, **{**params, "max_iter": n_epochs})
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                dae.fit(X)
            seconds = time.perf_counter() - start
            points.append((n_epochs, *start_scores(dae, X, y, seed), dae.loss_curve_[-1], seconds))
            print(points[-1], flush=True)
        return points
    dae = make_pretraining_autoencoder(recipe, **params)
    seconds = 0.0
    for n_epochs in range(1, max(epochs) + 1):
        start = time.perf_counter()
        dae.partial_fit(X)
        seconds += time.perf_counter() - start
        if n_epochs in epochs:
            points.append((n_epochs, *start_scores(dae, X, y, seed), dae.loss_curve_[-1], seconds))
            print(points[-1], flush=True)
    return points


def main(argv=None):
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("configurations", nargs="+", help="label:key=value,... (see above)")
    parser.add_argument("--n-samples", type=int, default=None, help="first rows (default: all)")
    parser.add_argument("--epochs", default="10,20,50", help="epoch counts to score at")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds")
    parser.add_argument("--dataset", choices=["mnist", "digits"], default="mnist")
    args = parser.parse_args(argv)
    set_threads(args.threads)
    run = Run(__file__, argv, threads=args.threads)
    X, y, _ = load_all_rows("digits" if args.quick else args.dataset)
    X, y = X[: args.n_samples], y[: args.n_samples]
    epochs = sorted({int(e) for e in args.epochs.split(",")})
    if args.quick:
        epochs = [1, 2]
    seeds = [int(s) for s in args.seeds.split(",")]
    header = ["recipe", "seed", "epochs", "accuracy", "NMI", "loss", "minutes"]
    rows = []
    for text in args.configurations:
        label, params = parse_configuration(text)
        if args.quick:
            params = {**params, "hidden_layer_sizes": (32,)}
        for seed in seeds:
            for point in curve(X, y, params, epochs, seed=seed, threads=args.threads):
                n_epochs, accuracy, nmi, loss, seconds = point
                rows.append(
                    [label, seed, n_epochs, f"{accuracy:.3f}", f"{nmi:.3f}", f"{loss:.5f}"]
                    + [f"{seconds / 60:.1f}"]
                )
    name = "digits" if args.quick else args.dataset
    lines = [f"# Pretraining budgets for clustering: {len(X)} {name} rows", ""]
    lines += ["Recipes (over `sk_dae.clustering.PRETRAINING_RECIPES`):", ""]
    lines += [f"- {text}" for text in args.configurations] + ["", table(header, rows)]
    return run.finish("\n".join(lines), args.output)


if __name__ == "__main__":
    main()
