"""Microseconds of the per-batch pieces of a training step (784-128-32 mirrored), measured
interleaved: optimizer steps (fused Adam with one or two parameter groups, torch's
for-loop and foreach Adam), zero_grad, forward+backward, noise, one matrix product.

Full run::

    python benchmarks/bench_ops.py --threads 1 --batch-size 50 \
        --output benchmarks/results/ops_b50.md

Smoke run: ``python benchmarks/bench_ops.py --quick``.
"""

from __future__ import annotations

import time

import torch
from _common import Run, base_parser, median, set_threads, table
from torch.nn import functional as F

from sk_dae._core.network import build_autoencoder
from sk_dae._core.noise import Corruptor


def main(argv=None):
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    if args.quick:
        args.calls, args.repeats = 2, 1
    set_threads(args.threads)
    run = Run(__file__, argv, threads=args.threads)
    module = build_autoencoder(784, 32, (128,), seed=0, output_activation="sigmoid")
    params = list(module.parameters())
    for p in params:
        p.grad = torch.zeros_like(p)
    matrices = [p for p in params if p.ndim >= 2]
    vectors = [p for p in params if p.ndim < 2]
    adam = torch.optim.Adam
    optimizers = {
        "Adam fused, 1 group": adam(params, lr=1e-3, fused=True),
        "Adam fused, 2 groups (as sk_dae)": adam(
            [{"params": matrices}, {"params": vectors}], lr=1e-3, fused=True
        ),
        "Adam for-loop (torch default on CPU)": adam(params, lr=1e-3, foreach=False),
        "Adam foreach": adam(params, lr=1e-3, foreach=True),
    }
    x = torch.rand(args.batch_size, 784)
    generator = torch.Generator().manual_seed(0)
    corruptor = Corruptor("gaussian", 0.1, clip=True)
    first = module.encoder[0].weight

    def forward_backward():
        F.mse_loss(module(x), x).backward()

    ops = {name: opt.step for name, opt in optimizers.items()}
    ops.update(
        {
            "zero_grad (set_to_none)": lambda: [setattr(p, "grad", None) for p in params],
            "forward + backward": forward_backward,
            "Gaussian noise, clipped (sk_dae Corruptor)": lambda: corruptor(x, generator),
            "randn_like noise, clipped (hand-written)": lambda: (
                x + 0.1 * torch.randn_like(x)
            ).clamp_(0.0, 1.0),
            f"one mm {args.batch_size}x784 @ 784x128": lambda: torch.mm(x, first.t()),
        }
    )
    times = {name: [] for name in ops}
    for r in range(args.repeats):
        for name, fn in ops.items():
            for p in params:  # every step sees gradients
                if p.grad is None:
                    p.grad = torch.zeros_like(p)
            t0 = time.process_time()
            for _ in range(args.calls):
                fn()
            times[name].append((time.process_time() - t0) / args.calls * 1e6)
    rows = [(name, f"{median(t):,.0f}") for name, t in times.items()]
    text = "\n".join(
        [
            f"# per-batch pieces, batch {args.batch_size}, CPU microseconds per call "
            f"(median of {args.repeats} x {args.calls} calls)",
            "",
            table(("operation", "CPU us / call"), rows),
        ]
    )
    text = run.finish(text, args.output)
    print(text, flush=True)
    return text


if __name__ == "__main__":
    main()
