"""The classical pieces the image denoiser leans on: the noise's standard deviation
estimated from an image, and the classical estimates that the network refines (its
guide): scikit-image's NL-means, or BM3D (sk_dae's own, in torch)."""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
import torch

from .._core import block_matching


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


def nl_means(image, sigma, data_range=1.0):
    """scikit-image's NL-means of ``image`` (height, width, channels) told the noise's
    ``sigma``, with the settings of its gallery (5x5 patches searched 6 pixels away,
    h = 0.8 sigma, fast mode; ``data_range`` does not matter: h scales with sigma)."""
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


def check_guide(name):
    """Raise the ImportError of guide ``name`` now, before any work, when a package it
    needs is missing."""
    if name == "nl_means":
        _restoration()


def bm3d(image, sigma, data_range=1.0):
    """BM3D of ``image`` (height, width, channels) told the noise's ``sigma``, channel
    by channel: sk_dae's own, in torch (the authors' ``bm3d`` package is free for
    non-commercial use only); ``data_range`` is the span of the clean values."""
    channels = [
        block_matching.bm3d(
            torch.from_numpy(np.ascontiguousarray(image[..., c])), sigma, data_range=data_range
        )
        for c in range(image.shape[-1])
    ]
    return torch.stack(channels, dim=-1).numpy().astype(np.float32)


def denoise_bm3d(image, sigma, *, data_range=1.0):
    """Denoise an image with BM3D, sk_dae's implementation in torch.

    Block matching and 3-D filtering (Dabov et al., 2007) with the paper's normal
    profile: similar 8x8 blocks are grouped, their joint transform is hard-thresholded,
    then Wiener-filtered against that first estimate. It is :class:`ImageDenoiser`'s
    default guide; alone, it is a classical denoiser that learns nothing. The authors'
    ``bm3d`` package, free for non-commercial use only, is not needed (the user guide
    compares the two).

    Parameters
    ----------
    image : ndarray of shape (height, width) or (height, width, channels)
        The noisy image; colour channels are denoised one by one.
    sigma : float
        Standard deviation of the Gaussian noise, in the image's units.
    data_range : float, default=1.0
        Span of the clean image's values (1 for images in [0, 1], 255 for 8-bit ones):
        the paper's block-matching thresholds, set for 0-255 images, scale with it.

    Returns
    -------
    denoised : ndarray
        The image denoised, of its shape (float64 for float64 input, float32
        otherwise).

    References
    ----------
    K. Dabov, A. Foi, V. Katkovnik and K. Egiazarian, "Image Denoising by Sparse 3-D
    Transform-Domain Collaborative Filtering", IEEE TIP 16(8), 2007.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_dae.image import denoise_bm3d
    >>> rng = np.random.default_rng(0)
    >>> clean = np.tile(np.repeat([0.2, 0.8], 8), (32, 2))
    >>> noisy = clean + 0.1 * rng.standard_normal(clean.shape)
    >>> denoised = denoise_bm3d(noisy, sigma=0.1)
    >>> denoised.shape
    (32, 32)
    >>> bool(np.abs(denoised - clean).mean() < 0.3 * np.abs(noisy - clean).mean())
    True
    """
    array = np.asarray(image)
    if array.ndim not in (2, 3) or not np.issubdtype(array.dtype, np.number):
        raise ValueError(
            f"image has shape {array.shape} (dtype {array.dtype}): it must be a 2-D (grey) "
            "or 3-D (height, width, channels) array of numbers."
        )
    if not np.isfinite(array).all():
        raise ValueError("image holds NaN or infinite values.")
    for name, value in (("sigma", sigma), ("data_range", data_range)):
        if not (isinstance(value, Real) and math.isfinite(value) and value > 0):
            raise ValueError(f"{name}={value!r} must be a positive number.")
    dtype = np.float64 if array.dtype == np.float64 else np.float32
    channels = array.astype(np.float32).reshape(*array.shape[:2], -1)
    out = bm3d(channels, float(sigma), float(data_range))
    return out.reshape(array.shape).astype(dtype, copy=False)


#: The guides by name: each maps an image (height, width, channels), the noise's
#: standard deviation and the clean values' span to an estimate of the clean image.
GUIDES = {"nl_means": nl_means, "bm3d": bm3d}
