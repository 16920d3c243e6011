"""
=========================================
Deep clustering: DEC and IDEC on digits
=========================================

KMeans on the codes of an autoencoder is a clustering; :class:`~sk_dae.DeepClustering`
goes one step further and trains the encoder and the cluster centres together (DEC, Xie
et al., 2016): every row's soft assignment to the centres is sharpened into a target,
and the encoder learns to match it, so confident rows pull their cluster tighter. IDEC
(Guo et al., 2017) keeps the reconstruction loss in the objective, so that the codes
keep the structure the autoencoder learnt. This example pretrains one autoencoder on the
digits, then compares KMeans on its codes with DEC and IDEC started from the same
centres, and shows how the labels settle during fine-tuning.
"""

# %%
# One pretrained autoencoder, three clusterings
# ---------------------------------------------
# ``prefit=True`` lets the three models share one pretraining; ``max_iter=0`` skips
# fine-tuning, which makes :class:`~sk_dae.DeepClustering` KMeans on the pretrained
# codes. Without ``prefit``, :meth:`~sk_dae.DeepClustering.fit` pretrains a clone of
# the autoencoder it is given (by default a (500, 500, 2000)-10 network for MNIST).
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from sk_dae import DeepClustering, DenoisingAutoencoder
from sk_dae.datasets import load_digits
from sk_dae.metrics import clustering_accuracy
from sk_dae.plotting import plot_confusion_matrix

QUICK = bool(os.environ.get("SK_DAE_EXAMPLE_QUICK"))
EPOCHS = 3 if QUICK else 40
PASSES = 2 if QUICK else 10
# Fixed budgets of epochs and passes (tol=0) warn that training could go on; expected.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

data = load_digits()
X, y = data.X_train, data.y_train
# The pretraining of the DEC papers: a random start, trained on all rows.
autoencoder = DenoisingAutoencoder(
    n_components=10,
    hidden_layer_sizes=(64,),
    init="random",
    early_stopping=False,
    noise="masking",
    noise_level=0.2,
    output_activation="identity",
    batch_size=64,
    max_iter=EPOCHS,
    random_state=0,
).fit(X)

models = {
    "KMeans on codes": DeepClustering(10, autoencoder=autoencoder, prefit=True, max_iter=0),
    "DEC": DeepClustering(
        10, autoencoder=autoencoder, prefit=True, method="dec", max_iter=PASSES, tol=0.0
    ),
    "IDEC": DeepClustering(10, autoencoder=autoencoder, prefit=True, max_iter=PASSES, tol=0.0),
}
for name, model in models.items():
    labels = model.set_params(random_state=0).fit_predict(X)
    print(
        f"{name:>15}: NMI {normalized_mutual_info_score(y, labels):.3f}, "
        f"ARI {adjusted_rand_score(y, labels):.3f}, "
        f"accuracy {clustering_accuracy(y, labels):.3f}"
    )

# %%
# How the labels settle
# ---------------------
# After every pass over the data the target is refreshed and the share of rows whose
# cluster changed is recorded in ``label_changes_``; by default fitting stops once it
# falls below ``tol`` (0.1%). Here ``tol=0`` runs all ``max_iter`` passes to show the
# whole curve. DEC, free of the reconstruction term, moves the codes further.
fig, ax = plt.subplots(figsize=(6, 3.5))
for name in ("DEC", "IDEC"):
    changes = [100 * c for c in models[name].label_changes_]
    ax.plot(range(1, len(changes) + 1), changes, marker="o", label=name)
ax.set_xlabel("pass over the data")
ax.set_ylabel("labels changed (%)")
ax.set_yscale("log")
ax.legend()
fig.tight_layout()

# %%
# Which digits end up together
# ----------------------------
# New rows are assigned to the nearest centre in the fine-tuned code space
# (``predict``); ``predict_proba`` gives the soft assignments. On the test digits:
idec = models["IDEC"]
test_labels = idec.predict(data.X_test)
confidence = idec.predict_proba(data.X_test).max(axis=1)
print(f"test accuracy {clustering_accuracy(data.y_test, test_labels):.3f}")
print(f"median confidence of the test assignments {float(np.median(confidence)):.2f}")
plot_confusion_matrix(data.y_test, test_labels, title="IDEC on the test digits")
plt.show()
