"""The measurements behind the defaults: network width, schedule, step size, output bias.

Each named configuration trains sk_dae's own network (:func:`sk_dae._core.network.
build_autoencoder`, seed 0) on the 60,000 MNIST training digits in a plain PyTorch loop
(Adam, batches of 256, Gaussian noise of std 0.1 clipped to [0, 1], MSE, 20 epochs) and
prints the clean test MSE every 5 epochs as a multiple of PCA-32's, with the seconds per
epoch. The loop is written out here, not taken from the estimator, so that each choice can
be switched alone; the user guide's table of the choices ("The defaults against PCA")
comes from::

    python benchmarks/bench_default_choices.py --threads 1 h128-cos h128-cos-bias \
        h128-cos-lr3-bias h512_256-cos h512_256-plat h512_256-cos-lr3-bias

(about 8 minutes per (512, 256) configuration and 3 per (128,) one on one thread of a
busy 2-core machine); ``--output FILE`` also writes the printed lines there, with the
run's header. Smoke run: ``python benchmarks/bench_default_choices.py --quick``.
"""

from __future__ import annotations

import json
import time

import numpy as np
import torch
from _common import MNIST, Run, base_parser, set_threads
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from torch.nn import functional as F

from sk_dae._core.network import build_autoencoder, init_output_bias
from sk_dae._core.training import CosineSchedule

#: name -> hidden widths, schedule ("const", "cosine" or "plateau"), step size, whether
#: the output layer's bias starts at the data's mean.
CONFIGS = {
    "h128-const": ((128,), "const", 1e-3, False),
    "h128-cos": ((128,), "cosine", 1e-3, False),
    "h128-cos-bias": ((128,), "cosine", 1e-3, True),
    "h128-cos-lr3-bias": ((128,), "cosine", 3e-3, True),
    "h512_256-const": ((512, 256), "const", 1e-3, False),
    "h512_256-cos": ((512, 256), "cosine", 1e-3, False),
    "h512_256-plat": ((512, 256), "plateau", 1e-3, False),
    "h512_256-cos-lr3-bias": ((512, 256), "cosine", 3e-3, True),
}


def load(quick):
    if quick or not MNIST.exists():
        X = torch.tensor(load_digits().data / 16.0, dtype=torch.float32)
        return X[:1400], X[1400:], 8
    with np.load(MNIST) as data:
        X_train = torch.tensor(data["X_train"] / 255.0, dtype=torch.float32)
        X_test = torch.tensor(data["X_test"] / 255.0, dtype=torch.float32)
    return X_train, X_test, 32


def schedulers(optimizer, kind, total_steps):
    """(a per-step scheduler, a per-epoch plateau scheduler), either may be None."""
    if kind == "cosine":
        return CosineSchedule(optimizer, total_steps), None
    if kind == "plateau":
        plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, factor=0.2, patience=2, threshold=1e-3
        )
        return None, plateau
    return None, None


def train(name, X_train, X_test, width, pca_mse, *, epochs, batch_size=256, noise=0.1):
    hidden, kind, lr, bias = CONFIGS[name]
    generator = torch.Generator().manual_seed(0)
    n_features = X_train.shape[1]
    net = build_autoencoder(n_features, width, hidden, seed=0, output_activation="sigmoid")
    if bias:
        init_output_bias(net, X_train.mean(0))
    optimizer = torch.optim.Adam(net.parameters(), lr=lr, fused=True)
    n_rows = X_train.shape[0]
    step_scheduler, plateau = schedulers(optimizer, kind, -(-n_rows // batch_size) * epochs)
    start, curve = time.perf_counter(), []
    for epoch in range(epochs):
        perm = torch.randperm(n_rows, generator=generator)
        net.train()
        total = 0.0
        for i in range(0, n_rows, batch_size):
            x = X_train.index_select(0, perm[i : i + batch_size])
            noisy = (x + noise * torch.randn(x.shape, generator=generator)).clamp_(0, 1)
            loss = F.mse_loss(net(noisy), x)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if step_scheduler is not None:
                step_scheduler.step()
            total += float(loss.detach()) * x.shape[0]
        if plateau is not None:
            plateau.step(total / n_rows)
        if epoch % 5 == 4 or epoch == epochs - 1:
            net.eval()
            with torch.no_grad():
                mse = float(((net(X_test) - X_test) ** 2).mean())
            curve.append((epoch + 1, round(mse / pca_mse, 3)))
    seconds = (time.perf_counter() - start) / epochs
    return {"name": name, "s_per_epoch": round(seconds, 2), "curve": curve}


def main(argv=None):
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"configurations, of {sorted(CONFIGS)}")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(CONFIGS))
    if unknown:
        parser.error(f"unknown configurations {unknown}; choose from {sorted(CONFIGS)}")
    set_threads(args.threads)
    run = Run(__file__, argv, threads=args.threads)
    X_train, X_test, width = load(args.quick)
    pca = PCA(width, random_state=0).fit(X_train.numpy())
    rebuilt = pca.inverse_transform(pca.transform(X_test.numpy()))
    pca_mse = float(((rebuilt - X_test.numpy()) ** 2).mean())
    lines = [f"PCA-{width} test MSE {pca_mse:.5f}"]
    print(lines[-1], flush=True)
    names = args.names or (["h128-cos", "h128-cos-lr3-bias"] if args.quick else list(CONFIGS))
    results = []
    for name in names:
        epochs = 2 if args.quick else 20
        results.append(train(name, X_train, X_test, width, pca_mse, epochs=epochs))
        lines.append(json.dumps(results[-1]))
        print(lines[-1], flush=True)
    run.finish("\n".join(lines), args.output)
    return results


if __name__ == "__main__":
    main()
