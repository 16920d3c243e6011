"""
======================================
Denoising autoencoder against PCA
======================================

PCA is the linear baseline of every dimensionality reduction. A denoising autoencoder
(DAE) is nonlinear: with the same number of latent features it can reconstruct the
digits more accurately. This example fits both at several latent widths on the 8x8
digits and compares their test reconstruction error and their 2-D codes.
"""

# %%
# Data and models
# ---------------
# ``sk_dae.datasets.load_digits`` scales the digits to [0, 1] and splits them into a
# training and a test set, always the same way.
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import PCA

from sk_dae import DenoisingAutoencoder
from sk_dae.datasets import load_digits
from sk_dae.plotting import plot_codes_2d, plot_mse_vs_width

QUICK = bool(os.environ.get("SK_DAE_EXAMPLE_QUICK"))
EPOCHS = 3 if QUICK else 100

data = load_digits()
widths = [2, 4, 8, 16]
errors = {"PCA": [], "DAE": []}
models = {}
for width in widths:
    pca = PCA(n_components=width, random_state=0).fit(data.X_train)
    dae = DenoisingAutoencoder(
        n_components=width,
        hidden_layer_sizes=(128,),
        noise_level=0.2,
        batch_size=64,
        learning_rate_init=2e-3,
        max_iter=EPOCHS,
        tol=0.0,
        n_iter_no_change=EPOCHS,
        random_state=0,
    ).fit(data.X_train)
    models[width] = pca, dae
    for name, model in (("PCA", pca), ("DAE", dae)):
        restored = model.inverse_transform(model.transform(data.X_test))
        errors[name].append(float(np.mean((restored - data.X_test) ** 2)))

# %%
# Reconstruction error
# --------------------
# Lower is better. The gap is largest at small widths, where a linear projection
# throws away the most.
for width, pca_error, dae_error in zip(widths, errors["PCA"], errors["DAE"]):
    print(f"width {width:2d}: PCA {pca_error:.4f}  DAE {dae_error:.4f}")
plot_mse_vs_width(widths, errors)

# %%
# Two-dimensional codes
# ---------------------
# With two latent features, the DAE separates more of the classes than the first two
# principal components do.
pca, dae = models[2]
plot_codes_2d({"PCA": pca.transform(data.X_test), "DAE": dae.transform(data.X_test)}, data.y_test)
plt.show()
