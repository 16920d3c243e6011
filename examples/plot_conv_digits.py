"""
=====================================================
A convolutional autoencoder of the digits, occlusions
=====================================================

Rows that are pictures stay flat: ``image_shape=(8, 8)`` tells
:class:`~sk_dae.DenoisingAutoencoder` that each row of 64 values is an 8x8 digit, and
``architecture="conv"`` trains a convolutional encoder and decoder on them instead of
dense layers that see 64 unrelated numbers. This example hides a random 4x4 block of
every test digit (``noise="occlusion"``, a quarter of the picture) and compares how a
convolutional network, the default MLP and PCA fill it in, by their peak
signal-to-noise ratio against the clean digits (PSNR, higher is better).
"""

# %%
# Occlude the test digits
# -----------------------
# Both autoencoders train on digits with one random block hidden per batch, and learn
# to draw the digit back; ``augment="shift"`` also moves every training digit by up to
# a pixel (input and target alike), so the networks see more ways a digit is drawn.
# They start at random and train the same fixed budget, so that the two architectures
# are compared alike; the defaults would start as PCA and stop each on its own held-out
# check.
import os

import matplotlib.pyplot as plt
from sklearn.decomposition import PCA

from sk_dae import DenoisingAutoencoder
from sk_dae.datasets import load_digits
from sk_dae.metrics import psnr
from sk_dae.plotting import plot_image_grid

QUICK = bool(os.environ.get("SK_DAE_EXAMPLE_QUICK"))
EPOCHS = 2 if QUICK else 60

data = load_digits()
occlusion = dict(noise="occlusion", noise_level=0.25, image_shape=data.image_shape)

# %%
# A convolutional network and an MLP, trained alike
# -------------------------------------------------
models = {
    name: DenoisingAutoencoder(
        n_components=16,
        architecture=architecture,
        augment="shift",
        init="random",
        early_stopping=False,
        max_iter=EPOCHS,
        random_state=0,
        n_threads=1,
        **occlusion,
    ).fit(data.X_train)
    for name, architecture in (("conv", "conv"), ("MLP", "mlp"))
}
print(models["conv"].summary())

occluded = models["conv"].corrupt(data.X_test, random_state=1)
pca = PCA(n_components=16, random_state=0).fit(data.X_train)
filled = {name: model.reconstruct(occluded).clip(0, 1) for name, model in models.items()}
filled["PCA"] = pca.inverse_transform(pca.transform(occluded)).clip(0, 1)
print(f"occluded: {psnr(data.X_test, occluded):5.2f} dB")
for name, images in filled.items():
    print(f"{name:>8}: {psnr(data.X_test, images):5.2f} dB")

# %%
# Originals, occluded digits and what each model draws
# ----------------------------------------------------
plot_image_grid(
    {"original": data.X_test, "occluded": occluded, **filled},
    data.image_shape,
    title="4x4 occlusions of 8x8 digits",
)
plt.show()
