"""Denoising whole images of any size: :class:`ImageDenoiser`, and BM3D alone
(:func:`denoise_bm3d`).

Needs scikit-image for its noise estimate and NL-means guide (the ``image`` extra:
``pip install 'sk-dae[image]'``); ``import sk_dae`` works without it.
"""

from ._classical import denoise_bm3d
from ._denoiser import ImageDenoiser

__all__ = ["ImageDenoiser", "denoise_bm3d"]
