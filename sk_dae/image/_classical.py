"""The classical pieces the image denoiser leans on, from scikit-image: the noise's
standard deviation estimated from an image, and the NL-means estimate that the network
refines (its guide)."""

from __future__ import annotations

import numpy as np


def _restoration():
    try:
        from skimage import restoration
    except ImportError:  # an optional dependency: the `image` extra
        raise ImportError(
            "This part of sk_dae.image.ImageDenoiser needs scikit-image: "
            "pip install 'sk-dae[image]' (or scikit-image>=0.22)."
        ) from None
    return restoration


def estimate_noise(image):
    """The Gaussian noise's standard deviation in ``image`` (height, width, channels),
    averaged over its channels (scikit-image's wavelet-based estimator)."""
    sigma = _restoration().estimate_sigma(image, channel_axis=-1, average_sigmas=True)
    return float(sigma)


def nl_means(image, sigma):
    """scikit-image's NL-means of ``image`` (height, width, channels) told the noise's
    ``sigma``, with the settings of its gallery (5x5 patches searched 6 pixels away,
    h = 0.8 sigma, fast mode)."""
    out = _restoration().denoise_nl_means(
        image,
        h=0.8 * sigma,
        sigma=sigma,
        fast_mode=True,
        patch_size=5,
        patch_distance=6,
        channel_axis=-1,
    )
    return np.asarray(out, dtype=np.float32).reshape(image.shape)
