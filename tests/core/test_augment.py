"""Unit tests of ``sk_dae._core.augment``: shifts are whole pixels, input and target
move together, draws come from the generator alone."""

import pytest
import torch

from sk_dae._core.augment import Augmenter

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _images(n=64, shape=(8, 8, 2)):
    return torch.rand(n, shape[0] * shape[1] * shape[2], generator=_gen(1))


def _shifted(image, dy, dx):
    """``image`` (H, W, C) moved down by ``dy`` and right by ``dx``, zeros coming in."""
    out = torch.zeros_like(image)
    H, W = image.shape[:2]
    out[max(dy, 0) : H + min(dy, 0), max(dx, 0) : W + min(dx, 0)] = image[
        max(-dy, 0) : H - max(dy, 0), max(-dx, 0) : W - max(dx, 0)
    ]
    return out


def test_shifts_move_whole_pixels_within_reach():
    shape = (8, 8, 2)
    x = _images(shape=shape)
    moved = Augmenter("shift", shape, shift=0.25)(x, _gen())
    reach = range(-2, 3)
    seen = set()
    for row, out in zip(x.reshape(-1, *shape), moved.reshape(-1, *shape)):
        matches = [
            (dy, dx) for dy in reach for dx in reach if torch.equal(out, _shifted(row, dy, dx))
        ]
        assert matches, "every image is one whole-pixel shift of itself"
        seen.add(matches[0])
    assert len(seen) > 10  # shifts are drawn per image


def test_input_and_target_move_together():
    shape = (8, 8, 1)
    x = _images(shape=shape)
    for kind in ("shift", "affine"):
        moved, target = Augmenter(kind, shape)(x, _gen(), 2 * x)
        torch.testing.assert_close(target, 2 * moved)


def test_draws_come_from_the_generator():
    shape = (8, 8, 1)
    x = _images(shape=shape)
    augment = Augmenter("affine", shape)
    assert torch.equal(augment(x, _gen(5)), augment(x, _gen(5)))
    assert not torch.equal(augment(x, _gen(5)), augment(x, _gen(6)))


def test_affine_keeps_the_digits_mostly_inside():
    shape = (28, 28, 1)
    x = torch.zeros(32, 28, 28, 1)
    x[:, 10:18, 10:18] = 1.0  # a centred square, far from the border
    moved = Augmenter("affine", shape)(x.reshape(32, -1), _gen())
    mass = moved.sum(dim=1) / 64.0
    assert torch.all((mass > 0.75) & (mass < 1.3))  # scaled by at most 10% per side


def test_one_row_images_are_not_shifted_across_rows():
    x = _images(n=8, shape=(1, 20, 1))
    moved = Augmenter("shift", (1, 20, 1), shift=0.1)(x, _gen())
    assert moved.shape == x.shape and not torch.equal(moved, x)


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown augmentation"):
        Augmenter("flip", (8, 8, 1))
