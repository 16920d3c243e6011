"""BM3D in torch: it removes Gaussian noise as the paper's algorithm does, beats a
local filter on an image that repeats itself, keeps its units and any image's size."""

import warnings

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from sk_dae._core import block_matching

SIGMA = 0.1


def tiles(h=64, w=72):
    """Repeating squares and stripes over a slow ramp, in [0, 1]: what block matching
    finds again and again, and what blurs at every edge."""
    y, x = np.mgrid[:h, :w]
    image = 0.2 + 0.3 * ((x // 8 + y // 8) % 2) + 0.3 * ((x % 12) < 4) + 0.1 * y / h
    return torch.tensor(image, dtype=torch.float32)


def noisy(image, seed=0, sigma=SIGMA):
    generator = torch.Generator().manual_seed(seed)
    return image + sigma * torch.randn(image.shape, generator=generator)


def psnr(a, b):
    return float(10 * torch.log10(1.0 / torch.mean((a - b) ** 2)))


def best_gaussian_blur(given, clean):
    best = -np.inf
    for width in (0.5, 0.8, 1.0, 1.5, 2.0):
        r = torch.arange(-4, 5, dtype=torch.float32)
        k = torch.exp(-(r**2) / (2 * width**2))
        k = (k / k.sum())[None, None]
        x = F.pad(given[None, None], (4, 4, 4, 4), mode="reflect")
        x = F.conv2d(F.conv2d(x, k[..., None, :]), k[..., :, None])
        best = max(best, psnr(x[0, 0], clean))
    return best


def test_it_removes_most_of_the_noise_and_beats_the_best_blur():
    clean = tiles()
    given = noisy(clean)
    out = block_matching.bm3d(given, SIGMA)
    assert out.shape == clean.shape and torch.isfinite(out).all()
    # measured: 9.3 to 9.6 dB above the noisy image, 6.3 above the best blur
    assert psnr(out, clean) > psnr(given, clean) + 8
    assert psnr(out, clean) > best_gaussian_blur(given, clean) + 5


def test_blocks_match_their_repeats_first():
    # a sawtooth of period 12 across over a curved ramp down: a block's exact repeats
    # lie 12 and 24 columns away in its own row, and nowhere else
    y, x = np.mgrid[:40, :60]
    image = torch.tensor(((x % 12) / 12.0 + (y / 40.0) ** 2), dtype=torch.float32)
    patches = block_matching._patches(image)
    grid = (33, 53)
    refs = (torch.tensor([16]), torch.tensor([24]))
    index, count = block_matching._match(patches, grid, refs, 16, 1e-6)
    rows, cols = index[0].div(grid[1], rounding_mode="floor"), index[0] % grid[1]
    assert (rows[0], cols[0]) == (16, 24)  # the reference block itself first
    # itself and 12 columns either way: 24 away is outside the 39-pixel window
    assert int(count[0]) == 3
    assert sorted(cols[:3].tolist()) == [12, 24, 36] and set(rows[:3].tolist()) == {16}


def test_a_flat_image_comes_out_flat():
    clean = torch.full((40, 40), 0.5)
    out = block_matching.bm3d(noisy(clean, seed=2), SIGMA)
    assert float((out - clean).std()) < SIGMA / 10


def test_units_scale_with_data_range():
    given = noisy(tiles(40, 48), seed=3)
    unit = block_matching.bm3d(given, SIGMA)
    eight_bit = block_matching.bm3d(255 * given, 255 * SIGMA, data_range=255.0)
    torch.testing.assert_close(eight_bit / 255, unit, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("shape", [(3, 5), (8, 8), (9, 50), (50, 7)])
def test_small_and_thin_images_keep_their_shape(shape):
    given = noisy(torch.full(shape, 0.5), seed=4)
    out = block_matching.bm3d(given, SIGMA)
    assert out.shape == shape and torch.isfinite(out).all()
    assert float((out - 0.5).abs().mean()) < float((given - 0.5).abs().mean())


def test_near_the_authors_package():
    bm3d = pytest.importorskip("bm3d")  # the bench extra: free for non-commercial use only
    clean = tiles(96, 96)
    given = noisy(clean, seed=5)
    ours = psnr(block_matching.bm3d(given, SIGMA), clean)
    theirs = psnr(torch.tensor(bm3d.bm3d(given.numpy(), sigma_psd=SIGMA)).float(), clean)
    assert ours > theirs - 0.5


def test_the_wavelet_is_pywavelets_bior15():
    pywt = pytest.importorskip("pywt")
    with warnings.catch_warnings():  # "all coefficients will experience boundary effects"
        warnings.simplefilter("ignore", UserWarning)
        levels = [pywt.wavedec(e, "bior1.5", mode="periodization", level=3) for e in np.eye(8)]
    expected = np.array([np.concatenate(c) for c in levels]).T
    np.testing.assert_allclose(block_matching._bior15_matrix(8).numpy(), expected, atol=1e-12)


def test_large_images_go_by_tiles_that_change_nothing_visible(monkeypatch):
    clean = tiles(120, 150)
    given = noisy(clean, seed=6)
    whole = block_matching.bm3d(given, SIGMA)
    monkeypatch.setattr(block_matching, "TILE_SIDE", 36)  # 4 x 5 tiles with their margins
    tiled = block_matching.bm3d(given, SIGMA)
    assert tiled.shape == clean.shape
    assert abs(psnr(tiled, clean) - psnr(whole, clean)) < 0.05
    assert float((tiled - whole).abs().mean()) < 0.05 * SIGMA  # measured: 0.026 sigma
