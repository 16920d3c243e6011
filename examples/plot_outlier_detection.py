"""
=======================================================
Finding unusual digits with a denoising autoencoder
=======================================================

An autoencoder trained on normal data reconstructs normal samples well and unusual ones
badly, and codes normal samples close to one another. :class:`~sk_dae.DAEOutlierDetector`
turns the reconstruction error and the distances to the nearest training codes into an
outlier detector with the interface of :class:`~sklearn.ensemble.IsolationForest`
(``score_samples``, ``decision_function``, ``predict`` in {-1, +1}, ``contamination``).
This example hides anomalies of three kinds among clean test digits and compares the
detector's ROC curves with those of IsolationForest and LocalOutlierFactor: the
reconstruction error excels where an anomaly is a change the training data never
showed, and the codes' neighbours find a kind of anomaly that the autoencoder
reconstructs well.
"""

# %%
# Clean training digits, a test set with 10% anomalies
# ----------------------------------------------------
# The detectors are fitted on the clean training digits. The test set holds the clean
# test digits and, as anomalies, some of them corrupted three ways: 15% of the pixels
# replaced by noise, rotated by 90 degrees, or blended half and half with a digit of
# another class.
import os
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import RocCurveDisplay, roc_auc_score
from sklearn.neighbors import LocalOutlierFactor

from sk_dae import DAEOutlierDetector, DenoisingAutoencoder
from sk_dae.datasets import load_digits
from sk_dae.plotting import plot_image_grid

QUICK = bool(os.environ.get("SK_DAE_EXAMPLE_QUICK"))

data = load_digits()
rng = np.random.default_rng(0)
X_clean, y_clean = data.X_test, data.y_test
n_each = len(X_clean) // 27  # three kinds, 10% of the test set in all
sources = rng.permutation(len(X_clean))[: 3 * n_each].reshape(3, n_each)

noisy = X_clean[sources[0]].copy()
mask = rng.random(noisy.shape) < 0.15
noisy[mask] = rng.random(mask.sum())
rotated = np.rot90(X_clean[sources[1]].reshape(-1, 8, 8), 1, axes=(1, 2)).reshape(-1, 64)
partners = [rng.choice(np.flatnonzero(y_clean != y_clean[i])) for i in sources[2]]
blended = 0.5 * (X_clean[sources[2]] + X_clean[partners])

X_test = np.concatenate([X_clean, noisy, rotated, blended]).astype(np.float32)
kind = np.repeat(["clean", "noisy", "rotated", "blended"], [len(X_clean)] + [n_each] * 3)
is_anomaly = kind != "clean"
print(f"{len(X_test)} test digits, {is_anomaly.sum()} of them anomalies")

# %%
# Three detectors
# ---------------
# The detector's autoencoder has a linear output (its default), which reconstructs the
# empty background exactly enough for a few wrong pixels to stand out. Its score takes
# the largest of three measures, each in units of its spread over the training digits:
# the reconstruction error (every pixel's error in units of that pixel's typical
# training error, with a floor) and the mean distance from the digit's code to the 10
# nearest training codes, as they are and scaled to unit length.
detectors = {
    "DAEOutlierDetector": DAEOutlierDetector(
        DenoisingAutoencoder(
            n_components=16,
            output_activation="identity",
            batch_size=64,
            max_iter=3 if QUICK else 60,
        ),
        random_state=0,
        n_threads=1,  # a small network gains nothing from more threads
    ),
    "IsolationForest": IsolationForest(random_state=0),
    "LocalOutlierFactor": LocalOutlierFactor(novelty=True),
}
scores = {}
for name, detector in detectors.items():
    start = time.perf_counter()
    with warnings.catch_warnings():
        # A fixed budget of epochs: the loss may still fall a little when it ends.
        warnings.simplefilter("ignore", ConvergenceWarning)
        detector.fit(data.X_train)
    # score_samples is higher for normal rows: its negative ranks the anomalies first.
    scores[name] = -detector.score_samples(X_test)
    print(f"{name:>20}: fitted in {time.perf_counter() - start:4.1f} s")

# %%
# ROC curves, one kind of anomaly at a time
# -----------------------------------------
# Each panel ranks the clean digits and one kind of anomaly. The reconstruction error
# finds the noisy digits that the forest ranks among normal ones. Blends of two digits
# are another matter: half-intensity strokes are smooth and easy to reconstruct, so their
# error alone ranks them no better than chance. Their codes, though, lie between those of
# two classes, away from the training codes of either: the detector finds them through
# its neighbours, as LocalOutlierFactor, which compares whole images, does. The forest
# ranks them last.
fig, axes = plt.subplots(1, 3, figsize=(13, 4.4), sharey=True)
for ax, k in zip(axes, ("noisy", "rotated", "blended")):
    rows = (kind == k) | ~is_anomaly
    for name, score in scores.items():
        RocCurveDisplay.from_predictions(is_anomaly[rows], score[rows], name=name, ax=ax)
    ax.plot([0, 1], [0, 1], ls=":", c="grey")
    ax.set_title(f"clean digits against {k} ones")
fig.tight_layout()
plt.show()

for name, score in scores.items():
    aucs = [
        roc_auc_score(is_anomaly[rows], score[rows])
        for rows in ((kind == k) | ~is_anomaly for k in ("noisy", "rotated", "blended"))
    ]
    print(f"{name:>20}: ROC AUC noisy {aucs[0]:.3f}, rotated {aucs[1]:.3f}, blended {aucs[2]:.3f}")

# %%
# The most anomalous digits
# -------------------------
# The test digits with the highest anomaly scores, the autoencoder's reconstructions of
# them (what the model expected to see), and the clean test digits it finds most
# unusual.
detector = detectors["DAEOutlierDetector"]
order = np.argsort(scores["DAEOutlierDetector"])[::-1]
top = order[:12]
top_clean = order[kind[order] == "clean"][:12]
print("kinds of the 12 most anomalous digits:", ", ".join(kind[top]))
fig = plot_image_grid(
    {
        "most anomalous": X_test[top],
        "reconstruction": detector.autoencoder_.reconstruct(X_test[top]).clip(0, 1),
        "most unusual clean": X_test[top_clean],
    },
    data.image_shape,
    n_images=12,
    title="DAEOutlierDetector: the highest scores",
)
plt.show()

# %%
# Labels from predict
# -------------------
# ``predict`` returns -1 for outliers and +1 for inliers. With the default
# ``contamination="auto"``, a digit is an outlier when its score lies beyond the
# whisker of a box plot of the training digits' scores; a float sets the share of
# training rows flagged instead.
labels = detector.predict(X_test)
for k in ("clean", "noisy", "rotated", "blended"):
    print(f"{k:>8}: {np.mean(labels[kind == k] == -1):4.0%} flagged")
