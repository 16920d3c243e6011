"""
======================================================
Features for tables: raw, PCA, DAE codes, deep stack
======================================================

A denoising autoencoder trained with swap noise (Jahrer's recipe from Kaggle's Porto
Seguro competition) learns features of a table without its labels. This example
compares a downstream model cross-validated on four sets of features of three small
tables of scikit-learn: breast_cancer and wine (logistic regression, accuracy) and
diabetes (ridge regression, R^2):

* the raw features, standardized;
* :class:`~sklearn.decomposition.PCA` codes of ``WIDTH`` components;
* :class:`~sk_dae.DenoisingAutoencoder` codes of the same width;
* the "deep stack": the activations of every hidden layer of the same autoencoder
  (``transform_layers="all"``), wider than the code.

Everything sits in one :class:`~sklearn.pipeline.Pipeline` (a
:class:`~sklearn.compose.ColumnTransformer` first for diabetes, whose ``sex`` column is
a category), so that each fold fits its own scaler, PCA and autoencoder.
"""

# %%
# The pipelines
# -------------
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sk_dae import DenoisingAutoencoder

QUICK = bool(os.environ.get("SK_DAE_EXAMPLE_QUICK"))
WIDTH = 4
FOLDS = 2 if QUICK else 5


def autoencoder(layers="code"):
    return DenoisingAutoencoder(
        n_components=WIDTH,
        hidden_layer_sizes=(64,),
        noise="swap",
        noise_level=0.15,
        transform_layers=layers,
        batch_size=32,
        max_iter=2 if QUICK else 100,
        random_state=0,
        n_threads=1,  # a network this small runs fastest on one thread
    )


def scaler(name, X):
    if name != "diabetes":
        return StandardScaler()
    numeric = [column for column in X.columns if column != "sex"]
    return ColumnTransformer(
        [("numeric", StandardScaler(), numeric), ("sex", OneHotEncoder(), ["sex"])]
    )


FEATURES = {
    "raw (standardized)": lambda: "passthrough",
    f"PCA, {WIDTH} components": lambda: PCA(n_components=WIDTH, random_state=0),
    f"DAE code, {WIDTH} units": autoencoder,
    f"deep stack, 64+{WIDTH}+64 units": lambda: autoencoder("all"),
}
TABLES = {
    "breast_cancer": (load_breast_cancer, "accuracy"),
    "wine": (load_wine, "accuracy"),
    "diabetes": (load_diabetes, "R^2"),
}

# %%
# Cross-validated scores
# ----------------------
# The codes and activations are rescaled before the downstream model, whose
# regularization assumes features of comparable spread.
scores = {}
for table, (loader, metric) in TABLES.items():
    X, y = loader(return_X_y=True, as_frame=True)
    if table == "diabetes":
        X = X.assign(sex=(X["sex"] > 0).astype(int))
        model, cv = Ridge(), KFold(FOLDS, shuffle=True, random_state=0)
    else:
        model = LogisticRegression(max_iter=1000)
        cv = StratifiedKFold(FOLDS, shuffle=True, random_state=0)
    for name, features in FEATURES.items():
        pipeline = make_pipeline(scaler(table, X), features(), StandardScaler(), model)
        scores[table, name] = cross_val_score(pipeline, X, y, cv=cv)
        mean, std = scores[table, name].mean(), scores[table, name].std()
        print(f"{table:>13} {name:>26}: {metric} {mean:.3f} +- {std:.3f}")

# %%
# The figure
# ----------
# Bars are the mean over the folds, whiskers one standard deviation.
fig, axes = plt.subplots(1, len(TABLES), figsize=(11, 3), sharey=True)
names = list(FEATURES)
for ax, (table, (_, metric)) in zip(axes, TABLES.items()):
    means = [scores[table, name].mean() for name in names]
    stds = [scores[table, name].std() for name in names]
    ax.barh(names, means, xerr=stds, color=["grey", "tab:orange", "tab:blue", "tab:green"])
    low = min(means) - 2 * max(stds)
    ax.set_xlim(max(0.0, low - 0.05 * abs(low)), 1.0 if metric == "accuracy" else None)
    ax.set_title(table)
    ax.set_xlabel(f"cross-validated {metric}")
axes[0].invert_yaxis()
fig.tight_layout()
plt.show()

# %%
# The autoencoder sees no labels; its code has the width of PCA's, and what it keeps is
# what lets it undo swap noise, the relations between the columns. On tables this small
# the differences lie within about a standard deviation of the folds: compare them
# before picking one, as this example does.
dae_name, pca_name = list(FEATURES)[2], list(FEATURES)[1]
for table in TABLES:
    gap = scores[table, dae_name].mean() - scores[table, pca_name].mean()
    spread = np.std(scores[table, dae_name] - scores[table, pca_name])
    print(f"{table:>13}: DAE code minus PCA {gap:+.3f} (spread over the folds {spread:.3f})")
