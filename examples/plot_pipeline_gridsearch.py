"""
======================================================
A DAE in a Pipeline, tuned by GridSearchCV, then saved
======================================================

``DenoisingAutoencoder`` is a scikit-learn transformer, so it fits in a
:class:`~sklearn.pipeline.Pipeline` in front of a classifier, its parameters are tuned
with :class:`~sklearn.model_selection.GridSearchCV` (``step__parameter`` names), and the
fitted pipeline is saved and loaded with :mod:`joblib`.
"""

# %%
# Pipeline and grid
# -----------------
import os
import tempfile

import joblib
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_dae import DenoisingAutoencoder
from sk_dae.datasets import load_digits

QUICK = bool(os.environ.get("SK_DAE_EXAMPLE_QUICK"))
EPOCHS = 2 if QUICK else 40

data = load_digits()
pipeline = make_pipeline(
    DenoisingAutoencoder(
        hidden_layer_sizes=(64,),
        batch_size=64,
        learning_rate_init=3e-3,
        max_iter=EPOCHS,
        tol=0.0,
        n_iter_no_change=EPOCHS,
        random_state=0,
        # A network this small trains faster on one thread: a second one waits more on
        # the first than it computes (see the "Performance" page).
        n_threads=1,
    ),
    StandardScaler(),
    LogisticRegression(max_iter=1000),
)
grid = {
    "denoisingautoencoder__n_components": [8, 16],
    "denoisingautoencoder__noise_level": [0.1, 0.3],
}
if QUICK:
    grid["denoisingautoencoder__noise_level"] = [0.1]
search = GridSearchCV(pipeline, grid, cv=2 if QUICK else 3)
search.fit(data.X_train, data.y_train)
print("best parameters:", search.best_params_)
print(f"cross-validated accuracy {search.best_score_:.3f}")
print(f"test accuracy {search.score(data.X_test, data.y_test):.3f}")

# %%
# Save and reload
# ---------------
# The fitted network is pickled as CPU tensors, so the file opens on a machine without a
# GPU. joblib (like pickle) runs code when loading: open only files you trust.
path = os.path.join(tempfile.mkdtemp(), "dae_pipeline.joblib")
joblib.dump(search.best_estimator_, path)
reloaded = joblib.load(path)
assert np.array_equal(reloaded.predict(data.X_test), search.predict(data.X_test))

# %%
# Cross-validated scores of the grid
# ----------------------------------
fig, ax = plt.subplots(figsize=(5, 3))
labels = [
    f"{p['denoisingautoencoder__n_components']} codes, noise "
    f"{p['denoisingautoencoder__noise_level']}"
    for p in search.cv_results_["params"]
]
ax.barh(labels, search.cv_results_["mean_test_score"])
ax.set_xlabel("mean cross-validated accuracy")
fig.tight_layout()
plt.show()
