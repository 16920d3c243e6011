"""``DenoisingAutoencoder.transform`` against ``PCA.transform`` on a large on-disk array,
and the memory ``fit`` needs for a memmap: time and peak extra memory.

A float32 ``np.memmap`` of ``--n-rows`` rows (MNIST rows repeated) is written to
``--tmpdir``; both models are fitted on 5,000 rows (784-128-32 mirrored for the
autoencoder, 32 components for PCA) and transform the whole memmap, interleaved. Memory
is the peak *anonymous* resident memory above the level before the call (the memmap's
file-backed pages do not count: the OS can drop them), sampled every 5 ms. Then ``fit``
trains one epoch on the float32 memmap and on a uint8 memmap of the same rows, to show
how many copies of the training set it makes. Full run (the docs' table)::

    python benchmarks/bench_transform.py --threads 2 --repeats 2 --fit-rows 50000 \
        --output benchmarks/results/transform_idle.md

Smoke run: ``python benchmarks/bench_transform.py --quick``.
"""

from __future__ import annotations

import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from _common import (
    PeakMemory,
    Run,
    base_parser,
    load_data,
    median,
    set_threads,
    table,
)
from sklearn.decomposition import PCA

from sk_dae import DenoisingAutoencoder


def write_memmap(path, source, n_rows, dtype):
    """A memmap of ``n_rows`` rows cycling through ``source``, written in chunks."""
    X = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=(n_rows, source.shape[1]))
    for start in range(0, n_rows, source.shape[0]):
        stop = min(start + source.shape[0], n_rows)
        X[start:stop] = source[: stop - start]
    X.flush()
    del X
    return np.load(path, mmap_mode="r")


def measure(fn, *args):
    with PeakMemory() as memory:
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn(*args)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    return wall, cpu, memory.extra, out


def main(argv=None):
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--n-rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--fit-rows", type=int, default=200_000, help="rows of the fit-on-memmap part"
    )
    parser.add_argument("--tmpdir", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.n_rows, args.repeats, args.fit_rows = 5000, 1, 2000
    set_threads(args.threads)
    run = Run(__file__, argv, threads=args.threads)
    warnings.filterwarnings("ignore", message="Stopped at max_iter")
    # The uint8 fit (pixels in 0..255) is measured for memory; its noise does not matter.
    warnings.filterwarnings("ignore", message="Gaussian noise of noise_level")
    X_small, data_name = load_data(60000, quick=args.quick)
    hidden, n_components = ((128,), 32) if not args.quick else ((16,), 4)
    X_fit = X_small[:5000]
    dae = DenoisingAutoencoder(
        n_components, hidden_layer_sizes=hidden, max_iter=2, random_state=0
    ).fit(X_fit)
    pca = PCA(n_components, random_state=0).fit(X_fit)

    lines = [f"# transform and fit on memmaps of {data_name} rows", ""]
    with tempfile.TemporaryDirectory(dir=args.tmpdir) as tmp:
        X = write_memmap(Path(tmp) / "X.npy", X_small, args.n_rows, np.float32)
        gib = X.nbytes / 2**30
        out_mib = args.n_rows * n_components * 4 / 2**20
        cands = {"PCA.transform": pca.transform, "DenoisingAutoencoder.transform": dae.transform}
        results = {name: [] for name in cands}
        for name, fn in cands.items():  # warm-up, also reads the file into the page cache
            fn(X[:4096])
        for r in range(args.repeats):
            names = list(cands)
            for name in names[r % 2 :] + names[: r % 2]:
                wall, cpu, extra, _ = measure(cands[name], X)
                results[name].append((wall, cpu, extra))
        base = median([w for w, _, _ in results["PCA.transform"]])
        rows = []
        for name, res in results.items():
            wall = median([w for w, _, _ in res])
            rows.append(
                (
                    name,
                    f"{wall:.2f}",
                    f"{args.n_rows / wall:,.0f}",
                    f"{wall / base:.2f}",
                    f"{median([c for _, c, _ in res]):.2f}",
                    f"{max(m for _, _, m in res):,.0f}",
                )
            )
        lines += [
            f"## transform: {args.n_rows:,} x {X.shape[1]} float32 memmap ({gib:.2f} GiB), "
            f"{args.repeats} runs each, output {out_mib:,.0f} MiB",
            "",
            table(
                ("method", "seconds", "rows/s", "x PCA", "CPU seconds", "peak extra MiB"),
                rows,
            ),
            "",
        ]
        print("\n".join(lines), flush=True)
        del X

        fit_rows = []
        n_fit = args.fit_rows
        for dtype in (np.float32, np.uint8):
            source = X_small if dtype == np.float32 else np.round(X_small * 255).astype(np.uint8)
            Xm = write_memmap(Path(tmp) / f"fit_{np.dtype(dtype).name}.npy", source, n_fit, dtype)
            est = DenoisingAutoencoder(
                n_components, hidden_layer_sizes=hidden, max_iter=1, random_state=0
            )
            est.fit(Xm[:512])  # warm-up
            wall, cpu, extra, _ = measure(est.fit, Xm)
            f32_mib = Xm.size * 4 / 2**20
            fit_rows.append(
                (
                    f"{np.dtype(dtype).name} memmap",
                    f"{Xm.nbytes / 2**20:,.0f}",
                    f"{wall:.2f}",
                    f"{extra:,.0f}",
                    f"{extra / f32_mib:.2f}",
                )
            )
            del Xm
        lines += [
            f"## fit, one epoch on a {n_fit:,}-row memmap",
            "",
            table(
                (
                    "input",
                    "file MiB",
                    "seconds",
                    "peak extra MiB",
                    "extra / float32 copy",
                ),
                fit_rows,
            ),
            "",
        ]
        print("\n".join(lines[-5:]), flush=True)
    return run.finish("\n".join(lines), args.output)


if __name__ == "__main__":
    main()
