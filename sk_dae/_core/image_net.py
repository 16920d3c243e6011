"""A fully convolutional residual denoiser and its training loop on random crops.

The network (DnCNN-like: 3x3 convolutions, ReLU, no pooling) predicts the noise of its
input and returns the input less that prediction, so an untrained network is close to the
identity and any image size goes through it whole. Its convolutions pad by reflection,
which needs every side to be at least 2 pixels.

Training draws random crops (with flips and quarter turns) from a list of image tensors
of shape ``(channels, height, width)`` and learns one of three targets:

- ``"synthetic"``: crops of clean images, Gaussian noise of a given standard deviation (or
  drawn per crop from a range) added on the fly, the clean crop as target;
- ``"pairs"``: crops at the same place of a noisy image and its clean image (the noisy
  one may hold more channels: a guide's estimate stacked after the image's own);
- ``"recorrupted"``: crops of noisy images only, of Gaussian noise of a known (or
  estimated) standard deviation per image (Recorrupted-to-Recorrupted, R2R): a fresh
  draw ``z`` of that noise goes into the input at ``ALPHA`` times its size and out of the
  target at ``1 / ALPHA`` times, so that the input's and the target's noises are
  independent and the loss, in expectation, is the loss against the clean crop plus a
  constant;
- ``"blind_spot"``: crops of noisy images only, with blind-spot masking (Noise2Self): a
  grid of pixels in each crop is replaced by a neighbour's value and the loss is taken
  on those pixels only, so the network cannot learn the identity. It assumes only that
  the noise is independent from pixel to pixel, of any distribution.

Tensors in, tensors out; nothing here knows scikit-learn.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .training import autocast

#: Steps of the learning rate's linear warm-up (at most a tenth of the steps).
WARMUP_STEPS = 100
#: R2R's recorruption factor (Pang et al., 2021, for Gaussian noise): the input's noise
#: grows by a factor sqrt(1 + ALPHA**2), the target's by sqrt(1 + 1 / ALPHA**2).
ALPHA = 0.5


class ResidualDenoiser(nn.Module):
    """``depth`` 3x3 convolutions of ``width`` channels predicting the noise.

    With ``guided``, the input holds a first estimate of the clean image (e.g. a
    classical denoiser's) after the noisy image's channels, and the network corrects
    that estimate instead of the noisy image.
    """

    def __init__(self, channels, *, width=32, depth=8, guided=False, seed=0):
        super().__init__()
        self.channels = channels
        self.guided = guided
        generator = torch.Generator().manual_seed(int(seed))
        sizes = [channels * (2 if guided else 1)] + [width] * (depth - 1) + [channels]
        self.convs = nn.ModuleList(
            nn.Conv2d(a, b, 3, padding=1, padding_mode="reflect")
            for a, b in zip(sizes[:-1], sizes[1:])
        )
        with torch.no_grad():
            for conv in self.convs:
                fan_in = conv.in_channels * 9
                conv.weight.normal_(0.0, math.sqrt(2.0 / fan_in), generator=generator)
                conv.bias.zero_()
            # The last layer starts at zero: the untrained network is the identity.
            self.convs[-1].weight.mul_(0.0)

    def forward(self, x):
        h = x
        for conv in self.convs[:-1]:
            h = F.relu(conv(h))
        return x[:, -self.channels :] - self.convs[-1](h)


def receptive_field(depth):
    """Side of the square of input pixels that one output pixel depends on."""
    return 2 * depth + 1


def _random_crops(images, size, n, generator):
    """``n`` crops of side ``size`` (an image's own side where it is smaller), each from
    an image drawn in proportion to its area, with a random flip and quarter turn; the
    same crop of each tensor in ``images`` (a list of aligned lists)."""
    return _crops_of(images, _pick_images(images[0], n, generator), size, generator)


def _pick_images(images, n, generator):
    """Indices of ``n`` images drawn in proportion to their areas."""
    areas = torch.tensor([float(im.shape[-1] * im.shape[-2]) for im in images])
    return torch.multinomial(areas, n, replacement=True, generator=generator)


def _crops_of(images, picks, size, generator):
    """One random crop (flipped and turned) of each image of ``picks``, at the same place
    in each tensor of ``images`` (a list of aligned lists)."""
    first = images[0]
    side = min(size, *(min(first[int(i)].shape[-2:]) for i in picks))
    out = [[] for _ in images]
    for i in picks.tolist():
        h, w = first[i].shape[-2:]
        top = int(torch.randint(h - side + 1, (1,), generator=generator))
        left = int(torch.randint(w - side + 1, (1,), generator=generator))
        turns = int(torch.randint(4, (1,), generator=generator))
        flip = bool(torch.randint(2, (1,), generator=generator))
        for k, stack in enumerate(images):
            crop = stack[i][:, top : top + side, left : left + side]
            crop = torch.rot90(crop, turns, dims=(1, 2))
            out[k].append(torch.flip(crop, dims=(2,)) if flip else crop)
    return [torch.stack(parts) for parts in out]


def _blind_spot(noisy, generator, spacing=4):
    """The input with one pixel of every ``spacing`` x ``spacing`` block (a random phase
    of a grid) replaced by a random 8-neighbour's value, and the mask of those pixels."""
    n, c, h, w = noisy.shape
    dy, dx = (int(v) for v in torch.randint(spacing, (2,), generator=generator))
    mask = torch.zeros(1, 1, h, w, dtype=torch.bool)
    mask[..., dy::spacing, dx::spacing] = True
    shifts = [(a, b) for a in (-1, 0, 1) for b in (-1, 0, 1) if (a, b) != (0, 0)]
    a, b = shifts[int(torch.randint(len(shifts), (1,), generator=generator))]
    padded = F.pad(noisy, (1, 1, 1, 1), mode="reflect")
    neighbour = padded[:, :, 1 + a : 1 + a + h, 1 + b : 1 + b + w]
    return torch.where(mask, neighbour, noisy), mask.expand(n, c, h, w)


def _noise_std(noise_level, n, generator):
    """Per-crop standard deviations: a float, or uniform in a ``(low, high)`` range."""
    if isinstance(noise_level, tuple):
        low, high = noise_level
        return low + (high - low) * torch.rand(n, 1, 1, 1, generator=generator)
    return torch.full((n, 1, 1, 1), float(noise_level))


def _recorrupted(images, levels, crop_size, batch_size, generator):
    """R2R's input and target for crops of ``images``, whose noise has the standard
    deviation ``levels[i]`` in image ``i``."""
    picks = _pick_images(images, batch_size, generator)
    (crops,) = _crops_of([images], picks, crop_size, generator)
    std = torch.tensor([float(levels[i]) for i in picks.tolist()]).view(-1, 1, 1, 1)
    z = torch.randn(crops.shape, generator=generator) * std
    return crops + ALPHA * z, crops - z / ALPHA


def training_batch(mode, images, targets, noise_level, *, crop_size, batch_size, generator):
    """One batch ``(inputs, targets, mask)`` of ``mode`` (mask: where the loss counts,
    None for every pixel). ``noise_level``: a float or a ``(low, high)`` range in
    ``"synthetic"``, the list of each image's level in ``"recorrupted"``, unused
    otherwise."""
    if mode == "pairs":
        noisy, clean = _random_crops([images, targets], crop_size, batch_size, generator)
        return noisy, clean, None
    if mode == "recorrupted":
        return *_recorrupted(images, noise_level, crop_size, batch_size, generator), None
    (crops,) = _random_crops([images], crop_size, batch_size, generator)
    if mode == "synthetic":
        std = _noise_std(noise_level, batch_size, generator)
        return crops + torch.randn(crops.shape, generator=generator) * std, crops, None
    masked, mask = _blind_spot(crops, generator)
    return masked, crops, mask


def train(model, batches, *, max_iter, learning_rate, device, callback=None, autocast_dtype=None):
    """Adam with a warm-up and a cosine decay of the learning rate over ``max_iter``
    steps, on the batches that ``batches()`` returns; the list of the steps' losses.
    With ``autocast_dtype``, the network runs in mixed precision
    (:func:`~sk_dae._core.training.autocast`); the loss is computed in float32."""
    # channels_last (NHWC): oneDNN's convolutions on the CPU take about 30% less time a
    # step in that layout than in NCHW (0.22 against 0.32 s for 16 48x48 crops, width 32,
    # depth 8, one thread); the results are the same up to rounding.
    model.to(device, memory_format=torch.channels_last).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    # A linear warm-up: Adam's first steps move every weight by about the learning
    # rate whatever its gradient, which throws the identity (or the guide) the network
    # starts from far off; then a cosine decay to zero.
    warmup = max(1, min(WARMUP_STEPS, max_iter // 10))

    def factor(step):
        cosine = 0.5 * (1 + math.cos(math.pi * min(step, max_iter) / max(max_iter, 1)))
        return min(1.0, (step + 1) / warmup) * cosine

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    losses = []
    for step in range(max_iter):
        inputs, targets, mask = batches()
        inputs = inputs.to(device, memory_format=torch.channels_last)
        targets = targets.to(device, memory_format=torch.channels_last)
        with autocast(inputs.device, autocast_dtype):
            output = model(inputs)
        output = output.float()
        if mask is None:
            loss = F.mse_loss(output, targets)
        else:
            mask = mask.to(device)
            loss = F.mse_loss(output[mask], targets[mask])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(float(loss.detach()))
        if callback is not None:
            callback(step, losses[-1])
    model.eval()
    return losses


@torch.inference_mode()
def denoise(model, image, device, *, tile=512, overlap=None):
    """``model`` applied to one ``(channels, height, width)`` tensor, in overlapping
    tiles of side ``tile`` so that memory stays bounded on large images; the overlap
    (the receptive field by default) makes the tiled result equal the whole one."""
    depth = len(model.convs)
    overlap = receptive_field(depth) if overlap is None else overlap
    _, h, w = image.shape
    model = model.to(memory_format=torch.channels_last)  # faster on the CPU, as in train

    def apply(piece):
        piece = piece[None].to(device, memory_format=torch.channels_last)
        return model(piece)[0].cpu().contiguous()

    if h <= tile + 2 * overlap and w <= tile + 2 * overlap:
        return apply(image)
    out = torch.empty_like(image)
    for top in range(0, h, tile):
        for left in range(0, w, tile):
            t0, l0 = max(top - overlap, 0), max(left - overlap, 0)
            t1, l1 = min(top + tile + overlap, h), min(left + tile + overlap, w)
            piece = apply(image[:, t0:t1, l0:l1])
            bottom, right = min(top + tile, h), min(left + tile, w)
            out[:, top:bottom, left:right] = piece[
                :, top - t0 : bottom - t0, left - l0 : right - l0
            ]
    return out
