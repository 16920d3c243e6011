"""What checkpointing every epoch costs a fit: ``DenoisingAutoencoder()``'s defaults on
MNIST rows, with and without ``checkpoint=``, measured interleaved in one process.

Two figures: the ratio of the median fit times (with / without), and the time spent
inside the checkpoint writes themselves as a share of the checkpointed fit (timed around
each write, so it does not depend on the noise between two fits on a shared machine).
The target is at most 2% of the fit time. Full run::

    python benchmarks/bench_checkpoint.py --threads 1 --n-samples 10000 --epochs 3 \
        --repeats 3 --output benchmarks/results/checkpoint.md

Smoke run: ``python benchmarks/bench_checkpoint.py --quick``.
"""

from __future__ import annotations

import tempfile
import time
import warnings
from pathlib import Path

import _common
from _common import Run, base_parser, interleaved, load_data, median, set_threads, table
from sklearn.exceptions import ConvergenceWarning

from sk_dae import DenoisingAutoencoder
from sk_dae._core import checkpoint as checkpoints


class TimedWrites:
    """Time every checkpoint write while it is active."""

    def __enter__(self):
        self.seconds, self.sizes = [], []
        self._write = checkpoints.Writer.write
        timed = self

        def write(writer, state):
            start = time.perf_counter()
            timed._write(writer, state)
            timed.seconds.append(time.perf_counter() - start)
            timed.sizes.append(writer.path.stat().st_size)

        checkpoints.Writer.write = write
        return self

    def __exit__(self, *exc):
        checkpoints.Writer.write = self._write


def main(argv=None):
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--mnist", type=Path, default=_common.MNIST, help="mnist.npz (default: ../shared/data)"
    )
    args = parser.parse_args(argv)
    _common.MNIST = args.mnist
    if args.quick:
        args.n_samples, args.epochs, args.repeats = 500, 2, 1
    set_threads(args.threads)
    run = Run(__file__, argv, threads=args.threads)
    X, data_name = load_data(args.n_samples, quick=args.quick)
    params = dict(max_iter=args.epochs, random_state=0, n_threads=args.threads or 1)
    folder = Path(tempfile.mkdtemp(prefix="bench_checkpoint_"))
    writes = TimedWrites()
    fits = {"plain": [], "checkpointed": []}

    def fit(name, checkpoint=None):
        def run_fit():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                start = time.perf_counter()
                DenoisingAutoencoder(**params, checkpoint=checkpoint).fit(X)
                fits[name].append(time.perf_counter() - start)

        return run_fit

    def checkpointed():
        with writes:
            fit("checkpointed", folder / "fit.ckpt")()

    candidates = {"fit": fit("plain"), "fit, checkpoint every epoch": checkpointed}
    times = interleaved(candidates, repeats=args.repeats)
    plain, with_checkpoints = median(times["fit"]), median(times["fit, checkpoint every epoch"])
    # The writes of the timed (not warm-up) checkpointed fits.
    n_timed = args.repeats * args.epochs
    write_seconds = writes.seconds[-n_timed:]
    share = sum(write_seconds) / sum(fits["checkpointed"][-args.repeats :])
    # An upper bound of the share over a long fit: a fit's seconds include its setup.
    epoch_share = median(write_seconds) / (plain / args.epochs)
    rows = [
        ["fit", f"{plain:.3f}", "1.000", ""],
        [
            "fit, checkpoint every epoch",
            f"{with_checkpoints:.3f}",
            f"{with_checkpoints / plain:.3f}",
            f"{1e3 * median(write_seconds):.1f} ms x {args.epochs}",
        ],
    ]
    text = "\n\n".join(
        [
            f"# Checkpointing every epoch: {args.n_samples:,} {data_name} rows, "
            f"{args.epochs} epochs, `DenoisingAutoencoder()` defaults (random_state=0)",
            table(["candidate", "median fit s", "ratio", "checkpoint writes"], rows),
            f"Checkpoint file: {writes.sizes[-1] / 2**20:.2f} MiB. Time inside the writes: "
            f"{100 * share:.2f}% of the checkpointed fits (target: at most 2%), "
            f"{100 * epoch_share:.2f}% of a plain fit's seconds per epoch (setup included); "
            f"ratio of the median fit times: {with_checkpoints / plain:.3f} "
            f"({args.repeats} interleaved repetitions each).",
        ]
    )
    report = run.finish(text, args.output)
    print(report)
    return report


if __name__ == "__main__":
    main()
