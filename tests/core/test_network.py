"""Unit tests of ``sk_dae._core.network`` on tensors: shapes, tying, seeding, init, dropout."""

import math

import pytest
import torch
from torch import nn

from sk_dae._core.network import (
    Autoencoder,
    Dropout,
    TiedLinear,
    build_autoencoder,
    use_generator,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

LAYOUTS = [(), (16,), (16, 8), (12, 10, 6)]


def _linears(module):
    return [m for m in module.modules() if isinstance(m, nn.Linear)]


def _n_weights(module):
    """Number of entries in weight matrices (parameters of two or more dimensions)."""
    return sum(p.numel() for p in module.parameters() if p.ndim >= 2)


@pytest.mark.parametrize("hidden", LAYOUTS)
@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize("batch_norm", [False, True])
def test_output_shapes(hidden, tied, batch_norm):
    net = Autoencoder(20, 3, hidden, tied_weights=tied, batch_norm=batch_norm)
    x = torch.randn(7, 20, generator=torch.Generator().manual_seed(0))
    code = net.encode(x)
    assert code.shape == (7, 3)
    assert net.decode(code).shape == (7, 20)
    assert net.decode_logits(code).shape == (7, 20)
    assert net(x).shape == (7, 20)
    assert net.widths == [20, *hidden, 3]


@pytest.mark.parametrize("hidden", LAYOUTS)
def test_one_linear_layer_per_pair_of_widths_each_way(hidden):
    net = Autoencoder(20, 3, hidden)
    # one linear layer per pair of consecutive widths, in the encoder and in the decoder
    assert len(_linears(net.encoder)) == len(hidden) + 1
    assert len(_linears(net.decoder)) == len(hidden) + 1


def test_sigmoid_output_is_sigmoid_of_logits():
    net = build_autoencoder(10, 2, (6,), seed=0, output_activation="sigmoid")
    z = torch.randn(5, 2, generator=torch.Generator().manual_seed(1)) * 10
    logits = net.decode_logits(z)
    torch.testing.assert_close(net.decode(z), torch.sigmoid(logits))
    assert not torch.allclose(logits, torch.sigmoid(logits))


def test_identity_output_is_the_logits():
    net = build_autoencoder(10, 2, (6,), seed=0, output_activation="identity")
    z = torch.randn(5, 2, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(net.decode(z), net.decode_logits(z))


def test_unknown_output_activation_raises():
    with pytest.raises(ValueError, match="output activation"):
        Autoencoder(10, 2, (), output_activation="softmax")


@pytest.mark.parametrize("hidden", LAYOUTS)
def test_tied_decoder_uses_the_encoder_weight_storage(hidden):
    net = Autoencoder(20, 3, hidden, tied_weights=True)
    encoder = _linears(net.encoder)
    tied = [m for m in net.decoder if isinstance(m, TiedLinear)]
    assert len(tied) == len(encoder)
    # the decoder mirrors the encoder: its first layer is tied to the encoder's last
    for dec, enc in zip(tied, reversed(encoder)):
        assert dec.source[0].weight.data_ptr() == enc.weight.data_ptr()
        assert (dec.in_features, dec.out_features) == (enc.out_features, enc.in_features)
    assert not _linears(net.decoder)


def test_changing_the_encoder_weight_changes_the_tied_decoder():
    net = build_autoencoder(8, 3, (), seed=0, tied_weights=True)
    z = torch.randn(4, 3, generator=torch.Generator().manual_seed(0))
    before = net.decode_logits(z).detach().clone()
    with torch.no_grad():
        net.encoder[0].weight.add_(1.0)
    after = net.decode_logits(z).detach()
    expected = z @ net.encoder[0].weight.detach() + net.decoder[0].bias.detach()
    torch.testing.assert_close(after, expected)
    assert not torch.allclose(before, after)


def test_tied_decoder_gradient_reaches_the_encoder_weight():
    net = build_autoencoder(8, 3, (5,), seed=0, tied_weights=True)
    z = torch.randn(4, 3, generator=torch.Generator().manual_seed(0))
    net.decode_logits(z).sum().backward()
    for layer in _linears(net.encoder):
        assert layer.weight.grad is not None
        assert layer.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("hidden", LAYOUTS)
def test_tied_weights_halve_the_weight_count(hidden):
    untied = Autoencoder(20, 3, hidden, tied_weights=False)
    tied = Autoencoder(20, 3, hidden, tied_weights=True)
    assert 2 * _n_weights(tied) == _n_weights(untied)
    # the biases are not shared: each decoder layer keeps its own
    n_bias = sum(p.numel() for p in untied.parameters() if p.ndim == 1)
    assert sum(p.numel() for p in tied.parameters() if p.ndim == 1) == n_bias


@pytest.mark.parametrize("tied", [False, True])
def test_same_seed_gives_identical_weights(tied):
    a = build_autoencoder(20, 3, (16, 8), seed=7, tied_weights=tied)
    b = build_autoencoder(20, 3, (16, 8), seed=7, tied_weights=tied)
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        torch.testing.assert_close(sa[key], sb[key], rtol=0, atol=0)


@pytest.mark.parametrize("tied", [False, True])
def test_different_seed_gives_different_weights(tied):
    a = build_autoencoder(20, 3, (16, 8), seed=7, tied_weights=tied)
    b = build_autoencoder(20, 3, (16, 8), seed=8, tied_weights=tied)
    for la, lb in zip(_linears(a), _linears(b)):
        assert not torch.equal(la.weight, lb.weight)


def test_build_leaves_the_global_rng_state_unchanged():
    torch.manual_seed(123)
    state = torch.get_rng_state()
    build_autoencoder(20, 3, (16, 8), seed=0, batch_norm=True, dropout=0.2)
    assert torch.equal(torch.get_rng_state(), state)


def test_build_does_not_depend_on_the_global_rng_state():
    torch.manual_seed(1)
    a = build_autoencoder(20, 3, (16,), seed=0)
    torch.manual_seed(2)
    b = build_autoencoder(20, 3, (16,), seed=0)
    for la, lb in zip(_linears(a), _linears(b)):
        assert torch.equal(la.weight, lb.weight)


@pytest.mark.parametrize("tied", [False, True])
def test_weights_follow_glorot_uniform_and_biases_start_at_zero(tied):
    net = build_autoencoder(300, 100, (200,), seed=0, tied_weights=tied, batch_norm=True)
    linears = _linears(net)
    assert linears
    for layer in linears:
        bound = math.sqrt(6.0 / (layer.in_features + layer.out_features))
        w = layer.weight.detach()
        assert w.abs().max() <= bound
        # with >= 20,000 draws the extremes come within 1% of the bound and the
        # variance of U(-b, b), b**2 / 3, is matched to a few percent
        assert w.abs().max() >= 0.99 * bound
        assert w.var().item() == pytest.approx(bound**2 / 3, rel=0.05)
        assert abs(w.mean().item()) < 0.02 * bound
    biases = [m.bias for m in net.modules() if isinstance(m, (nn.Linear, TiedLinear))]
    assert len(biases) == 4
    for bias in biases:
        assert torch.count_nonzero(bias) == 0


def _dropout_input():
    return torch.rand(200, 50, generator=torch.Generator().manual_seed(0)) + 0.5


def test_dropout_masks_come_from_the_given_generator():
    layer = Dropout(0.5).train()
    x = _dropout_input()
    use_generator(layer, torch.Generator().manual_seed(3))
    a = layer(x)
    use_generator(layer, torch.Generator().manual_seed(3))
    b = layer(x)
    use_generator(layer, torch.Generator().manual_seed(4))
    c = layer(x)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_dropout_leaves_the_global_rng_untouched():
    layer = Dropout(0.5).train()
    use_generator(layer, torch.Generator().manual_seed(3))
    torch.manual_seed(0)
    state = torch.get_rng_state()
    layer(_dropout_input())
    assert torch.equal(torch.get_rng_state(), state)


def test_dropout_is_inverted_dropout_with_rate_p():
    p = 0.3
    layer = Dropout(p).train()
    use_generator(layer, torch.Generator().manual_seed(0))
    x = _dropout_input()
    y = layer(x)
    dropped = y == 0
    # 10,000 Bernoulli(0.3) draws: the standard error of the fraction is 0.0046
    assert dropped.float().mean().item() == pytest.approx(p, abs=0.03)
    torch.testing.assert_close(y[~dropped], x[~dropped] / (1 - p))


def test_dropout_is_identity_in_eval_mode():
    layer = Dropout(0.5)
    use_generator(layer, torch.Generator().manual_seed(0))
    layer.eval()
    x = _dropout_input()
    assert torch.equal(layer(x), x)


def test_use_generator_reaches_every_dropout_of_an_autoencoder():
    net = build_autoencoder(20, 3, (16, 8), seed=0, dropout=0.4)
    layers = [m for m in net.modules() if isinstance(m, Dropout)]
    assert len(layers) == 4  # after each of the two hidden layers, both ways
    generator = torch.Generator()
    use_generator(net, generator)
    assert all(layer.generator is generator for layer in layers)
    use_generator(net, None)
    assert all(layer.generator is None for layer in layers)


def test_autoencoder_dropout_is_reproducible_and_leaves_global_rng():
    net = build_autoencoder(20, 3, (16, 8), seed=0, dropout=0.4).train()
    x = torch.randn(32, 20, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    state = torch.get_rng_state()
    use_generator(net, torch.Generator().manual_seed(5))
    a = net(x)
    use_generator(net, torch.Generator().manual_seed(5))
    b = net(x)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(a, b)
    net.eval()
    assert torch.equal(net(x), net(x))
    assert not torch.equal(net(x), a)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"tied_weights": True},
        {"batch_norm": True, "activation": "tanh"},
        {"dropout": 0.2, "output_activation": "sigmoid", "activation": "elu"},
    ],
)
@pytest.mark.parametrize("hidden", [(), (16, 8)])
def test_spec_rebuilds_a_module_that_accepts_the_state_dict(options, hidden):
    net = build_autoencoder(20, 3, hidden, seed=0, **options)
    warmup = torch.randn(64, 20, generator=torch.Generator().manual_seed(0))
    net.train()
    net(warmup)  # moves batch-norm running statistics off their defaults
    net.eval()
    rebuilt = Autoencoder(**net.spec())
    rebuilt.load_state_dict(net.state_dict())  # strict: same keys and shapes
    rebuilt.eval()
    x = torch.randn(5, 20, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(rebuilt(x), net(x), rtol=0, atol=0)
    assert rebuilt.spec() == net.spec()


def test_spec_is_a_copy():
    net = Autoencoder(20, 3, (16,))
    net.spec()["n_components"] = 99
    assert net.spec()["n_components"] == 3


@pytest.mark.parametrize("tied", [False, True])
def test_summary_reports_the_parameter_count(tied):
    net = Autoencoder(20, 3, (16,), tied_weights=tied, batch_norm=True)
    total = sum(p.numel() for p in net.parameters())
    text = net.summary()
    assert f"total parameters: {total:,} (trainable: {total:,})" in text
    assert ("(tied)" in text) == tied


def test_fan_in_init_bounds_every_weight_by_one_over_root_fan_in():
    net = build_autoencoder(784, 10, (500, 2000), seed=0, weight_init="fan_in")
    glorot = build_autoencoder(784, 10, (500, 2000), seed=0)
    for layer, other in zip(_linears(net), _linears(glorot)):
        bound = 1.0 / math.sqrt(layer.in_features)
        largest = float(layer.weight.detach().abs().max())
        # Uniform over the whole interval, not a narrower one.
        assert 0.99 * bound < largest <= bound
        assert float(layer.bias.detach().abs().max()) == 0.0
        assert not torch.equal(layer.weight, other.weight)


def test_unknown_weight_init_is_refused():
    with pytest.raises(ValueError, match="weight_init"):
        build_autoencoder(8, 2, (4,), seed=0, weight_init="orthogonal")
