"""The three corruptions of DenoisingAutoencoder on test digits, and what a model undoes.

Drawn at every docs build by the plot directive of ``docs/user_guide/introduction.rst``;
runs on its own too: ``python docs/pyplots/noise_kinds.py`` (a few seconds on 2 cores).

For each noise kind, one model is trained with that corruption on the first 1,500 digits.
The figure shows held-out digits, their corruption by ``corrupt`` (the same process that
training applies to every batch) and the model's ``reconstruct`` of the corrupted input.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from sk_dae import DenoisingAutoencoder

X, _ = load_digits(return_X_y=True)
X = X / 16.0  # pixels in [0, 1]
X_train, X_test = X[:1500], X[1500:1508]

settings = [
    ("gaussian", 0.3, "Gaussian, std 0.3 (clipped to [0, 1])"),
    ("masking", 0.4, "masking, 40% of pixels set to 0"),
    ("salt_and_pepper", 0.3, "salt and pepper, 30% of pixels set to 0 or 1"),
]
rows = [("clean test digits", X_test)]
for noise, level, title in settings:
    dae = DenoisingAutoencoder(
        n_components=32,
        hidden_layer_sizes=(128,),
        noise=noise,
        noise_level=level,
        clip_noise=True,  # corrupted digits stay in [0, 1], as saved images do
        max_iter=200,
        random_state=0,
    ).fit(X_train)
    X_noisy = dae.corrupt(X_test, random_state=0)
    rows.append((title, X_noisy))
    rows.append(("reconstruct(corrupted)", dae.reconstruct(X_noisy)))

fig, axes = plt.subplots(len(rows), len(X_test), figsize=(8, 1.3 * len(rows)))
fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.96, hspace=0.45, wspace=0.08)
for (title, images), row in zip(rows, axes):
    for image, ax in zip(images, row):
        ax.imshow(np.asarray(image).reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
    row[0].set_title(title, loc="left", fontsize=10)

if __name__ == "__main__":
    plt.show()
