"""
======================================================
Filling missing pixels: DAEImputer against sklearn's
======================================================

A denoising autoencoder trained with masking noise learns to fill in hidden entries, and
:class:`~sk_dae.DAEImputer` turns that into an imputer with the interface of
:class:`~sklearn.impute.KNNImputer`. This example hides 30% of the pixels of the 8x8
digits at random, fills them with the column means, with ``KNNImputer``, with
``IterativeImputer`` and with ``DAEImputer``, and compares the error on the hidden
pixels (root mean squared error, lower is better) and what the filled digits look like;
then it draws several plausible fills with ``sample_posterior=True``, for multiple
imputation.
"""

# %%
# Hide 30% of the pixels
# ----------------------
# Each imputer is fitted on the training digits with their holes and fills the holes of
# the test digits; the error is measured on the hidden test pixels only.
import os
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer

from sk_dae import DAEImputer, DenoisingAutoencoder
from sk_dae.datasets import load_digits
from sk_dae.plotting import plot_image_grid

QUICK = bool(os.environ.get("SK_DAE_EXAMPLE_QUICK"))

data = load_digits()
rng = np.random.default_rng(0)


def hide(X, fraction=0.3):
    holes = rng.random(X.shape) < fraction
    return np.where(holes, np.nan, X), holes


X_train, _ = hide(data.X_train)
X_test, holes = hide(data.X_test)

dae = DAEImputer(random_state=0)
if QUICK:  # a tiny budget, for the test suite
    dae.set_params(autoencoder=DenoisingAutoencoder(hidden_layer_sizes=(32,), max_iter=2))
imputers = {
    "column means": SimpleImputer(),
    "KNNImputer": KNNImputer(),
    # Pixels lie in [0, 1]: without the bounds, its linear models extrapolate wildly on
    # the nearly constant border pixels.
    "IterativeImputer": IterativeImputer(
        max_iter=3 if QUICK else 10, min_value=0, max_value=1, random_state=0
    ),
    "DAEImputer": dae,
}
filled, errors = {}, {}
for name, imputer in imputers.items():
    start = time.perf_counter()
    with warnings.catch_warnings():
        # IterativeImputer's fixed number of rounds may end before its own tolerance.
        warnings.simplefilter("ignore", ConvergenceWarning)
        filled[name] = imputer.fit(X_train).transform(X_test)
    errors[name] = np.sqrt(np.mean((filled[name][holes] - data.X_test[holes]) ** 2))
    print(f"{name:>16}: RMSE {errors[name]:.3f} ({time.perf_counter() - start:.1f} s)")

# %%
# The error on the hidden pixels
# ------------------------------
fig, ax = plt.subplots(figsize=(5, 2.5))
names = list(errors)
ax.barh(names, [errors[name] for name in names], color="tab:blue")
ax.invert_yaxis()
ax.set_xlabel("RMSE on the hidden pixels (lower is better)")
fig.tight_layout()

# %%
# What the filled digits look like
# --------------------------------
# Hidden pixels are shown in grey in the second row.
shown = np.where(holes, 0.5, data.X_test)
rows = {"original": data.X_test, "30% hidden": shown}
rows.update({name: filled[name] for name in ("KNNImputer", "DAEImputer")})
fig = plot_image_grid(rows, data.image_shape, n_images=8, title="Filling hidden pixels")
plt.show()

# %%
# Several plausible fills: multiple imputation
# --------------------------------------------
# With ``sample_posterior=True`` every ``transform`` draws one plausible imputation:
# each row is corrupted by the autoencoder's training noise (masking) before it is
# reconstructed, so the fills vary where the observed pixels leave the digit uncertain.
# An analysis repeated on several draws, its results pooled, carries that uncertainty
# (multiple imputation; MIDAS draws its imputations the same way). The observed pixels
# are the same in every draw.
dae.set_params(sample_posterior=True)
draws = np.stack([dae.transform(X_test) for _ in range(10)])
spread = np.where(holes, draws.std(axis=0), 0.0)
print(f"mean spread of the draws on the hidden pixels: {spread[holes].mean():.3f}")
rows = {"30% hidden": shown, "draw 1": draws[0], "draw 2": draws[1]}
rows["spread of 10 draws"] = spread / max(spread.max(), 1e-12)
fig = plot_image_grid(rows, data.image_shape, n_images=8, title="Draws of sample_posterior")
plt.show()
