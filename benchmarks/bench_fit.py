"""Seconds per epoch of ``DenoisingAutoencoder.fit`` against a hand-written PyTorch loop,
skorch and scikit-learn's ``MLPRegressor``, measured interleaved in one process.

Every candidate trains the same mirrored network (ReLU hidden layers, linear code, sigmoid
output; ``MLPRegressor`` has an identity output, the nearest it allows) on the same rows
with the same batch size, optimizer (Adam, lr 1e-3, no weight decay) and epochs. The noisy
candidates add Gaussian noise of standard deviation ``--noise-level`` to every batch, clipped
to [0, 1]. Each repetition is a fresh fit of ``--epochs`` epochs (setup included) and is
reported per epoch; both wall-clock and process CPU seconds are recorded, because the
machine these figures come from is shared. Full run (the docs' table)::

    python benchmarks/bench_fit.py --threads 2 --repeats 3 \
        --output benchmarks/results/fit_threads2_idle.md

Smoke run: ``python benchmarks/bench_fit.py --quick``.
"""

from __future__ import annotations

import time
import warnings

import torch
from _common import (
    HandWrittenLoop,
    PeakMemory,
    Run,
    base_parser,
    hand_written_module,
    load_data,
    median,
    mirrored,
    set_threads,
    table,
)

from sk_dae import DenoisingAutoencoder

NO_NOISE = ("torch loop, no noise", "sk_dae fit, noise=None", "MLPRegressor, no noise")
NETS = {"784-128-32": ((128,), 32), "784-300-100-50": ((300, 100), 50)}


def epoch_flops(widths, n_samples):
    """Multiply-adds x 2 of one epoch's matrix products: forward (1x), backward (2x, but
    no input gradient for the first layer)."""
    per_row = sum(a * b for a, b in zip(widths[:-1], widths[1:]))
    return 2 * n_samples * (3 * per_row - widths[0] * widths[1])


def matmul_gflops(widths, batch_size, *, repeats=20, square=1024):
    """Measured float32 GFLOP/s of torch.mm: the epoch's own shapes (forward products of a
    batch) and a large square product, best of ``repeats``."""
    x = torch.rand(batch_size, widths[0])
    weights = [torch.rand(b, a) for a, b in zip(widths[:-1], widths[1:])]
    acts = [x]
    for w in weights:
        acts.append(torch.rand(batch_size, w.shape[0]))
    flops = 2 * batch_size * sum(w.numel() for w in weights)

    def forward():
        for a, w in zip(acts, weights):
            torch.mm(a, w.t())

    big = torch.rand(square, square)

    def square_mm():
        torch.mm(big, big)

    rates = {}
    shapes = (("epoch shapes", forward, flops), ("square", square_mm, 2 * square**3))
    for name, fn, n_flops in shapes:
        fn()
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(10):
                fn()
            best = min(best, (time.perf_counter() - t0) / 10)
        rates[name] = n_flops / best / 1e9
    return rates


class TimedFit:
    """One candidate: ``make()`` builds a fresh trainer, ``run(trainer)`` trains it for
    ``epochs`` epochs; records wall and CPU seconds per epoch and peak extra memory."""

    def __init__(self, make, run, epochs):
        self.make, self.run, self.epochs = make, run, epochs
        self.wall, self.cpu, self.memory = [], [], []

    def __call__(self):
        with PeakMemory() as memory:
            w0, c0 = time.perf_counter(), time.process_time()
            self.run(self.make())
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        self.wall.append(wall / self.epochs)
        self.cpu.append(cpu / self.epochs)
        self.memory.append(memory.extra)


def candidates(X, hidden, n_components, batch_size, epochs, noise_level, which, threads=None):
    widths = mirrored(X.shape[1], hidden, n_components)
    out = {}

    def hand_written(level):
        def run(loop):
            for _ in range(epochs):
                loop.epoch()

        return TimedFit(
            lambda: HandWrittenLoop(X, widths, batch_size=batch_size, noise_level=level),
            run,
            epochs,
        )

    def sk_dae(noise):
        def make():
            return DenoisingAutoencoder(
                n_components,
                hidden_layer_sizes=hidden,
                noise=noise,
                noise_level=noise_level,
                batch_size=batch_size,
                max_iter=epochs,
                n_iter_no_change=epochs + 1,
                random_state=0,
                # With --threads, the count every candidate uses; else sk_dae's policy.
                n_threads=threads,
            )

        return TimedFit(make, lambda est: est.fit(X), epochs)

    if "torch" in which:
        out["torch loop, noise"] = hand_written(noise_level)
    if "sk_dae" in which:
        out["sk_dae fit, noise"] = sk_dae("gaussian")
    if "skorch" in which:
        out["skorch, noise"] = TimedFit(
            lambda: make_skorch(widths, batch_size, epochs, noise_level),
            lambda net: net.fit(X, X),
            epochs,
        )
    if "torch" in which:
        out["torch loop, no noise"] = hand_written(None)
    if "sk_dae" in which:
        out["sk_dae fit, noise=None"] = sk_dae(None)
    if "mlp" in which:
        out["MLPRegressor, no noise"] = TimedFit(
            lambda: make_mlp(hidden, n_components, batch_size, epochs),
            lambda mlp: mlp.fit(X, X),
            epochs,
        )
    return out


def make_skorch(widths, batch_size, epochs, noise_level):
    from skorch import NeuralNet

    class NoisyNet(NeuralNet):
        # The skorch way to corrupt each training batch: override the training step.
        def train_step_single(self, batch, **fit_params):
            self._set_training(True)
            Xi, yi = batch
            noisy = (Xi + noise_level * torch.randn_like(Xi)).clamp_(0.0, 1.0)
            y_pred = self.infer(noisy, **fit_params)
            loss = self.get_loss(y_pred, yi, X=Xi, training=True)
            loss.backward()
            return {"loss": loss, "y_pred": y_pred}

    return NoisyNet(
        hand_written_module(widths),
        criterion=torch.nn.MSELoss,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        batch_size=batch_size,
        max_epochs=epochs,
        train_split=None,
        iterator_train__shuffle=True,
        verbose=0,
    )


def make_mlp(hidden, n_components, batch_size, epochs):
    from sklearn.neural_network import MLPRegressor

    return MLPRegressor(
        hidden_layer_sizes=(*hidden, n_components, *hidden[::-1]),
        activation="relu",
        solver="adam",
        alpha=0.0,
        batch_size=batch_size,
        learning_rate_init=1e-3,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        random_state=0,
    )


def main(argv=None):
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=1, help="epochs per timed fit")
    parser.add_argument("--repeats", type=int, default=3, help="timed fits per candidate")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[256, 50])
    parser.add_argument("--nets", nargs="+", default=list(NETS), choices=list(NETS))
    parser.add_argument("--noise-level", type=float, default=0.1)
    parser.add_argument(
        "--candidates",
        nargs="+",
        default=["torch", "sk_dae", "skorch", "mlp"],
        choices=["torch", "sk_dae", "skorch", "mlp"],
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.n_samples, args.epochs, args.repeats = 300, 1, 1
        args.nets, args.batch_sizes = args.nets[:1], args.batch_sizes[-1:]
    set_threads(args.threads)
    run = Run(__file__, argv, threads=args.threads)
    X, data_name = load_data(args.n_samples, quick=args.quick)
    warnings.filterwarnings("ignore", category=Warning, module="sklearn")
    warnings.filterwarnings("ignore", message="Stopped at max_iter")

    lines = [
        f"# fit: {X.shape[0]} {data_name} rows, {args.epochs} epochs per fit, "
        f"{args.repeats} fits per candidate, Gaussian noise {args.noise_level}",
        "",
    ]
    warmed_up = args.quick  # no warm-up in the smoke run
    for net in args.nets:
        hidden, n_components = NETS[net]
        widths = mirrored(X.shape[1], hidden, n_components)
        for batch_size in args.batch_sizes:
            cands = candidates(
                X,
                hidden,
                n_components,
                batch_size,
                args.epochs,
                args.noise_level,
                args.candidates,
                args.threads,
            )
            names = list(cands)
            if not warmed_up:  # first-call costs (imports, allocator, kernels) excluded
                for c in cands.values():
                    c()
                    c.wall, c.cpu, c.memory = [], [], []
                warmed_up = True
            for r in range(args.repeats):
                for name in names[r % len(names) :] + names[: r % len(names)]:
                    cands[name]()
            base = {
                "noise": cands.get("torch loop, noise"),
                "no noise": cands.get("torch loop, no noise"),
            }
            rows = []
            for name, c in cands.items():
                ref = base["no noise" if name in NO_NOISE else "noise"]
                ratio = median(c.wall) / median(ref.wall) if ref else float("nan")
                cpu_ratio = median(c.cpu) / median(ref.cpu) if ref else float("nan")
                rows.append(
                    (
                        name,
                        f"{median(c.wall):.3f}",
                        f"{X.shape[0] / median(c.wall):,.0f}",
                        f"{ratio:.2f}",
                        f"{median(c.cpu):.3f}",
                        f"{cpu_ratio:.2f}",
                        f"{max(c.memory):.0f}",
                    )
                )
            sizes = {"repeats": 2, "square": 128} if args.quick else {}
            rate = matmul_gflops(widths, batch_size, **sizes)
            flops = epoch_flops(widths, X.shape[0])
            floor = flops / (rate["epoch shapes"] * 1e9)
            best_sk = cands.get("sk_dae fit, noise")
            lines += [
                f"## {'-'.join(map(str, widths))}, batch {batch_size}",
                "",
                table(
                    (
                        "candidate",
                        "s/epoch",
                        "samples/s",
                        "x baseline",
                        "CPU s/epoch",
                        "CPU x baseline",
                        "peak extra MiB",
                    ),
                    rows,
                ),
                "",
                f"Baselines: the torch loop with the same noise setting. Epoch: "
                f"{flops / 1e9:.2f} GFLOP in matrix products; torch.mm float32 measured "
                f"{rate['epoch shapes']:.0f} GFLOP/s at the epoch's shapes "
                f"({rate['square']:.0f} GFLOP/s for a square product): "
                f"FLOP floor {floor:.3f} s/epoch"
                + (
                    f", sk_dae fit with noise at {median(best_sk.wall) / floor:.1f}x the floor."
                    if best_sk
                    else "."
                ),
                "",
            ]
            print("\n".join(lines[-7:]), flush=True)
    return run.finish("\n".join(lines), args.output)


if __name__ == "__main__":
    main()
