"""Corruption processes applied to mini-batches before they enter the encoder.

Every function here works on torch tensors, draws its randomness from an explicit
``torch.Generator`` and knows nothing of scikit-learn. A :class:`Corruptor` holds the
settings of one noise process and reusable buffers, so that corrupting a batch of the same
shape in the training loop allocates nothing after the first call.
"""

from __future__ import annotations

import math

import torch

NOISE_KINDS = ("gaussian", "masking", "salt_and_pepper", "swap", "occlusion")

#: The noises that see rows as images and need their shape.
IMAGE_NOISE_KINDS = ("occlusion",)


def gaussian_noise(x, std, generator, *, clip=None, scale=None, out=None):
    """Return ``x + N(0, std**2)``, optionally clipped to ``clip = (low, high)``.

    ``scale``, a tensor of one value per column, multiplies the noise of each column: the
    noise of column ``j`` then has standard deviation ``std * scale[j]``.
    """
    out = _buffer_like(x, out)
    out.normal_(0.0, std, generator=generator)
    if scale is not None:
        out.mul_(scale.to(device=x.device, dtype=x.dtype))
    out.add_(x)
    if clip is not None:
        out.clamp_(clip[0], clip[1])
    return out


def masking_noise(x, fraction, generator, *, out=None):
    """Return ``x`` with a ``fraction`` of its entries, drawn independently, set to zero."""
    out = _buffer_like(x, out)
    out.uniform_(0.0, 1.0, generator=generator)
    # keep = (u >= fraction) as 0/1 floats, then multiply: no bool tensor is allocated.
    out.sub_(fraction).sign_().clamp_(min=0.0)
    out.mul_(x)
    return out


def salt_and_pepper_noise(x, fraction, generator, *, low, high, out=None, scratch=None):
    """Return ``x`` with a ``fraction`` of entries set to ``low`` or ``high`` (half each).

    ``scratch``, a ``(uniform, mask)`` pair of float and bool tensors shaped like ``x``,
    is reused for the draws when given, so that the call allocates nothing.
    """
    uniform, mask = scratch if scratch is not None else _scratch_like(x)
    uniform.uniform_(0.0, 1.0, generator=generator)
    out = _buffer_like(x, out)
    out.copy_(x)
    # u < fraction gets the salt, then the pepper overwrites u < fraction / 2.
    out.masked_fill_(torch.lt(uniform, fraction, out=mask), high)
    out.masked_fill_(torch.lt(uniform, fraction / 2, out=mask), low)
    return out


def swap_noise(x, fraction, generator, *, out=None):
    """Return ``x`` with a ``fraction`` of its entries, drawn independently, replaced by
    the same column's value in another row of the batch, drawn uniformly (Jahrer's "swap
    noise").

    The donor rows come from the batch, not from the whole data: the training loop draws
    its batches at random, so a batch is a sample of the data and a donor's value follows
    the column's own distribution, while the noise needs nothing but the batch (it works
    the same on a ``partial_fit`` chunk, on a GPU and in :func:`corrupt`). A batch of one
    row has no other row and is returned unchanged.
    """
    out = _buffer_like(x, out)
    n_rows = x.shape[0]
    if n_rows < 2:
        return out.copy_(x)
    # Another row for every entry: an offset in [1, n_rows) from its own row, modulo.
    donors = torch.randint(1, n_rows, x.shape, generator=generator, device=x.device)
    donors.add_(torch.arange(n_rows, device=x.device).unsqueeze(1)).remainder_(n_rows)
    out.uniform_(0.0, 1.0, generator=generator)
    swap = out < fraction
    torch.gather(x, 0, donors, out=out)
    return torch.where(swap, out, x, out=out)


def occlusion_noise(x, fraction, generator, *, image_shape, out=None):
    """Return ``x`` with one random block of every image set to zero: the image
    counterpart of masking noise, which hides pixels one by one.

    ``x`` holds flat channels-last rows of images of ``image_shape`` ``(H, W, C)``. The
    block covers about a ``fraction`` of the image, its sides a ``sqrt(fraction)`` share
    of the image's (rounded; ``fraction=0.1276`` is a 10x10 block of a 28x28 digit), in
    every channel, at a position drawn uniformly among those that keep it inside the
    image.
    """
    height, width, channels = image_shape
    side = math.sqrt(fraction)
    block_h, block_w = min(height, round(side * height)), min(width, round(side * width))
    out = _buffer_like(x, out)
    n_rows = x.shape[0]
    if block_h == 0 or block_w == 0 or n_rows == 0:
        return out.copy_(x)
    top = torch.randint(0, height - block_h + 1, (n_rows, 1), generator=generator, device=x.device)
    left = torch.randint(0, width - block_w + 1, (n_rows, 1), generator=generator, device=x.device)
    rows = torch.arange(height, device=x.device) - top
    cols = torch.arange(width, device=x.device) - left
    inside_rows = (rows >= 0) & (rows < block_h)
    inside_cols = (cols >= 0) & (cols < block_w)
    block = (inside_rows[:, :, None] & inside_cols[:, None, :]).unsqueeze(3)
    block = block.expand(n_rows, height, width, channels).reshape(n_rows, -1)
    return out.copy_(x).masked_fill_(block, 0.0)


def _scratch_like(x):
    return torch.empty_like(x), torch.empty_like(x, dtype=torch.bool)


def _buffer_like(x, out):
    if out is None or out.shape != x.shape:
        return torch.empty_like(x)
    return out


class Corruptor:
    """One corruption process with its parameters and reusable buffers.

    Parameters
    ----------
    kind : {"gaussian", "masking", "salt_and_pepper", "swap", "occlusion"} or None
        The noise process; ``None`` returns the input unchanged.
    level : float
        Standard deviation (gaussian) or fraction of corrupted entries (the others; for
        occlusion, of every image's area, hidden as one block).
    scale : torch.Tensor or None
        One value per column multiplying the Gaussian noise (e.g. each feature's standard
        deviation, to give noise in units of it); None for the same noise everywhere.
    low, high : float
        Range of the clean data: the clip range of Gaussian noise when ``clip`` is true,
        and the pepper and salt values of salt-and-pepper noise.
    clip : bool
        Clip Gaussian-corrupted values to ``[low, high]``.
    image_shape : tuple of int or None
        ``(H, W, C)`` of the images the rows hold (flat, channels-last); occlusion needs it.
    """

    def __init__(self, kind, level, *, low=0.0, high=1.0, clip=False, scale=None, image_shape=None):
        if kind is not None and kind not in NOISE_KINDS:
            raise ValueError(f"unknown noise kind {kind!r}; expected one of {NOISE_KINDS}")
        if kind in IMAGE_NOISE_KINDS and image_shape is None:
            raise ValueError(f"{kind} noise needs the shape of the images")
        self.image_shape = None if image_shape is None else tuple(image_shape)
        self.kind = kind
        self.level = float(level)
        self.low = float(low)
        self.high = float(high)
        self.clip = bool(clip)
        self.scale = scale
        self._buffer = None
        self._scratch = None

    @property
    def is_identity(self):
        return self.kind is None or self.level == 0.0

    def __call__(self, x, generator, *, reuse_buffer=True):
        """Corrupt the batch ``x``; with ``reuse_buffer`` the result may be overwritten
        by the next call, as the training loop wants."""
        if self.is_identity:
            return x
        out = self._buffer if reuse_buffer else None
        if self.kind == "gaussian":
            clip = (self.low, self.high) if self.clip else None
            out = gaussian_noise(x, self.level, generator, clip=clip, scale=self.scale, out=out)
        elif self.kind == "masking":
            out = masking_noise(x, self.level, generator, out=out)
        elif self.kind == "swap":
            out = swap_noise(x, self.level, generator, out=out)
        elif self.kind == "occlusion":
            out = occlusion_noise(x, self.level, generator, image_shape=self.image_shape, out=out)
        else:
            scratch = None
            if reuse_buffer:
                if self._scratch is None or self._scratch[0].shape != x.shape:
                    self._scratch = _scratch_like(x)
                scratch = self._scratch
            out = salt_and_pepper_noise(
                x, self.level, generator, low=self.low, high=self.high, out=out, scratch=scratch
            )
        if reuse_buffer:
            self._buffer = out
        return out
