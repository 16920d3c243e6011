"""The autoencoder -> embedding -> KMeans recipe as one scikit-learn Pipeline."""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.pipeline import Pipeline

from .._autoencoder import DenoisingAutoencoder
from .._core.data import clustering_epochs
from ._embedding import make_embedding

#: The autoencoder of the clustering recipe: the encoder of the DEC family (Xie et al.,
#: 2016) trained to undo masking noise from a random start on all rows, at a constant
#: step size, as the papers (and the user guide's measurements) train it.
CLUSTERING_DAE_PARAMS = {
    "hidden_layer_sizes": (500, 500, 2000),
    "init": "random",
    "early_stopping": False,
    "noise": "masking",
    "noise_level": 0.2,
    "batch_size": 256,
    "learning_rate": "constant",
    "learning_rate_init": 1e-3,
    "max_iter": "clustering",
}


#: Named pretrainings of ``DeepClustering``'s autoencoder (see
#: :func:`make_pretraining_autoencoder`; ``"default"`` picks one of them by the data).
PRETRAINING_RECIPES = {
    # The clustering recipe with 10 codes and a linear output, as the DEC papers'
    # autoencoders have; the estimator's cosine schedule, which the MNIST tables used.
    "adam": {
        **CLUSTERING_DAE_PARAMS,
        "n_components": 10,
        "output_activation": "identity",
        "learning_rate": "cosine",
    },
    # DEC-keras (Guo's reimplementation of Xie et al., 2016): the same MLP without
    # corruption, trained end to end 300 epochs by SGD at 1.0 with (heavy-ball) momentum
    # 0.9, batches of 256, variance-scaling initialisation on the fan-in.
    "dec-keras": {
        "n_components": 10,
        "hidden_layer_sizes": (500, 500, 2000),
        "output_activation": "identity",
        "noise": None,
        "init": "fan_in",
        "optimizer": "sgd",
        "momentum": 0.9,
        "nesterovs_momentum": False,
        "learning_rate": "constant",
        "learning_rate_init": 1.0,
        "batch_size": 256,
        "max_iter": 300,
        "tol": None,
        "early_stopping": False,
    },
}

#: Where the default pretraining is DEC-keras's SGD instead of Adam: at least this many
#: rows (from there Adam's length is at its floor of 20 epochs, and its start stops
#: rising with epochs: 0.777 after 20 epochs of all 70,000 MNIST digits, 0.778 after
#: 40), ...
SGD_FROM_ROWS = 20_000
#: ... at least this many features, ...
SGD_FROM_FEATURES = 256
#: ... and no negative value: pixel intensities and counts, the data the recipe's step
#: size of 1.0 was tuned on. Standardized tables keep Adam (SGD at 1.0 diverged on iris).
#: There it trains this many epochs, where its start on MNIST stops rising (0.869 after
#: 150 epochs, 0.868 after 300), ...
SGD_EPOCHS = 150
#: ... or fewer on more rows, so that it takes at most this many steps (150 epochs of
#: 70,000 rows in batches of 256).
SGD_MAX_STEPS = 41_100


def default_pretraining_recipe(X):
    """The recipe of the default pretraining on the rows ``X``: ``"dec-keras"`` (cut to
    :func:`default_pretraining_passes`' epochs) for images, else ``"adam"``.

    Images here are at least 20,000 rows of at least 256 features, none negative (pixel
    intensities, counts): there DEC-keras's SGD starts deep clustering far better than
    Adam (all 70,000 MNIST digits: 0.88 to 0.91 against 0.78, at about twice the time).
    Everything else (tables, standardized data, fewer rows) trains with Adam, which is
    safe on any scale and faster for a short budget.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The rows the autoencoder will be trained on.

    Returns
    -------
    recipe : {"adam", "dec-keras"}
        The key of ``sk_dae.clustering.PRETRAINING_RECIPES``.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_dae.clustering import default_pretraining_recipe
    >>> default_pretraining_recipe(np.zeros((70_000, 784)))
    'dec-keras'
    >>> default_pretraining_recipe(np.zeros((10_000, 784)))
    'adam'
    """
    n_samples, n_features = np.shape(X)
    if n_samples < SGD_FROM_ROWS or n_features < SGD_FROM_FEATURES:
        return "adam"
    return "dec-keras" if np.min(X) >= 0 else "adam"


def default_pretraining_passes(n_samples, batch_size=256, recipe="adam"):
    """Epochs of the default pretraining on ``n_samples`` rows.

    With Adam: 20, or from 1,000 rows on as many as make 1,500 optimizer steps of
    ``batch_size`` rows, at most 200. With DEC-keras's SGD: 150, or as many as make
    41,100 steps where that is fewer (above 70,000 rows).

    Parameters
    ----------
    n_samples : int
        The rows the autoencoder is trained on.
    batch_size : int, default=256
        Rows per optimizer step (the default recipe's).
    recipe : {"adam", "dec-keras"}, default="adam"
        The recipe (:func:`default_pretraining_recipe`).

    Returns
    -------
    passes : int
        The epochs: ``max_iter`` of the default autoencoder.

    Examples
    --------
    >>> from sk_dae.clustering import default_pretraining_passes
    >>> [default_pretraining_passes(n) for n in (150, 1_000, 1_797, 10_000, 70_000)]
    [20, 200, 188, 38, 20]
    >>> [default_pretraining_passes(n, recipe="dec-keras") for n in (70_000, 140_000)]
    [150, 75]
    """
    if recipe == "dec-keras":
        steps_per_epoch = -(-n_samples // batch_size)
        return max(1, min(SGD_EPOCHS, SGD_MAX_STEPS // steps_per_epoch))
    return clustering_epochs(n_samples, batch_size)


def default_pretraining_params(X):
    """The parameters of ``DeepClustering``'s default autoencoder for the rows ``X``.

    :func:`default_pretraining_recipe`'s recipe, trained
    :func:`default_pretraining_passes`' epochs.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The rows the autoencoder will be trained on.

    Returns
    -------
    params : dict
        Parameters of :class:`~sk_dae.DenoisingAutoencoder`.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_dae.clustering import default_pretraining_params
    >>> params = default_pretraining_params(np.zeros((70_000, 784)))
    >>> params["optimizer"], params["learning_rate_init"], params["max_iter"]
    ('sgd', 1.0, 150)
    >>> default_pretraining_params(np.zeros((3_000, 784)))["max_iter"]
    125
    """
    recipe = default_pretraining_recipe(X)
    params = dict(PRETRAINING_RECIPES[recipe])
    params["max_iter"] = default_pretraining_passes(
        np.shape(X)[0], params["batch_size"], recipe=recipe
    )
    return params


def make_pretraining_autoencoder(recipe="default", *, X=None, n_samples=None, **params):
    """The autoencoder that a named pretraining recipe of deep clustering trains.

    Pass it to :class:`~sk_dae.DeepClustering` as ``autoencoder``; ``params`` override
    the recipe's (e.g. ``max_iter`` to spend less time, ``random_state``).

    Parameters
    ----------
    recipe : {"default", "adam", "dec-keras"}, default="default"
        ``"default"``: ``DeepClustering``'s own autoencoder for ``X``, one of the two
        others (:func:`default_pretraining_recipe`: DEC-keras's cut to 150 epochs on
        images of 20,000 rows and more, else Adam); without ``X``, Adam's.
        ``"adam"``: masking noise, Adam, 20 epochs, or more on fewer rows
        (``max_iter="clustering"``). ``"dec-keras"``: the DEC
        papers' pretraining as Guo's Keras code runs it: a (500, 500, 2000) encoder with
        10 codes, no corruption, 300 epochs of SGD at learning rate 1.0 with momentum
        0.9, batches of 256, weights uniform in ``+-1/sqrt(fan_in)``. Its start (KMeans
        on the codes of all 70,000 MNIST digits) is 0.864, median of five seeds, against
        0.879 published, and stops rising after about 150 epochs; 300 epochs cost half
        an hour to two hours of two CPU cores in float32, depending on the CPU (minutes
        on a GPU). See the "Clustering" page of the user guide for what each recipe
        reaches per minute.
    X : array-like of shape (n_samples, n_features), default=None
        With ``recipe="default"``, the rows it will be trained on: the recipe and its
        ``max_iter`` are then those ``DeepClustering(autoencoder=None)`` trains on them
        (:func:`default_pretraining_params`; ``DeepClustering`` first divides the rows
        by their largest absolute value).
    n_samples : int, default=None
        With ``recipe="adam"`` (or ``"default"`` without ``X``), the number of rows it
        will be trained on: ``max_iter`` is then :func:`default_pretraining_passes` of
        them. None keeps ``max_iter="clustering"``, the same length worked out from the
        rows it is fitted on. The faithful recipe's 300 epochs do not depend on it.
    **params
        Parameters of :class:`~sk_dae.DenoisingAutoencoder` over the recipe's.

    Returns
    -------
    autoencoder : DenoisingAutoencoder
        The unfitted autoencoder.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_dae.clustering import make_pretraining_autoencoder
    >>> dae = make_pretraining_autoencoder("dec-keras", max_iter=100, random_state=0)
    >>> dae.optimizer, dae.learning_rate_init, dae.max_iter
    ('sgd', 1.0, 100)
    >>> make_pretraining_autoencoder("adam", n_samples=3_000).max_iter
    125
    >>> dae = make_pretraining_autoencoder(X=np.zeros((70_000, 784)))
    >>> dae.optimizer, dae.max_iter
    ('sgd', 150)
    """
    choices = sorted(["default", *PRETRAINING_RECIPES])
    if recipe not in choices:
        raise ValueError(f"recipe must be one of {choices}; got {recipe!r}.")
    if recipe == "default" and X is not None:
        return DenoisingAutoencoder(**{**default_pretraining_params(X), **params})
    if recipe == "default":
        recipe = "adam"
    recipe_params = dict(PRETRAINING_RECIPES[recipe])
    if recipe == "adam" and n_samples is not None:
        recipe_params["max_iter"] = default_pretraining_passes(
            n_samples, recipe_params["batch_size"]
        )
    return DenoisingAutoencoder(**{**recipe_params, **params})


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
        ``max_iter="clustering"``: as many epochs as ``DeepClustering`` pretrains,
        :func:`default_pretraining_passes` of the rows it is fitted on, 20 below 1,000
        rows and on large data sets, up to 200 between). A fixed 20 epochs are too few
        from 1,000 rows to some 10,000: on the 1,797 8x8 digits the normalized codes
        then cluster worse than the pixels.

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
