"""The start of deep clustering: KMeans on the codes as they are, or on the codes scaled
to unit length (``DeepClustering(manifold="normalize")``), and IDEC from each start.

One ``DeepClustering`` default autoencoder is pretrained per seed on all the rows (the
deep clustering protocol; on MNIST the 70,000 digits) and shared through
``prefit=True``; every start is scored before fine-tuning (``max_iter=0``) and after the
default IDEC fine-tuning. Columns: NMI, ARI and accuracy (best matching of clusters to
classes), and seconds (pretraining excluded; it is printed in the title).

The user guide's table::

    python benchmarks/bench_cluster_start.py --threads 2 \
        --output benchmarks/results/cluster_start_mnist.md

Further seeds of the default start alone, one process a seed (the guide's seeds 0 to 4;
their files are in git history, see ``benchmarks/README.md``)::

    python benchmarks/bench_cluster_start.py --threads 1 --plain-only --seeds 1

Smoke run: ``python benchmarks/bench_cluster_start.py --quick``.
"""

from __future__ import annotations

import time
import warnings

from _common import Run, base_parser, load_all_rows, set_threads, table
from sklearn.exceptions import ConvergenceWarning

from sk_dae import DeepClustering, DenoisingAutoencoder
from sk_dae._experiment.cluster_report import scores
from sk_dae.clustering._deep_clustering import DEFAULT_AUTOENCODER_PARAMS

QUICK = {"hidden_layer_sizes": (64,), "max_iter": 30, "batch_size": 64}
DEFAULT_MAX_ITER = DeepClustering().max_iter
STARTS = {"KMeans on the codes": None, "KMeans on the unit-length codes": "normalize"}


def run_seed(X, y, seed, *, quick, threads, starts=tuple(STARTS)):
    """(pretraining seconds, table rows) of one seed."""
    params = {**DEFAULT_AUTOENCODER_PARAMS, **(QUICK if quick else {})}
    dae = DenoisingAutoencoder(**params).set_params(random_state=seed, n_threads=threads)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dae.fit(X)
    pretraining = time.perf_counter() - start
    rows = []
    for name in starts:
        manifold = STARTS[name]
        for label, max_iter in (("start", 0), ("IDEC", DEFAULT_MAX_ITER)):
            model = DeepClustering(
                10, autoencoder=dae, prefit=True, manifold=manifold, max_iter=max_iter
            ).set_params(random_state=seed, n_threads=threads)
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(X)
            seconds = time.perf_counter() - start
            row = scores(y, model.labels_)
            values = (row["nmi"], row["ari"], row["accuracy"])
            rows.append([f"{name}, {label}", seed, *(f"{v:.3f}" for v in values)])
            rows[-1].append(f"{seconds:.0f}")
            print(" | ".join(map(str, rows[-1])), flush=True)
    return pretraining, rows


def main(argv=None):
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=("mnist", "digits"), default="mnist")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument(
        "--plain-only", action="store_true", help="only the default start (KMeans on the codes)"
    )
    args = parser.parse_args(argv)
    set_threads(args.threads)
    run = Run(__file__, argv, threads=args.threads)
    X, y, _ = load_all_rows("digits" if args.quick else args.dataset)
    lines = [f"# The start of deep clustering: {len(X)} {args.dataset} rows", ""]
    rows = []
    for seed in args.seeds:
        starts = list(STARTS)[:1] if args.plain_only else list(STARTS)
        pretraining, seed_rows = run_seed(
            X, y, seed, quick=args.quick, threads=args.threads, starts=starts
        )
        lines.append(f"- seed {seed}: pretraining {pretraining:.0f} s")
        rows += seed_rows
    header = ["start, then", "seed", "NMI", "ARI", "accuracy", "s"]
    lines += ["", table(header, rows)]
    text = run.finish("\n".join(lines), args.output)
    print(text)
    return text


if __name__ == "__main__":
    main()
