"""The deep clustering report of ``sk-dae cluster``: what each step of deep clustering adds.

On one data set and for every seed it clusters all the rows (the deep clustering papers'
protocol: the labels only score) with

* KMeans on the raw features and on PCA codes as wide as the autoencoder's;
* KMeans on the codes of a pretrained :class:`~sk_dae.DenoisingAutoencoder`
  (``DeepClustering(max_iter=0)``);
* :class:`~sk_dae.DeepClustering` fine-tuning, IDEC (its defaults) and DEC;
* the manifold start (UMAP on the codes, then KMeans) and IDEC from it, and N2D's own
  last step (a Gaussian mixture on the UMAP embedding), when umap-learn is installed
  (otherwise the rows say so).

One autoencoder is pretrained per seed and shared through ``prefit=True``; the seconds
of the autoencoder rows include its pretraining. Every row is scored by NMI, ARI and the
accuracy under the best matching of clusters to classes, on all the rows and on the rows
of the test split alone. :func:`cluster_report` runs the experiment,
:func:`markdown` and :func:`write_cluster_results` report it.
"""

from __future__ import annotations

import json
import os
import statistics
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from threadpoolctl import threadpool_limits

from ..clustering import make_pretraining_autoencoder, umap_available
from ..clustering._deep_clustering import DeepClustering
from ..metrics import clustering_accuracy
from .compare import timed
from .report import markdown_table

PIXELS = "KMeans on pixels"
PCA_ROW = "KMeans on PCA-{width}"
CODES = "pretrained codes, KMeans"
IDEC = "IDEC"
DEC = "DEC"
UMAP_START = "codes, UMAP, KMeans (N2D start)"
IDEC_UMAP = "IDEC from the UMAP start"
UMAP_GMM = "codes, UMAP, Gaussian mixture (N2D)"

#: Score keys and their column headers, in the order of the table.
COLUMNS = {
    "method": "method",
    "nmi": "NMI",
    "ari": "ARI",
    "accuracy": "accuracy",
    "test_nmi": "test NMI",
    "test_ari": "test ARI",
    "test_accuracy": "test accuracy",
    "fit_s": "fit (s)",
}

NOT_INSTALLED = "umap-learn not installed (pip install umap-learn)"

#: Published accuracies on all 70,000 MNIST digits of the rows' methods, shown beside
#: the measured ones when the report clusters them (see the clustering user guide).
PUBLISHED_MNIST = {
    PIXELS: "0.534 (DEC paper)",
    CODES: "0.879 (DEC-keras, 300 epochs)",
    IDEC: "0.881 (IDEC paper)",
    DEC: "0.843 (DEC paper); 0.912 mean (DEC-keras)",
    UMAP_GMM: "0.979 (N2D)",
}


@dataclass
class ClusterReport:
    """What :func:`cluster_report` measured: ``per_seed`` maps a seed to its rows (method
    -> scores, or ``{"note": ...}`` for a row that could not run)."""

    settings: dict
    per_seed: dict = field(default_factory=dict)

    @property
    def rows(self):
        """The table's rows: the median of every score over the seeds, with the range in
        brackets when there are several; notes as they are."""
        return summarise(self.per_seed)


def scores(y, labels, n_train=None):
    """NMI, ARI and accuracy of ``labels`` on all rows and, when ``n_train`` rows of
    ``len(y)`` are the training split, on the test rows after them (else NaN)."""
    out = {
        "nmi": normalized_mutual_info_score(y, labels),
        "ari": adjusted_rand_score(y, labels),
        "accuracy": clustering_accuracy(y, labels),
    }
    has_test = n_train is not None and 0 < n_train < len(y)
    test = slice(n_train, None)
    for key, score in (
        ("test_nmi", normalized_mutual_info_score),
        ("test_ari", adjusted_rand_score),
        ("test_accuracy", clustering_accuracy),
    ):
        out[key] = float(score(y[test], labels[test])) if has_test else float("nan")
    return {key: float(value) for key, value in out.items()}


class _Seed:
    """The runs of one seed: a row is recorded as soon as it is scored, and logged."""

    def __init__(self, X, y, n_train, seed, n_clusters, n_init, log):
        self.X, self.y, self.n_train, self.seed = X, y, n_train, seed
        self.n_clusters, self.n_init, self.log = n_clusters, n_init, log
        self.rows = {}

    def record(self, name, labels, seconds):
        row = {**scores(self.y, labels, self.n_train), "fit_s": seconds}
        self.rows[name] = row
        self.log(
            f"seed {self.seed}, {name}: NMI {row['nmi']:.3f}, ARI {row['ari']:.3f}, "
            f"accuracy {row['accuracy']:.3f}, {seconds:.1f} s"
        )

    def note(self, name, text):
        self.rows[name] = {"note": text}
        self.log(f"seed {self.seed}, {name}: {text}")

    def kmeans(self):
        return KMeans(self.n_clusters, n_init=self.n_init, random_state=self.seed)

    def baselines(self, width):
        labels, seconds = timed(lambda: self.kmeans().fit_predict(self.X))
        self.record(PIXELS, labels, seconds)
        pca = PCA(width, random_state=self.seed)
        labels, seconds = timed(lambda: self.kmeans().fit_predict(pca.fit_transform(self.X)))
        self.record(PCA_ROW.format(width=width), labels, seconds)

    def deep(self, autoencoder, clustering_params, manifold):
        """Pretrain once, then the KMeans, IDEC, DEC and manifold rows from it."""
        dae = autoencoder.set_params(random_state=self.seed)
        dae, pretraining = timed(lambda: dae.fit(self.X))
        self.log(f"seed {self.seed}, pretraining: {pretraining:.1f} s")

        def fit(**params):
            params = {"n_init": self.n_init, **clustering_params, **params}
            model = DeepClustering(
                self.n_clusters, autoencoder=dae, prefit=True, random_state=self.seed, **params
            )
            model, seconds = timed(lambda: model.fit(self.X))
            return model, pretraining + seconds

        model, seconds = fit(max_iter=0)
        self.record(CODES, model.labels_, seconds)
        if manifold != "only":
            model, seconds = fit()
            self.record(IDEC, model.labels_, seconds)
            model, seconds = fit(method="dec")
            self.record(DEC, model.labels_, seconds)
        if manifold and not umap_available():
            self.note(UMAP_START, NOT_INSTALLED)
            self.note(IDEC_UMAP, NOT_INSTALLED)
            self.note(UMAP_GMM, NOT_INSTALLED)
        elif manifold:
            model, seconds = fit(manifold="umap")
            self.record(UMAP_START, model.initial_labels_, seconds)
            self.record(IDEC_UMAP, model.labels_, seconds)
            # N2D's clusters are the mixture's on the embedding, before any fine-tuning.
            model, seconds = fit(manifold="umap", init="gmm", max_iter=0)
            self.record(UMAP_GMM, model.initial_labels_, seconds)


def cluster_report(
    X,
    y,
    *,
    n_train=None,
    n_clusters=None,
    seeds=(0,),
    autoencoder=None,
    autoencoder_params=None,
    clustering_params=None,
    n_init=10,
    manifold=True,
    baselines=True,
    n_threads=None,
    dataset=None,
    log=None,
):
    """Run the deep clustering comparison on ``X`` (scored against the classes ``y``).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        All the rows to cluster, the training split first.
    y : ndarray of shape (n_samples,)
        Their classes; used to score only.
    n_train : int, default=None
        How many of the first rows are the training split; the test columns score the
        rows after them. None: no test columns.
    n_clusters : int, default=None
        Number of clusters; None: the number of classes in ``y``.
    seeds : sequence of int, default=(0,)
        One run of every row per seed.
    autoencoder : DenoisingAutoencoder, default=None
        The autoencoder to pretrain (cloned); None: ``DeepClustering``'s default one
        for this many rows (``make_pretraining_autoencoder(n_samples=len(X))``).
    autoencoder_params : dict, default=None
        Parameters set on that autoencoder (e.g. ``max_iter``).
    clustering_params : dict, default=None
        Parameters of every ``DeepClustering`` (e.g. ``max_iter``) over its defaults.
    n_init : int, default=10
        KMeans restarts, in every row.
    manifold : bool or "only", default=True
        Add the UMAP start (a row saying that umap-learn is missing when it is);
        ``"only"``: that start without the IDEC and DEC rows.
    baselines : bool, default=True
        Add KMeans on the raw features and on PCA codes.
    n_threads : int, default=None
        Threads of torch, BLAS and OpenMP (KMeans); None: the library's choice.
    dataset : str, default=None
        The data set's name, for the report.
    log : callable, default=None
        Called with a line of text as every row is scored.

    Returns
    -------
    report : ClusterReport
    """
    X = np.ascontiguousarray(X, dtype=np.float32)
    y = np.asarray(y)
    n_clusters = len(np.unique(y)) if n_clusters is None else n_clusters
    if y.shape != (X.shape[0],):
        raise ValueError(f"y has shape {y.shape}; one class per row of X needs ({X.shape[0]},).")
    if X.shape[0] < n_clusters:
        raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={n_clusters}.")
    if autoencoder is None:
        autoencoder = make_pretraining_autoencoder(X=X)
    autoencoder = clone(autoencoder).set_params(**(autoencoder_params or {}))
    clustering_params = dict(clustering_params or {})
    if n_threads is not None:
        autoencoder.set_params(n_threads=n_threads)
        clustering_params["n_threads"] = n_threads
    settings = {
        "dataset": dataset,
        **_settings(X, n_train, n_clusters, seeds, autoencoder, clustering_params, n_init),
    }
    report = ClusterReport(settings)
    start = time.perf_counter()
    with threadpool_limits(limits=n_threads), warnings.catch_warnings():
        # Fixed budgets on purpose: a run stopped at max_iter is what the row measures.
        warnings.simplefilter("ignore", ConvergenceWarning)
        for seed in seeds:
            run = _Seed(X, y, n_train, seed, n_clusters, n_init, log or (lambda line: None))
            if baselines:
                run.baselines(min(autoencoder.n_components, *X.shape))
            run.deep(clone(autoencoder), clustering_params, manifold)
            report.per_seed[seed] = run.rows
    settings["wall_s"] = round(time.perf_counter() - start, 1)
    return report


def _settings(X, n_train, n_clusters, seeds, autoencoder, clustering_params, n_init):
    return {
        "n_samples": int(X.shape[0]),
        "n_features": int(X.shape[1]),
        "n_train": None if n_train is None else int(n_train),
        "n_clusters": int(n_clusters),
        "seeds": [int(seed) for seed in seeds],
        "autoencoder": " ".join(repr(autoencoder).split()),
        "clustering_params": {k: v for k, v in clustering_params.items()},
        "n_init": int(n_init),
        "umap_available": umap_available(),
        "cpu_count": os.cpu_count(),
        "load_average": round(os.getloadavg()[0], 2),
    }


def summarise(per_seed):
    """The table's rows (see :attr:`ClusterReport.rows`), cells as text."""
    runs = list(per_seed.values())
    rows = []
    for name in runs[0] if runs else ():
        if "note" in runs[0][name]:
            rows.append({"method": name, "nmi": runs[0][name]["note"]})
            continue
        row = {"method": name}
        for key in list(COLUMNS)[1:]:
            values = [run[name][key] for run in runs]
            if any(np.isnan(values)):
                row[key] = ""
                continue
            fmt = "{:.2f}" if key == "fit_s" else "{:.3f}"
            row[key] = fmt.format(statistics.median(values))
            if len(values) > 1 and key != "fit_s":
                row[key] += f" ({min(values):.3f}-{max(values):.3f})"
        rows.append(row)
    return rows


def _published_column(report):
    """The papers' MNIST figure of every row when the report clusters all 70,000 MNIST
    digits, else None."""
    s = report.settings
    is_mnist = str(s.get("dataset") or "").lower() == "mnist" and s["n_samples"] == 70000
    if not is_mnist:
        return None
    return {row["method"]: PUBLISHED_MNIST.get(row["method"], "") for row in report.rows}


def markdown(report, *, title=None):
    """The report as markdown: a title, what was run, and the table (with the papers'
    figures on all of MNIST)."""
    s = report.settings
    n_train, n_test = s["n_train"], s["n_samples"] - (s["n_train"] or 0)
    split = f" ({n_train} train + {n_test} test)" if n_train and n_test else ""
    seeds = ", ".join(map(str, s["seeds"]))
    name = f" {s['dataset']}" if s.get("dataset") else ""
    title = title or f"Deep clustering of {s['n_samples']}{name} rows"
    lines = [
        f"# {title}{split}, {s['n_clusters']} clusters, seeds {seeds}",
        "",
        f"Autoencoder: {s['autoencoder']}; DeepClustering parameters: "
        f"{s['clustering_params'] or 'the defaults'}; KMeans restarts: {s['n_init']}.",
        "",
        "Medians over the seeds (range in brackets). Every model clusters all the rows; "
        "the test columns score the same clustering on the test split's rows. Seconds "
        "include the pretraining for the autoencoder rows.",
        "",
        _table(report),
    ]
    return "\n".join(lines)


def _table(report):
    rows = [{COLUMNS[key]: cell for key, cell in row.items()} for row in report.rows]
    columns = list(COLUMNS.values())
    published = _published_column(report)
    if published is not None:
        for row in rows:
            row["published accuracy"] = published[row["method"]]
        columns.insert(columns.index("accuracy") + 1, "published accuracy")
    return markdown_table(rows, columns)


def write_cluster_results(report, output, *, title=None):
    """Write ``results.md`` and ``results.json`` to the folder ``output``; return their
    paths."""
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    md = output / "results.md"
    md.write_text(markdown(report, title=title) + "\n")
    document = {
        "settings": report.settings,
        "per_seed": {str(seed): rows for seed, rows in report.per_seed.items()},
        "summary": report.rows,
    }
    path = output / "results.json"
    path.write_text(json.dumps(_json_safe(document), indent=2) + "\n")
    return [md, path]


def _json_safe(value):
    """``value`` with NaN as null (JSON has no NaN) and tuples as lists."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and np.isnan(value):
        return None
    return value
