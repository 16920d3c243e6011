"""Convolutional against MLP autoencoder against PCA-32 on the MNIST test split: clean
reconstruction error, Gaussian denoising and occlusion, at a wall-time budget.

Every model has 32 codes and is fitted on the MNIST training split (``--n-train`` rows)
and scored on the 10,000 test digits. The MLP is ``DenoisingAutoencoder(32)`` at its
defaults (``(512, 256)`` mirrored, about 5,000 steps, the held-out check), told the
task's noise; the conv model is ``DenoisingAutoencoder(32, architecture="conv",
image_shape=(28, 28))`` at its defaults but ``max_iter``, which is set so that its fit
takes about ``--conv-seconds`` (``equal``: the MLP's fit time measured in the same run),
from the time of one epoch measured first. Tasks:

* ``clean``: Gaussian noise 0.1 in training (the default); test MSE of the clean
  reconstruction, as a multiple of PCA-32's;
* ``gaussian``: trained and tested with Gaussian noise of std 0.5 clipped to [0, 1];
  PSNR of the reconstruction of the noisy test digits against the clean ones, and
  PCA-32's (fitted on the clean training digits);
* ``occlusion``: trained with ``noise="occlusion"`` of a 10x10 block, tested on digits
  each with one random 10x10 block set to zero; PSNR as above.

The conv model's held-out MSE after every epoch is reported too (its learning curve).
Runs of the results files (each under the shared lock, one thread)::

    python benchmarks/bench_conv_quality.py --task clean --threads 1 \
        --output benchmarks/results/conv_quality_clean.md

Smoke run: ``python benchmarks/bench_conv_quality.py --quick``.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from _common import MNIST, Run, base_parser, parse_params, set_threads, table
from sklearn.decomposition import PCA

from sk_dae import DenoisingAutoencoder
from sk_dae.metrics import psnr

TASKS = {
    "clean": dict(noise="gaussian", noise_level=0.1),
    "gaussian": dict(noise="gaussian", noise_level=0.5, clip_noise=True),
    "occlusion": dict(noise="occlusion", noise_level=100 / 784),
}


def load(n_train, quick):
    if quick or not MNIST.exists():
        from sk_dae.datasets import load_digits

        data = load_digits()
        return data.X_train[:n_train], data.X_test, (8, 8)
    from sk_dae.datasets import load_mnist

    data = load_mnist(MNIST, download=False)
    return data.X_train[:n_train], data.X_test, (28, 28)


def test_input(task, X_test, image_shape, seed=1):
    """The test digits the models see: clean, noisy, or occluded (10x10 on 28x28)."""
    if task == "clean":
        return X_test
    probe = DenoisingAutoencoder(image_shape=image_shape, **{**TASKS[task], "clip_noise": True})
    probe.fit(X_test[:20])  # only for its corrupt(): the same noise as in training
    return probe.corrupt(X_test, random_state=seed)


def timed_fit(model, X):
    start = time.perf_counter()
    model.fit(X)
    return time.perf_counter() - start


def main(argv=None):
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--task", choices=list(TASKS), default="clean")
    parser.add_argument("--n-train", type=int, default=60000)
    parser.add_argument(
        "--conv-seconds", default="equal", help="the conv fit's budget, or 'equal' (the MLP's)"
    )
    parser.add_argument("--models", nargs="+", default=["pca", "mlp", "conv"])
    parser.add_argument(
        "--conv-params", nargs="*", default=[], help="the conv model's other parameters, key=value"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.n_train = 300
    threads = set_threads(args.threads)
    run = Run(__file__, argv, threads=args.threads)
    warnings.filterwarnings("ignore", message="Stopped at max_iter")
    X_train, X_test, image_shape = load(args.n_train, args.quick)
    noisy = test_input(args.task, X_test, image_shape)
    common = dict(random_state=0, n_threads=args.threads, **TASKS[args.task])

    pca = PCA(32, random_state=0).fit(X_train)
    rebuilt = {"PCA-32": pca.inverse_transform(pca.transform(noisy))}
    seconds = {"PCA-32": float("nan")}
    if "mlp" in args.models:
        mlp = DenoisingAutoencoder(32, **common)
        seconds["MLP default"] = timed_fit(mlp, X_train)
        rebuilt["MLP default"] = mlp.reconstruct(noisy)
    curve = []
    if "conv" in args.models:
        budget = args.conv_seconds
        budget = seconds.get("MLP default", 60.0) if budget == "equal" else float(budget)
        conv = dict(
            architecture="conv", image_shape=image_shape, **common, **parse_params(args.conv_params)
        )
        probe_seconds = timed_fit(DenoisingAutoencoder(32, max_iter=1, **conv), X_train)
        epochs = max(1, int(budget // probe_seconds))
        model = DenoisingAutoencoder(32, max_iter=epochs, **conv)
        seconds["conv"] = timed_fit(model, X_train)
        rebuilt["conv"] = model.reconstruct(noisy)
        per_epoch = seconds["conv"] / max(1, model.n_iter_)
        curve = [
            (str(i + 1), f"{(i + 1) * per_epoch:.0f}", f"{-s:.5f}")
            for i, s in enumerate(model.validation_scores_ or [])
        ]

    pca_mse = float(np.mean((rebuilt["PCA-32"] - X_test) ** 2))
    rows = []
    for name, out in rebuilt.items():
        mse = float(np.mean((out - X_test) ** 2))
        rows.append(
            (
                name,
                f"{seconds[name]:.0f}",
                f"{mse:.5f}",
                f"{mse / pca_mse:.2f}",
                f"{psnr(X_test, np.clip(out, 0, 1)):.2f}",
            )
        )
    lines = [
        f"# conv vs MLP vs PCA-32, task {args.task!r}: {len(X_train)} training rows, "
        f"{len(X_test)} test rows {image_shape}, {threads} thread(s)",
        "",
        f"Training noise {TASKS[args.task]}; conv budget {args.conv_seconds} "
        f"({seconds.get('conv', float('nan')):.0f} s); conv parameters "
        f"{parse_params(args.conv_params) or 'the defaults'}.",
        "",
        table(("model", "fit s", "test MSE", "x PCA-32", "PSNR dB (clipped)"), rows),
        "",
        f"PSNR of the test input itself: {psnr(X_test, noisy):.2f} dB.",
    ]
    if curve:
        lines += ["", "conv held-out MSE by epoch:", "", table(("epoch", "~s", "MSE"), curve)]
    print("\n".join(lines), flush=True)
    return run.finish("\n".join(lines), args.output)


if __name__ == "__main__":
    main()
