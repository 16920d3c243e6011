"""Augmentation of image batches: random translations, rotations and scalings.

Unlike a corruption, which changes only the network's input, an augmentation changes
the clean batch itself, so the input and its target move together (as DEC-DA augments
MNIST for clustering): the network learns that a digit shifted by two pixels is still a
digit, not to undo the shift. Rows are flat and channels-last; one
``affine_grid``/``grid_sample`` call transforms a whole batch, its randomness drawn from
an explicit ``torch.Generator``. Torch only, no scikit-learn.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

AUGMENT_KINDS = ("shift", "affine")


class Augmenter:
    """Random geometric transformations of flat, channels-last image rows.

    Parameters
    ----------
    kind : {"shift", "affine"}
        ``"shift"``: every image moves by a whole number of pixels, up to ``shift`` of its
        side in each direction (28x28 digits: up to 3 pixels; 8x8: 1), exactly (nearest
        pixel). ``"affine"``: a shift of up to ``shift`` of the side (not restricted to
        whole pixels), a rotation of up to ``rotation`` degrees either way and a scaling
        by a factor in ``[1 - scale, 1 + scale]``, interpolated bilinearly.
    image_shape : tuple of int
        ``(H, W, C)`` of the images.

    Pixels moved in from outside the image are zero, the background of digits.
    """

    def __init__(self, kind, image_shape, *, shift=0.1, rotation=10.0, scale=0.1):
        if kind not in AUGMENT_KINDS:
            raise ValueError(f"unknown augmentation {kind!r}; expected one of {AUGMENT_KINDS}")
        self.kind = kind
        self.image_shape = tuple(int(s) for s in image_shape)
        self.shift = float(shift)
        self.rotation = math.radians(float(rotation)) if kind == "affine" else 0.0
        self.scale = float(scale) if kind == "affine" else 0.0

    def _uniform(self, n_rows, low, high, generator, device):
        u = torch.rand(n_rows, generator=generator, device=device)
        return u.mul_(high - low).add_(low)

    def _shifts(self, n_rows, side, generator, device):
        """Every image's shift along a side of ``side`` pixels, in grid units (2 / side
        a pixel)."""
        reach = round(self.shift * side)
        if self.kind == "shift":
            pixels = torch.randint(-reach, reach + 1, (n_rows,), generator=generator, device=device)
            return pixels.to(torch.float32).mul_(2.0 / side)
        return self._uniform(n_rows, -reach, reach, generator, device).mul_(2.0 / side)

    def theta(self, n_rows, generator, device):
        """The ``(n_rows, 2, 3)`` affine maps of ``affine_grid``, one a row."""
        height, width = self.image_shape[:2]
        tx = self._shifts(n_rows, width, generator, device)
        ty = self._shifts(n_rows, height, generator, device)
        angle = self._uniform(n_rows, -self.rotation, self.rotation, generator, device)
        zoom = self._uniform(n_rows, 1.0 - self.scale, 1.0 + self.scale, generator, device)
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        # A rotation of pixel coordinates, in the grid's coordinates of [-1, 1] per side.
        aspect = height / width
        row_x = torch.stack([cos, -sin * aspect, tx], dim=1)
        row_y = torch.stack([sin / aspect, cos, ty], dim=1)
        return torch.stack([row_x, row_y], dim=1)

    def __call__(self, x, generator, target=None):
        """The batch ``x`` transformed, or ``(x, target)`` transformed alike when a
        ``target`` batch of the same shape is given."""
        height, width, channels = self.image_shape
        n_rows = x.shape[0]
        images = x.reshape(n_rows, height, width, channels)
        if target is not None:
            images = torch.cat([images, target.reshape(n_rows, height, width, channels)], dim=3)
        images = images.permute(0, 3, 1, 2)
        theta = self.theta(n_rows, generator, x.device).to(x.dtype)
        grid = F.affine_grid(theta, list(images.shape), align_corners=False)
        mode = "nearest" if self.kind == "shift" else "bilinear"
        moved = F.grid_sample(images, grid, mode=mode, padding_mode="zeros", align_corners=False)
        moved = moved.permute(0, 2, 3, 1)
        if target is None:
            return moved.reshape(n_rows, -1)
        return (
            moved[..., :channels].reshape(n_rows, -1),
            moved[..., channels:].reshape(n_rows, -1),
        )
