"""Denoising whole images of any size: :class:`ImageDenoiser`.

Needs scikit-image for its NL-means guide and noise estimate (the ``image`` extra:
``pip install 'sk-dae[image]'``); ``import sk_dae`` works without it.
"""

from ._denoiser import ImageDenoiser

__all__ = ["ImageDenoiser"]
