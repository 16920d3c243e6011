"""Deep clustering: KMeans on pixels, on PCA codes and on pretrained autoencoder codes,
against ``DeepClustering`` (DEC and IDEC), optionally with the manifold (UMAP) start.

The protocol of the deep clustering papers: every model is fitted on all the rows (on
MNIST the 60,000 training and 10,000 test digits together) and clusters them; the labels
are used only to score (NMI, ARI, and accuracy under the best matching of clusters to
classes). The test-split columns score the same clustering on the test split's rows
alone.

The experiment is the package's (:mod:`sk_dae._experiment.cluster_report`, also run by
``sk-dae cluster``); this script keeps the benchmarks' command line and output file. One
autoencoder is pretrained per seed (``DeepClustering``'s default autoencoder, or a
(64,)-10 one in ``--quick`` mode) and shared through ``prefit=True``: "KMeans on the
pretrained codes" is ``DeepClustering(max_iter=0)``, and the IDEC row is exactly
``DeepClustering(n_clusters=10, random_state=seed).fit(X)`` with every default. The
seconds of the autoencoder rows include the pretraining.

Full run on MNIST, one seed file each (the user guide's table of the defaults;
``--no-baselines`` leaves out KMeans on the pixels and on PCA, 7 minutes of the run on a
busy machine)::

    python benchmarks/bench_deep_clustering.py --verbose --no-baselines --threads 1 \
        --seeds 0 --output benchmarks/results/deep_clustering_mnist_defaults_seed0.md

The same with Adam's pretraining, the default on all of MNIST before DEC-keras's SGD
(``deep_clustering_mnist.md``)::

    python benchmarks/bench_deep_clustering.py --verbose --no-baselines --pretraining adam \
        --output benchmarks/results/deep_clustering_mnist.md

Digits, seeds 0 to 4, with the UMAP start::

    python benchmarks/bench_deep_clustering.py --dataset digits --seeds 0 1 2 3 4 \
        --manifold --threads 1 --output benchmarks/results/deep_clustering_digits.md

The UMAP start on MNIST alone (pretraining, KMeans on the codes, UMAP and KMeans, IDEC
from there)::

    python benchmarks/bench_deep_clustering.py --verbose --no-baselines --pretraining adam \
        --manifold-only --output benchmarks/results/deep_clustering_mnist_umap.md

DEC-keras's faithful pretraining (300 epochs of SGD) in mixed precision, on two threads::

    python benchmarks/bench_deep_clustering.py --verbose --no-baselines --threads 2 \
        --pretraining dec-keras --precision bfloat16 \
        --output benchmarks/results/deep_clustering_mnist_deckeras_bf16.md

Seeds 1 to 4 with the manifold rows, one thread each, two side by side (48 to 90
minutes, by the load)::

    python benchmarks/bench_deep_clustering.py --verbose --no-baselines --threads 1 \
        --pretraining dec-keras --precision bfloat16 --manifold --seeds 1 \
        --output benchmarks/results/deep_clustering_mnist_deckeras_bf16_seed1.md

DEC-DA's recipe without its extra 200 epochs: the same pretraining and fine-tuning on
randomly shifted, rotated and scaled digits, seeds side by side on one thread each::

    python benchmarks/bench_deep_clustering.py --verbose --no-baselines --threads 1 \
        --pretraining dec-keras --precision bfloat16 --augment affine --seeds 0 \
        --output benchmarks/results/deep_clustering_mnist_deckeras_bf16_affine_seed0.md

Smoke run: ``python benchmarks/bench_deep_clustering.py --quick``.
"""

from __future__ import annotations

from _common import MNIST, Run, base_parser, load_all_rows, set_threads

from sk_dae import DenoisingAutoencoder
from sk_dae._core.training import PRECISIONS
from sk_dae._experiment.cluster_report import cluster_report, markdown
from sk_dae.clustering import PRETRAINING_RECIPES, make_pretraining_autoencoder

QUICK_AUTOENCODER = dict(n_components=10, hidden_layer_sizes=(64,), max_iter=30, batch_size=64)


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
    parser.add_argument(
        "--pretraining",
        choices=sorted(["default", *PRETRAINING_RECIPES]),
        default="default",
        help="the autoencoder's recipe (sk_dae.clustering.make_pretraining_autoencoder)",
    )
    parser.add_argument("--precision", choices=list(PRECISIONS), help="the autoencoder's precision")
    parser.add_argument("--epochs", type=int, help="pretraining epochs (default: the recipe's)")
    parser.add_argument(
        "--augment",
        choices=("shift", "affine"),
        help="DEC-DA: random moves of the images in pretraining and fine-tuning",
    )
    args = parser.parse_args(argv)
    if args.quick or not MNIST.exists():
        args.dataset = "digits"
    verbose = {"verbose": 1} if args.verbose else {}
    precision = {} if args.precision is None else {"precision": args.precision}
    # DEC-DA augments both phases; DeepClustering keeps the autoencoder's own augment.
    pretraining = {"augment": args.augment} if args.augment else {}
    if args.epochs is not None:
        pretraining["max_iter"] = args.epochs
    clustering = {"augment": args.augment} if args.augment else {}
    set_threads(args.threads)  # as before: the estimators keep their own thread policy
    run = Run(__file__, argv, threads=args.threads)
    X, y, n_train = load_all_rows(args.dataset)
    report = cluster_report(
        X,
        y,
        n_train=n_train,
        n_clusters=10,
        seeds=args.seeds,
        autoencoder=DenoisingAutoencoder(**QUICK_AUTOENCODER)
        if args.quick
        else make_pretraining_autoencoder(args.pretraining, X=X, n_samples=len(X)),
        autoencoder_params={**verbose, **precision, **pretraining},
        clustering_params={**verbose, **clustering},
        manifold="only" if args.manifold_only else args.manifold,
        baselines=not args.no_baselines,
        dataset=args.dataset,
        log=lambda line: print("  " + line, flush=True),
    )
    title = f"Deep clustering: all {len(X)} {args.dataset} rows"
    text = run.finish(markdown(report, title=title), args.output)
    print(text)
    return text


if __name__ == "__main__":
    main()
