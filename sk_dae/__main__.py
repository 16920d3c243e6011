"""Command line: ``python -m sk_dae compare ...``, also installed as ``sk-dae``.

``sk-dae compare`` fits a DenoisingAutoencoder and a PCA per latent width, prints a
markdown table of reconstruction, denoising, clustering and linear-probe scores on the
test split, and writes it as CSV, JSON and markdown with figures to ``--output``.
``--preset mnist`` selects MNIST with the documented training budget; any option given
explicitly overrides the preset.

The MNIST budget (``--preset mnist``): widths 2, 10 and 32, a (512, 256) encoder with a
mirrored decoder, Gaussian training noise of std 0.3, 20 epochs of batches of 128 rows on
54,000 training images (6,000 held out for the validation curve), Adam at 1e-3. That is
60 epochs of a 784-512-256-w network in all, then the clustering rows: about 11 minutes on
2 idle cores (measured: 11 min 19 s, all three widths). Raise ``--epochs``
and widen ``--hidden`` (e.g. ``--hidden 500 500 2000``) for better scores at a
proportional cost.

The MNIST clustering budget (``--preset mnist-cluster``): all 70,000 digits (``--fit-on
all``: models are fitted on, and clusterings scored on, the training and test splits
together, the deep clustering protocol), width 10, the encoder of
sk_dae.clustering.CLUSTERING_DAE_PARAMS ((500, 500, 2000), masking noise 0.2,
20 epochs of batches of 256, Adam at 1e-3), then KMeans on the codes, on standardized
and on L2-normalized codes, and on a UMAP embedding of the codes (when umap-learn is
installed): about 13 minutes on 2 idle cores, of which the pipeline (DAE fit, UMAP,
KMeans) takes about 11.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ._compare import (
    DIGITS_DAE_PARAMS,
    EMBEDDING_METHODS,
    EVAL_NOISE,
    compare,
    markdown_table,
    write_results,
)
from ._noise import NOISE_KINDS
from .clustering import CLUSTERING_DAE_PARAMS

#: The documented MNIST budget: ``sk-dae compare --preset mnist``.
PRESETS = {
    "digits": {"dataset": "digits", "widths": [2, 10, 32], **DIGITS_DAE_PARAMS},
    "mnist": {
        "dataset": "mnist",
        "widths": [2, 10, 32],
        "hidden_layer_sizes": (512, 256),
        "noise": "gaussian",
        "noise_level": 0.3,
        "max_iter": 20,
        "batch_size": 128,
        "learning_rate_init": 1e-3,
    },
    "mnist-cluster": {
        "dataset": "mnist",
        "widths": [10],
        "fit_on": "all",
        **CLUSTERING_DAE_PARAMS,
        "validation_fraction": 0.0,
    },
}

#: Options of ``compare`` itself (not of the DAE) that a preset may set.
_COMPARE_OPTIONS = ("fit_on", "embeddings")

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
    "early_stopping",
    "validation_fraction",
    "n_threads",
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


def build_parser():
    """The argument parser of ``sk-dae``."""
    parser = argparse.ArgumentParser(
        prog="sk-dae", description="Denoising autoencoders the scikit-learn way."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser(
        "compare",
        help="compare a DenoisingAutoencoder with PCA: reconstruction, denoising, "
        "KMeans on the codes, linear probe",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="digits",
        help="dataset and training budget to start from (default: digits; mnist is the "
        "documented MNIST budget)",
    )
    p.add_argument(
        "--dataset",
        help="'digits', 'mnist' (found as sk_dae.datasets.load_mnist does) or a path to "
        "an .npz file with X_train, X_test and optional y_train, y_test",
    )
    p.add_argument("--mnist-path", help="MNIST .npz file (else $SK_DAE_MNIST or the cache)")
    p.add_argument("--widths", type=_positive_int, nargs="+", help="latent widths to compare")
    p.add_argument(
        "--hidden",
        dest="hidden_layer_sizes",
        type=_positive_int,
        nargs="*",
        help="encoder hidden layer sizes, mirrored by the decoder (none: a shallow net)",
    )
    p.add_argument("--activation", help="hidden activation (default: relu)")
    p.add_argument("--noise", choices=NOISE_KINDS, help="training corruption")
    p.add_argument("--noise-level", type=float, help="training corruption level")
    p.add_argument("--epochs", dest="max_iter", type=_positive_int, help="training epochs")
    p.add_argument("--batch-size", type=_positive_int, help="mini-batch size")
    p.add_argument("--lr", dest="learning_rate_init", type=float, help="learning rate")
    p.add_argument("--loss", choices=("mse", "bce"), help="reconstruction loss")
    p.add_argument("--batch-norm", action="store_true", default=None, help="batch norm")
    p.add_argument(
        "--validation-fraction",
        type=float,
        help="hold out this fraction of the training split for early stopping and the "
        "validation curve (0: train on all of it)",
    )
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
    p.add_argument(
        "--umap-neighbors", type=_positive_int, help="n_neighbors of the UMAP step (default: 20)"
    )
    p.add_argument(
        "--fit-on",
        choices=("train", "all"),
        help="fit on the training split and cluster the test split (train, the default), "
        "or fit on and cluster both splits together (all; labels are never used to fit)",
    )
    p.add_argument("--threads", dest="n_threads", type=_positive_int, help="torch threads")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument(
        "--output", default="results/compare", help="output folder (default: results/compare)"
    )
    p.add_argument("--no-figures", action="store_true", help="write the tables only")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def settings_from_args(args):
    """The dataset name, widths, DAE parameters and compare options that ``args`` ask for."""
    preset = dict(PRESETS[args.preset])
    dataset = args.dataset or preset.pop("dataset")
    preset.pop("dataset", None)
    widths = args.widths or preset.pop("widths")
    preset.pop("widths", None)
    options = {name: preset.pop(name) for name in _COMPARE_OPTIONS if name in preset}
    for name in _COMPARE_OPTIONS:
        if getattr(args, name, None) is not None:
            options[name] = getattr(args, name)
    if getattr(args, "umap_neighbors", None) is not None:
        options["umap_params"] = {"n_neighbors": args.umap_neighbors}
    params = dict(preset)
    for name in _DAE_OPTIONS:
        value = getattr(args, name, None)
        if value is not None:
            params[name] = tuple(value) if name == "hidden_layer_sizes" else value
    fraction = params.pop("validation_fraction", None)
    if fraction is None:
        fraction = 0.1
    if fraction > 0:
        # Early stopping with a patience as long as the budget: the held-out split only
        # draws the validation curve and keeps the best epoch's weights.
        params.update(
            early_stopping=True,
            validation_fraction=fraction,
            n_iter_no_change=params.get("max_iter", 200),
        )
    return dataset, widths, params, options


def load_dataset(name, mnist_path=None):
    """The data set that ``--dataset`` names."""
    from . import datasets

    if name == "digits":
        return datasets.load_digits()
    if name == "mnist":
        return datasets.load_mnist(mnist_path)
    if name.endswith(".npz") or Path(name).is_file():
        return datasets.load_npz(name)
    raise ValueError(f"unknown dataset {name!r}: use 'digits', 'mnist' or an .npz path.")


def run_compare(args):
    dataset, widths, params, options = settings_from_args(args)
    data = load_dataset(dataset, args.mnist_path)
    eval_noise = dict(args.eval_noise) if args.eval_noise else None
    start = time.perf_counter()
    result = compare(
        data,
        widths=widths,
        dae_params=params,
        eval_noise=eval_noise,
        n_init=args.n_init,
        random_state=args.seed,
        progress=not args.quiet,
        **options,
    )
    result.settings["wall_s"] = round(time.perf_counter() - start, 1)
    result.settings["command"] = "sk-dae " + " ".join(sys.argv[1:])
    written = write_results(result, args.output, figures=not args.no_figures)
    print(markdown_table(result.rows))
    print(
        f"\n{data.get('name', dataset)}: {len(data.X_train)} train / {len(data.X_test)} test "
        f"rows, {result.settings['wall_s']} s"
    )
    print("wrote " + ", ".join(str(p) for p in written))
    return result


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
    >>> from sk_dae.__main__ import main
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
    except (ValueError, ImportError, OSError) as exc:
        parser.exit(2, f"sk-dae: error: {exc}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
