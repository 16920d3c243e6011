"""``transform`` of many MNIST rows: onnxruntime running the converted model against
``DenoisingAutoencoder.transform``, time and peak memory side by side, in one process.

The autoencoder has the default network, fitted briefly on 10,000 rows (its weights do
not change the speed). The rows to transform are the MNIST training rows repeated to
``--n-rows`` (float32, in memory); onnxruntime runs them in batches of ``--batch-size``
rows into one preallocated output, as ``transform`` does, on the same threads. Memory is
the peak anonymous RSS above the level before each call. Full run::

    python benchmarks/bench_onnx.py --threads 1 --n-rows 1000000 --repeats 2 \
        --output benchmarks/results/onnx.md

Smoke run: ``python benchmarks/bench_onnx.py --quick``.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import _common
import numpy as np
from _common import PeakMemory, Run, base_parser, load_data, median, set_threads, table
from sklearn.exceptions import ConvergenceWarning

from sk_dae import DenoisingAutoencoder
from sk_dae.onnx import to_onnx


def onnx_transform(session, X, batch_size, n_out):
    name = session.get_inputs()[0].name
    out = np.empty((X.shape[0], n_out), dtype=np.float32)
    for start in range(0, X.shape[0], batch_size):
        rows = slice(start, start + batch_size)
        out[rows] = session.run(None, {name: X[rows]})[0]
    return out


def measure(fn):
    with PeakMemory() as memory:
        start = time.perf_counter()
        out = fn()
        wall = time.perf_counter() - start
    return wall, memory.extra, out


def main(argv=None):
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--n-rows", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--mnist", type=Path, default=_common.MNIST, help="mnist.npz (default: ../shared/data)"
    )
    args = parser.parse_args(argv)
    _common.MNIST = args.mnist
    if args.quick:
        args.n_rows, args.batch_size, args.repeats = 2_000, 500, 1
    threads = set_threads(args.threads)
    run = Run(__file__, argv, threads=args.threads)
    import onnxruntime

    train, data_name = load_data(10_000, quick=args.quick)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dae = DenoisingAutoencoder(max_iter=1, random_state=0, n_threads=threads).fit(train)
    X = np.ascontiguousarray(np.resize(train, (args.n_rows, train.shape[1])))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    onx = to_onnx(dae, X[:1])
    session = onnxruntime.InferenceSession(
        onx.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    candidates = {
        "sk_dae transform": lambda: dae.transform(X),
        "onnxruntime": lambda: onnx_transform(session, X, args.batch_size, dae.n_components),
    }
    results = {name: [] for name in candidates}
    outputs = {}
    for name, fn in candidates.items():  # warm-up
        outputs[name] = fn()
    for r in range(args.repeats):
        names = list(candidates)[r % 2 :] + list(candidates)[: r % 2]
        for name in names:
            results[name].append(measure(candidates[name])[:2])
    difference = float(np.abs(outputs["onnxruntime"] - outputs["sk_dae transform"]).max())
    base = median([wall for wall, _ in results["sk_dae transform"]])
    rows = []
    for name, runs in results.items():
        wall = median([w for w, _ in runs])
        memory = max(m for _, m in runs)
        rows.append(
            [
                name,
                f"{wall:.3f}",
                f"{args.n_rows / wall:,.0f}",
                f"{wall / base:.3f}",
                f"{memory:.0f}",
            ]
        )
    text = "\n\n".join(
        [
            f"# transform of {args.n_rows:,} {data_name} rows (float32), default network "
            f"{dae.module_.widths}, onnxruntime {onnxruntime.__version__} in batches of "
            f"{args.batch_size:,}",
            table(["candidate", "median s", "rows/s", "ratio", "peak extra MiB"], rows),
            f"Output: {X.shape[0] * dae.n_components * 4 / 2**20:.0f} MiB; largest "
            f"difference between the two: {difference:.2g}. {args.repeats} interleaved "
            "repetitions after a warm-up.",
        ]
    )
    report = run.finish(text, args.output)
    print(report)
    return report


if __name__ == "__main__":
    main()
