"""Seconds per epoch of ``DenoisingAutoencoder(architecture="conv").fit`` against a
hand-written PyTorch loop on the same network and data, and what occlusion and
augmentation cost per epoch, measured interleaved in one process.

The hand-written loop trains the very module sk_dae builds (``build_network``: the conv
network of 28x28 digits, two strided 3x3 convolutions of 16 and 32 channels, a dense
layer of 256, 32 codes, mirrored; sigmoid output; batches of 64 rows, the conv default)
with ``torch.optim.Adam`` (lr 1e-3), ``randperm`` shuffling, slicing and Gaussian noise
of 0.1 clipped to [0, 1]: only the loop around the network differs. A second
hand-written loop has the weights in torch's channels-last memory format (the rows' view as
images already is channels-last). The sk_dae fits use the same settings (random start,
constant step, no held-out rows); three more add occlusion (a 10x10 block) or
augmentation, against the plain fit. Each repetition is a fresh fit of ``--epochs``
epochs, reported per epoch. Full runs::

    python benchmarks/bench_conv.py --threads 1 --epochs 2 --repeats 5 \
        --output benchmarks/results/conv_threads1.md
    python benchmarks/bench_conv.py --threads 2 --epochs 2 --repeats 9 \
        --output benchmarks/results/conv_threads2.md

Smoke run: ``python benchmarks/bench_conv.py --quick``.
"""

from __future__ import annotations

import time
import warnings

import torch
from _common import Run, base_parser, load_data, median, set_threads, table
from torch.nn import functional as F

from sk_dae import DenoisingAutoencoder
from sk_dae._core.conv import build_network, resolve_image_shape

N_COMPONENTS = 32


class ConvLoop:
    """The baseline: a minimal PyTorch loop over the module sk_dae builds."""

    def __init__(self, X, image_shape, hidden, *, batch_size, channels_last=False, seed=0):
        self.X = torch.from_numpy(X)
        self.model = build_network(
            X.shape[1],
            N_COMPONENTS,
            hidden,
            seed=seed,
            architecture="conv",
            image_shape=image_shape,
            output_activation="sigmoid",
        )
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.batch_size = batch_size

    def epoch(self):
        X, model, opt, bs = self.X, self.model, self.opt, self.batch_size
        perm = torch.randperm(X.shape[0])
        for start in range(0, X.shape[0], bs):
            xb = X[perm[start : start + bs]]
            noisy = (xb + 0.1 * torch.randn_like(xb)).clamp_(0.0, 1.0)
            loss = F.mse_loss(model(noisy), xb)
            opt.zero_grad()
            loss.backward()
            opt.step()


def candidates(X, image_shape, hidden, batch_size, epochs, threads):
    def loop(channels_last):
        def run():
            trainer = ConvLoop(
                X, image_shape, hidden, batch_size=batch_size, channels_last=channels_last
            )
            for _ in range(epochs):
                trainer.epoch()

        return run

    def fit(**params):
        def run():
            DenoisingAutoencoder(
                N_COMPONENTS,
                architecture="conv",
                image_shape=image_shape,
                hidden_layer_sizes=hidden,
                init="random",
                early_stopping=False,
                learning_rate="constant",
                learning_rate_init=1e-3,
                batch_size=batch_size,
                max_iter=epochs,
                tol=None,
                random_state=0,
                n_threads=threads,
                **params,
            ).fit(X)

        return run

    return {
        "torch loop": loop(False),
        "torch loop, channels-last weights": loop(True),
        "sk_dae fit": fit(),
        "sk_dae fit, occlusion 10x10": fit(noise="occlusion", noise_level=100 / 784),
        "sk_dae fit, augment='shift'": fit(augment="shift"),
        "sk_dae fit, augment='affine'": fit(augment="affine"),
    }


def main(argv=None):
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=1, help="epochs per timed fit")
    parser.add_argument("--repeats", type=int, default=3, help="timed fits per candidate")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)
    if args.quick:
        args.n_samples, args.epochs, args.repeats = 300, 1, 1
    threads = set_threads(args.threads)
    run = Run(__file__, argv, threads=args.threads)
    X, data_name = load_data(args.n_samples, quick=args.quick)
    image_shape = resolve_image_shape(None, X.shape[1])
    hidden = (256,) if X.shape[1] > 256 else (128,)
    warnings.filterwarnings("ignore", message="Stopped at max_iter")
    cands = candidates(X, image_shape, hidden, args.batch_size, args.epochs, args.threads)
    names = list(cands)
    times = {name: [] for name in names}
    if not args.quick:  # first-call costs (allocator, kernels) excluded
        for fn in cands.values():
            fn()
    for r in range(args.repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            start = time.perf_counter()
            cands[name]()
            times[name].append((time.perf_counter() - start) / args.epochs)
    base = {"torch loop": median(times["torch loop"]), "sk_dae fit": median(times["sk_dae fit"])}
    rows = []
    for name in names:
        seconds = median(times[name])
        against = "sk_dae fit" if name.startswith("sk_dae fit,") else "torch loop"
        rows.append(
            (
                name,
                f"{seconds:.3f}",
                f"{X.shape[0] / seconds:,.0f}",
                f"{seconds / base['torch loop']:.2f}",
                f"{seconds / base[against]:.2f} ({against})",
            )
        )
    network = build_network(
        X.shape[1], N_COMPONENTS, hidden, seed=0, architecture="conv", image_shape=image_shape
    )
    spec = network.spec()
    lines = [
        f"# conv fit: {X.shape[0]} {data_name} rows {image_shape}, {args.epochs} epoch(s) per "
        f"fit, {args.repeats} fits per candidate, batch {args.batch_size}, {threads} thread(s)",
        "",
        f"Network: convolutions {spec['conv_channels']} strides {spec['conv_strides']}, "
        f"dense {hidden}, {N_COMPONENTS} codes, mirrored; "
        f"{sum(p.numel() for p in network.parameters()):,} parameters.",
        "",
        table(
            ("candidate", "s/epoch", "samples/s", "x torch loop", "x its baseline"),
            rows,
        ),
        "",
        "Medians of the repetitions. 'x its baseline': the occlusion and augmentation rows "
        "against the plain sk_dae fit (their cost per epoch), the others against the "
        "hand-written loop.",
    ]
    print("\n".join(lines), flush=True)
    return run.finish("\n".join(lines), args.output)


if __name__ == "__main__":
    main()
