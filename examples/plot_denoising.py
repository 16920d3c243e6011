"""
=========================================
Removing three kinds of noise from digits
=========================================

A denoising autoencoder learns to map corrupted inputs back to clean ones. This example
trains one for each corruption sk_dae knows (Gaussian noise, masking noise that zeroes
pixels, salt-and-pepper noise) and compares its reconstructions of noisy test digits
with PCA's projection of them, by their peak signal-to-noise ratio (PSNR, higher is
better).
"""

# %%
# Corrupt the test digits
# -----------------------
# ``DenoisingAutoencoder.corrupt`` applies the model's own noise; its ``reconstruct``
# returns the decoded code of an input, the denoised estimate.
import os

import matplotlib.pyplot as plt
from sklearn.decomposition import PCA

from sk_dae import DenoisingAutoencoder
from sk_dae.datasets import load_digits
from sk_dae.metrics import psnr
from sk_dae.plotting import plot_image_grid

QUICK = bool(os.environ.get("SK_DAE_EXAMPLE_QUICK"))
EPOCHS = 3 if QUICK else 80

data = load_digits()
pca = PCA(n_components=16, random_state=0).fit(data.X_train)
noise_levels = {"gaussian": 0.4, "masking": 0.4, "salt_and_pepper": 0.2}

# %%
# One model per noise kind
# ------------------------
for kind, level in noise_levels.items():
    dae = DenoisingAutoencoder(
        n_components=16,
        hidden_layer_sizes=(128,),
        noise=kind,
        noise_level=level,
        clip_noise=True,  # noisy digits stay in [0, 1], as saved images do
        batch_size=64,
        learning_rate_init=2e-3,
        max_iter=EPOCHS,
        tol=0.0,
        n_iter_no_change=EPOCHS,
        random_state=0,
    ).fit(data.X_train)
    noisy = dae.corrupt(data.X_test, random_state=1)
    denoised = dae.reconstruct(noisy)
    projected = pca.inverse_transform(pca.transform(noisy)).clip(0, 1)
    print(
        f"{kind:>15} {level}: noisy {psnr(data.X_test, noisy):5.2f} dB, "
        f"PCA {psnr(data.X_test, projected):5.2f} dB, DAE {psnr(data.X_test, denoised):5.2f} dB"
    )
    plot_image_grid(
        {"original": data.X_test, "noisy": noisy, "DAE": denoised, "PCA": projected},
        data.image_shape,
        title=f"{kind} noise ({level})",
    )
plt.show()
