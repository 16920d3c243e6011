"""Our ``DeepClustering`` beside ClustPy's ``IDEC`` and ``DEC``, each at its defaults.

The peer benchmark of deep clustering: on scikit-learn's 8x8 digits (all 1,797 rows,
``data / 16``) and on the first N MNIST digits (``x / 255``; the training split first,
then the test split, so 70,000 is all of them), for each seed:

- ``KMeans(10, n_init=10, random_state=seed)`` on the pixels: the floor;
- ours: ``DeepClustering(n_clusters=10, random_state=seed, n_threads=1)``, every
  modelling parameter at its default;
- ClustPy 0.0.3: ``IDEC(10, random_state=seed)`` and ``DEC(10, random_state=seed)``, at
  their defaults (a 500-500-2000-10 feedforward autoencoder pretrained 100 epochs with
  Adam at 1e-3, then 150 epochs of clustering at 1e-4). Their ``labels_`` (KMeans run
  again on the final codes) are scored; the labels of the DEC head (``dec_labels_``) go
  into the raw records.

Every fit runs on one thread (torch and, through threadpoolctl, the BLAS/OpenMP pools),
all rows are clustered and scored: accuracy (``sk_dae.metrics.clustering_accuracy``,
the best matching of clusters to classes) and NMI, and the wall seconds of ``fit``.
The tables give the median (range) over the seeds and the ratio of ours to ClustPy's
IDEC over the seeds both have. Before each fit the global generators of numpy,
``random`` and torch are seeded; the report says which fits left them changed.

ClustPy is an optional benchmark dependency, never a test requirement. Its install
(the torchvision built for torch 2.13 needs CUDA libraries, while torchvision 0.16.2
without its dependencies imports on the CPU wheel, and DEC and IDEC never call its
compiled operators; never install an unpinned torch)::

    .venv/bin/python -m pip install clustpy==0.0.3 --no-deps
    .venv/bin/python -m pip install torchvision==0.16.2 --no-deps

Reruns are cheap: the results file ends with the raw record of every fit (accuracy,
NMI, seconds, the commit, date, threads and load of the run that made it). ``--reuse
FILE`` reads those records back, and only the methods of ``--only`` are fitted again:
after a change to ``DeepClustering``, refit ours alone and keep ClustPy's figures::

    .venv/bin/python benchmarks/bench_cluster_peers.py --only kmeans ours \\
        --reuse benchmarks/results/cluster_peers.md \\
        --output benchmarks/results/cluster_peers.md

The user guide's table (``docs/user_guide/clustering.rst``, "Beside ClustPy") was made
in runs of under about a quarter of an hour each on one thread (a size, or a seed of
3,000 digits; at 10,000 digits one IDEC fit alone takes about 20 minutes, so seed 0 and
no DEC there), merged by a run that fits nothing (``--only`` with no method)::

    .venv/bin/python benchmarks/bench_cluster_peers.py --data digits \\
        --output /tmp/p28c_digits.md
    .venv/bin/python benchmarks/bench_cluster_peers.py --data mnist --sizes 1000 \\
        --output /tmp/p28c_1000.md
    .venv/bin/python benchmarks/bench_cluster_peers.py --data mnist --sizes 3000 \\
        --seeds 0 --output /tmp/p28c_3000_s0.md   # and --seeds 1, --seeds 2
    .venv/bin/python benchmarks/bench_cluster_peers.py --data mnist --sizes 10000 \\
        --seeds 0 --only kmeans ours idec --output /tmp/p28c_10000.md
    .venv/bin/python benchmarks/bench_cluster_peers.py --only --reuse /tmp/p28c_*.md \\
        --output benchmarks/results/cluster_peers.md

70,000 digits only on request (``--sizes 70000``): ClustPy takes hours there on one
thread. Smoke run: ``python benchmarks/bench_cluster_peers.py --quick --only kmeans
ours`` (300 digits; with ClustPy installed, ``--quick`` trains its networks 2 epochs).
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import random
import re
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from _common import MNIST, Run, base_parser, load_average, set_threads, table
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import normalized_mutual_info_score

from sk_dae import DeepClustering
from sk_dae.metrics import clustering_accuracy

METHODS = ("kmeans", "ours", "idec", "dec")
NAMES = {
    "kmeans": "KMeans on the pixels",
    "ours": "ours DeepClustering",
    "idec": "ClustPy IDEC",
    "dec": "ClustPy DEC",
}
INSTALL = (
    "pip install clustpy==0.0.3 --no-deps && pip install torchvision==0.16.2 --no-deps"
    " (never an unpinned torch: see the docstring of this script)"
)
#: The global generators are seeded with this before every fit, so that a fit that
#: reseeds them (or draws from them) shows as a change.
SENTINEL = 12345
QUICK_ROWS = 300


# ----------------------------------------------------------------------------- data


def load(data, n_rows=None):
    """X (float32 in [0, 1]) and y of ``data``: all the 8x8 digits, or the first
    ``n_rows`` MNIST digits (training split first)."""
    if data == "digits":
        digits = load_digits()
        X = digits.data.astype(np.float32) / np.float32(16.0)
        return X[:n_rows], digits.target[:n_rows]
    if not MNIST.exists():
        raise SystemExit(f"MNIST not found at {MNIST} (set SK_DAE_MNIST to the .npz file)")
    with np.load(MNIST) as f:
        X = np.concatenate([f["X_train"], f["X_test"]])[:n_rows]
        y = np.concatenate([f["y_train"], f["y_test"]])[:n_rows]
    return np.ascontiguousarray(X, dtype=np.float32) / np.float32(255.0), y


# ------------------------------------------------------------------------- the fits


def clustpy_class(method):
    """ClustPy's IDEC or DEC, or a SystemExit that says how to install it."""
    try:
        with warnings.catch_warnings():
            # torchvision 0.16.2 on torch 2.13 warns that its image extension does not
            # load; DEC and IDEC never use it.
            warnings.simplefilter("ignore", UserWarning)
            from clustpy.deep import DEC, IDEC
    except ImportError as error:
        raise SystemExit(f"ClustPy is not installed ({error}): {INSTALL}") from error
    return {"idec": IDEC, "dec": DEC}[method]


def fit(method, X, seed, *, quick=False):
    """Fit ``method`` on X with ``seed``: its labels, the wall seconds and extras."""
    extra = {}
    if method == "kmeans":
        model = KMeans(10, n_init=10, random_state=seed)
    elif method == "ours":
        model = DeepClustering(n_clusters=10, random_state=seed, n_threads=1)
    else:
        params = dict(pretrain_epochs=2, clustering_epochs=2) if quick else {}
        model = clustpy_class(method)(10, random_state=seed, **params)
    quiet = contextlib.redirect_stdout(io.StringIO())
    with warnings.catch_warnings(record=True) as caught, quiet, no_progress_bars():
        warnings.simplefilter("always", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(X)
        seconds = time.perf_counter() - start
    convergence = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    extra["convergence_warnings"] = len(convergence)
    if method == "ours":
        extra["n_iter"] = int(model.n_iter_)
        extra["start_labels"] = model.initial_labels_
    elif method in ("idec", "dec"):
        extra["dec_labels"] = model.dec_labels_
    return np.asarray(model.labels_), seconds, extra


@contextlib.contextmanager
def no_progress_bars():
    """ClustPy's tqdm bars off (they would fill the log): tqdm reads TQDM_DISABLE when it
    is imported, before this script runs, so its default is patched instead."""
    from functools import partialmethod

    import tqdm

    init = tqdm.tqdm.__init__
    tqdm.tqdm.__init__ = partialmethod(init, disable=True)
    try:
        yield
    finally:
        tqdm.tqdm.__init__ = init


def seed_globals():
    np.random.seed(SENTINEL)
    random.seed(SENTINEL)
    torch.manual_seed(SENTINEL)


def global_states():
    return {
        "numpy": np.random.get_state()[1].copy(),
        "random": random.getstate(),
        "torch": torch.get_rng_state().clone(),
    }


def changed_globals(before):
    """The names of the global generators that differ from ``before``."""
    after = global_states()
    same = {
        "numpy": np.array_equal(before["numpy"], after["numpy"]),
        "random": before["random"] == after["random"],
        "torch": torch.equal(before["torch"], after["torch"]),
    }
    return [name for name, equal in same.items() if not equal]


def measure(method, data, X, y, seed, run_info, *, quick=False):
    """One fit, as a raw record (JSON-ready)."""
    seed_globals()
    before = global_states()
    load_start = load_average()
    labels, seconds, extra = fit(method, X, seed, quick=quick)
    record = {
        "data": data,
        "n": int(len(X)),
        "seed": int(seed),
        "method": method,
        "accuracy": round(float(clustering_accuracy(y, labels)), 4),
        "nmi": round(float(normalized_mutual_info_score(y, labels)), 4),
        "seconds": round(seconds, 1),
        "changed_globals": changed_globals(before),
        "convergence_warnings": extra["convergence_warnings"],
        "load": f"{load_start} / {load_average()}",
        **run_info,
    }
    if quick and method in ("idec", "dec"):
        record["quick"] = True
    for key, name in (("start_labels", "start_accuracy"), ("dec_labels", "dec_accuracy")):
        if key in extra:
            record[name] = round(float(clustering_accuracy(y, extra[key])), 4)
    if "n_iter" in extra:
        record["n_iter"] = extra["n_iter"]
    return record


# ------------------------------------------------------------------ records and tables

RECORDS_START = "```json records"


def read_records(path):
    """The raw records a results file of this script ends with."""
    text = Path(path).read_text()
    match = re.search(rf"^{re.escape(RECORDS_START)}\n(.*?)^```$", text, re.M | re.S)
    if not match:
        raise SystemExit(f"{path} holds no raw records of bench_cluster_peers.py")
    return json.loads(match.group(1))


def key(record):
    return record["data"], record["n"], record["seed"], record["method"]


def data_label(data, n):
    return f"digits ({n:,})" if data == "digits" else f"MNIST {n:,}"


def spread(values, digits=3):
    """'median (min-max)' of ``values``, or the one value."""
    middle = f"{statistics.median(values):.{digits}f}"
    if len(values) == 1:
        return middle
    return f"{middle} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def seconds_text(values):
    return f"{statistics.median(values):,.0f} s"


def report(records):
    """The tables of ``records``, each data set a row."""
    groups = {}
    for r in records:
        groups.setdefault((r["data"], r["n"]), {}).setdefault(r["method"], []).append(r)
    order = sorted(groups, key=lambda g: (g[0] != "digits", g[1]))
    header = ["data", "seeds"] + [NAMES[m] for m in METHODS] + ["ours / IDEC"]
    accuracy_rows, nmi_rows = [], []
    for group in order:
        by_method = groups[group]
        seeds = sorted({r["seed"] for rs in by_method.values() for r in rs})
        accuracy_row = [data_label(*group), ", ".join(map(str, seeds))]
        nmi_row = list(accuracy_row)
        for method in METHODS:
            rs = sorted(by_method.get(method, []), key=lambda r: r["seed"])
            if not rs:
                accuracy_row.append("-")
                nmi_row.append("-")
                continue
            note = (
                "" if len(rs) == len(seeds) else f" [seeds {', '.join(str(r['seed']) for r in rs)}]"
            )
            quick = " (2+2 epochs)" if any(r.get("quick") for r in rs) else ""
            acc = spread([r["accuracy"] for r in rs])
            accuracy_row.append(f"{acc}, {seconds_text([r['seconds'] for r in rs])}{note}{quick}")
            nmi_row.append(spread([r["nmi"] for r in rs]) + note)
        accuracy_row.append(ratio(by_method))
        nmi_row.append(ratio(by_method, score="nmi", with_time=False))
        accuracy_rows.append(accuracy_row)
        nmi_rows.append(nmi_row)
    return "\n\n".join(
        [
            "## Accuracy and seconds per fit\n\nMedian accuracy over the seeds (range), "
            "median wall seconds of one fit, one thread. Last column: ours divided by "
            "ClustPy's IDEC, median of the per-seed ratios over the seeds both have "
            "(accuracy; seconds).",
            table(header, accuracy_rows),
            "## NMI\n\nMedian NMI over the seeds (range); last column as above.",
            table(header, nmi_rows),
            global_state_section(records),
            extras_section(records, order),
        ]
    )


def ratio(by_method, *, score="accuracy", with_time=True):
    ours = {r["seed"]: r for r in by_method.get("ours", [])}
    idec = {r["seed"]: r for r in by_method.get("idec", [])}
    both = sorted(set(ours) & set(idec))
    if not both:
        return "-"
    scores = [ours[s][score] / idec[s][score] for s in both]
    text = f"{statistics.median(scores):.2f}x"
    if with_time:
        times = [ours[s]["seconds"] / idec[s]["seconds"] for s in both]
        text += f"; {statistics.median(times):.2f}x time"
    return text


def global_state_section(records):
    """Which methods' fits changed the global numpy, random and torch generators."""
    rows = []
    for method in METHODS:
        rs = [r for r in records if r["method"] == method]
        if not rs:
            continue
        counts = {
            g: sum(g in r["changed_globals"] for r in rs) for g in ("numpy", "random", "torch")
        }
        rows.append([NAMES[method], str(len(rs)), *(f"{counts[g]}" for g in counts)])
    return (
        "## Global random state\n\nBefore each fit, numpy's, Python's and torch's global "
        f"generators were seeded with {SENTINEL}; the fits that left each changed, of all "
        "the fits.\n\n" + table(["method", "fits", "numpy", "random", "torch"], rows)
    )


def extras_section(records, order):
    """Ours: the start's accuracy, fine-tuning epochs and ConvergenceWarnings; ClustPy:
    the accuracy of the DEC head's own labels."""
    rows = []
    for data, n in order:
        rs = {
            m: [r for r in records if (r["data"], r["n"], r["method"]) == (data, n, m)]
            for m in METHODS
        }
        ours = rs["ours"]
        cells = [data_label(data, n)]
        if ours:
            cells += [
                spread([r["start_accuracy"] for r in ours]),
                spread([r["n_iter"] for r in ours], digits=0),
                f"{sum(r['convergence_warnings'] > 0 for r in ours)} of {len(ours)}",
            ]
        else:
            cells += ["-", "-", "-"]
        for method in ("idec", "dec"):
            cells.append(spread([r["dec_accuracy"] for r in rs[method]]) if rs[method] else "-")
        idec = {r["seed"]: r["dec_accuracy"] for r in rs["idec"]}
        both = [r["accuracy"] / idec[r["seed"]] for r in ours if r["seed"] in idec]
        cells.append(f"{statistics.median(both):.2f}x" if both else "-")
        rows.append(cells)
    header = [
        "data",
        "ours: start (KMeans on the codes)",
        "ours: fine-tuning epochs",
        "ours: fits with a ConvergenceWarning",
        "IDEC: dec_labels_",
        "DEC: dec_labels_",
        "ours / IDEC's dec_labels_",
    ]
    text = (
        "## Inside the fits\n\nMedian (range) accuracy. ClustPy's `labels_` (the tables "
        "above) are KMeans run again on the final codes; `dec_labels_` are its DEC head's "
        "own. Last column: ours (its `labels_`) divided by IDEC's `dec_labels_`, median "
        "of the per-seed ratios."
    )
    return text + "\n\n" + table(header, rows)


def sources_section(records):
    """The runs that made the records: command, commit, date, threads (a record's load
    is its own)."""
    runs = {}
    for r in records:
        run = (r["run_date"], r["commit"], r["threads"], r.get("command", "-"))
        runs.setdefault(run, set()).add(f"{NAMES[r['method']]} on {data_label(r['data'], r['n'])}")
    lines = ["## Runs behind the records", ""]
    for (date, commit, threads, command), fits in sorted(runs.items()):
        lines.append(f"- {date}, commit {commit}, {threads} thread(s): `{command}`")
        lines.append(f"  ({'; '.join(sorted(fits))})")
    return "\n".join(lines)


def main(argv=None):
    parser = base_parser(__doc__.splitlines()[0])
    parser.set_defaults(threads=1)
    parser.add_argument(
        "--data", nargs="+", choices=["digits", "mnist"], default=["digits", "mnist"]
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[1000, 3000, 10000], help="MNIST rows"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--only",
        nargs="*",
        choices=METHODS,
        default=list(METHODS),
        help="the methods to fit (none: only merge the records of --reuse)",
    )
    parser.add_argument(
        "--reuse",
        nargs="+",
        type=Path,
        default=[],
        help="results files whose records to keep (of the same fit, the newest)",
    )
    args = parser.parse_args(argv)
    set_threads(args.threads)
    run = Run(__file__, argv, threads=args.threads)
    records = {}
    for path in args.reuse:
        for record in read_records(path):
            # Files of runs that each reused the same older file: the newest fit wins.
            kept = records.get(key(record))
            if kept is None or record["run_date"] >= kept["run_date"]:
                records[key(record)] = record
    datasets = (
        [("digits", QUICK_ROWS)] if args.quick else [("digits", None)] * ("digits" in args.data)
    )
    if not args.quick and "mnist" in args.data:
        datasets += [("mnist", n) for n in args.sizes]
    seeds = args.seeds[:1] if args.quick else args.seeds
    if {"idec", "dec"} & set(args.only):
        clustpy_class("idec")  # fail now, not after an hour of the others' fits
    run_info = {
        "commit": run.fields["commit"],
        "run_date": datetime.datetime.fromtimestamp(run.started, datetime.timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC"
        ),
        "threads": torch.get_num_threads(),
        "command": run.fields["command"].strip("`"),
    }
    for data, n_rows in datasets if args.only else []:
        X, y = load(data, n_rows)
        for seed in seeds:
            for method in args.only:
                record = measure(method, data, X, y, seed, run_info, quick=args.quick)
                records[key(record)] = record
                if args.output is not None:  # after every fit: a run cut short keeps its fits
                    write(run, records, args.output)
                print(
                    f"{data_label(data, len(X))}, seed {seed}, {NAMES[method]}: accuracy "
                    f"{record['accuracy']:.3f}, NMI {record['nmi']:.3f}, "
                    f"{record['seconds']:.1f} s, "
                    f"changed {record['changed_globals'] or 'nothing'}, load {record['load']}",
                    file=sys.stderr,
                    flush=True,
                )
    text = write(run, records, args.output)
    print(text)
    return text


def write(run, records, output):
    """The report of ``records`` (a dict key -> record), written to ``output``."""
    records = sorted(
        records.values(),
        key=lambda r: (r["data"] != "digits", r["n"], r["seed"], METHODS.index(r["method"])),
    )
    text = "\n\n".join(
        [
            "# Deep clustering beside ClustPy 0.0.3, each at its defaults",
            "KMeans(10, n_init=10) on the pixels; ours `DeepClustering(n_clusters=10, "
            "random_state=seed, n_threads=1)`; ClustPy `IDEC(10, random_state=seed)` and "
            "`DEC(10, random_state=seed)`; all rows clustered and scored. The digits are "
            "scikit-learn's 8x8 digits / 16, MNIST the first N digits / 255.",
            report(records) if records else "No records.",
            sources_section(records) if records else "",
            "## Raw records\n\nOne a fit (`load`: the load average at its start / end); "
            "`--reuse` reads them back.\n\n"
            + RECORDS_START
            + "\n"
            + "[\n"
            + ",\n".join(json.dumps(r) for r in records)
            + "\n]"
            + "\n```",
        ]
    )
    return run.finish(text, output)


if __name__ == "__main__":
    main()
