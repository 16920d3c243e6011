"""Figures for comparing a denoising autoencoder with PCA.

matplotlib is an optional dependency (``pip install sk-dae[plot]``); it is imported when
a function here is called, never when :mod:`sk_dae` is imported. Every function returns
a :class:`matplotlib.figure.Figure` made with :mod:`matplotlib.pyplot`, so it shows in
notebooks and example galleries; close it with ``plt.close(fig)`` when saving many.
"""

from __future__ import annotations

import numpy as np


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("sk_dae.plotting needs matplotlib: pip install 'sk-dae[plot]'") from exc
    return plt


def _wrap(text, max_width):
    """Break the string of a title at spaces so that no line is wider than max_width.

    A centred title longer than its figure is cut off on both sides (and one longer than
    its axes runs over the neighbouring axes); matplotlib's layouts move axes but never
    break lines. ``max_width`` is in display pixels; a word wider than it stays whole.
    """
    lines = []
    for paragraph in text.get_text().split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            text.set_text(candidate)
            if line and text.get_window_extent().width > max_width:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    text.set_text("\n".join(lines))
    return text


def _set_title(ax, title):
    """The axes title, wrapped to the width of the axes."""
    return _wrap(ax.set_title(title), ax.get_window_extent().width)


def plot_image_grid(rows, image_shape, *, n_images=10, title=None):
    """Rows of images, one row per version of the same samples.

    The classic denoising figure: originals, their corrupted copies and the
    reconstructions of several models, aligned column by column.

    Parameters
    ----------
    rows : dict of str to array-like of shape (n_samples, n_features)
        Label of each row and its images, flattened; the first ``n_images`` are shown.
    image_shape : tuple of int
        ``(height, width)`` of one image, e.g. ``(28, 28)``.
    n_images : int, default=10
        Number of columns.
    title : str, default=None
        Title of the figure, broken into lines as wide as the figure.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from sk_dae.datasets import load_digits
    >>> from sk_dae.plotting import plot_image_grid
    >>> X = load_digits().X_test
    >>> fig = plot_image_grid({"original": X, "inverted": 1 - X}, (8, 8), n_images=5)
    >>> len(fig.axes)
    10
    >>> plt.close(fig)
    """
    plt = _pyplot()
    rows = {label: np.asarray(images) for label, images in rows.items()}
    n_images = min([n_images] + [len(images) for images in rows.values()])
    width, height = 0.8 * n_images + 1.2, 0.85 * len(rows) + (0.4 if title else 0.1)
    fig, axes = plt.subplots(len(rows), n_images, figsize=(width, height), squeeze=False)
    for axes_row, (label, images) in zip(axes, rows.items()):
        for j, ax in enumerate(axes_row):
            ax.imshow(
                np.asarray(images[j]).reshape(image_shape),
                cmap="gray_r",
                vmin=0.0,
                vmax=1.0,
                interpolation="nearest",
            )
            ax.set_xticks([])
            ax.set_yticks([])
        axes_row[0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    # The row labels sit left of the images: a margin as wide as the widest, in inches,
    # not a fraction of a figure that is narrow when the images are few.
    label_width = max(ax.yaxis.label.get_window_extent().width for ax in axes[:, 0])
    left = min((label_width + 0.12 * fig.dpi) / fig.bbox.width, 0.5)
    top = plt.rcParams["figure.subplot.top"]
    if title:
        suptitle = _wrap(fig.suptitle(title, fontsize=10), 0.95 * fig.bbox.width)
        # Each line past the first makes the figure taller by its height, above the rows.
        extra = (suptitle.get_text().count("\n")) * 0.17
        if extra:
            fig.set_size_inches(width, height + extra)
            top = 1 - ((1 - top) * height + extra) / (height + extra)
    fig.subplots_adjust(left=left, right=0.99, bottom=0.01, top=top, wspace=0.05, hspace=0.05)
    return fig


def plot_mse_vs_width(widths, errors, *, title=None):
    """Reconstruction error against the latent width, one line per method.

    Parameters
    ----------
    widths : array-like of int
        The latent widths, in the order of the errors.
    errors : dict of str to array-like of float
        Mean squared reconstruction error of each method at each width.
    title : str, default=None
        Title of the axes, broken into lines as wide as the axes.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from sk_dae.plotting import plot_mse_vs_width
    >>> fig = plot_mse_vs_width([2, 10, 32], {"PCA": [0.05, 0.03, 0.017],
    ...                                       "DAE": [0.04, 0.015, 0.008]})
    >>> [line.get_label() for line in fig.axes[0].get_lines()]
    ['PCA', 'DAE']
    >>> plt.close(fig)
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    for label, values in errors.items():
        ax.plot(widths, values, marker="o", label=label)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(list(widths), [str(w) for w in widths])
    ax.set_xlabel("latent width")
    ax.set_ylabel("test reconstruction MSE")
    _set_title(ax, title or "Clean reconstruction error")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return fig


def plot_loss_curves(curves, *, title=None):
    """Training loss and validation error per epoch of one or more fitted autoencoders.

    Parameters
    ----------
    curves : dict of str to DenoisingAutoencoder or tuple
        A fitted :class:`~sk_dae.DenoisingAutoencoder` (its ``loss_curve_`` and, with
        ``early_stopping``, ``validation_scores_``) or a pair ``(loss_curve,
        validation_scores)`` per label; validation scores are negative errors, as the
        estimator stores them, and may be None.
    title : str, default=None
        Title of the axes, broken into lines as wide as the axes.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from sk_dae.plotting import plot_loss_curves
    >>> fig = plot_loss_curves({"width 8": ([0.09, 0.05, 0.04], [-0.06, -0.04, -0.035])})
    >>> len(fig.axes[0].get_lines())
    2
    >>> plt.close(fig)
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.4))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, curve) in enumerate(curves.items()):
        if hasattr(curve, "loss_curve_"):
            curve = (curve.loss_curve_, curve.validation_scores_)
        loss, scores = curve
        color = colors[i % len(colors)]
        epochs = np.arange(1, len(loss) + 1)
        ax.plot(epochs, loss, color=color, label=f"{label}: training (noisy input)")
        if scores is not None and len(scores):
            ax.plot(
                np.arange(1, len(scores) + 1),
                -np.asarray(scores),
                color=color,
                linestyle="--",
                label=f"{label}: validation MSE (clean)",
            )
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    _set_title(ax, title or "Training curves")
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return fig


def plot_codes_2d(codes, y=None, *, title=None, max_points=5000, random_state=0):
    """Scatter plots of two-dimensional codes side by side, coloured by class.

    Parameters
    ----------
    codes : dict of str to array-like of shape (n_samples, 2)
        The codes of each method, e.g. ``{"PCA": ..., "DAE": ...}``.
    y : array-like of shape (n_samples,), default=None
        Classes, for the colours and the legend.
    title : str, default=None
        Title of the figure, broken into lines as wide as the figure.
    max_points : int, default=5000
        At most this many points, drawn at random, are shown per panel.
    random_state : int, default=0
        Seed of that draw.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np, matplotlib.pyplot as plt
    >>> from sk_dae.plotting import plot_codes_2d
    >>> rng = np.random.default_rng(0)
    >>> fig = plot_codes_2d({"A": rng.normal(size=(50, 2)), "B": rng.normal(size=(50, 2))},
    ...                     y=rng.integers(0, 3, 50))
    >>> len(fig.axes)
    2
    >>> plt.close(fig)
    """
    plt = _pyplot()
    n_samples = len(next(iter(codes.values())))
    keep = np.arange(n_samples)
    if n_samples > max_points:
        keep = np.sort(np.random.default_rng(random_state).choice(n_samples, max_points, False))
    fig, axes = plt.subplots(1, len(codes), figsize=(4 * len(codes), 3.8), squeeze=False)
    for ax, (label, Z) in zip(axes[0], codes.items()):
        Z = np.asarray(Z)[keep]
        if Z.shape[1] != 2:
            raise ValueError(f"codes of {label!r} must have 2 columns; got {Z.shape[1]}.")
        if y is None:
            ax.scatter(Z[:, 0], Z[:, 1], s=2, alpha=0.5)
        else:
            labels = np.asarray(y)[keep]
            scatter = ax.scatter(Z[:, 0], Z[:, 1], c=labels, cmap="tab10", s=2, alpha=0.6)
            ax.legend(*scatter.legend_elements(), fontsize=6, loc="best", markerscale=0.6)
        _set_title(ax, label)
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        _wrap(fig.suptitle(title), 0.95 * fig.bbox.width)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(y_true, y_pred, *, title=None, ax=None):
    """Confusion matrix of a clustering, clusters matched to classes.

    Cluster labels are renamed by the matching that
    :func:`sk_dae.metrics.clustering_accuracy` finds, so the diagonal holds the
    correctly clustered samples.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Classes.
    y_pred : array-like of shape (n_samples,)
        Cluster labels.
    title : str, default=None
        Title of the axes, broken into lines as wide as the axes.
    ax : matplotlib.axes.Axes, default=None
        Axes to draw on; None draws on a new figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure of the axes.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from sk_dae.plotting import plot_confusion_matrix
    >>> fig = plot_confusion_matrix([0, 0, 1, 1, 2, 2], [4, 4, 9, 9, 9, 7])
    >>> plt.close(fig)

    On axes of an existing figure:

    >>> fig, (left, right) = plt.subplots(1, 2)
    >>> plot_confusion_matrix([0, 1, 1], [5, 6, 6], ax=right) is fig
    True
    >>> plt.close(fig)
    """
    from sklearn.metrics import ConfusionMatrixDisplay

    from .metrics import _match_clusters

    plt = _pyplot()
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    match = _match_clusters(y_true, y_pred)
    classes, clusters = match.classes, match.clusters
    # Work with positions: class i is i, cluster matched to class i becomes i, and a
    # cluster left without a class (more clusters than classes) gets a column of its own.
    true_index = np.searchsorted(classes, y_true)
    mapping = {clusters[c]: r for r, c in zip(match.rows, match.cols)}
    extra = [cluster for cluster in clusters if cluster not in mapping]
    for i, cluster in enumerate(extra):
        mapping[cluster] = len(classes) + i
    pred_index = np.array([mapping[label] for label in y_pred])
    display = [str(c) for c in classes] + [f"({c})" for c in extra]
    new_figure = ax is None
    if new_figure:
        fig, ax = plt.subplots(figsize=(5, 4.4))
    else:
        fig = ax.figure
    ConfusionMatrixDisplay.from_predictions(
        true_index,
        pred_index,
        labels=np.arange(len(display)),
        display_labels=display,
        ax=ax,
        colorbar=False,
        cmap="Blues",
        text_kw={"fontsize": 7},
    )
    ax.set_xlabel("cluster (matched to a class)")
    ax.set_ylabel("true class")
    _set_title(ax, title or "KMeans clusters against classes")
    if new_figure:
        fig.tight_layout()
    return fig
