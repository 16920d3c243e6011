"""
=============================================
Training on data streamed in chunks
=============================================

When the training data do not fit in memory, :meth:`~sk_dae.DenoisingAutoencoder.partial_fit`
trains on one chunk at a time: every call is one epoch over the rows it is given, and it
continues the network, the optimizer and the noise stream of the previous calls. This
example streams the digits from a memory-mapped file in chunks of 300 rows and compares
the learning curve with training on the whole set in memory.
"""

# %%
# The data, on disk
# -----------------
# The digits are scaled to [0, 1], split into a training and a test set, and the
# training set is written to a ``.npy`` file as float32. ``np.load(..., mmap_mode="r")``
# opens it without reading it: rows are loaded from disk when a chunk is sliced.
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sk_dae import DenoisingAutoencoder

X, _ = load_digits(return_X_y=True)
X_train, X_test = train_test_split((X / 16.0).astype(np.float32), test_size=0.2, random_state=0)

workdir = tempfile.TemporaryDirectory()
path = Path(workdir.name) / "digits_train.npy"
np.save(path, X_train)
X_disk = np.load(path, mmap_mode="r")
chunk_size = 300
starts = np.arange(0, X_disk.shape[0], chunk_size)
print(f"{X_disk.shape[0]} training rows on disk, streamed in {len(starts)} chunks")

# %%
# Two ways through the same epochs
# --------------------------------
# ``whole`` sees all training rows in every call, which is exactly what ``fit`` does
# epoch by epoch at a constant step size (with ``learning_rate="constant"``,
# ``fit(X, max_iter=k)`` equals ``k`` such calls). ``streamed`` sees one
# chunk per call and visits the chunks in a new random order at every pass. After
# every pass, both are scored on the test set: ``score`` is the negative mean squared
# reconstruction error of clean inputs.
#
# The first chunk would fix ``output_activation="auto"``, so it is set explicitly. With
# batches of 64 rows both models make about as many optimizer steps per pass, and one
# CPU thread is plenty for a network this small.
params = dict(
    n_components=8,
    hidden_layer_sizes=(64,),
    output_activation="sigmoid",
    batch_size=64,
    random_state=0,
    n_threads=1,
)
whole = DenoisingAutoencoder(**params)
streamed = DenoisingAutoencoder(**params)
rng = np.random.default_rng(0)
n_passes = 15
errors = {"whole set in memory (= fit)": [], f"chunks of {chunk_size} rows from disk": []}
for _ in range(n_passes):
    whole.partial_fit(X_train)
    for start in rng.permutation(starts):
        streamed.partial_fit(X_disk[start : start + chunk_size])
    for model, curve in zip((whole, streamed), errors.values()):
        curve.append(-model.score(X_test))

for name, curve in errors.items():
    print(f"{name}: test error {curve[-1]:.4f} after {n_passes} passes")
print(f"streamed model: n_iter_={streamed.n_iter_} calls, t_={streamed.t_} rows seen")

# %%
# Learning curves
# ---------------
# Streaming in chunks follows the same curve as training on the whole set: what the
# network learns depends on the passes over the data, not on how the rows were
# delivered. Both curves are still falling; more passes (``fit`` defaults to up to 200
# epochs) lower the error further.
fig, ax = plt.subplots(figsize=(6, 4))
passes = np.arange(1, n_passes + 1)
for (name, curve), marker in zip(errors.items(), "os"):
    ax.plot(passes, curve, marker=marker, label=name)
ax.set_xlabel("passes over the training data (epochs)")
ax.set_ylabel("test reconstruction error (MSE)")
ax.set_title("partial_fit on chunks vs. the whole set")
ax.legend()
fig.tight_layout()
plt.show()

del X_disk  # close the map before removing its file
workdir.cleanup()
