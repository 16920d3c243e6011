"""Block matching and 3-D filtering (BM3D; Dabov, Foi, Katkovnik and Egiazarian, IEEE
Transactions on Image Processing 16(8), 2007), written from the paper in torch.

The ``bm3d`` package of the algorithm's authors is free for non-commercial use only, so
it cannot be a dependency of a library; this is the paper's two-step algorithm with its
"normal profile" for noise up to 40/255:

1. *Hard thresholding.* For every reference block (8x8, every third pixel), the blocks
   most like it in a 39x39 window are stacked into a group (at most 16, a power of two,
   each within a distance of 2500/255**2 per pixel); the group's 3-D transform (a 2-D
   biorthogonal 1.5 wavelet transform of each block, a Haar transform across them) is
   hard-thresholded at 2.7 sigma, and the blocks it returns are averaged into the image
   with a Kaiser window, each group weighted by the inverse of its kept coefficients.
2. *Wiener filtering.* The blocks are matched again on step 1's estimate (at most 32,
   within 400/255**2), and each noisy group is shrunk by the empirical Wiener filter of
   the estimate's group (a 2-D DCT of each block, Haar across), weighted by the inverse of
   the filter's energy.

Differences from the paper: the search window is cut at the image's borders instead of
moved inside them, and the distances are scaled by ``data_range`` (the paper's constants
are for 0-255 images). The user guide compares it with the authors' package.

Tensors in, tensors out; nothing here knows scikit-learn.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

#: Side of the blocks.
BLOCK = 8
#: Distance between reference blocks, in pixels.
STEP = 3
#: Side of the search window around each reference block.
WINDOW = 39
#: The two steps' largest groups.
GROUP = (16, 32)
#: The two steps' matching thresholds, as a mean squared difference per pixel on a
#: 0-255 scale (the paper's tau_match over N1**2).
THRESHOLD = (2500.0, 400.0)
#: Hard threshold of step 1, in units of sigma.
LAMBDA = 2.7
#: Kaiser window's beta for the aggregation.
BETA = 2.0
#: Groups filtered at once (their coefficients stay in the processor's cache).
GROUPS_AT_ONCE = 1024
#: Side of a tile of reference blocks matched together, in blocks.
TILE = 8
#: Side of the tiles a large image is filtered by, and the surroundings each tile is
#: filtered with (half a window and a block: what the blocks of its edge see), both
#: multiples of STEP so that the tiles' reference blocks fall where the whole image's do.
TILE_SIDE = 510
MARGIN = 3 * math.ceil((WINDOW // 2 + BLOCK) / 3)
#: Tiles matched at once (bounds the memory of the distances).
CHUNK = 16


SUM = torch.tensor([[1.0, 1.0]], dtype=torch.float64)
DIFFERENCE = torch.tensor([[1.0, -1.0]], dtype=torch.float64)
#: The biorthogonal 1.5 wavelet's analysis filters (Cohen, Daubechies and Feauveau): the
#: low-pass one sees ten taps, the high-pass one is Haar's.
BIOR15_LOW = torch.tensor([3, -3, -22, 22, 128, 128, 22, -22, -3, 3], dtype=torch.float64) / (
    128 * math.sqrt(2.0)
)
BIOR15_HIGH = torch.tensor([0, 0, 0, 0, -1, 1, 0, 0, 0, 0], dtype=torch.float64) / math.sqrt(2.0)


def _dct_matrix(n):
    """The orthonormal DCT-II of ``n`` values."""
    k = torch.arange(n, dtype=torch.float64)
    m = torch.cos(math.pi * (k[None, :] + 0.5) * k[:, None] / n) * math.sqrt(2.0 / n)
    m[0] /= math.sqrt(2.0)
    return m


def _haar_matrix(n):
    """The orthonormal Haar wavelet transform of ``n`` (a power of two) values, every
    level down to their mean."""
    h = torch.ones(1, 1, dtype=torch.float64)
    while h.shape[0] < n:
        top = torch.kron(h, SUM)
        bottom = torch.kron(torch.eye(h.shape[0], dtype=torch.float64), DIFFERENCE)
        h = torch.cat([top, bottom]) / math.sqrt(2.0)
    return h


def _bior15_matrix(n):
    """The biorthogonal 1.5 wavelet transform of ``n`` (a power of two) values, every
    level down to one coefficient, with periodic extension (PyWavelets's ``wavedec(x,
    "bior1.5", mode="periodization")``): not orthogonal, its rows have norms 1 to 1.06."""
    detail = []
    signal = torch.eye(n, dtype=torch.float64)  # row i: what unit vector i turns into
    while signal.shape[1] > 1:
        size = signal.shape[1]
        k = torch.arange(size // 2)[:, None]
        taps = torch.arange(len(BIOR15_LOW))[None, :]
        where = (2 * k + 5 - taps) % size  # PyWavelets's alignment of the filters
        low = (signal[:, where] * BIOR15_LOW).sum(-1)
        detail.insert(0, (signal[:, where] * BIOR15_HIGH).sum(-1))
        signal = low
    rows = torch.cat([signal, *detail], dim=1)
    return rows.T


def _positions(size):
    """Reference blocks' first rows (or columns): every STEP-th, and the last one."""
    last = size - BLOCK
    pos = list(range(0, last + 1, STEP))
    if pos[-1] != last:
        pos.append(last)
    return torch.tensor(pos)


def _patches(image):
    """Every BLOCK x BLOCK block of ``image`` (height, width), one row per top-left corner
    (row-major over a grid of (height - BLOCK + 1, width - BLOCK + 1))."""
    return F.unfold(image[None, None], BLOCK).squeeze(0).T.contiguous()


def _padded(patches, grid):
    """The blocks on their grid (rows, columns, BLOCK**2), padded by half a window
    before and more after (a tile's region may pass the last block), and their squared
    norms, infinite outside the image so that no block there ever matches."""
    rows, cols = grid
    pad = (WINDOW // 2, WINDOW // 2 + TILE * STEP) * 2
    padded = F.pad(patches.T.reshape(BLOCK**2, rows, cols), pad).permute(1, 2, 0)
    inside = F.pad(torch.ones(rows, cols, dtype=torch.bool), pad)
    return padded, padded.square().sum(-1).masked_fill(~inside, math.inf)


def _match(patches, grid, refs, n_max, threshold):
    """The ``n_max`` blocks nearest to each reference block within its window (indices
    into ``patches``, nearest first, the reference itself first) and how many of them lie
    within ``threshold``.

    The reference blocks go by tiles of TILE x TILE neighbours, whose windows together
    span one region: the squared distances of a tile's blocks to the region's are one
    matrix product (|a|^2 + |b|^2 - 2 a.b), from which each block keeps its own window.
    """
    cols, (ref_rows, ref_cols) = grid[1], refs
    half, n = WINDOW // 2, BLOCK**2
    padded, norms = _padded(patches, grid)
    span = (TILE - 1) * STEP + WINDOW
    window = torch.arange(WINDOW)
    tiles = torch.cartesian_prod(
        torch.arange(0, len(ref_rows), TILE), torch.arange(0, len(ref_cols), TILE)
    )
    step = torch.arange(TILE)
    index = torch.empty(len(ref_rows), len(ref_cols), n_max, dtype=torch.long)
    count = torch.empty(len(ref_rows), len(ref_cols), dtype=torch.long)
    for chunk in tiles.split(CHUNK):
        # (tiles, TILE) reference rows and columns, repeated past the last one
        i = (chunk[:, :1] + step).clamp(max=len(ref_rows) - 1)
        j = (chunk[:, 1:] + step).clamp(max=len(ref_cols) - 1)
        ry, rx = ref_rows[i], ref_cols[j]
        region_r = ry[:, :1] + torch.arange(span)  # padded coordinates
        region_c = rx[:, :1] + torch.arange(span)
        cand = padded[region_r[:, :, None], region_c[:, None, :]].reshape(len(chunk), -1, n)
        cand_norm = norms[region_r[:, :, None], region_c[:, None, :]].reshape(len(chunk), -1)
        own = patches[(ry[:, :, None] * cols + rx[:, None, :]).reshape(len(chunk), -1)]
        dist = (
            own.square().sum(-1, keepdim=True) + cand_norm[:, None] - 2 * own @ cand.transpose(1, 2)
        )
        # each block's window in its region: rows ry - ry0 + [0, WINDOW), likewise columns
        wr = (ry - ry[:, :1])[:, :, None] + window  # (tiles, TILE, WINDOW)
        wc = (rx - rx[:, :1])[:, :, None] + window
        at = (wr[:, :, None, :, None] * span + wc[:, None, :, None, :]).reshape(
            len(chunk), TILE * TILE, -1
        )
        dist = dist.gather(2, at) / n
        dist[:, :, (WINDOW**2) // 2] = -1.0  # the reference block comes first
        near, order = dist.topk(n_max, dim=2, largest=False)
        # back to unpadded block positions
        pr = (
            ry[:, :, None, None]
            - half
            + order.view(len(chunk), TILE, TILE, n_max).div(WINDOW, rounding_mode="floor")
        )
        pc = rx[:, None, :, None] - half + order.view(len(chunk), TILE, TILE, n_max) % WINDOW
        found = (pr * cols + pc).view(len(chunk), TILE, TILE, n_max)
        within = (near <= threshold).sum(-1).clamp(min=1).view(len(chunk), TILE, TILE)
        index[i[:, :, None], j[:, None, :]] = found
        count[i[:, :, None], j[:, None, :]] = within
    return index.reshape(-1, n_max), count.reshape(-1)


def _across(haar, groups):
    """The 1-D transform ``haar`` (size, size) across (size, n, BLOCK**2) groups."""
    size = groups.shape[0]
    return (haar @ groups.reshape(size, -1)).reshape(groups.shape)


def _step(noisy_coefs, basic_coefs, index, count, sigma, n_max, transform, kaiser):
    """One step's weighted sums of the estimated blocks and of their weights, per block
    position (hard thresholding without ``basic_coefs``, Wiener filtering with). The
    ``*_coefs`` are every block's 2-D transform ``transform``, computed once for all the
    groups; a coefficient's noise is sigma times its row's norm."""
    inverse = torch.linalg.inv(transform.double()).T.to(noisy_coefs.dtype)
    noise_gain = transform.norm(dim=1)
    n_pos = noisy_coefs.shape[0]
    numerator = torch.zeros_like(noisy_coefs)
    denominator = torch.zeros(n_pos, dtype=noisy_coefs.dtype)
    size = 2 ** torch.floor(torch.log2(count.clamp(max=n_max).to(torch.float64))).long()
    for s in size.unique().tolist():
        haar = _haar_matrix(s).to(noisy_coefs.dtype)
        for group in index[size == s, :s].split(GROUPS_AT_ONCE):
            chosen = group.T.contiguous()  # (s, n): across the groups' blocks
            coefs = _across(haar, noisy_coefs[chosen])
            if basic_coefs is None:
                keep = coefs.abs() > LAMBDA * sigma * noise_gain
                coefs = coefs * keep
                weight = 1.0 / keep.sum((0, 2)).clamp(min=1).to(coefs.dtype)
            else:
                energy = _across(haar, basic_coefs[chosen]).square_()
                wiener = energy.div_(energy + sigma**2)
                coefs = coefs.mul_(wiener)
                weight = 1.0 / wiener.square_().sum((0, 2)).clamp(min=1e-12)
            blocks = (_across(haar.T, coefs).reshape(-1, BLOCK**2) @ inverse).mul_(kaiser)
            flat = chosen.reshape(-1)
            weights = weight.repeat(s)
            numerator.index_add_(0, flat, blocks.mul_(weights[:, None]))
            denominator.index_add_(0, flat, weights)
    return numerator, denominator


def _aggregate(numerator, denominator, kaiser, shape, fallback):
    num = F.fold(numerator.T[None], shape, BLOCK).squeeze()
    den = F.fold((kaiser[:, None] * denominator[None])[None], shape, BLOCK).squeeze()
    return torch.where(den > 0, num / den.clamp(min=1e-30), fallback)


def bm3d(image, sigma, *, data_range=1.0):
    """BM3D of a grey ``image`` (a 2-D tensor) with Gaussian noise of standard deviation
    ``sigma``, in the image's units (``data_range`` is the span of its clean values: 1
    for images in [0, 1], 255 for 8-bit ones). Sides under BLOCK are padded by
    repeating the border for the filtering, then cropped.

    Images larger than TILE_SIDE + 2 MARGIN on a side go by tiles of TILE_SIDE, each
    filtered with MARGIN pixels of its surroundings (a block's window and the block
    itself), so that the memory stays that of one tile (under 1 GB) whatever the image's
    size.
    """
    image = torch.as_tensor(image, dtype=torch.float32)
    height, width = image.shape
    if height <= TILE_SIDE + 2 * MARGIN and width <= TILE_SIDE + 2 * MARGIN:
        return _bm3d_whole(image, sigma, data_range)
    out = torch.empty_like(image)
    for y in range(0, height, TILE_SIDE):
        for x in range(0, width, TILE_SIDE):
            top, left = max(y - MARGIN, 0), max(x - MARGIN, 0)
            bottom, right = min(y + TILE_SIDE + MARGIN, height), min(x + TILE_SIDE + MARGIN, width)
            tile = _bm3d_whole(image[top:bottom, left:right], sigma, data_range)
            out[y : y + TILE_SIDE, x : x + TILE_SIDE] = tile[
                y - top : y - top + TILE_SIDE, x - left : x - left + TILE_SIDE
            ]
    return out


def _bm3d_whole(image, sigma, data_range):
    height, width = image.shape
    pad = (0, max(BLOCK - width, 0), 0, max(BLOCK - height, 0))
    if any(pad):
        image = F.pad(image[None, None], pad, mode="replicate")[0, 0]
    shape = image.shape
    grid = (shape[0] - BLOCK + 1, shape[1] - BLOCK + 1)
    refs = (_positions(shape[0]), _positions(shape[1]))
    transforms = [torch.kron(m, m).float() for m in (_bior15_matrix(BLOCK), _dct_matrix(BLOCK))]
    kaiser = torch.kaiser_window(BLOCK, periodic=False, beta=BETA, dtype=torch.float64)
    kaiser = torch.outer(kaiser, kaiser).reshape(-1).float()
    scale = (data_range / 255.0) ** 2
    noisy = _patches(image)
    estimate = image
    for step, transform in enumerate(transforms):
        basic = None if step == 0 else _patches(estimate)
        threshold = THRESHOLD[step] * scale
        index, count = _match(noisy if basic is None else basic, grid, refs, GROUP[step], threshold)
        basic = None if basic is None else basic @ transform.T
        num, den = _step(
            noisy @ transform.T, basic, index, count, float(sigma), GROUP[step], transform, kaiser
        )
        estimate = _aggregate(num, den, kaiser, shape, estimate)
    return estimate[:height, :width]
