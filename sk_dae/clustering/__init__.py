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

from ._deep_clustering import DeepClustering  # noqa: F401  (importable here, not in __all__)
from ._embedding import make_embedding, umap_available
from ._pipeline import (  # noqa: F401
    CLUSTERING_DAE_PARAMS,
    PRETRAINING_RECIPES,
    default_pretraining_params,
    default_pretraining_passes,
    default_pretraining_recipe,
    make_clustering_pipeline,
    make_pretraining_autoencoder,
)

# DeepClustering is importable from here too, but documented once, as sk_dae.DeepClustering.
__all__ = [
    "default_pretraining_params",
    "default_pretraining_passes",
    "default_pretraining_recipe",
    "make_clustering_pipeline",
    "make_embedding",
    "make_pretraining_autoencoder",
    "umap_available",
]
