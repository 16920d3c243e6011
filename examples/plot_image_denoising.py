"""
=====================================================
Denoising a photograph and cleaning scanned pages
=====================================================

:class:`sk_dae.image.ImageDenoiser` takes whole images of any size (a list of arrays, as
:class:`~sklearn.feature_extraction.text.CountVectorizer` takes a list of documents) and
returns them denoised at the size they came in. This example learns from the clean left
half of scikit-image's ``camera`` photo (downsampled to 128x128 to stay fast) and
denoises its noisy right half, next to NL-means and BM3D told the same noise level; then it learns
to clean dirty pages from (dirty, clean) pairs made by
:func:`sk_dae.datasets.make_dirty_pages`. The full comparison, with BM3D, on every grey
test image of scikit-image, is in the user guide (:ref:`image_denoising`).
"""

# %%
# A photograph with Gaussian noise
# --------------------------------
# The denoiser adds Gaussian noise of ``noise_level`` to crops of the clean half and
# learns to correct BM3D's estimate of them (its default ``guide``: sk_dae's own BM3D,
# in torch, :func:`sk_dae.image.denoise_bm3d`), shown alone beside it.
import os

import matplotlib.pyplot as plt
import numpy as np
from skimage import data
from skimage.restoration import denoise_nl_means

from sk_dae.datasets import make_dirty_pages
from sk_dae.image import ImageDenoiser, denoise_bm3d

QUICK = bool(os.environ.get("SK_DAE_EXAMPLE_QUICK"))
STEPS = 5 if QUICK else 100
SIGMA = 0.075

photo = data.camera()[::4, ::4] / 255.0
left, right = photo[:, :64], photo[:, 64:]
noisy = right + SIGMA * np.random.default_rng(0).standard_normal(right.shape)

denoiser = ImageDenoiser(
    noise_level=SIGMA, crop_size=32, batch_size=8, max_iter=STEPS, random_state=0, n_threads=1
)
denoised = denoiser.fit([left]).transform([noisy])[0]
nl_means = denoise_nl_means(
    noisy, h=0.8 * SIGMA, sigma=SIGMA, fast_mode=True, patch_size=5, patch_distance=6
)
block_matched = denoise_bm3d(noisy, SIGMA)


def psnr(image):
    return 10 * np.log10(1 / np.mean((image - right) ** 2))


fig, axes = plt.subplots(1, 5, figsize=(12, 3.2))
for ax, (title, image) in zip(
    axes,
    {
        "clean": right,
        f"noisy {psnr(noisy):.1f} dB": noisy,
        f"NL-means {psnr(nl_means):.1f} dB": nl_means,
        f"BM3D {psnr(block_matched):.1f} dB": block_matched,
        f"ImageDenoiser {psnr(denoised):.1f} dB": denoised,
    }.items(),
):
    ax.imshow(image, cmap="gray", vmin=0, vmax=1)
    ax.set_title(title, fontsize=9)
    ax.axis("off")
plt.tight_layout()

# %%
# Dirty pages, learned from pairs
# -------------------------------
# Given ``y``, the denoiser learns the map from each dirty page to its clean one:
# stains, creases, uneven light and blur, not only noise. It is scored by the RMSE
# against the clean page, the metric of the dirty-documents task.
dirty, clean = make_dirty_pages(2 if QUICK else 6, shape=(96, 160), random_state=0)
test_dirty, test_clean = make_dirty_pages(1, shape=(96, 160), random_state=1)
pages = ImageDenoiser(crop_size=32, batch_size=8, max_iter=STEPS, random_state=0, n_threads=1)
cleaned = pages.fit(dirty, clean).transform(test_dirty)[0]


def rmse(image):
    return np.sqrt(np.mean((image - test_clean[0]) ** 2))


fig, axes = plt.subplots(1, 3, figsize=(10, 2.4))
for ax, (title, image) in zip(
    axes,
    {
        f"dirty (RMSE {rmse(test_dirty[0]):.3f})": test_dirty[0],
        f"ImageDenoiser (RMSE {rmse(cleaned):.3f})": cleaned,
        "clean": test_clean[0],
    }.items(),
):
    ax.imshow(image, cmap="gray", vmin=0, vmax=1)
    ax.set_title(title, fontsize=9)
    ax.axis("off")
plt.tight_layout()
plt.show()
