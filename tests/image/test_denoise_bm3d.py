"""denoise_bm3d: BM3D on numpy images, grey or colour, with clear errors."""

import numpy as np
import pytest

from sk_dae.image import denoise_bm3d

SIGMA = 0.1


def stripes(h=32, w=40):
    return np.tile(np.repeat([0.2, 0.8], 8), (h, w // 16 + 1))[:, :w]


def noisy(image, seed=0):
    return image + SIGMA * np.random.default_rng(seed).standard_normal(image.shape)


def test_colour_channels_are_each_denoised_and_keep_their_shape():
    clean = np.stack([stripes(), 1 - stripes(), np.full((32, 40), 0.5)], axis=-1)
    given = noisy(clean)
    out = denoise_bm3d(given, SIGMA)
    assert out.shape == clean.shape and out.dtype == np.float64
    for c in range(3):
        assert np.mean((out[..., c] - clean[..., c]) ** 2) < 0.2 * np.mean(
            (given[..., c] - clean[..., c]) ** 2
        )


def test_float32_stays_float32_and_8_bit_images_take_their_range():
    given = noisy(stripes(), seed=1)
    assert denoise_bm3d(given.astype(np.float32), SIGMA).dtype == np.float32
    eight_bit = np.clip(np.round(255 * given), 0, 255).astype(np.uint8)
    out = denoise_bm3d(eight_bit, 255 * SIGMA, data_range=255)
    assert out.dtype == np.float32
    assert np.mean((out / 255 - stripes()) ** 2) < 0.2 * np.mean((given - stripes()) ** 2)


@pytest.mark.parametrize(
    "image, sigma, message",
    [
        (np.zeros(10), SIGMA, "2-D .* or 3-D"),
        (np.zeros((4, 4, 4, 4)), SIGMA, "2-D .* or 3-D"),
        (np.array([["a", "b"]]), SIGMA, "array of numbers"),
        (np.full((9, 9), np.nan), SIGMA, "NaN or infinite"),
        (np.zeros((9, 9)), 0.0, "sigma=0.0 must be a positive number"),
        (np.zeros((9, 9)), "0.1", "sigma='0.1' must be a positive number"),
    ],
)
def test_bad_input_is_a_clear_value_error(image, sigma, message):
    with pytest.raises(ValueError, match=message):
        denoise_bm3d(image, sigma)


def test_a_bad_data_range_is_a_clear_value_error():
    with pytest.raises(ValueError, match="data_range=-1 must be a positive number"):
        denoise_bm3d(np.zeros((9, 9)), SIGMA, data_range=-1)
