"""Greedy layer-wise pretraining (stacked denoising autoencoders) against end-to-end
training, on sk_dae's own network.

The stacked DAE of Vincent et al. (JMLR 2010): each encoder layer is trained, with its
mirror decoder layer, as a one-layer DAE on the (clean) outputs of the layers below,
corrupted (Gaussian noise 0.1 on the pixels, masking 10% on hidden units); then the whole
network is fine-tuned end to end. The baseline trains the same network end to end from
Glorot weights. Both use Adam at 3e-3 annealed by a cosine schedule, batches of 256, the
output bias at the data's mean, and report the clean test MSE as a multiple of PCA's at
the same width, with their wall times, so that the comparison is at (about) equal time.
This decides whether sk_dae should offer layer-wise pretraining (issue 15); the user
guide's table::

    python benchmarks/bench_layerwise.py --threads 2 --rows 60000 --epochs 10 \
        --output benchmarks/results/layerwise.md

Smoke run: ``python benchmarks/bench_layerwise.py --quick``.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from _common import MNIST, Run, base_parser, set_threads, table
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from torch.nn import functional as F

from sk_dae._core.network import build_autoencoder, init_output_bias
from sk_dae._core.training import CosineSchedule


def load(quick, rows):
    if quick or not MNIST.exists():
        X = torch.tensor(load_digits().data / 16.0, dtype=torch.float32)
        return X[:1400], X[1400:], (64,), 8
    with np.load(MNIST) as data:
        X_train = torch.tensor(data["X_train"][:rows] / 255.0, dtype=torch.float32)
        X_test = torch.tensor(data["X_test"] / 255.0, dtype=torch.float32)
    return X_train, X_test, (512, 256), 32


def fit(forward, params, X, epochs, corrupt, generator, lr=3e-3, batch=256):
    """Adam with a cosine schedule on ``mse(forward(corrupt(x)), x)``."""
    optimizer = torch.optim.Adam(params, lr=lr, fused=True)
    n = X.shape[0]
    schedule = CosineSchedule(optimizer, epochs * -(-n // batch))
    for _ in range(epochs):
        perm = torch.randperm(n, generator=generator)
        for i in range(0, n, batch):
            x = X.index_select(0, perm[i : i + batch])
            loss = F.mse_loss(forward(corrupt(x, generator)), x)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()


def gaussian(x, g):
    return (x + 0.1 * torch.randn(x.shape, generator=g)).clamp_(0, 1)


def masking(x, g):
    return x * (torch.rand(x.shape, generator=g) >= 0.1)


def end_to_end(net, X, epochs, g):
    fit(net, net.parameters(), X, epochs, gaussian, g)


def layerwise(net, X, pre_epochs, epochs, g):
    """Pretrain every (encoder, mirror decoder) pair on the codes below, then fine-tune."""
    enc = [m for m in net.encoder if isinstance(m, torch.nn.Linear)]
    dec = [m for m in net.decoder if isinstance(m, torch.nn.Linear)][::-1]
    inputs = X
    for depth, (e, d) in enumerate(zip(enc, dec)):
        last = depth == len(enc) - 1

        def forward(x, e=e, d=d, depth=depth, last=last):
            h = e(x) if last else F.relu(e(x))
            out = d(h)
            return net.output(out) if depth == 0 else F.relu(out)

        corrupt = gaussian if depth == 0 else masking
        fit(forward, [*e.parameters(), *d.parameters()], inputs, pre_epochs, corrupt, g)
        with torch.no_grad():
            inputs = e(inputs) if last else F.relu(e(inputs))
    fit(net, net.parameters(), X, epochs, gaussian, g)


def measure(name, train, X_train, X_test, hidden, width, pca_mse):
    net = build_autoencoder(X_train.shape[1], width, hidden, seed=0, output_activation="sigmoid")
    init_output_bias(net, X_train.mean(0))
    start = time.perf_counter()
    train(net, torch.Generator().manual_seed(0))
    seconds = time.perf_counter() - start
    net.eval()
    with torch.no_grad():
        mse = float(((net(X_test) - X_test) ** 2).mean())
    return [name, f"{mse:.5f}", f"{mse / pca_mse:.3f}", f"{seconds:.1f}"]


def main(argv=None):
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=10, help="end-to-end epochs")
    args = parser.parse_args(argv)
    set_threads(args.threads)
    run = Run(__file__, argv, threads=args.threads)
    X_train, X_test, hidden, width = load(args.quick, args.rows)
    epochs = 2 if args.quick else args.epochs
    pca = PCA(width, random_state=0).fit(X_train.numpy())
    pca_mse = float(
        ((pca.inverse_transform(pca.transform(X_test.numpy())) - X_test.numpy()) ** 2).mean()
    )
    pre = max(1, epochs // 5)
    trainings = {
        f"end to end, {epochs} epochs": lambda n, g: end_to_end(n, X_train, epochs, g),
        f"layer-wise {pre} epochs per layer + {epochs - pre} fine-tuning": (
            lambda n, g: layerwise(n, X_train, pre, epochs - pre, g)
        ),
        f"layer-wise {pre} epochs per layer + {epochs} fine-tuning": (
            lambda n, g: layerwise(n, X_train, pre, epochs, g)
        ),
        f"end to end, {epochs + pre} epochs": lambda n, g: end_to_end(n, X_train, epochs + pre, g),
    }
    rows = [
        measure(name, train, X_train, X_test, hidden, width, pca_mse)
        for name, train in trainings.items()
    ]
    text = "\n\n".join(
        [
            f"{X_train.shape[0]} training rows, widths {[X_train.shape[1], *hidden, width]}"
            f" mirrored, test MSE vs PCA-{width} ({pca_mse:.5f})",
            table(["training", "test MSE", "x PCA", "seconds"], rows),
        ]
    )
    text = run.finish(text, args.output)
    print(text)
    return text


if __name__ == "__main__":
    main()
