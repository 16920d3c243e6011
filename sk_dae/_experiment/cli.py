"""Command line: ``python -m sk_dae compare ...``, also installed as ``sk-dae``.

``sk-dae cluster`` runs the deep clustering report of :mod:`sk_dae._experiment.cluster_report`
(KMeans on pixels, PCA and pretrained codes, DEC, IDEC, the UMAP start) and writes it as
markdown and JSON to ``--output``.

``sk-dae compare`` fits a DenoisingAutoencoder and a PCA per latent width, prints a
markdown table of reconstruction, denoising, clustering and linear-probe scores on the
test split, and writes it as CSV, JSON and markdown with figures to ``--output``. It runs
:func:`sk_dae._experiment.compare.compare` on the settings of a preset
(:mod:`sk_dae._experiment.presets`), so the command line and the API train the same models
for the same preset; any option given explicitly overrides the preset.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from .._core.noise import NOISE_KINDS
from .._core.training import PRECISIONS
from .._version import __version__
from ..clustering import PRETRAINING_RECIPES, make_pretraining_autoencoder
from .cluster_report import cluster_report, write_cluster_results
from .compare import EMBEDDING_METHODS, EVAL_NOISE, compare
from .presets import PRESETS
from .report import losses_to_pca, markdown_table, write_results

DESCRIPTION = """\
Compare a DenoisingAutoencoder with PCA at several latent widths: clean reconstruction
error, PSNR of denoised test images, KMeans on the codes (NMI, ARI, accuracy) and a
linear probe on the codes. Results go to --output as results.md, results.csv and
results.json, with figures.

Presets (any option given explicitly overrides them):
  digits         sklearn's 8x8 digits; the defaults ((128,) encoder, cosine schedule,
                 200 epochs) with Gaussian noise 0.3
  mnist          MNIST; the defaults ((512, 256) encoder, cosine schedule, 22 epochs)
                 with Gaussian noise 0.3, 10% of the training split held out for the
                 validation curve
  mnist-quality  MNIST, width 32; the reconstruction recipe: the default (512, 256)
                 encoder, Gaussian noise 0.1, 40 epochs
  mnist-cluster  all 70,000 MNIST digits (--fit-on all), width 10, a (500, 500, 2000)
                 encoder, masking noise 0.2, max_iter="clustering" (20 epochs of all
                 the digits, more on fewer), then KMeans on the codes and on
                 normalized, standardized and UMAP-embedded codes (about 13 minutes)
"""

CLUSTER_DESCRIPTION = """\
Deep clustering, step by step: on every seed, cluster all the rows (train and test
splits together; the labels only score) with KMeans on the raw features, on PCA codes
and on the codes of a pretrained autoencoder (DeepClustering's default one, or as the
options say), then DeepClustering's fine-tuning (IDEC, its default, and DEC) and the
manifold start (UMAP on the codes, then KMeans, and IDEC from there; needs umap-learn).
Every row is scored by NMI, ARI and accuracy (best matching of clusters to classes) on
all rows and on the test split's rows, with its fit time (pretraining included for the
autoencoder rows). Writes results.md and results.json to --output.

The defaults pretrain DeepClustering's default autoencoder (a (500, 500, 2000)
encoder) and fine-tune it twice (IDEC, DEC): minutes per seed on the digits; on all
70,000 MNIST digits pretraining and IDEC alone took 18 minutes on 2 idle cores, and
DEC and the UMAP rows add their own fine-tuning. For a quick look:
  sk-dae cluster --max-samples 500 --epochs 5 --max-iter 2 --hidden 64 --n-init 1
"""

#: Command-line options that set DenoisingAutoencoder parameters of the preset.
_DAE_OPTIONS = (
    "hidden_layer_sizes",
    "activation",
    "noise",
    "noise_level",
    "max_iter",
    "batch_size",
    "learning_rate_init",
    "loss",
    "batch_norm",
    "n_threads",
)

#: Command-line options that set fields of sk_dae._experiment.compare.Settings.
_SETTINGS_OPTIONS = (
    "widths",
    "validation_fraction",
    "eval_noise",
    "n_init",
    "embeddings",
    "fit_on",
)


def _eval_noise(text):
    kind, sep, level = text.partition("=")
    if not sep or kind not in NOISE_KINDS:
        raise argparse.ArgumentTypeError(
            f"expected KIND=LEVEL with KIND in {NOISE_KINDS}; got {text!r}"
        )
    try:
        return kind, float(level)
    except ValueError:
        raise argparse.ArgumentTypeError(f"level must be a number; got {level!r}") from None


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text}")
    return value


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults shown after each option's help, unless the help states its own (a
    ``(default: ...)`` that says what None means); the description's line breaks kept."""

    def _get_help_string(self, action):
        if "(default:" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def build_parser():
    """The argument parser of ``sk-dae``."""
    parser = argparse.ArgumentParser(
        prog="sk-dae", description="Denoising autoencoders the scikit-learn way."
    )
    parser.add_argument("--version", action="version", version=f"sk-dae {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser(
        "compare",
        help="compare a DenoisingAutoencoder with PCA: reconstruction, denoising, "
        "KMeans on the codes, linear probe",
        description=DESCRIPTION,
        formatter_class=_HelpFormatter,
        # None means "the preset's": the formatter shows no default for those.
        argument_default=None,
    )
    _add_data_options(p)
    _add_model_options(p)
    _add_scoring_options(p)
    _add_output_options(p)
    _add_cluster_parser(commands)
    return parser


def _non_negative_int(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer; got {text}")
    return value


def _add_cluster_parser(commands):
    p = commands.add_parser(
        "cluster",
        help="deep clustering report: KMeans on pixels, PCA and autoencoder codes, DEC, "
        "IDEC, the UMAP start",
        description=CLUSTER_DESCRIPTION,
        formatter_class=_HelpFormatter,
    )
    default = " (default: DeepClustering's)"
    p.add_argument(
        "--dataset",
        default="digits",
        help="'digits', 'mnist' (all 70,000 digits, found as sk_dae.datasets.load_mnist "
        "does) or a path to an .npz file with X_train, y_train, X_test, y_test",
    )
    p.add_argument("--mnist-path", help="MNIST .npz file (default: $SK_DAE_MNIST or the cache)")
    p.add_argument(
        "--max-samples",
        type=_positive_int,
        help="cluster only the first rows of each split, this many in all, the splits in "
        "proportion (default: all rows)",
    )
    p.add_argument("--n-clusters", type=_positive_int, help="(default: the number of classes)")
    p.add_argument(
        "--seeds", type=_non_negative_int, nargs="+", default=[0], help="one run per seed"
    )
    _add_recipe_options(p)
    p.add_argument(
        "--hidden", type=_positive_int, nargs="*", help="encoder hidden layer sizes" + default
    )
    p.add_argument("--n-components", type=_positive_int, help="code width" + default)
    p.add_argument("--batch-size", type=_positive_int, help="pretraining batch size" + default)
    p.add_argument(
        "--max-iter", type=_non_negative_int, help="fine-tuning passes of DEC and IDEC" + default
    )
    p.add_argument("--n-init", type=_positive_int, default=10, help="KMeans restarts")
    p.add_argument("--no-baselines", action="store_true", help="no KMeans on pixels and PCA")
    manifold = p.add_mutually_exclusive_group()
    manifold.add_argument("--no-manifold", action="store_true", help="no UMAP rows")
    manifold.add_argument(
        "--manifold-only", action="store_true", help="the UMAP start without IDEC and DEC"
    )
    p.add_argument("--threads", type=_positive_int, help="torch, BLAS and OpenMP threads")
    p.add_argument("--verbose", action="store_true", help="report every epoch")
    p.add_argument("--quiet", action="store_true", help="no line per finished row")
    p.add_argument("--output", default="results/cluster", help="output folder")


def _add_recipe_options(p):
    """The pretraining recipe and DEC-DA's augmentation of ``sk-dae cluster``."""
    p.add_argument(
        "--pretraining",
        choices=sorted(["default", *PRETRAINING_RECIPES]),
        default="default",
        help="the autoencoder's recipe (sk_dae.clustering.make_pretraining_autoencoder): "
        "DeepClustering's default (DEC-keras's SGD cut to 150 epochs on images of 20,000 "
        "rows and more, else Adam), Adam's, or DEC-keras's 300 epochs of SGD (hours on a "
        "CPU for all of MNIST)",
    )
    p.add_argument(
        "--epochs", type=_positive_int, help="pretraining epochs (default: the recipe's)"
    )
    p.add_argument(
        "--augment",
        choices=["shift", "affine"],
        help="DEC-DA: random moves of the images in pretraining and fine-tuning (rows must "
        "be square images or the autoencoder's image_shape)",
    )
    p.add_argument(
        "--precision",
        choices=list(PRECISIONS),
        help="the autoencoder's training arithmetic, in pretraining and fine-tuning "
        "(default: the recipe's, float32); bfloat16 about halves the time on CPUs with "
        "AVX512-BF16 and on GPUs, and is ten times slower on CPUs without AVX-512",
    )


def _add_data_options(p):
    p.add_argument(
        "--preset", choices=sorted(PRESETS), default="digits", help="data set and budget"
    )
    p.add_argument(
        "--dataset",
        help="'digits', 'mnist' (found as sk_dae.datasets.load_mnist does) or a path to "
        "an .npz file with X_train, X_test and optional y_train, y_test (default: the "
        "preset's)",
    )
    p.add_argument("--mnist-path", help="MNIST .npz file (default: $SK_DAE_MNIST or the cache)")


def _add_model_options(p):
    preset = " (default: the preset's)"
    p.add_argument(
        "--widths", type=_positive_int, nargs="+", help="latent widths to compare" + preset
    )
    p.add_argument(
        "--hidden",
        dest="hidden_layer_sizes",
        type=_positive_int,
        nargs="*",
        help="encoder hidden layer sizes, mirrored by the decoder (none: a shallow net)" + preset,
    )
    p.add_argument("--activation", help="hidden activation" + preset)
    p.add_argument("--noise", choices=NOISE_KINDS, help="training corruption" + preset)
    p.add_argument("--noise-level", type=float, help="training corruption level" + preset)
    p.add_argument("--epochs", dest="max_iter", type=_positive_int, help="epochs" + preset)
    p.add_argument("--batch-size", type=_positive_int, help="mini-batch size" + preset)
    p.add_argument("--lr", dest="learning_rate_init", type=float, help="learning rate" + preset)
    p.add_argument("--loss", choices=("mse", "bce"), help="reconstruction loss" + preset)
    p.add_argument("--batch-norm", action="store_true", default=None, help="batch norm")
    p.add_argument(
        "--validation-fraction",
        type=float,
        help="hold out this fraction of the fitted rows for the validation curve and keep "
        "the best epoch (0: fit on all of them)" + preset,
    )
    p.add_argument("--threads", dest="n_threads", type=_positive_int, help="torch threads")
    p.add_argument("--seed", type=int, default=0, help="random seed")


def _add_scoring_options(p):
    p.add_argument(
        "--eval-noise",
        type=_eval_noise,
        nargs="+",
        metavar="KIND=LEVEL",
        help="corruptions of the test images to undo (default: "
        + " ".join(f"{k}={v}" for k, v in EVAL_NOISE.items())
        + ")",
    )
    p.add_argument("--n-init", type=_positive_int, default=10, help="KMeans restarts")
    p.add_argument(
        "--embeddings",
        nargs="*",
        choices=sorted(EMBEDDING_METHODS),
        help="steps between the DAE codes and KMeans, one more row each (default: "
        "standardize, normalize, and umap when umap-learn is installed; none given: no "
        "such rows)",
    )
    p.add_argument("--umap-neighbors", type=_positive_int, help="n_neighbors of the UMAP step")
    p.add_argument(
        "--fit-on",
        choices=("train", "all"),
        help="fit on the training split and cluster the test split (train), or fit on and "
        "cluster both splits together (all; labels are never used to fit) (default: the "
        "preset's)",
    )


def _add_output_options(p):
    p.add_argument("--output", default="results/compare", help="output folder")
    p.add_argument("--no-figures", action="store_true", help="write the tables only")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def settings_from_args(args):
    """The dataset name and the arguments of ``compare`` (preset and overrides) that
    ``args`` ask for."""
    preset = PRESETS[args.preset]
    dae_params = dict(preset["dae_params"])
    for name in _DAE_OPTIONS:
        value = getattr(args, name, None)
        if value is not None:
            dae_params[name] = tuple(value) if name == "hidden_layer_sizes" else value
    options = {"preset": args.preset, "dae_params": dae_params, "random_state": args.seed}
    for name in _SETTINGS_OPTIONS:
        value = getattr(args, name, None)
        if value is not None:
            options[name] = value
    if "eval_noise" in options:
        options["eval_noise"] = dict(options["eval_noise"])
    if getattr(args, "umap_neighbors", None) is not None:
        options["umap_params"] = {"n_neighbors": args.umap_neighbors}
    return args.dataset or preset["dataset"], options


def load_dataset(name, mnist_path=None):
    """The data set that ``--dataset`` names."""
    from .. import datasets

    if name == "digits":
        return datasets.load_digits()
    if name == "mnist":
        return datasets.load_mnist(mnist_path)
    if name.endswith(".npz") or Path(name).is_file():
        return datasets.load_npz(name)
    raise ValueError(f"unknown dataset {name!r}: use 'digits', 'mnist' or an .npz path.")


def run_compare(args):
    dataset, options = settings_from_args(args)
    data = load_dataset(dataset, args.mnist_path)
    start = time.perf_counter()
    result = compare(data, progress=not args.quiet, **options)
    result.settings["wall_s"] = round(time.perf_counter() - start, 1)
    result.settings["command"] = "sk-dae " + " ".join(sys.argv[1:])
    written = write_results(result, args.output, figures=not args.no_figures)
    print(markdown_table(result.rows))
    for line in losses_to_pca(result.rows, n_train=len(data.X_train)):
        print("\n" + line)
    print(
        f"\n{data.get('name', dataset)}: {len(data.X_train)} train / {len(data.X_test)} test "
        f"rows, {result.settings['wall_s']} s"
    )
    print("wrote " + ", ".join(str(p) for p in written))
    return result


def _cluster_data(args):
    """All rows, their classes and the number of training rows (the first ones)."""
    data = load_dataset(args.dataset, args.mnist_path)
    if data.get("y_train") is None or data.get("y_test") is None:
        raise ValueError(f"{args.dataset!r} has no labels (y_train, y_test) to score with.")
    splits = [(data.X_train, data.y_train), (data.X_test, data.y_test)]
    if args.max_samples is not None:
        n_train = round(args.max_samples * len(data.X_train) / sum(len(X) for X, _ in splits))
        n_train = min(max(n_train, 1), len(data.X_train), args.max_samples)
        sizes = (n_train, args.max_samples - n_train)
        splits = [(X[:n], y[:n]) for (X, y), n in zip(splits, sizes)]
    X = np.concatenate([X for X, _ in splits])
    y = np.concatenate([y for _, y in splits])
    return X, y, len(splits[0][0]), data.get("name", args.dataset)


def run_cluster(args):
    X, y, n_train, name = _cluster_data(args)
    options = {
        "max_iter": args.epochs,
        "hidden_layer_sizes": None if args.hidden is None else tuple(args.hidden),
        "n_components": args.n_components,
        "batch_size": args.batch_size,
        "verbose": int(args.verbose) or None,
        "augment": args.augment,
        "precision": args.precision,
    }
    clustering_params = {"max_iter": args.max_iter, "augment": args.augment}
    report = cluster_report(
        X,
        y,
        n_train=n_train,
        n_clusters=args.n_clusters,
        seeds=args.seeds,
        autoencoder=make_pretraining_autoencoder(args.pretraining, X=X, n_samples=len(X)),
        autoencoder_params={k: v for k, v in options.items() if v is not None},
        clustering_params={k: v for k, v in clustering_params.items() if v is not None},
        n_init=args.n_init,
        manifold="only" if args.manifold_only else not args.no_manifold,
        baselines=not args.no_baselines,
        n_threads=args.threads,
        dataset=name,
        log=None if args.quiet else (lambda line: print(line, flush=True)),
    )
    report.settings["command"] = "sk-dae " + " ".join(sys.argv[1:])
    written = write_cluster_results(report, args.output)
    print(written[0].read_text(), end="")
    print("wrote " + ", ".join(str(p) for p in written))
    return report


def main(argv=None):
    """Entry point of ``sk-dae`` and ``python -m sk_dae``.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments; None reads ``sys.argv``.

    Returns
    -------
    status : int
        0 on success; errors in the input exit with status 2 and a message.

    Examples
    --------
    A tiny comparison on the digits (a few seconds):

    >>> import tempfile
    >>> from sk_dae._experiment.cli import main
    >>> main(["compare", "--widths", "2", "--epochs", "2", "--n-init", "1", "--quiet",
    ...       "--embeddings", "normalize", "--no-figures",
    ...       "--output", tempfile.mkdtemp()])  # doctest: +ELLIPSIS
    | method | width | clean MSE | ...
    ...
    | DAE | 2 | ...
    ...
    0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "compare":
            run_compare(args)
        elif args.command == "cluster":
            run_cluster(args)
    except (ValueError, ImportError, OSError) as exc:
        parser.exit(2, f"sk-dae: error: {exc}\n")
    return 0
