"""The classical pieces the image denoiser leans on: the noise's standard deviation
estimated from an image, and the classical estimates that the network refines (its
guide): scikit-image's NL-means, or BM3D."""

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


def _bm3d_package():
    try:
        import bm3d as _bm3d
    except ImportError:  # not a dependency of sk_dae: the `bench` extra has it
        raise ImportError(
            "guide='bm3d' needs the bm3d package, which sk_dae does not install: "
            "pip install bm3d (or sk-dae[bench]), or use guide='nl_means'."
        ) from None
    return _bm3d


def check_guide(name):
    """Raise the ImportError of guide ``name`` now, before any work, when a package it
    needs is missing."""
    if name == "bm3d":
        _bm3d_package()
    elif name == "nl_means":
        _restoration()


def bm3d(image, sigma):
    """BM3D (the ``bm3d`` package) of ``image`` (height, width, channels) told the
    noise's ``sigma``, channel by channel."""
    _bm3d = _bm3d_package()
    channels = [_bm3d.bm3d(image[..., c], sigma_psd=sigma) for c in range(image.shape[-1])]
    return np.stack(channels, axis=-1).astype(np.float32)


#: The guides by name: each maps an image (height, width, channels) and the noise's
#: standard deviation to an estimate of the clean image.
GUIDES = {"nl_means": nl_means, "bm3d": bm3d}
