"""The fully convolutional denoiser's core: identity at the start, tiles that add up to
the whole image, blind spots, recorrupted pairs, crops."""

import torch

from sk_dae._core import image_net


def test_an_untrained_network_is_the_identity_and_keeps_any_size():
    model = image_net.ResidualDenoiser(3, width=8, depth=3, seed=0).eval()
    x = torch.rand(1, 3, 13, 29)
    torch.testing.assert_close(model(x), x)


def test_tiles_give_the_whole_image():
    model = image_net.ResidualDenoiser(1, width=4, depth=3, seed=0).eval()
    with torch.no_grad():
        model.convs[-1].weight.normal_(0, 0.1, generator=torch.Generator().manual_seed(1))
    image = torch.rand(1, 70, 45)
    whole = image_net.denoise(model, image, "cpu", tile=1000)
    tiled = image_net.denoise(model, image, "cpu", tile=16)
    torch.testing.assert_close(tiled, whole)


def test_blind_spots_hide_a_grid_of_pixels():
    noisy = torch.rand(2, 1, 12, 12)
    masked, mask = image_net._blind_spot(noisy, torch.Generator().manual_seed(0))
    assert mask.sum() == 2 * 9
    assert torch.equal(masked[~mask], noisy[~mask])
    assert not torch.equal(masked[mask], noisy[mask])


def test_recorrupted_pairs_carry_one_draw_of_each_images_own_noise():
    # A flat image per noise level: what a crop holds beyond its value is the draw.
    images = [torch.full((1, 30, 30), 0.2), torch.full((1, 30, 30), 0.7)]
    levels = [0.05, 0.2]
    inputs, targets, mask = image_net.training_batch(
        "recorrupted",
        images,
        None,
        levels,
        crop_size=16,
        batch_size=64,
        generator=torch.Generator().manual_seed(0),
    )
    assert mask is None
    value = torch.where(inputs.mean(dim=(1, 2, 3), keepdim=True) < 0.45, 0.2, 0.7)
    into, out_of = inputs - value, targets - value
    alpha = image_net.ALPHA
    # The input gets alpha times the draw, the target loses it divided by alpha.
    torch.testing.assert_close(out_of, -into / alpha**2)
    for level, flat in zip(levels, (0.2, 0.7)):
        draws = into[value[:, 0, 0, 0] == flat] / alpha
        assert len(draws) > 10
        assert abs(float(draws.std()) / level - 1) < 0.05


def test_crops_of_pairs_are_aligned_and_fit_small_images():
    a = [torch.rand(1, 10, 30), torch.rand(1, 40, 40)]
    b = [x + 1 for x in a]
    x, y = image_net._random_crops([a, b], 24, 6, torch.Generator().manual_seed(0))
    assert x.shape == (6, 1, 10, 10) or x.shape == (6, 1, 24, 24)
    torch.testing.assert_close(y, x + 1)
