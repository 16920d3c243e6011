"""Where an epoch's time goes: torch.profiler tables of ``DenoisingAutoencoder.fit`` and of
the hand-written loop, on the same rows, network (784-128-32 mirrored), noise and batch.

Full run (the docs' profile)::

    python benchmarks/profile_epoch.py --threads 1 --n-samples 3000 --batch-size 50 \
        --output benchmarks/results/profile_b50.txt

Smoke run: ``python benchmarks/profile_epoch.py --quick``.
"""

from __future__ import annotations

import warnings

from _common import (
    HandWrittenLoop,
    Run,
    base_parser,
    load_data,
    mirrored,
    set_threads,
)
from torch.profiler import ProfilerActivity, profile

from sk_dae import DenoisingAutoencoder


def main(argv=None):
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--noise-level", type=float, default=0.1)
    parser.add_argument("--rows", type=int, default=15, help="operators shown per table")
    args = parser.parse_args(argv)
    if args.quick:
        args.n_samples, args.rows = 200, 5
    set_threads(args.threads)
    run = Run(__file__, argv, threads=args.threads)
    warnings.filterwarnings("ignore", message="Stopped at max_iter")
    X, data_name = load_data(args.n_samples, quick=args.quick)
    hidden, n_components = ((128,), 32) if not args.quick else ((16,), 4)
    loop = HandWrittenLoop(
        X,
        mirrored(X.shape[1], hidden, n_components),
        batch_size=args.batch_size,
        noise_level=args.noise_level,
    )
    dae = DenoisingAutoencoder(
        n_components,
        hidden_layer_sizes=hidden,
        noise_level=args.noise_level,
        batch_size=args.batch_size,
        max_iter=1,
        random_state=0,
    )
    loop.epoch(), dae.fit(X)  # warm-up
    lines = [
        f"# profile of one epoch: {X.shape[0]} {data_name} rows, batch {args.batch_size}",
    ]
    for name, fn in (("hand-written loop", loop.epoch), ("sk_dae fit", lambda: dae.fit(X))):
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            fn()
        averages = prof.key_averages()
        lines += [
            "",
            f"## {name}",
            averages.table(sort_by="self_cpu_time_total", row_limit=args.rows),
        ]
    text = "\n".join(lines)
    text = run.finish(text, args.output)
    print(text, flush=True)
    return text


if __name__ == "__main__":
    main()
