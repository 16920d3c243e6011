"""The step between an autoencoder's codes and KMeans: none, a normalization or UMAP."""

from __future__ import annotations

import importlib.util
import warnings

from sklearn.preprocessing import Normalizer, StandardScaler

from .._core import threads as _threads

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


def require_umap():
    """Raise an ImportError that says how to install umap-learn, if it is missing."""
    if not umap_available():
        raise ImportError(
            "The 'umap' embedding needs umap-learn: pip install \"sk-dae[cluster]\" "
            "(or pip install umap-learn), or use embedding='normalize'."
        )


def start_numba_threads():
    """Start numba's thread pool now, keeping torch's thread count.

    numba sets OpenMP's thread count, and so torch's, to every core when it starts its
    pool at its first parallel call: inside a UMAP step's ``fit``, that would undo a
    ``torch.set_num_threads`` of the user's for the rest of the process (and change which
    thread count, so which low bits, the autoencoders fitted after it get). The pool starts
    once per process.
    """
    import numba

    with _threads.kept():
        numba.get_num_threads()


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
        require_umap()
        with warnings.catch_warnings():
            # umap-learn announces on import that its optional TensorFlow part is missing.
            warnings.filterwarnings("ignore", "Tensorflow not installed", ImportWarning)
            import umap
        start_numba_threads()

        params = {**UMAP_DEFAULTS, "n_components": n_components, **params}
        if random_state is not None:
            # A seeded UMAP runs on one thread; say so instead of letting it warn.
            params.setdefault("n_jobs", 1)
        return umap.UMAP(random_state=random_state, **params)
    raise ValueError(f"embedding must be one of {EMBEDDINGS}; got {kind!r}.")
