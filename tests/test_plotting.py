"""Tests of sk_dae.plotting: titles and labels stay inside their figures."""

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from sk_dae import plotting  # noqa: E402
from sk_dae.metrics import clustering_accuracy  # noqa: E402

# The title that sk-dae compare gives confusion_matrix.png after a UMAP clustering.
LONG_TITLE = "KMeans on DAE + UMAP-10 codes: accuracy 0.959, NMI 0.911"


@pytest.fixture
def close_figures():
    yield
    plt.close("all")


def _labels(n=300, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    return y, (y + 3 + (rng.random(n) < 0.1)) % 10


def _figures(title):
    rng = np.random.default_rng(0)
    images = {"original": rng.random((10, 64)), "corrupted": rng.random((10, 64))}
    y_true, y_pred = _labels()
    codes = {
        "PCA, 2 components": rng.normal(size=(40, 2)),
        "DAE, 2 codes": rng.normal(size=(40, 2)),
    }
    return {
        "confusion_matrix": lambda: plotting.plot_confusion_matrix(y_true, y_pred, title=title),
        "image_grid": lambda: plotting.plot_image_grid(images, (8, 8), n_images=3, title=title),
        "mse_vs_width": lambda: plotting.plot_mse_vs_width(
            [2, 10, 32], {"PCA": [0.05, 0.03, 0.02], "DAE": [0.04, 0.02, 0.01]}, title=title
        ),
        "loss_curves": lambda: plotting.plot_loss_curves(
            {"width 8": ([0.09, 0.05, 0.04], [-0.06, -0.04, -0.035])}, title=title
        ),
        "codes_2d, one panel": lambda: plotting.plot_codes_2d(
            {"DAE, 2 codes": codes["DAE, 2 codes"]}, y_true[:40], title=title
        ),
        "codes_2d": lambda: plotting.plot_codes_2d(codes, y_true[:40], title=title),
    }


def _titles(fig):
    titles = [fig._suptitle] if fig._suptitle is not None else []
    return titles + [ax.title for ax in fig.axes if ax.get_title()]


def _inside(inner, outer, tol=0.5):
    return (
        inner.x0 >= outer.x0 - tol
        and inner.x1 <= outer.x1 + tol
        and inner.y0 >= outer.y0 - tol
        and inner.y1 <= outer.y1 + tol
    )


@pytest.mark.parametrize("title", [LONG_TITLE, None, "short"])
@pytest.mark.parametrize("name", list(_figures(None)))
def test_titles_lie_inside_the_figure(name, title, close_figures):
    fig = _figures(title)[name]()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    titles = _titles(fig)
    assert titles or (name == "image_grid" and title is None)
    for text in titles:
        extent = text.get_window_extent(renderer)
        assert _inside(extent, fig.bbox), f"{text.get_text()!r} at {extent} is cut off"
        # Breaking lines keeps every word, in order.
        if title and text is titles[0]:
            assert text.get_text().split() == title.split()
    # A figure title does not run into the titles of the axes below it.
    if fig._suptitle is not None:
        top = fig._suptitle.get_window_extent(renderer)
        for ax in fig.axes:
            assert not top.overlaps(ax.get_window_extent(renderer))
            if ax.get_title():
                assert not top.overlaps(ax.title.get_window_extent(renderer))


def test_confusion_matrix_title_on_given_axes_stays_over_its_axes(close_figures):
    """On one of several axes the title is broken to the axes' width, not the figure's."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 4))
    y_true, y_pred = _labels()
    plotting.plot_confusion_matrix(y_true, y_pred, title=LONG_TITLE, ax=left)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    title = left.title.get_window_extent(renderer)
    assert title.width <= left.get_position(original=True).width * fig.bbox.width + 0.5
    assert not title.overlaps(right.get_window_extent(renderer))
    assert "\n" in left.get_title()


def test_image_grid_row_labels_lie_inside_the_figure(close_figures):
    rng = np.random.default_rng(0)
    rows = {label: rng.random((4, 64)) for label in ("original", "corrupted", "DAE-32")}
    for n_images in (1, 2, 10):
        fig = plotting.plot_image_grid(rows, (8, 8), n_images=n_images)
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        for ax in fig.axes[::n_images]:
            label = ax.yaxis.label
            assert _inside(label.get_window_extent(renderer), fig.bbox), (
                f"row label {label.get_text()!r} is cut off with {n_images} images"
            )
        plt.close(fig)


def test_wrap_breaks_at_spaces_and_keeps_line_breaks(close_figures):
    fig = plt.figure(figsize=(3, 2))
    text = fig.suptitle("first line\n" + " ".join(["word"] * 30))
    plotting._wrap(text, 0.9 * fig.bbox.width)
    lines = text.get_text().split("\n")
    assert lines[0] == "first line" and len(lines) > 2
    assert " ".join(lines[1:]).split() == ["word"] * 30
    # A single word wider than the limit stays whole.
    text.set_text("x" * 200)
    assert plotting._wrap(text, 10).get_text() == "x" * 200


def test_confusion_matrix_diagonal_holds_the_matched_samples(close_figures):
    """The figure and clustering_accuracy use the same matching of clusters to classes."""
    y_true, y_pred = _labels(500, seed=1)
    y_pred[:20] = 10  # one cluster more than there are classes
    fig = plotting.plot_confusion_matrix(y_true, y_pred)
    image = fig.axes[0].images[0].get_array()
    assert image.shape == (11, 11)
    assert np.trace(image) == pytest.approx(clustering_accuracy(y_true, y_pred) * len(y_true))
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()][-1] == "(10)"
