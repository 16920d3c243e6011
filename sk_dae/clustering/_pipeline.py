"""The autoencoder -> embedding -> KMeans recipe as one scikit-learn Pipeline."""

from __future__ import annotations

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
#: :func:`make_pretraining_autoencoder`).
PRETRAINING_RECIPES = {
    # The clustering recipe with 10 codes and a linear output, as the DEC papers'
    # autoencoders have; the estimator's cosine schedule, which the MNIST tables used.
    "default": {
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


def default_pretraining_passes(n_samples, batch_size=256):
    """Epochs of the default pretraining on ``n_samples`` rows: 20, or from 1,000 rows
    on as many as make 1,500 optimizer steps of ``batch_size`` rows, at most 200.

    Parameters
    ----------
    n_samples : int
        The rows the autoencoder is trained on.
    batch_size : int, default=256
        Rows per optimizer step (the default recipe's).

    Returns
    -------
    passes : int
        The epochs: ``max_iter`` of the default autoencoder.

    Examples
    --------
    >>> from sk_dae.clustering import default_pretraining_passes
    >>> [default_pretraining_passes(n) for n in (150, 1_000, 1_797, 10_000, 70_000)]
    [20, 200, 188, 38, 20]
    """
    return clustering_epochs(n_samples, batch_size)


def make_pretraining_autoencoder(recipe="default", *, n_samples=None, **params):
    """The autoencoder that a named pretraining recipe of deep clustering trains.

    Pass it to :class:`~sk_dae.DeepClustering` as ``autoencoder``; ``params`` override
    the recipe's (e.g. ``max_iter`` to spend less time, ``random_state``).

    Parameters
    ----------
    recipe : {"default", "dec-keras"}, default="default"
        ``"default"``: ``DeepClustering``'s own autoencoder (masking noise, Adam, 20
        epochs, or more on fewer rows: ``max_iter="clustering"``). ``"dec-keras"``: the DEC
        papers' pretraining as Guo's Keras code runs it: a (500, 500, 2000) encoder with
        10 codes, no corruption, 300 epochs of SGD at learning rate 1.0 with momentum
        0.9, batches of 256, weights uniform in ``+-1/sqrt(fan_in)``. Its start (KMeans
        on the codes of all 70,000 MNIST digits) is 0.864, median of five seeds, against
        0.879 published, and stops rising after about 150 epochs; 300 epochs cost half
        an hour to two hours of two CPU cores in float32, depending on the CPU (minutes
        on a GPU). See the "Clustering" page of the user guide for what each recipe
        reaches per minute.
    n_samples : int, default=None
        With ``recipe="default"``, the rows it will be trained on: ``max_iter`` is then
        :func:`default_pretraining_passes` of them, as ``DeepClustering(autoencoder=None)``
        trains it. None keeps ``max_iter="clustering"``, the same length worked out from
        the rows it is fitted on. The faithful recipe's 300 epochs do not depend on it.
    **params
        Parameters of :class:`~sk_dae.DenoisingAutoencoder` over the recipe's.

    Returns
    -------
    autoencoder : DenoisingAutoencoder
        The unfitted autoencoder.

    Examples
    --------
    >>> from sk_dae.clustering import make_pretraining_autoencoder
    >>> dae = make_pretraining_autoencoder("dec-keras", max_iter=100, random_state=0)
    >>> dae.optimizer, dae.learning_rate_init, dae.max_iter
    ('sgd', 1.0, 100)
    >>> make_pretraining_autoencoder(n_samples=3_000).max_iter
    125
    """
    if recipe not in PRETRAINING_RECIPES:
        raise ValueError(f"recipe must be one of {sorted(PRETRAINING_RECIPES)}; got {recipe!r}.")
    recipe_params = dict(PRETRAINING_RECIPES[recipe])
    if recipe == "default" and n_samples is not None:
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
