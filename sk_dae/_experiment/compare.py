"""The experiment behind ``sk-dae compare``: a DenoisingAutoencoder against PCA.

For every latent width, a :class:`~sk_dae.DenoisingAutoencoder` and a
:class:`~sklearn.decomposition.PCA` are fitted and scored on the test split. The result
is a list of rows, one per representation of the test data (the raw input, then PCA and
DAE codes of each width, then clusterings of the DAE codes), each a dict with the keys of
:data:`COLUMNS`; a metric that does not apply to a row is NaN. What is fitted is a
:class:`Settings`, made from a preset of :mod:`sk_dae._experiment.presets`; the tables and figures
are written by :mod:`sk_dae._experiment.report`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import sys
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import Bunch

from .._autoencoder import DenoisingAutoencoder
from .._core import threads as _threads
from .._core.data import corrupt_array
from .._core.noise import NOISE_KINDS, Corruptor
from ..clustering._embedding import make_embedding, require_umap, umap_available
from ..metrics import clustering_accuracy, psnr
from .presets import PRESETS

#: Corruptions of the test images that every model is asked to undo (kind: level).
EVAL_NOISE = {"gaussian": 0.5, "masking": 0.5, "salt_and_pepper": 0.2}

#: Columns of the result table, in order, with their headers.
COLUMNS = {
    "method": "method",
    "width": "width",
    "mse_clean": "clean MSE",
    # One PSNR column per default test corruption (others, asked for with eval_noise,
    # go to the CSV and JSON files).
    **{f"psnr_{kind}": f"PSNR {kind} (dB)" for kind in EVAL_NOISE},
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


@dataclass
class Settings:
    """What :func:`compare` fits and scores.

    Parameters
    ----------
    widths : tuple of int
        Latent widths to compare.
    dae_params : dict
        Parameters of :class:`~sk_dae.DenoisingAutoencoder` other than ``n_components``
        and ``random_state``.
    validation_fraction : float
        Share of the fitted rows held out to draw the validation curve and keep the best
        epoch's weights (early stopping with a patience as long as ``max_iter``); 0 fits
        on all of them.
    eval_noise : dict
        Corruptions of the test images to undo, ``{kind: level}``.
    n_init : int
        KMeans restarts.
    embeddings : tuple of {"standardize", "normalize", "umap"} or None
        Steps of :mod:`sk_dae.clustering` between the DAE codes and KMeans, one more row
        per width each; None: ``"standardize"``, ``"normalize"``, and ``"umap"`` when
        umap-learn is installed.
    umap_params : dict
        Parameters of the UMAP step other than its defaults.
    fit_on : {"train", "all"}
        ``"train"``: fit on the training split, cluster the test split. ``"all"``: fit on
        and cluster both splits together, the protocol of the deep clustering
        literature (labels are never used to fit). The other columns are always scored on
        the test split.
    random_state : int
        Seeds every model, the noise and KMeans.
    """

    widths: tuple = (2, 10, 32)
    dae_params: dict = field(default_factory=dict)
    validation_fraction: float = 0.0
    eval_noise: dict = field(default_factory=lambda: dict(EVAL_NOISE))
    n_init: int = 10
    embeddings: tuple | None = None
    umap_params: dict = field(default_factory=dict)
    fit_on: str = "train"
    random_state: int = 0

    @classmethod
    def from_preset(cls, preset="digits", **overrides):
        """The settings of a preset of :data:`sk_dae._experiment.presets.PRESETS`, with
        ``overrides`` (None values are ignored)."""
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; expected one of {sorted(PRESETS)}.")
        values = {k: v for k, v in PRESETS[preset].items() if k != "dataset"}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values).checked()

    def checked(self):
        """A copy with every field checked and ``embeddings`` resolved."""
        widths = tuple(int(w) for w in self.widths)
        if not widths or min(widths) < 1:
            raise ValueError(f"widths must be positive integers; got {list(widths)}.")
        if self.fit_on not in ("train", "all"):
            raise ValueError(f"fit_on must be 'train' or 'all'; got {self.fit_on!r}.")
        embeddings = self.embeddings
        if embeddings is None:
            embeddings = ("standardize", "normalize") + (("umap",) if umap_available() else ())
        for kind in embeddings:
            if kind not in EMBEDDING_METHODS:
                raise ValueError(
                    f"unknown embedding {kind!r}; expected some of {sorted(EMBEDDING_METHODS)}."
                )
        if "umap" in embeddings:
            require_umap()  # fail now, not after the first fits
        for kind in self.eval_noise:
            if kind not in NOISE_KINDS:
                raise ValueError(f"unknown noise kind {kind!r}; expected one of {NOISE_KINDS}.")
        return dataclasses.replace(self, widths=widths, embeddings=tuple(embeddings))

    def model_params(self):
        """The autoencoder's parameters, the validation split included."""
        params = dict(self.dae_params)
        if self.validation_fraction > 0:
            params.update(
                early_stopping=True,
                validation_fraction=self.validation_fraction,
                n_iter_no_change=_epoch_budget(params.get("max_iter", "auto")),
            )
        return params


def _epoch_budget(max_iter):
    """A patience as long as training (``"auto"`` trains at most 200 epochs)."""
    return 200 if max_iter == "auto" else max_iter


@dataclass
class _Splits:
    """The views of a data set that the scores use."""

    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray | None
    y_test: np.ndarray | None
    X_fit: np.ndarray
    X_cluster: np.ndarray
    y_cluster: np.ndarray | None
    noisy: dict
    data_range: float
    labelled: bool

    @classmethod
    def of(cls, data, settings):
        X_train, X_test = data.X_train, data.X_test
        y_train, y_test = data.get("y_train"), data.get("y_test")
        low, high = float(X_train.min()), float(X_train.max())
        noisy = {
            kind: corrupt(
                X_test, kind, level, low=low, high=high, random_state=settings.random_state
            )
            for kind, level in settings.eval_noise.items()
        }
        labelled = y_train is not None and y_test is not None
        X_fit, X_cluster, y_cluster = X_train, X_test, y_test
        if settings.fit_on == "all":
            X_fit = X_cluster = np.concatenate([X_train, X_test])
            y_cluster = np.concatenate([y_train, y_test]) if labelled else None
        data_range = high - low if high > low else 1.0
        return cls(
            X_train,
            X_test,
            y_train,
            y_test,
            X_fit,
            X_cluster,
            y_cluster,
            noisy,
            data_range,
            labelled,
        )

    @property
    def n_clusters(self):
        return len(np.unique(self.y_cluster))


def compare(data, settings=None, *, progress=True, **options):
    """Fit a DAE and a PCA per latent width on ``data`` and score both on its test split.

    Parameters
    ----------
    data : Bunch
        ``X_train``, ``X_test`` in a bounded range (e.g. [0, 1]), and ``y_train``,
        ``y_test`` (or None: then clustering and the probe are skipped), as the loaders
        of :mod:`sk_dae.datasets` return.
    settings : Settings, default=None
        What to fit and score; None: ``Settings.from_preset(**options)``.
    progress : bool, default=True
        Report progress: on a terminal, progress bars (and the DAE's per-epoch bar);
        otherwise (a log file) one plain line per model on standard output.
    **options
        ``preset`` (default ``"digits"``) and fields of :class:`Settings` that override
        it (with ``settings`` given: fields that override those).

    Returns
    -------
    result : Bunch
        ``rows`` (list of dicts, see :data:`COLUMNS`), ``daes`` and ``pcas`` (fitted
        models by width), ``noisy`` (corrupted test images by noise kind),
        ``cluster_labels`` (KMeans labels of the clustered rows by ``(method, width)``),
        ``y_cluster`` (their classes), ``data`` and ``settings``.
    """
    if settings is None:
        settings = Settings.from_preset(**options)
    else:
        settings = dataclasses.replace(settings, **options).checked()
    n_samples, n_features = data.X_train.shape
    if max(settings.widths) > min(n_features, n_samples):
        raise ValueError(
            f"widths must not exceed the number of features ({n_features}) nor of "
            f"training samples; got {list(settings.widths)}."
        )
    splits = _Splits.of(data, settings)
    models = Bunch(daes={}, pcas={}, cluster_labels={})
    n_rows = 2 + (len(settings.embeddings) if splits.labelled else 0)
    bars = progress and sys.stdout.isatty()
    with _reporter(progress, bars, 1 + n_rows * len(settings.widths)) as report:
        report(input_row(splits, settings, models.cluster_labels))
        rows = [report.last]
        for width in settings.widths:
            for row in width_rows(width, splits, settings, models, verbose=bars):
                report(row)
                rows.append(row)
    return Bunch(
        rows=rows,
        **models,
        noisy=splits.noisy,
        y_cluster=splits.y_cluster,
        data=data,
        settings=_describe(settings, data, splits),
    )


@contextlib.contextmanager
def _reporter(progress, bars, total):
    """Yield ``report(row)``, called once per row: a tqdm bar on a terminal, one plain
    line per row otherwise, nothing without ``progress``. ConvergenceWarnings are
    silenced meanwhile: the budget is a fixed number of epochs by design."""

    def report(row):
        report.last = row
        if bar is not None:
            bar.set_postfix_str(f"{row['method']} width {row['width']}")
            bar.update()
        elif progress:
            print(_progress_line(row), flush=True)

    bar = None
    with warnings.catch_warnings(), contextlib.ExitStack() as stack:
        warnings.simplefilter("ignore", ConvergenceWarning)
        if bars:
            from tqdm.auto import tqdm

            bar = stack.enter_context(tqdm(total=total, desc="compare", unit="model"))
        yield report


def _progress_line(row):
    """What a log shows of a finished row: what, how long, the headline scores."""
    parts = []
    if row["method"] in ("PCA", "DAE"):
        parts.append(f"fit {row['fit_s']:.1f} s")
    if not is_nan(row["mse_clean"]):
        parts.append(f"clean MSE {row['mse_clean']:.4f}")
    if not is_nan(row["kmeans_acc"]):
        parts.append(f"KMeans accuracy {row['kmeans_acc']:.3f} ({row['cluster_s']:.1f} s)")
    return f"{row['method']}, width {row['width']}: " + ", ".join(parts)


def is_nan(value):
    """Whether a cell of a row is the NaN of a metric that does not apply to it."""
    return isinstance(value, float) and math.isnan(value)


def width_rows(width, splits, settings, models, verbose):
    """Fit PCA and the DAE of one width; yield their rows and the clustering rows."""
    pca = PCA(n_components=width, random_state=settings.random_state)
    models.pcas[width] = pca

    def pca_reconstruct(X):
        return pca.inverse_transform(pca.transform(X))

    yield model_row("PCA", width, pca, pca_reconstruct, splits, settings, models.cluster_labels)[0]
    dae = DenoisingAutoencoder(
        n_components=width,
        random_state=settings.random_state,
        verbose=int(verbose),
        **settings.model_params(),
    )
    models.daes[width] = dae
    row, codes_cluster = model_row(
        "DAE", width, dae, dae.reconstruct, splits, settings, models.cluster_labels
    )
    yield row
    if not splits.labelled:
        return
    for embedding in settings.embeddings:
        method = EMBEDDING_METHODS[embedding]
        values, labels = cluster_scores(codes_cluster, splits, settings, embedding)
        models.cluster_labels[method, width] = labels
        yield new_row(method, width, fit_s=row["fit_s"], transform_s=row["transform_s"], **values)


def new_row(method, width, **values):
    """A row with every metric NaN but ``values``."""
    row = {key: math.nan for key in COLUMNS}
    row.update(method=method, width=width, **values)
    return row


def input_row(splits, settings, cluster_labels):
    """The raw input's row: PSNR of the noisy images, KMeans on raw features."""
    n_features = splits.X_test.shape[1]
    # A probe on raw pixels is a different, much costlier model; codes only.
    row = new_row("input", n_features, mse_clean=0.0, fit_s=0.0, transform_s=0.0)
    for kind, X_noisy in splits.noisy.items():
        row[f"psnr_{kind}"] = psnr(splits.X_test, X_noisy, data_range=splits.data_range)
    if splits.labelled:
        values, labels = cluster_scores(splits.X_cluster, splits, settings)
        cluster_labels["input", n_features] = labels
        row.update(values)
    return row


def model_row(method, width, model, reconstruct, splits, settings, cluster_labels):
    """Fit ``model`` on the fitted rows and score it: reconstruction, denoising, KMeans on
    its codes and a linear probe. Returns the row and the codes of the clustered rows
    (None without labels)."""
    fit_s = timed(model.fit, splits.X_fit)[1]
    codes_test, transform_s = timed(model.transform, splits.X_test)
    row = new_row(method, width, fit_s=fit_s, transform_s=transform_s)
    X_test = splits.X_test
    row["mse_clean"] = float(np.mean((reconstruct(X_test) - X_test) ** 2))
    for kind, X_noisy in splits.noisy.items():
        row[f"psnr_{kind}"] = psnr(X_test, reconstruct(X_noisy), data_range=splits.data_range)
    codes = None
    if splits.labelled:
        codes = codes_test if settings.fit_on == "train" else model.transform(splits.X_cluster)
        values, cluster_labels[method, width] = cluster_scores(codes, splits, settings)
        row.update(values)
        row["probe_acc"] = linear_probe(
            model.transform(splits.X_train), splits.y_train, codes_test, splits.y_test
        )
    return row, codes


def cluster_scores(codes, splits, settings, embedding=None):
    """NMI, ARI, accuracy and time of KMeans on ``codes`` (after ``embedding``), and the
    labels."""
    start = time.perf_counter()
    if embedding is not None:
        codes = make_embedding(
            embedding,
            n_components=min(splits.n_clusters, codes.shape[1]),
            random_state=settings.random_state,
            **(settings.umap_params if embedding == "umap" else {}),
        ).fit_transform(codes)
    kmeans = KMeans(splits.n_clusters, n_init=settings.n_init, random_state=settings.random_state)
    labels = kmeans.fit_predict(codes)
    y = splits.y_cluster
    values = {
        "kmeans_nmi": normalized_mutual_info_score(y, labels),
        "kmeans_ari": adjusted_rand_score(y, labels),
        "kmeans_acc": clustering_accuracy(y, labels),
        "cluster_s": time.perf_counter() - start,
    }
    return values, labels


def corrupt(X, kind, level, *, low=0.0, high=1.0, random_state=0):
    """A corrupted copy of ``X``: the training corruptions of sk_dae, seeded.

    Gaussian noise is clipped to ``[low, high]``; salt-and-pepper uses ``low`` and
    ``high`` as its values.
    """
    corruptor = Corruptor(kind, level, low=low, high=high, clip=True)
    return corrupt_array(X, corruptor, random_state)


def linear_probe(codes_train, y_train, codes_test, y_test):
    """Test accuracy of a logistic regression fitted on standardized training codes."""
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=200))
    probe.fit(codes_train, y_train)
    return float(probe.score(codes_test, y_test))


def timed(function, *args):
    """``(function(*args), seconds it took)``."""
    start = time.perf_counter()
    out = function(*args)
    return out, time.perf_counter() - start


def _describe(settings, data, splits):
    """The settings as plain data for ``results.json``."""
    params = settings.model_params()
    return {
        "dataset": data.get("name", "data"),
        "n_train": int(splits.X_train.shape[0]),
        "n_test": int(splits.X_test.shape[0]),
        "widths": list(settings.widths),
        "dae_params": {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()},
        "eval_noise": dict(settings.eval_noise),
        "n_init": settings.n_init,
        "embeddings": list(settings.embeddings),
        "umap_params": dict(settings.umap_params),
        "fit_on": settings.fit_on,
        "n_cluster": int(splits.X_cluster.shape[0]),
        "random_state": settings.random_state,
        "torch_threads": _threads.available_cores(),
    }
