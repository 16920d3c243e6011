"""Unit tests of ``sk_dae._core.conv``: the plan of layers for an image size, the
channels-last view of rows, shapes through the network, a PCA start, seeding."""

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA

from sk_dae._core.conv import (
    ConvAutoencoder,
    ImageView,
    build_network,
    conv_plan,
    multiply_adds_per_row,
    resolve_image_shape,
)
from sk_dae._core.network import Autoencoder, init_from_pca

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize(
    "shape, channels, strides",
    [
        ((8, 8, 1), (16,), ((2, 2),)),
        ((28, 28, 1), (16, 32), ((2, 2), (2, 2))),
        ((64, 64, 3), (16, 32, 64, 128), ((2, 2),) * 4),
        ((1, 10, 1), (16,), ((1, 2),)),
        ((3, 3, 1), (16,), ((1, 1),)),
    ],
)
def test_the_plan_follows_the_image_size(shape, channels, strides):
    assert conv_plan(shape) == (channels, strides)


def test_given_channels_keep_the_plan_s_strides():
    assert conv_plan((28, 28, 1), (8, 16, 16)) == ((8, 16, 16), ((2, 2), (2, 2), (1, 1)))
    with pytest.raises(ValueError, match="conv_channels"):
        conv_plan((28, 28, 1), ())


def test_image_shape_resolution():
    assert resolve_image_shape(None, 64) == (8, 8, 1)
    assert resolve_image_shape(None, 10) == (1, 10, 1)
    assert resolve_image_shape((4, 5), 20) == (4, 5, 1)
    assert resolve_image_shape((2, 2, 3), 12) == (2, 2, 3)
    with pytest.raises(ValueError, match=r"image_shape=\(8, 8\) holds 64 values .* 65"):
        resolve_image_shape((8, 8), 65)
    with pytest.raises(ValueError, match="positive ints"):
        resolve_image_shape((8, 0, 1), 0)


def test_rows_are_viewed_channels_last():
    H, W, C = 3, 4, 2
    x = torch.arange(2 * H * W * C, dtype=torch.float32).reshape(2, -1)
    images = ImageView((H, W, C))(x)
    assert images.shape == (2, C, H, W)
    n, c, h, w = 1, 1, 2, 3
    assert images[n, c, h, w] == x[n, (h * W + w) * C + c]


@pytest.mark.parametrize("shape", [(8, 8, 1), (28, 28, 1), (7, 5, 2), (1, 10, 1), (1, 1, 1)])
@pytest.mark.parametrize("options", [{}, dict(batch_norm=True, dropout=0.2, linear_path=True)])
def test_shapes_through_the_network(shape, options):
    n_features = int(np.prod(shape))
    net = build_network(
        n_features, 4, (16,), seed=0, architecture="conv", image_shape=shape, **options
    )
    x = torch.rand(3, n_features)
    assert net.encode(x).shape == (3, 4)
    assert net(x).shape == (3, n_features)
    assert net.widths == [n_features, 16, 4]
    assert isinstance(net, Autoencoder)


def test_the_spec_rebuilds_the_same_network():
    net = build_network(64, 4, (16,), seed=3, architecture="conv", image_shape=(8, 8))
    again = build_network(**net.spec(), seed=0)
    again.load_state_dict(net.state_dict())
    x = torch.rand(5, 64)
    assert torch.equal(net(x), again(x))


def test_seeded_and_global_rng_untouched():
    state = torch.random.get_rng_state()
    a = build_network(64, 4, (16,), seed=1, architecture="conv", image_shape=(8, 8))
    b = build_network(64, 4, (16,), seed=1, architecture="conv", image_shape=(8, 8))
    assert torch.equal(torch.random.get_rng_state(), state)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)


def test_a_pca_start_reconstructs_as_pca(digits):
    X = digits[0][:300].astype(np.float32)
    pca = PCA(6).fit(X)
    net = build_network(
        64, 6, (16,), seed=0, architecture="conv", image_shape=(8, 8), linear_path=True
    )
    init_from_pca(net, pca.mean_, pca.components_)
    with torch.no_grad():
        out = net(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(out, pca.inverse_transform(pca.transform(X)), atol=1e-4)


def test_tied_weights_are_refused():
    with pytest.raises(ValueError, match="cannot tie"):
        ConvAutoencoder(64, 4, image_shape=(8, 8), tied_weights=True)


def test_multiply_adds_count_convolutions():
    net = build_network(784, 32, (256,), seed=0, architecture="conv", image_shape=(28, 28))
    convs = 9 * (14 * 14 * 1 * 16 + 7 * 7 * 16 * 32)
    dense = 1568 * 256 + 256 * 32
    assert multiply_adds_per_row(net.spec()) == 2 * (convs + dense)


def test_summary_lists_convolutions():
    net = build_network(784, 32, (256,), seed=0, architecture="conv", image_shape=(28, 28))
    text = net.summary()
    assert "Conv2d" in text and "ConvTranspose2d" in text and "(-1, 32, 7, 7)" in text
    assert f"total parameters: {sum(p.numel() for p in net.parameters()):,}" in text
