"""Fine-tuning against the papers: ``DeepClustering``'s fine-tuning beside the choices of
DEC (Xie et al., 2016), IDEC (Guo et al., 2017) and DEC-keras, one difference at a time.

One ``DeepClustering`` default autoencoder is pretrained per seed (cached with joblib
under ``--cache``, so that variants and later runs reuse it) and every variant
fine-tunes a copy of it (``prefit=True``), from the same KMeans start. Variants:

- ``ours``: every default (target over all rows refreshed once a pass, the kernel in
  units of ``kernel_scale_``, a 100-step warm-up, Adam 1e-3, ``KL + 10 L_r``);
- ``update_interval=140``: the target refreshed every 140 steps (IDEC, DEC-keras);
- ``no kernel scale``: the kernel measures raw distances (``kernel_scale_`` 1, as the
  papers);
- ``no warm-up``: the full learning rate from the first step (as the papers);
- ``L_r + 0.1 KL``: IDEC's loss as written (0.1 times the KL term, reconstruction
  weight 1) instead of ours, ten times it;
- ``papers' IDEC``: the three above together (update interval 140, no kernel scale, no
  warm-up, IDEC's loss);
- ``DEC, Adam`` and ``DEC, SGD 0.01 m 0.9``: ``method="dec"`` with our optimizer and
  with DEC's (SGD, learning rate 0.01, momentum 0.9; no warm-up);
- ``start``: KMeans on the pretrained codes (``max_iter=0``);

and, named in ``--variants``, DEC-DA's augmentation (Guo et al., 2018) and N2D's last
step (McConville et al., 2020):

- ``augment=affine``: fine-tuning on randomly shifted, rotated and scaled digits;
  ``..., pretraining too``: from an autoencoder pretrained on them as well
  (``DenoisingAutoencoder(augment="affine")``, its own cached pretraining), whose
  ``start`` is ``pretraining augmented, start``;
- ``max_iter=20``: the budget of 20 passes, the default before ``max_iter="auto"``
  (under which ``fine_tuning_mnist10k.md`` and ``fine_tuning_digits.md`` were taken);
- ``UMAP + KMeans`` and ``UMAP + GMM``: KMeans or a Gaussian mixture
  (``init="gmm"``) on the UMAP embedding of the codes (``manifold="umap"``), the start
  and IDEC from it.

Cells: median over the seeds of accuracy (range), NMI, fine-tuning seconds (KMeans and
fine-tuning; the pretraining is not counted), passes and how many fits converged
(fewer than ``tol`` of the labels changed between two refreshes). Data: the first
10,000 MNIST training digits (x / 255) and scikit-learn's 1,797 digits (x / 16).

The user guide's tables (one thread each, both data sets side by side)::

    python benchmarks/bench_fine_tuning.py --dataset mnist10k --threads 1 \\
        --output benchmarks/results/fine_tuning_mnist10k.md
    python benchmarks/bench_fine_tuning.py --dataset digits --threads 1 \\
        --output benchmarks/results/fine_tuning_digits.md

DEC-DA's augmentation and N2D's mixture (seed 0 on MNIST; on the digits also the
former budget, ``max_iter=20``, beside the default ``"auto"``)::

    python benchmarks/bench_fine_tuning.py --dataset mnist10k --threads 1 --seeds 0 \
        --variants "augment=affine" "UMAP + KMeans, start" "UMAP + GMM, start" \
        "UMAP + KMeans, IDEC" "UMAP + GMM, IDEC" \
        --output benchmarks/results/fine_tuning_extensions_mnist10k.md
    python benchmarks/bench_fine_tuning.py --dataset digits --threads 1 --seeds 0 1 2 \
        --variants start "max_iter=20" ours "augment=affine" "UMAP + KMeans, start" \
        "UMAP + GMM, start" "UMAP + KMeans, IDEC" "UMAP + GMM, IDEC" \
        --output benchmarks/results/fine_tuning_extensions_digits.md

Smoke run: ``python benchmarks/bench_fine_tuning.py --quick``.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from pathlib import Path
from unittest import mock

import joblib
import numpy as np
import torch
from _common import MNIST, Run, base_parser, set_threads, table
from sklearn.exceptions import ConvergenceWarning

from sk_dae import DeepClustering, DenoisingAutoencoder
from sk_dae._core import dec as _dec
from sk_dae._experiment.cluster_report import scores
from sk_dae.clustering import _deep_clustering
from sk_dae.clustering._deep_clustering import DEFAULT_AUTOENCODER_PARAMS

QUICK = {"hidden_layer_sizes": (64,), "max_iter": 5, "batch_size": 64}
_ORIGINAL_WARMUP = _dec.warmup
_ORIGINAL_LOSS = _dec.clustering_loss


def no_kernel_scale():
    return mock.patch.object(_deep_clustering, "_kernel_scale", lambda *args: 1.0)


def no_warmup():
    return mock.patch.object(_dec, "warmup", lambda optimizer, n: _ORIGINAL_WARMUP(optimizer, 1))


def papers_loss():
    """IDEC's ``L_r + 0.1 KL``: the KL term a tenth, with reconstruction weight 1."""
    scaled = lambda log_q, p: 0.1 * _ORIGINAL_LOSS(log_q, p)  # noqa: E731
    return mock.patch.object(_dec, "clustering_loss", scaled)


def dec_sgd():
    """DEC's optimizer: SGD, learning rate 0.01, momentum 0.9, over the encoder and the
    centres."""

    def make(model, learning_rate, *, reconstruction_weight):
        params = [model.centers, *model.autoencoder.encoder.parameters()]
        return torch.optim.SGD(params, lr=0.01, momentum=0.9)

    return mock.patch.object(_deep_clustering, "make_fine_tuning_optimizer", make)


#: name -> (DeepClustering parameters, patches[, the pretraining's parameters])
VARIANTS = {
    "start": ({"max_iter": 0}, ()),
    "ours": ({}, ()),
    "update_interval=140": ({"update_interval": 140}, ()),
    "no kernel scale": ({}, (no_kernel_scale,)),
    "no warm-up": ({}, (no_warmup,)),
    "L_r + 0.1 KL": ({"reconstruction_weight": 1.0}, (papers_loss,)),
    "papers' IDEC": (
        {"update_interval": 140, "reconstruction_weight": 1.0},
        (no_kernel_scale, no_warmup, papers_loss),
    ),
    "DEC, Adam": ({"method": "dec"}, ()),
    "DEC, SGD 0.01 m 0.9": ({"method": "dec"}, (no_warmup, dec_sgd)),
    # The budget: the former default, 20 passes.
    "max_iter=20": ({"max_iter": 20}, ()),
    # DEC-DA: augmented fine-tuning, and augmented pretraining too.
    "augment=affine": ({"augment": "affine"}, ()),
    "augment=affine, pretraining too": ({"augment": "affine"}, (), {"augment": "affine"}),
    "pretraining augmented, start": ({"max_iter": 0}, (), {"augment": "affine"}),
    # N2D's last step: a Gaussian mixture on the UMAP embedding, against KMeans there.
    "UMAP + KMeans, start": ({"manifold": "umap", "max_iter": 0}, ()),
    "UMAP + GMM, start": ({"manifold": "umap", "init": "gmm", "max_iter": 0}, ()),
    "UMAP + KMeans, IDEC": ({"manifold": "umap"}, ()),
    "UMAP + GMM, IDEC": ({"manifold": "umap", "init": "gmm"}, ()),
}

#: The variants of the papers' fine-tuning (the default of ``--variants``).
PAPERS = list(VARIANTS)[: list(VARIANTS).index("max_iter=20")]


def load(dataset):
    """Rows and labels: the first 10,000 MNIST training digits / 255, or all 1,797 of
    scikit-learn's digits / 16."""
    if dataset == "mnist10k":
        with np.load(MNIST) as data:
            X, y = data["X_train"][:10_000], data["y_train"][:10_000]
        return np.asarray(X, dtype=np.float32).reshape(len(X), -1) / np.float32(255), y
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), y


def pretrain(X, params, seed, threads):
    """``DeepClustering``'s default pretraining of seed ``seed`` (as ``fit`` configures
    it), fitted."""
    dae = DenoisingAutoencoder(**params).set_params(random_state=seed, n_threads=threads)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return dae.fit(X)


def fine_tune(X, y, dae, seed, threads, variant):
    """Scores, seconds, passes and convergence of one variant from ``dae``."""
    params, patches = VARIANTS[variant][:2]
    model = DeepClustering(
        10, autoencoder=dae, prefit=True, random_state=seed, n_threads=threads, **params
    )
    with contextlib.ExitStack() as stack, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        for patch in patches:
            stack.enter_context(patch())
        start = time.perf_counter()
        model.fit(X)
        seconds = time.perf_counter() - start
    warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    converged = model.max_iter != 0 and not warned
    return {**scores(y, model.labels_), "s": seconds, "passes": model.n_iter_, "ok": converged}


def cell_rows(results, variants):
    rows = []
    for variant in variants:
        runs = results[variant]
        acc = [r["accuracy"] for r in runs]
        spread = f" ({min(acc):.3f}-{max(acc):.3f})" if len(acc) > 1 else ""
        rows.append(
            [
                variant,
                f"{np.median(acc):.3f}{spread}",
                f"{np.median([r['nmi'] for r in runs]):.3f}",
                f"{np.median([r['s'] for r in runs]):.1f}",
                f"{np.median([r['passes'] for r in runs]):g}",
                f"{sum(r['ok'] for r in runs)}/{len(runs)}",
            ]
        )
    return rows


def main(argv=None):
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=("mnist10k", "digits"), default="mnist10k")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=PAPERS)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/sk_dae_fine_tuning_cache"))
    args = parser.parse_args(argv)
    threads = set_threads(args.threads)
    run = Run(__file__, argv, threads=args.threads)
    dataset = "digits" if args.quick else args.dataset
    seeds = args.seeds[:1] if args.quick else args.seeds
    variants = ["start", "ours"] if args.quick else args.variants
    X, y = load(dataset)
    params = {**DEFAULT_AUTOENCODER_PARAMS, **(QUICK if args.quick else {})}
    cached = joblib.Memory(None if args.quick else args.cache, verbose=0).cache(pretrain)
    results = {variant: [] for variant in variants}
    for seed in seeds:
        for variant in variants:
            pretraining = {**params, **(VARIANTS[variant][2:] or [{}])[0]}
            dae = cached(X, pretraining, seed, threads)
            results[variant].append(fine_tune(X, y, dae, seed, threads, variant))
            r = results[variant][-1]
            print(f"seed {seed} {variant}: {r['accuracy']:.3f} {r['nmi']:.3f} {r['s']:.1f} s")
    header = ["variant", "accuracy", "NMI", "s", "passes", "converged"]
    text = "\n".join(
        [
            f"# Fine-tuning variants on {len(X)} {dataset} rows, seeds "
            + ", ".join(map(str, seeds)),
            "",
            "Medians over the seeds (accuracy range in brackets); seconds of KMeans and",
            "fine-tuning (pretraining excluded, cached); converged: fits that stopped on tol.",
            "",
            table(header, cell_rows(results, variants)),
        ]
    )
    text = run.finish(text, args.output)
    print(text)
    return text


if __name__ == "__main__":
    main()
