"""Unit tests of ``sk_dae._core.noise`` on tensors: the statistics of each noise process,
reproducibility from a generator, and the buffer contract of ``Corruptor``.

The statistical tests use a 2000 x 500 tensor, i.e. N = 1,000,000 draws, so that
tolerances can be tight and still many standard errors wide (each is justified where
it is used).
"""

import pytest
import torch

from sk_dae._core.noise import (
    NOISE_KINDS,
    Corruptor,
    gaussian_noise,
    masking_noise,
    salt_and_pepper_noise,
    swap_noise,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SHAPE = (2000, 500)
N = SHAPE[0] * SHAPE[1]


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _corruptor(kind, level, n_features):
    """``Corruptor(kind, level)``; occlusion sees rows of ``n_features`` as one-row
    images."""
    image_shape = (1, n_features, 1) if kind == "occlusion" else None
    return Corruptor(kind, level, image_shape=image_shape)


@pytest.fixture(scope="module")
def x():
    """Values in [0.1, 0.9]: strictly inside the default [low, high] = [0, 1]."""
    return torch.rand(SHAPE, generator=_gen(0)) * 0.8 + 0.1


def test_noise_kinds():
    assert set(NOISE_KINDS) == {"gaussian", "masking", "salt_and_pepper", "swap", "occlusion"}


@pytest.mark.parametrize("std", [0.1, 0.5, 2.0])
def test_gaussian_noise_has_the_stated_std_and_zero_mean(x, std):
    noise = Corruptor("gaussian", std)(x, _gen(1)) - x
    # The sample std of N normal draws has standard error std / sqrt(2N) = 0.0007 std:
    # 1% is 14 standard errors. The sample mean has standard error std / sqrt(N) =
    # 0.001 std: 1% of std is 10 standard errors.
    assert noise.std().item() == pytest.approx(std, rel=0.01)
    assert abs(noise.mean().item()) < 0.01 * std


def test_gaussian_noise_function_matches_the_corruptor(x):
    torch.testing.assert_close(
        gaussian_noise(x, 0.3, _gen(1)), Corruptor("gaussian", 0.3)(x, _gen(1))
    )


@pytest.mark.parametrize("low, high", [(0.0, 1.0), (0.3, 0.7), (-1.0, 0.5)])
def test_gaussian_clip_keeps_values_in_range(x, low, high):
    out = Corruptor("gaussian", 0.5, low=low, high=high, clip=True)(x, _gen(1))
    # the bounds as float32 values; std 0.5 on [0.1, 0.9] crosses both ends often
    low32, high32 = torch.tensor([low, high], dtype=out.dtype)
    assert torch.equal(out.min(), low32)
    assert torch.equal(out.max(), high32)
    assert ((out > low32) & (out < high32)).any()


def test_gaussian_without_clip_leaves_the_range(x):
    out = Corruptor("gaussian", 0.5, low=0.0, high=1.0, clip=False)(x, _gen(1))
    assert out.min().item() < 0.0
    assert out.max().item() > 1.0


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9])
def test_masking_zeroes_the_stated_fraction_and_keeps_the_rest(x, fraction):
    data = x.clone()
    data[:, ::5] = 0.0  # a fifth of the entries are zero already
    nonzero = data != 0
    out = Corruptor("masking", fraction)(data, _gen(2))
    zeroed = (out == 0) & nonzero
    # N' = 800,000 Bernoulli draws: the standard error of the fraction is at most
    # sqrt(0.25 / N') = 0.00056; 0.005 is 9 standard errors.
    assert zeroed.sum().item() / nonzero.sum().item() == pytest.approx(fraction, abs=0.005)
    kept = out != 0
    assert torch.equal(out[kept], data[kept])
    assert torch.count_nonzero(out[~nonzero]) == 0


def test_masking_noise_function_matches_the_corruptor(x):
    torch.testing.assert_close(
        masking_noise(x, 0.3, _gen(2)), Corruptor("masking", 0.3)(x, _gen(2))
    )


@pytest.mark.parametrize("fraction", [0.1, 0.5])
@pytest.mark.parametrize("low, high", [(0.0, 1.0), (-1.0, 2.0)])
def test_salt_and_pepper_sets_the_stated_fraction_to_low_or_high(x, fraction, low, high):
    out = Corruptor("salt_and_pepper", fraction, low=low, high=high)(x, _gen(3))
    pepper = out == low
    salt = out == high
    changed = pepper | salt  # x lies strictly inside (low, high), so these all changed
    # Fractions of N = 1e6 Bernoulli draws have standard error <= 0.0005; 0.005 is
    # 10 standard errors, for the changed fraction and for each half.
    assert changed.float().mean().item() == pytest.approx(fraction, abs=0.005)
    assert pepper.float().mean().item() == pytest.approx(fraction / 2, abs=0.005)
    assert salt.float().mean().item() == pytest.approx(fraction / 2, abs=0.005)
    assert torch.equal(out[~changed], x[~changed])


def test_salt_and_pepper_function_matches_the_corruptor(x):
    torch.testing.assert_close(
        salt_and_pepper_noise(x, 0.3, _gen(3), low=-1.0, high=2.0),
        Corruptor("salt_and_pepper", 0.3, low=-1.0, high=2.0)(x, _gen(3)),
    )


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_each_kind_is_reproducible_from_a_seeded_generator(x, kind):
    a = _corruptor(kind, 0.3, x.shape[1])(x, _gen(10), reuse_buffer=False)
    b = _corruptor(kind, 0.3, x.shape[1])(x, _gen(10), reuse_buffer=False)
    c = _corruptor(kind, 0.3, x.shape[1])(x, _gen(11), reuse_buffer=False)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_corruption_leaves_the_global_rng_untouched(x, kind):
    torch.manual_seed(0)
    state = torch.get_rng_state()
    _corruptor(kind, 0.3, x.shape[1])(x, _gen(10))
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_consecutive_calls_draw_fresh_noise(x, kind):
    corruptor = _corruptor(kind, 0.3, x.shape[1])
    generator = _gen(10)
    first = corruptor(x, generator).clone()
    second = corruptor(x, generator)
    assert not torch.equal(first, second)


@pytest.mark.parametrize(
    "kind, level",
    [(None, 0.3), (None, 0.0), ("gaussian", 0.0), ("masking", 0), ("salt_and_pepper", 0.0)],
)
def test_no_kind_or_zero_level_returns_the_input(x, kind, level):
    corruptor = Corruptor(kind, level)
    assert corruptor.is_identity
    assert corruptor(x, _gen(0)) is x


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_without_buffer_reuse_each_call_returns_a_fresh_tensor(kind):
    data = torch.rand(50, 20, generator=_gen(0)) * 0.8 + 0.1
    original = data.clone()
    corruptor = _corruptor(kind, 0.3, data.shape[1])
    generator = _gen(1)
    a = corruptor(data, generator, reuse_buffer=False)
    a_copy = a.clone()
    b = corruptor(data, generator, reuse_buffer=False)
    assert a is not b
    assert a.data_ptr() != b.data_ptr()
    assert a.data_ptr() != data.data_ptr()
    assert torch.equal(a, a_copy)  # the second call did not overwrite the first result
    assert torch.equal(data, original)


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_a_fresh_result_is_not_overwritten_by_later_buffered_calls(kind):
    data = torch.rand(50, 20, generator=_gen(0)) * 0.8 + 0.1
    corruptor = _corruptor(kind, 0.3, data.shape[1])
    generator = _gen(1)
    fresh = corruptor(data, generator, reuse_buffer=False)
    fresh_copy = fresh.clone()
    buffered = corruptor(data, generator)
    assert buffered.data_ptr() != fresh.data_ptr()
    assert torch.equal(fresh, fresh_copy)


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_buffer_reuse_returns_the_same_storage_and_never_modifies_the_input(kind):
    data = torch.rand(50, 20, generator=_gen(0)) * 0.8 + 0.1
    original = data.clone()
    corruptor = _corruptor(kind, 0.3, data.shape[1])
    generator = _gen(1)
    a = corruptor(data, generator)
    b = corruptor(data, generator)
    assert a.data_ptr() == b.data_ptr()
    assert a.data_ptr() != data.data_ptr()
    assert torch.equal(data, original)
    # a batch of another shape (the last, smaller batch) gets a buffer of its shape
    c = corruptor(data[:7], generator)
    assert c.shape == (7, 20)
    assert torch.equal(data, original)


@pytest.mark.parametrize("kind", NOISE_KINDS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_output_keeps_shape_and_dtype(kind, dtype):
    data = torch.rand(30, 4, generator=_gen(0), dtype=dtype)
    out = _corruptor(kind, 0.3, data.shape[1])(data, _gen(1))
    assert out.shape == data.shape
    assert out.dtype == dtype


@pytest.mark.parametrize("kind", ["uniform", "Gaussian", "dropout", ""])
def test_unknown_kind_raises_value_error(kind):
    with pytest.raises(ValueError, match="unknown noise kind"):
        Corruptor(kind, 0.1)


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9])
def test_swap_replaces_the_stated_fraction_by_the_same_columns_values(fraction):
    # Distinct values: entry (i, j) is i * 1000 + j, so every value names its row and column.
    rows, cols = 2000, 500
    data = (torch.arange(rows).unsqueeze(1) * 1000 + torch.arange(cols)).to(torch.float64)
    out = Corruptor("swap", fraction)(data, _gen(4))
    changed = out != data
    # N = 1e6 Bernoulli draws: standard error <= 0.0005; 0.005 is 10 standard errors.
    assert changed.double().mean().item() == pytest.approx(fraction, abs=0.005)
    donor_row, donor_col = out.div(1000, rounding_mode="floor"), out.remainder(1000)
    assert torch.equal(donor_col, data.remainder(1000))  # always the same column
    own_row = torch.arange(rows, dtype=out.dtype).unsqueeze(1).expand(rows, cols)
    assert torch.equal(donor_row != own_row, changed)  # a swapped entry comes from another row
    # Donor rows are uniform over the other rows: their mean is near the middle row.
    assert donor_row[changed].mean().item() == pytest.approx((rows - 1) / 2, rel=0.01)


def test_swap_keeps_each_columns_distribution(x):
    out = Corruptor("swap", 0.5)(x, _gen(5))
    # The swapped values are draws from the column itself, so column means and standard
    # deviations barely move (each over 2000 rows; 0.01 is about 4 standard errors of a
    # column mean of uniform values whose std is 0.23).
    assert (out.mean(dim=0) - x.mean(dim=0)).abs().max().item() < 0.03
    assert out.std().item() == pytest.approx(x.std().item(), rel=0.01)


def test_swap_noise_function_matches_the_corruptor(x):
    torch.testing.assert_close(swap_noise(x, 0.3, _gen(6)), Corruptor("swap", 0.3)(x, _gen(6)))


def test_swap_on_a_single_row_returns_it_unchanged():
    row = torch.rand(1, 7, generator=_gen(0))
    assert torch.equal(Corruptor("swap", 0.9)(row, _gen(1)), row)


def test_gaussian_scale_multiplies_each_columns_noise():
    data = torch.zeros(20000, 3)
    scale = torch.tensor([0.5, 1.0, 4.0])
    noise = Corruptor("gaussian", 0.2, scale=scale)(data, _gen(7))
    # 20,000 draws per column: the sample std's standard error is 0.5%; 3% is 6 of them.
    torch.testing.assert_close(noise.std(dim=0), 0.2 * scale, rtol=0.03, atol=0.0)


def test_gaussian_scale_follows_the_dtype_of_the_batch():
    data = torch.zeros(10, 2, dtype=torch.float64)
    out = Corruptor("gaussian", 0.1, scale=torch.tensor([1.0, 2.0]))(data, _gen(8))
    assert out.dtype == torch.float64


def test_occlusion_hides_one_block_of_every_image():
    shape = (28, 28, 3)
    x = torch.rand(50, 28 * 28 * 3, generator=_gen(0)) + 0.5
    out = Corruptor("occlusion", 100 / 784, image_shape=shape)(x, _gen(1))
    hidden = (out == 0).reshape(50, *shape)
    assert torch.equal(hidden, hidden[..., :1].expand_as(hidden))  # every channel alike
    for image in hidden[..., 0]:
        rows, cols = image.any(dim=1).nonzero(), image.any(dim=0).nonzero()
        assert len(rows) == 10 and len(cols) == 10 and int(image.sum()) == 100
        assert rows.max() - rows.min() == 9 and cols.max() - cols.min() == 9
    kept = ~(out == 0)
    assert torch.equal(out[kept], x[kept])
    tops = {int(image.any(dim=1).nonzero()[0, 0]) for image in hidden[..., 0]}
    assert len(tops) > 5  # positions drawn per image


def test_occlusion_is_seeded_and_needs_a_shape():
    x = torch.rand(20, 64, generator=_gen(0))
    occlude = Corruptor("occlusion", 0.25, image_shape=(8, 8, 1))
    assert torch.equal(occlude(x, _gen(3), reuse_buffer=False), occlude(x, _gen(3)))
    assert torch.equal(Corruptor("occlusion", 0.0, image_shape=(8, 8, 1))(x, _gen(3)), x)
    with pytest.raises(ValueError, match="shape of the images"):
        Corruptor("occlusion", 0.25)
