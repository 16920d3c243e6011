"""
==============================
KMeans on the latent codes
==============================

The codes of a denoising autoencoder are a compact description of each sample; a
clustering of them can recover the classes without any label. This example clusters the
test digits with KMeans on the raw pixels, on PCA codes and on DAE codes of the same
width, scores each clustering against the true classes (NMI, adjusted Rand index and
accuracy under the best matching of clusters to classes) and shows the confusion matrix
of the DAE clustering.
"""

# %%
# Codes of the same width
# -----------------------
import os

import matplotlib.pyplot as plt
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from sk_dae import DenoisingAutoencoder
from sk_dae.datasets import load_digits
from sk_dae.metrics import clustering_accuracy
from sk_dae.plotting import plot_confusion_matrix

QUICK = bool(os.environ.get("SK_DAE_EXAMPLE_QUICK"))
EPOCHS = 3 if QUICK else 100

data = load_digits()
dae = DenoisingAutoencoder(
    n_components=10,
    hidden_layer_sizes=(128,),
    noise_level=0.2,
    batch_size=64,
    learning_rate_init=2e-3,
    max_iter=EPOCHS,
    tol=0.0,
    n_iter_no_change=EPOCHS,
    random_state=0,
).fit(data.X_train)
pca = PCA(n_components=10, random_state=0).fit(data.X_train)
representations = {
    "raw pixels": data.X_test,
    "PCA codes": pca.transform(data.X_test),
    "DAE codes": dae.transform(data.X_test),
}

# %%
# Cluster and score
# -----------------
labels = {}
for name, X in representations.items():
    labels[name] = KMeans(n_clusters=10, n_init=10, random_state=0).fit_predict(X)
    print(
        f"{name:>10}: NMI {normalized_mutual_info_score(data.y_test, labels[name]):.3f}, "
        f"ARI {adjusted_rand_score(data.y_test, labels[name]):.3f}, "
        f"accuracy {clustering_accuracy(data.y_test, labels[name]):.3f}"
    )

# %%
# Which digits end up together
# ----------------------------
# Clusters are renamed after the class they are matched to, so the diagonal counts the
# digits clustered with their own class.
plot_confusion_matrix(data.y_test, labels["DAE codes"], title="KMeans on DAE codes")
plt.show()
