"""The comparison behind ``sk-dae compare``: a DenoisingAutoencoder against PCA.

For every latent width, a :class:`~sk_dae.DenoisingAutoencoder` and a
:class:`~sklearn.decomposition.PCA` are fitted on the training split and scored on the
test split. The result is a list of rows, one per representation of the test data (the
raw input, then PCA and DAE codes of each width), each a dict with the keys of
:data:`COLUMNS`; a metric that does not apply to a row is NaN. A new kind of row (e.g.
another clustering of the codes) is one more dict with a new ``method`` name.
"""

from __future__ import annotations

import csv
import json
import math
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import Bunch

from ._estimator import DenoisingAutoencoder
from ._noise import NOISE_KINDS, Corruptor
from .clustering import _require_umap, make_embedding, umap_available
from .metrics import clustering_accuracy, psnr

#: Corruptions of the test images that every model is asked to undo (kind: level).
EVAL_NOISE = {"gaussian": 0.5, "masking": 0.5, "salt_and_pepper": 0.2}

#: Columns of the result table, in order, with their headers.
COLUMNS = {
    "method": "method",
    "width": "width",
    "mse_clean": "clean MSE",
    **{f"psnr_{kind}": f"PSNR {kind} (dB)" for kind in NOISE_KINDS},
    "kmeans_nmi": "KMeans NMI",
    "kmeans_ari": "KMeans ARI",
    "kmeans_acc": "KMeans acc",
    "probe_acc": "probe acc",
    "fit_s": "fit (s)",
    "transform_s": "transform (s)",
    "cluster_s": "cluster (s)",
}

#: Row names of the clustering rows, by embedding step (see :mod:`sk_dae.clustering`).
EMBEDDING_METHODS = {
    "standardize": "DAE + StandardScaler",
    "normalize": "DAE + Normalizer",
    "umap": "DAE + UMAP",
}

#: DenoisingAutoencoder settings of the default (digits) comparison.
DIGITS_DAE_PARAMS = dict(
    hidden_layer_sizes=(128,),
    noise="gaussian",
    noise_level=0.3,
    max_iter=100,
    batch_size=64,
    learning_rate_init=2e-3,
)


def compare(
    data,
    *,
    widths=(2, 10, 32),
    dae_params=None,
    eval_noise=None,
    n_init=10,
    embeddings=None,
    umap_params=None,
    fit_on="train",
    random_state=0,
    progress=True,
):
    """Fit a DAE and a PCA per latent width on ``data`` and score both on its test split.

    Parameters
    ----------
    data : Bunch
        ``X_train``, ``X_test`` in a bounded range (e.g. [0, 1]), and ``y_train``,
        ``y_test`` (or None: then clustering and the probe are skipped), as the loaders
        of :mod:`sk_dae.datasets` return.
    widths : sequence of int
        Latent widths to compare.
    dae_params : dict, default=None
        Parameters of :class:`~sk_dae.DenoisingAutoencoder` other than
        ``n_components`` and ``random_state``; None uses :data:`DIGITS_DAE_PARAMS`.
    eval_noise : dict, default=None
        Corruptions of the test images to undo, ``{kind: level}``; None uses
        :data:`EVAL_NOISE`.
    n_init : int, default=10
        KMeans restarts.
    embeddings : sequence of {"standardize", "normalize", "umap"}, default=None
        Embedding steps of :mod:`sk_dae.clustering` between the DAE codes and KMeans,
        each giving one more row per width (``"DAE + StandardScaler"``,
        ``"DAE + Normalizer"``, ``"DAE + UMAP"``). None uses ``"standardize"`` and
        ``"normalize"``, and ``"umap"`` too when umap-learn is installed.
    umap_params : dict, default=None
        Parameters of the UMAP step other than its defaults in
        :func:`sk_dae.clustering.make_embedding`.
    fit_on : {"train", "all"}, default="train"
        Rows the models are fitted on and the clusterings are scored on. ``"train"``:
        fit on the training split, cluster the test split. ``"all"``: fit on and cluster
        the training and test splits together, the protocol of the deep clustering
        literature (labels are never used to fit). The other columns are always scored
        on the test split, which ``"all"`` has seen while fitting.
    random_state : int, default=0
        Seeds every model, the noise and KMeans.
    progress : bool, default=True
        Show a progress bar (and the DAE's per-epoch bar).

    Returns
    -------
    result : Bunch
        ``rows`` (list of dicts, see :data:`COLUMNS`), ``daes`` and ``pcas`` (fitted
        models by width), ``noisy`` (corrupted test images by noise kind),
        ``cluster_labels`` (KMeans labels of the clustered rows by ``(method, width)``),
        ``y_cluster`` (their classes), ``data`` and ``settings``.
    """
    from tqdm.auto import tqdm

    widths = [int(w) for w in widths]
    if not widths or min(widths) < 1:
        raise ValueError(f"widths must be positive integers; got {widths}.")
    n_features = data.X_train.shape[1]
    if max(widths) > min(n_features, data.X_train.shape[0]):
        raise ValueError(
            f"widths must not exceed the number of features ({n_features}) nor of "
            f"training samples; got {widths}."
        )
    if fit_on not in ("train", "all"):
        raise ValueError(f"fit_on must be 'train' or 'all'; got {fit_on!r}.")
    if embeddings is None:
        embeddings = ["standardize", "normalize"] + (["umap"] if umap_available() else [])
    embeddings = list(embeddings)
    for kind in embeddings:
        if kind not in EMBEDDING_METHODS:
            raise ValueError(
                f"unknown embedding {kind!r}; expected some of {sorted(EMBEDDING_METHODS)}."
            )
    if "umap" in embeddings:
        _require_umap()  # fail now, not after the first fits
    params = dict(DIGITS_DAE_PARAMS if dae_params is None else dae_params)
    eval_noise = dict(EVAL_NOISE if eval_noise is None else eval_noise)
    for kind in eval_noise:
        if kind not in NOISE_KINDS:
            raise ValueError(f"unknown noise kind {kind!r}; expected one of {NOISE_KINDS}.")

    X_train, X_test = data.X_train, data.X_test
    y_train, y_test = data.get("y_train"), data.get("y_test")
    low, high = float(X_train.min()), float(X_train.max())
    data_range = high - low if high > low else 1.0
    noisy = {
        kind: corrupt(X_test, kind, level, low=low, high=high, random_state=random_state)
        for kind, level in eval_noise.items()
    }
    labelled = y_train is not None and y_test is not None
    n_clusters = len(np.unique(y_test)) if labelled else None
    if fit_on == "all":
        X_fit = np.concatenate([X_train, X_test])
        X_cluster, y_cluster = X_fit, (np.concatenate([y_train, y_test]) if labelled else None)
    else:
        X_fit, X_cluster, y_cluster = X_train, X_test, y_test

    def cluster(method, width, codes, embedding=None):
        """NMI, ARI, accuracy and time of KMeans on ``codes`` (after ``embedding``)."""
        start = time.perf_counter()
        if embedding is not None:
            codes = make_embedding(
                embedding,
                n_components=min(n_clusters, codes.shape[1]),
                random_state=random_state,
                **((umap_params or {}) if embedding == "umap" else {}),
            ).fit_transform(codes)
        kmeans = KMeans(n_clusters, n_init=n_init, random_state=random_state)
        labels = kmeans.fit_predict(codes)
        cluster_labels[method, width] = labels
        return {
            "kmeans_nmi": normalized_mutual_info_score(y_cluster, labels),
            "kmeans_ari": adjusted_rand_score(y_cluster, labels),
            "kmeans_acc": clustering_accuracy(y_cluster, labels),
            "cluster_s": time.perf_counter() - start,
        }

    def new_row(method, width, **values):
        row = {key: math.nan for key in COLUMNS}
        row.update(method=method, width=width, **values)
        return row

    def scores(method, width, model, codes_test, *, reconstruct, fit_s, transform_s):
        """The row of a fitted model whose test codes are ``codes_test``; also returns the
        codes of the clustered rows (None without labels)."""
        row = new_row(method, width, fit_s=fit_s, transform_s=transform_s)
        row["mse_clean"] = float(np.mean((reconstruct(X_test) - X_test) ** 2))
        for kind, X_noisy in noisy.items():
            row[f"psnr_{kind}"] = psnr(X_test, reconstruct(X_noisy), data_range=data_range)
        codes_cluster = None
        if labelled:
            codes_cluster = codes_test if fit_on == "train" else model.transform(X_cluster)
            row.update(cluster(method, width, codes_cluster))
            row["probe_acc"] = linear_probe(model.transform(X_train), y_train, codes_test, y_test)
        return row, codes_cluster

    rows, daes, pcas, cluster_labels = [], {}, {}, {}
    n_steps = 1 + (2 + (len(embeddings) if labelled else 0)) * len(widths)
    bar = tqdm(total=n_steps, desc="compare", unit="model", disable=not progress)
    with bar, warnings.catch_warnings():
        # The budget is a fixed number of epochs / iterations by design.
        warnings.simplefilter("ignore", ConvergenceWarning)

        bar.set_postfix_str("raw input")
        # A probe on raw pixels is a different, much costlier model; codes only.
        row = new_row("input", n_features, mse_clean=0.0, fit_s=0.0, transform_s=0.0)
        for kind, X_noisy in noisy.items():
            row[f"psnr_{kind}"] = psnr(X_test, X_noisy, data_range=data_range)
        if labelled:
            row.update(cluster("input", n_features, X_cluster))
        rows.append(row)
        bar.update()

        for width in widths:
            bar.set_postfix_str(f"PCA width {width}")
            pca = PCA(n_components=width, random_state=random_state)
            fit_s = _timed(pca.fit, X_fit)[1]
            codes_test, transform_s = _timed(pca.transform, X_test)
            pcas[width] = pca
            row, _ = scores(
                "PCA",
                width,
                pca,
                codes_test,
                reconstruct=lambda X, pca=pca: pca.inverse_transform(pca.transform(X)),
                fit_s=fit_s,
                transform_s=transform_s,
            )
            rows.append(row)
            bar.update()

            bar.set_postfix_str(f"DAE width {width}")
            dae = DenoisingAutoencoder(
                n_components=width,
                random_state=random_state,
                verbose=int(progress),
                **params,
            )
            fit_s = _timed(dae.fit, X_fit)[1]
            codes_test, transform_s = _timed(dae.transform, X_test)
            daes[width] = dae
            row, codes_cluster = scores(
                "DAE",
                width,
                dae,
                codes_test,
                reconstruct=dae.reconstruct,
                fit_s=fit_s,
                transform_s=transform_s,
            )
            rows.append(row)
            bar.update()

            if not labelled:
                continue
            for embedding in embeddings:
                method = EMBEDDING_METHODS[embedding]
                bar.set_postfix_str(f"{method} width {width}")
                values = cluster(method, width, codes_cluster, embedding)
                rows.append(new_row(method, width, fit_s=fit_s, transform_s=transform_s, **values))
                bar.update()

    settings = {
        "dataset": data.get("name", "data"),
        "n_train": int(X_train.shape[0]),
        "n_test": int(X_test.shape[0]),
        "widths": widths,
        "dae_params": {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()},
        "eval_noise": eval_noise,
        "n_init": n_init,
        "embeddings": embeddings,
        "umap_params": dict(umap_params or {}),
        "fit_on": fit_on,
        "n_cluster": int(X_cluster.shape[0]),
        "random_state": random_state,
        "torch_threads": torch.get_num_threads(),
    }
    return Bunch(
        rows=rows,
        daes=daes,
        pcas=pcas,
        noisy=noisy,
        cluster_labels=cluster_labels,
        y_cluster=y_cluster,
        data=data,
        settings=settings,
    )


def corrupt(X, kind, level, *, low=0.0, high=1.0, random_state=0):
    """A corrupted copy of ``X``: the training corruptions of sk_dae, seeded.

    Gaussian noise is clipped to ``[low, high]``; salt-and-pepper uses ``low`` and
    ``high`` as its values.
    """
    corruptor = Corruptor(kind, level, low=low, high=high, clip=True)
    generator = torch.Generator().manual_seed(int(random_state))
    clean = torch.as_tensor(np.ascontiguousarray(X, dtype=np.float32))
    return corruptor(clean, generator, reuse_buffer=False).numpy()


def linear_probe(codes_train, y_train, codes_test, y_test):
    """Test accuracy of a logistic regression fitted on standardized training codes."""
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=200))
    probe.fit(codes_train, y_train)
    return float(probe.score(codes_test, y_test))


def _timed(function, *args):
    start = time.perf_counter()
    out = function(*args)
    return out, time.perf_counter() - start


# ------------------------------------------------------------------ output


def _format(value, key):
    if isinstance(value, str):
        return value
    if isinstance(value, float) and math.isnan(value):
        return ""
    if key == "width":
        return str(int(value))
    if key == "mse_clean":
        return f"{value:.4f}"
    if key.startswith("psnr"):
        return f"{value:.2f}"
    if key.endswith("_s"):
        return f"{value:.2f}"
    return f"{value:.3f}"


def markdown_table(rows, columns=None):
    """The rows as a GitHub markdown table; empty cells for metrics that do not apply.

    Examples
    --------
    >>> from sk_dae._compare import markdown_table
    >>> print(markdown_table([{"method": "PCA", "width": 2, "mse_clean": 0.05}],
    ...                      columns=["method", "width", "mse_clean"]))
    | method | width | clean MSE |
    |---|---|---|
    | PCA | 2 | 0.0500 |
    """
    columns = list(COLUMNS) if columns is None else list(columns)
    lines = [
        "| " + " | ".join(COLUMNS.get(key, key) for key in columns) + " |",
        "|" + "---|" * len(columns),
    ]
    for row in rows:
        cells = [_format(row.get(key, math.nan), key) for key in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_results(result, output, *, figures=True):
    """Write ``results.csv``, ``results.json``, ``results.md`` and the figures to ``output``.

    Returns the list of paths written.
    """
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    written = []
    columns = list(COLUMNS) + sorted({k for row in result.rows for k in row} - set(COLUMNS))

    path = output / "results.csv"
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for row in result.rows:
            writer.writerow({k: ("" if _isnan(v) else v) for k, v in row.items()})
    written.append(path)

    path = output / "results.json"
    rows = [{k: (None if _isnan(v) else v) for k, v in row.items()} for row in result.rows]
    path.write_text(json.dumps({"settings": result.settings, "rows": rows}, indent=2) + "\n")
    written.append(path)

    path = output / "results.md"
    path.write_text(markdown_table(result.rows, columns) + "\n")
    written.append(path)

    if figures:
        written += write_figures(result, output)
    return written


def _isnan(value):
    return isinstance(value, float) and math.isnan(value)


def write_figures(result, output, *, n_images=10, dpi=80):
    """Save the comparison's figures as PNG files in ``output``; return their paths."""
    import matplotlib.pyplot as plt

    from . import plotting

    output = Path(output)
    data, rows = result.data, result.rows
    widths = result.settings["widths"]
    written = []

    def save(fig, name):
        path = output / name
        fig.savefig(path, dpi=dpi)
        plt.close(fig)
        written.append(path)

    image_shape = data.get("image_shape")
    if image_shape is not None:
        # The denoising grids use the widest models, the best denoisers.
        width = max(widths)
        dae, pca = result.daes[width], result.pcas[width]
        X = data.X_test[:n_images]
        for kind, X_noisy in result.noisy.items():
            level = result.settings["eval_noise"][kind]
            noisy = X_noisy[:n_images]
            grid = {
                "original": X,
                "corrupted": noisy,
                f"DAE-{width}": dae.reconstruct(noisy),
                f"PCA-{width}": np.clip(pca.inverse_transform(pca.transform(noisy)), 0, 1),
            }
            title = f"{kind} noise ({level}), {data.get('name', '')} test images"
            save(
                plotting.plot_image_grid(grid, image_shape, n_images=n_images, title=title),
                f"denoising_{kind}.png",
            )

    errors = {
        method: [_row(rows, method, w)["mse_clean"] for w in widths] for method in ("PCA", "DAE")
    }
    save(plotting.plot_mse_vs_width(widths, errors), "mse_vs_width.png")

    curves = {f"width {w}": dae for w, dae in result.daes.items()}
    save(plotting.plot_loss_curves(curves), "loss_curves.png")

    y_test = data.get("y_test")
    if 2 in widths:
        codes = {
            "PCA, 2 components": result.pcas[2].transform(data.X_test),
            "DAE, 2 codes": result.daes[2].transform(data.X_test),
        }
        save(plotting.plot_codes_2d(codes, y_test), "codes_2d.png")

    if result.cluster_labels:
        # The best clustering of any codes (the raw input is the baseline, not a candidate).
        best = max(
            (row for row in rows if row["method"] != "input" and not _isnan(row["kmeans_acc"])),
            key=lambda row: row["kmeans_acc"],
        )
        labels = result.cluster_labels[best["method"], best["width"]]
        title = (
            f"KMeans on {best['method']}-{best['width']} codes: accuracy "
            f"{best['kmeans_acc']:.3f}, NMI {best['kmeans_nmi']:.3f}"
        )
        save(
            plotting.plot_confusion_matrix(result.y_cluster, labels, title=title),
            "confusion_matrix.png",
        )
    return written


def _row(rows, method, width):
    for row in rows:
        if row["method"] == method and row["width"] == width:
            return row
    raise KeyError((method, width))
