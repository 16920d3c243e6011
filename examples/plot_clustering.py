"""
===========================================
Clustering digits: codes, embedding, KMeans
===========================================

KMeans on the raw codes of an autoencoder finds the classes only in part. This example
builds the clustering recipe of :mod:`sk_dae.clustering` as one scikit-learn
:class:`~sklearn.pipeline.Pipeline` (denoising autoencoder, an embedding step, KMeans),
then swaps the embedding step on the same codes: none, L2 normalization
(:class:`~sklearn.preprocessing.Normalizer`) and, when ``umap-learn`` is installed
(``pip install "sk-dae[cluster]"``), a UMAP embedding. Every clustering is scored
against the true digit classes, which the models never see.
"""

# %%
# The recipe as a pipeline
# ------------------------
# All 1,797 digits are clustered, as in the deep clustering literature: clustering is
# unsupervised, so there is no test split to hold out.
import os
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from sk_dae.clustering import make_clustering_pipeline, make_embedding, umap_available
from sk_dae.datasets import load_digits
from sk_dae.metrics import clustering_accuracy
from sk_dae.plotting import plot_confusion_matrix

QUICK = bool(os.environ.get("SK_DAE_EXAMPLE_QUICK"))

digits = load_digits()
X = np.concatenate([digits.X_train, digits.X_test])
y = np.concatenate([digits.y_train, digits.y_test])

pipe = make_clustering_pipeline(
    n_clusters=10,
    embedding="normalize",
    # A smaller network than the MNIST default suits 8x8 images.
    hidden_layer_sizes=(256, 128),
    max_iter=3 if QUICK else 60,
    batch_size=64,
    random_state=0,
)
start = time.perf_counter()
with warnings.catch_warnings():
    # A fixed budget of epochs: the loss is still falling when it ends, by design.
    warnings.simplefilter("ignore", ConvergenceWarning)
    labels = pipe.fit_predict(X)
print(f"pipeline fitted in {time.perf_counter() - start:.1f} s")
print(pipe)


def report(name, labels):
    scores = (
        normalized_mutual_info_score(y, labels),
        adjusted_rand_score(y, labels),
        clustering_accuracy(y, labels),
    )
    print(f"{name:>22}: NMI {scores[0]:.3f}  ARI {scores[1]:.3f}  accuracy {scores[2]:.3f}")
    return scores


report("DAE + Normalizer", labels)

# %%
# Swapping the embedding step
# ---------------------------
# The autoencoder is fitted once; each embedding step then maps its codes before KMeans.
# KMeans on the raw pixels is the baseline.
codes = pipe.named_steps["dae"].transform(X)
candidates = {"raw pixels": (X, "none"), "DAE codes": (codes, "none")}
candidates["DAE + Normalizer"] = (codes, "normalize")
if umap_available():
    candidates["DAE + UMAP"] = (codes, "umap")

results, all_labels = {}, {}
for name, (features, kind) in candidates.items():
    step = make_embedding(kind, n_components=10, random_state=0)
    embedded = features if step == "passthrough" else step.fit_transform(features)
    all_labels[name] = KMeans(n_clusters=10, n_init=10, random_state=0).fit_predict(embedded)
    results[name] = report(name, all_labels[name])

# %%
# On these small 8x8 images KMeans on the raw pixels is already a strong baseline, and
# the normalizing step gains nothing over the raw codes; on the 28x28 MNIST digits it
# lifts the accuracy from about 0.74 to 0.81 (see the "Clustering" page of the user
# guide). The UMAP step is the one that pays on both.

# %%
# Which digits end up together
# ----------------------------
# The confusion matrix of the most accurate clustering: clusters are renamed after the
# class they are matched to, so the diagonal counts digits clustered with their class.
best = max(results, key=lambda name: results[name][2])
fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
names = list(results)
axes[0].barh(names, [results[name][2] for name in names], color="tab:blue")
axes[0].set_xlim(0, 1)
axes[0].set_xlabel("clustering accuracy")
axes[0].invert_yaxis()
plot_confusion_matrix(y, all_labels[best], title=f"KMeans on {best}", ax=axes[1])
fig.tight_layout()
plt.show()
