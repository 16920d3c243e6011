"""Clustering with a denoising autoencoder: codes, an embedding step, then KMeans.

KMeans on the raw codes of an autoencoder plateaus well below what deep clustering
reaches. Two ordinary scikit-learn steps between the codes and KMeans close most of
the gap:

- ``"normalize"``: :class:`~sklearn.preprocessing.Normalizer` scales every code to unit
  L2 norm, so that KMeans clusters directions (the code's norm mostly carries the
  thickness and size of a digit, not its class). No extra dependency.
- ``"umap"``: a UMAP embedding of the codes (McInnes et al., 2018) with
  ``min_dist=0``, which packs the neighbourhoods of the code space into tight clumps that
  KMeans separates, as in N2D (McConville et al., 2020). Needs ``umap-learn``
  (``pip install "sk-dae[cluster]"``).

:func:`make_clustering_pipeline` builds the whole recipe as one
:class:`~sklearn.pipeline.Pipeline`, so ``fit_predict``, ``GridSearchCV``, ``clone`` and
``joblib.dump`` work as for any pipeline. :class:`sk_dae.DeepClustering` goes further: it
fine-tunes the encoder and the cluster centres together, the DEC and IDEC way
(Xie et al., 2016; Guo et al., 2017), with ``manifold="umap"`` for an N2D start. Score
them with
:func:`sk_dae.metrics.clustering_accuracy` and sklearn's
:func:`~sklearn.metrics.normalized_mutual_info_score`.
"""

from __future__ import annotations

import importlib.util
import warnings

from sklearn.cluster import KMeans
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import Normalizer, StandardScaler

from ._deep_clustering import DeepClustering  # noqa: F401  (importable here, not in __all__)
from ._estimator import DenoisingAutoencoder
from ._presets import CLUSTERING_DAE_PARAMS

# DeepClustering is importable from here too, but documented once, as sk_dae.DeepClustering.
__all__ = ["make_clustering_pipeline", "make_embedding", "umap_available"]

#: CLUSTERING_DAE_PARAMS (from :mod:`sk_dae._presets`): the autoencoder of the recipe, the
#: encoder of the DEC family (Xie et al., 2016) trained to undo masking noise. Pass other
#: values to :func:`make_clustering_pipeline` to override them.

#: Embedding steps that :func:`make_embedding` knows.
EMBEDDINGS = ("normalize", "standardize", "umap", "none")

#: UMAP settings of the recipe (N2D's): many neighbours and no minimum distance.
UMAP_DEFAULTS = {"n_neighbors": 20, "min_dist": 0.0, "metric": "euclidean"}


def umap_available():
    """Whether ``umap-learn`` can be imported, checked without importing it.

    Returns
    -------
    available : bool
        True when ``make_embedding("umap")`` can build its step.

    Examples
    --------
    >>> from sk_dae.clustering import make_embedding, umap_available
    >>> kind = "umap" if umap_available() else "normalize"
    >>> step = make_embedding(kind, random_state=0)
    """
    return importlib.util.find_spec("umap") is not None


def _require_umap():
    """Raise an ImportError that says how to install umap-learn, if it is missing."""
    if not umap_available():
        raise ImportError(
            "The 'umap' embedding needs umap-learn: pip install \"sk-dae[cluster]\" "
            "(or pip install umap-learn), or use embedding='normalize'."
        )


def make_embedding(kind="normalize", *, n_components=10, random_state=None, **params):
    """The step between the codes and KMeans in :func:`make_clustering_pipeline`.

    Parameters
    ----------
    kind : {"normalize", "standardize", "umap", "none"}, default="normalize"
        ``"normalize"``: :class:`~sklearn.preprocessing.Normalizer` (unit L2 norm per
        row). ``"standardize"``: :class:`~sklearn.preprocessing.StandardScaler` (zero
        mean, unit variance per code; for comparison, it does not help KMeans on MNIST).
        ``"umap"``: ``umap.UMAP`` with ``n_neighbors=20``, ``min_dist=0`` (needs
        ``umap-learn``). ``"none"``: ``"passthrough"``, KMeans on the raw codes.
    n_components : int, default=10
        Output width of the UMAP embedding (ignored by the other kinds).
    random_state : int, RandomState instance or None, default=None
        Seed of UMAP. An int makes UMAP reproducible but single-threaded (umap-learn's
        rule); None lets it use every core.
    **params
        Further parameters of the step (e.g. ``n_neighbors`` for UMAP, ``norm`` for
        :class:`~sklearn.preprocessing.Normalizer`).

    Returns
    -------
    step : estimator or "passthrough"
        An unfitted transformer, or ``"passthrough"`` for ``kind="none"``.

    Examples
    --------
    >>> from sk_dae.clustering import make_embedding
    >>> make_embedding("normalize")
    Normalizer()
    >>> make_embedding("none")
    'passthrough'
    """
    if kind == "normalize":
        return Normalizer(**params)
    if kind == "standardize":
        return StandardScaler(**params)
    if kind == "none":
        if params:
            raise TypeError(f"kind='none' takes no parameters; got {sorted(params)}.")
        return "passthrough"
    if kind == "umap":
        _require_umap()
        with warnings.catch_warnings():
            # umap-learn announces on import that its optional TensorFlow part is missing.
            warnings.filterwarnings("ignore", "Tensorflow not installed", ImportWarning)
            import umap

        params = {**UMAP_DEFAULTS, "n_components": n_components, **params}
        if random_state is not None:
            # A seeded UMAP runs on one thread; say so instead of letting it warn.
            params.setdefault("n_jobs", 1)
        return umap.UMAP(random_state=random_state, **params)
    raise ValueError(f"embedding must be one of {EMBEDDINGS}; got {kind!r}.")


def make_clustering_pipeline(
    n_clusters=8,
    *,
    n_components=10,
    embedding="normalize",
    embedding_params=None,
    n_init=10,
    random_state=None,
    **dae_params,
):
    """A Pipeline that clusters samples: DenoisingAutoencoder, embedding, KMeans.

    The pipeline's steps are named ``"dae"``, ``"embedding"`` and ``"kmeans"``; set their
    parameters as for any pipeline (``pipe.set_params(dae__max_iter=50)``).
    ``fit_predict(X)`` returns the cluster of every row; ``predict`` assigns new rows
    (with UMAP, through ``UMAP.transform``, which is slower than fitting on all rows).

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters of :class:`~sklearn.cluster.KMeans`.
    n_components : int, default=10
        Width of the autoencoder's codes, and of the UMAP embedding.
    embedding : {"normalize", "standardize", "umap", "none"}, default="normalize"
        The step between the codes and KMeans; see :func:`make_embedding`. ``"umap"``
        clusters best and needs ``umap-learn``; ``"normalize"`` needs nothing more.
    embedding_params : dict, default=None
        Further parameters of the embedding step.
    n_init : int, default=10
        KMeans restarts.
    random_state : int, RandomState instance or None, default=None
        Seed of the autoencoder, the embedding and KMeans.
    **dae_params
        Parameters of :class:`~sk_dae.DenoisingAutoencoder`; those not given come from
        ``sk_dae.clustering.CLUSTERING_DAE_PARAMS`` (a (500, 500, 2000) encoder, masking noise 0.2,
        20 epochs).

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        The unfitted pipeline.

    See Also
    --------
    sk_dae.metrics.clustering_accuracy : Accuracy of clusters against known classes.

    Notes
    -----
    On all 70,000 MNIST digits, this recipe with ``embedding="umap"`` reaches a
    clustering accuracy of about 0.96; see the "Clustering" page of the user guide for
    the measured table and the command that measures it.

    Examples
    --------
    >>> import warnings
    >>> from sklearn.exceptions import ConvergenceWarning
    >>> from sklearn.metrics import normalized_mutual_info_score
    >>> from sk_dae.clustering import make_clustering_pipeline
    >>> from sk_dae.datasets import load_digits
    >>> digits = load_digits()
    >>> pipe = make_clustering_pipeline(
    ...     n_clusters=10, hidden_layer_sizes=(128,), max_iter=5, random_state=0
    ... )
    >>> [name for name, _ in pipe.steps]
    ['dae', 'embedding', 'kmeans']
    >>> with warnings.catch_warnings():
    ...     # A fixed budget of epochs warns that the loss still falls; expected here.
    ...     warnings.simplefilter("ignore", ConvergenceWarning)
    ...     labels = pipe.fit_predict(digits.X_train)
    >>> labels.shape
    (1437,)
    >>> normalized_mutual_info_score(digits.y_train, labels) > 0.5
    True
    """
    params = {**CLUSTERING_DAE_PARAMS, **dae_params}
    dae = DenoisingAutoencoder(n_components=n_components, random_state=random_state, **params)
    step = make_embedding(
        embedding,
        n_components=n_components,
        random_state=random_state,
        **(embedding_params or {}),
    )
    kmeans = KMeans(n_clusters=n_clusters, n_init=n_init, random_state=random_state)
    return Pipeline([("dae", dae), ("embedding", step), ("kmeans", kmeans)])
