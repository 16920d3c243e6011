"""The report of ``sk-dae compare``: markdown, CSV and JSON tables, and the figures.

It reads the result of :func:`sk_dae._experiment.compare.compare` and fits nothing.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from .compare import COLUMNS, is_nan


def _format(value, key):
    if isinstance(value, str):
        return value
    if is_nan(value):
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
    >>> from sk_dae._experiment.report import markdown_table
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


def losses_to_pca(rows, n_train=None):
    """One line per width where PCA reconstructs the clean test data better than the
    autoencoder, with the likely reason; empty when the autoencoder wins everywhere.

    Examples
    --------
    >>> from sk_dae._experiment.report import losses_to_pca
    >>> rows = [{"method": "input", "width": 64}, {"method": "PCA", "width": 32,
    ...         "mse_clean": 0.0027}, {"method": "DAE", "width": 32, "mse_clean": 0.0037}]
    >>> print(losses_to_pca(rows, n_train=1347)[0])  # doctest: +ELLIPSIS
    Width 32: PCA reconstructs better (MSE 0.0027 against 0.0037). At 32 of 64 features...
    """
    n_features = max((r["width"] for r in rows if r["method"] == "input"), default=None)
    by_width = {}
    for row in rows:
        if row["method"] in ("PCA", "DAE") and not is_nan(row.get("mse_clean", math.nan)):
            by_width.setdefault(row["width"], {})[row["method"]] = row["mse_clean"]
    lines = []
    for width, errors in sorted(by_width.items()):
        if len(errors) < 2 or errors["DAE"] <= errors["PCA"]:
            continue
        line = (
            f"Width {width}: PCA reconstructs better (MSE {errors['PCA']:.4g} against "
            f"{errors['DAE']:.4g})."
        )
        if n_features is not None and width >= n_features / 4:
            line += (
                f" At {width} of {n_features} features PCA keeps nearly all the variance, "
                "and the autoencoder, trained to remove noise, gives up clean detail to do "
                "so; use PCA for compression at this width."
            )
        elif n_train is not None and n_train < 5000:
            line += f" {n_train} training rows are few to learn a nonlinear map."
        lines.append(line)
    return lines


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
            writer.writerow({k: ("" if is_nan(v) else v) for k, v in row.items()})
    written.append(path)

    path = output / "results.json"
    rows = [{k: (None if is_nan(v) else v) for k, v in row.items()} for row in result.rows]
    path.write_text(json.dumps({"settings": result.settings, "rows": rows}, indent=2) + "\n")
    written.append(path)

    path = output / "results.md"
    path.write_text(markdown_table(result.rows, columns) + "\n")
    written.append(path)

    if figures:
        written += write_figures(result, output)
    return written


def write_figures(result, output, *, n_images=10, dpi=80):
    """Save the comparison's figures as PNG files in ``output``; return their paths."""
    import matplotlib.pyplot as plt

    output = Path(output)
    written = []
    for name, fig in _figures(result, n_images):
        path = output / name
        fig.savefig(path, dpi=dpi)
        plt.close(fig)
        written.append(path)
    return written


def _figures(result, n_images):
    """``(file name, figure)`` of every figure that ``result`` can show."""
    from .. import plotting

    data, rows = result.data, result.rows
    widths = result.settings["widths"]
    if data.get("image_shape") is not None:
        yield from _denoising_grids(result, n_images)
    errors = {
        method: [_row(rows, method, w)["mse_clean"] for w in widths] for method in ("PCA", "DAE")
    }
    yield "mse_vs_width.png", plotting.plot_mse_vs_width(widths, errors)
    curves = {f"width {w}": dae for w, dae in result.daes.items()}
    yield "loss_curves.png", plotting.plot_loss_curves(curves)
    if 2 in widths:
        codes = {
            "PCA, 2 components": result.pcas[2].transform(data.X_test),
            "DAE, 2 codes": result.daes[2].transform(data.X_test),
        }
        yield "codes_2d.png", plotting.plot_codes_2d(codes, data.get("y_test"))
    if result.cluster_labels:
        yield "confusion_matrix.png", _best_clustering_figure(result)


def _denoising_grids(result, n_images):
    """One grid per test corruption, with the widest models (the best denoisers)."""
    from .. import plotting

    data = result.data
    width = max(result.settings["widths"])
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
        figure = plotting.plot_image_grid(grid, data.image_shape, n_images=n_images, title=title)
        yield f"denoising_{kind}.png", figure


def _best_clustering_figure(result):
    """The confusion matrix of the best clustering of any codes (the raw input is the
    baseline, not a candidate)."""
    from .. import plotting

    best = max(
        (row for row in result.rows if row["method"] != "input" and not is_nan(row["kmeans_acc"])),
        key=lambda row: row["kmeans_acc"],
    )
    labels = result.cluster_labels[best["method"], best["width"]]
    title = (
        f"KMeans on {best['method']}-{best['width']} codes: accuracy "
        f"{best['kmeans_acc']:.3f}, NMI {best['kmeans_nmi']:.3f}"
    )
    return plotting.plot_confusion_matrix(result.y_cluster, labels, title=title)


def _row(rows, method, width):
    for row in rows:
        if row["method"] == method and row["width"] == width:
            return row
    raise KeyError((method, width))
