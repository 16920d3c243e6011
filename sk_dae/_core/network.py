"""The encoder/decoder network: a plain ``torch.nn.Module`` that knows nothing of sklearn."""

from __future__ import annotations

import copy
import math
import weakref

import torch
from torch import nn
from torch.nn import functional as F

ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "identity": nn.Identity,
}


class TiedLinear(nn.Module):
    """A linear layer whose weight is the transpose of another ``nn.Linear``'s.

    It owns only its bias; the weight is shared, so the pair trains as one matrix.
    """

    def __init__(self, source: nn.Linear):
        super().__init__()
        self.source = [source]  # a list keeps the shared layer out of this module's children
        self.bias = nn.Parameter(torch.zeros(source.in_features))
        self.in_features = source.out_features
        self.out_features = source.in_features

    def forward(self, x):
        return F.linear(x, self.source[0].weight.t(), self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, tied=True"


class Dropout(nn.Module):
    """Inverted dropout drawing its masks from an explicit ``torch.Generator``.

    ``nn.Dropout`` draws from torch's global RNG, which would make fits depend on (and
    change) global state. The training loop sets :attr:`generator` for the duration of
    training (see :func:`use_generator`).
    """

    def __init__(self, p):
        super().__init__()
        self.p = float(p)
        self.generator = None

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        mask = torch.empty_like(x).bernoulli_(keep, generator=self.generator)
        return x * mask.div_(keep)

    def extra_repr(self):
        return f"p={self.p}"


def use_generator(module, generator):
    """Point every :class:`Dropout` of ``module`` at ``generator`` (None to detach)."""
    for layer in module.modules():
        if isinstance(layer, Dropout):
            layer.generator = generator


def _block(linear, width, activation, batch_norm, dropout, norm=nn.BatchNorm1d):
    """``linear`` (or a convolution, with ``norm=nn.BatchNorm2d``) followed by its batch
    norm, activation and dropout."""
    layers = [linear]
    if batch_norm:
        layers.append(norm(width))
    layers.append(ACTIVATIONS[activation]())
    if dropout > 0:
        layers.append(Dropout(dropout))
    return layers


class Autoencoder(nn.Module):
    """A mirrored multilayer autoencoder.

    The encoder maps ``n_features -> hidden[0] -> ... -> hidden[-1] -> n_components``
    with ``activation`` after every hidden layer and a linear code layer; the decoder
    mirrors it back to ``n_features``. :meth:`decode_logits` returns the decoder's
    pre-activation output so that losses can fuse the output sigmoid (BCE with logits).

    Parameters
    ----------
    n_features : int
    n_components : int
    hidden_layer_sizes : tuple of int
    activation : {"relu", "tanh", "sigmoid", "elu", "gelu", "identity"}
        Activation after every hidden layer.
    output_activation : {"sigmoid", "identity"}
    tied_weights : bool
        Decoder layers use the transposed encoder weights (with biases of their own).
    batch_norm : bool
        ``BatchNorm1d`` after every hidden linear layer.
    dropout : float
        Dropout probability after every hidden activation.
    linear_path : bool
        Add a linear map beside the encoder (``n_features -> n_components``) and beside
        the decoder (``n_components -> n_features``): the code is the sum of both paths,
        and so is the output's pre-activation. ``init_from_pca`` starts the linear
        paths as PCA and the multilayer paths at zero, so that the untrained network
        reconstructs as PCA does.

    Examples
    --------
    >>> import torch
    >>> from sk_dae import Autoencoder
    >>> net = Autoencoder(64, 8, (32,), output_activation="sigmoid")
    >>> x = torch.zeros(5, 64)
    >>> net.encode(x).shape
    torch.Size([5, 8])
    >>> net(x).shape
    torch.Size([5, 64])
    >>> net.widths
    [64, 32, 8]
    """

    def __init__(
        self,
        n_features,
        n_components,
        hidden_layer_sizes=(),
        *,
        activation="relu",
        output_activation="identity",
        tied_weights=False,
        batch_norm=False,
        dropout=0.0,
        linear_path=False,
    ):
        super().__init__()
        self._spec = dict(
            n_features=int(n_features),
            n_components=int(n_components),
            hidden_layer_sizes=tuple(int(h) for h in hidden_layer_sizes),
            activation=activation,
            output_activation=output_activation,
            tied_weights=bool(tied_weights),
            batch_norm=bool(batch_norm),
            dropout=float(dropout),
            linear_path=bool(linear_path),
        )
        if output_activation not in ("sigmoid", "identity"):
            raise ValueError(f"unknown output activation {output_activation!r}")
        widths = [int(n_features), *map(int, hidden_layer_sizes), int(n_components)]
        self.widths = widths
        self.output_activation = output_activation

        encoder_linears = [nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:])]
        encoder = []
        for linear in encoder_linears[:-1]:
            encoder += _block(linear, linear.out_features, activation, batch_norm, dropout)
        encoder.append(encoder_linears[-1])  # the code layer is linear
        self.encoder = nn.Sequential(*encoder)

        decoder = []
        for linear in reversed(encoder_linears):
            dec = (
                TiedLinear(linear)
                if tied_weights
                else nn.Linear(linear.out_features, linear.in_features)
            )
            if dec.out_features == widths[0]:
                decoder.append(dec)  # the output layer: its activation is applied in forward
            else:
                decoder += _block(dec, dec.out_features, activation, batch_norm, dropout)
        self.decoder = nn.Sequential(*decoder)
        self.encoder_linear = nn.Linear(widths[0], widths[-1]) if linear_path else None
        self.decoder_linear = nn.Linear(widths[-1], widths[0]) if linear_path else None

    def spec(self):
        """The constructor arguments, enough to rebuild the module for a state dict."""
        return dict(self._spec)

    def encode(self, x):
        if self.encoder_linear is None:
            return self.encoder(x)
        return self.encoder(x) + self.encoder_linear(x)

    def decode_logits(self, z):
        if self.decoder_linear is None:
            return self.decoder(z)
        return self.decoder(z) + self.decoder_linear(z)

    def output(self, logits):
        return torch.sigmoid(logits) if self.output_activation == "sigmoid" else logits

    def decode(self, z):
        return self.output(self.decode_logits(z))

    def forward(self, x):
        return self.decode(self.encode(x))

    def summary(self):
        """A table of layers, output shapes and parameter counts, as text."""
        rows = [("layer", "output shape", "parameters")]
        parts = [("encoder", self.encoder), ("decoder", self.decoder)]
        if self.encoder_linear is not None:
            parts.insert(1, ("encoder_linear", [self.encoder_linear]))
            parts.append(("decoder_linear", [self.decoder_linear]))
        for part_name, part in parts:
            for i, layer in enumerate(part):
                width = _output_width(layer)
                n_params = sum(p.numel() for p in layer.parameters(recurse=False))
                name = f"{part_name}.{i} {type(layer).__name__}"
                if isinstance(layer, TiedLinear):
                    name += " (tied)"
                rows.append((name, f"(-1, {width})" if width else "(same)", f"{n_params:,}"))
        rows.append(("output", f"(-1, {self.widths[0]}) {self.output_activation}", ""))
        total = sum(p.numel() for p in self.parameters())
        trainable = sum(p.numel() for p in self.parameters() if p.requires_grad)
        return summary_table(rows, f"total parameters: {total:,} (trainable: {trainable:,})")


def _output_width(layer):
    if isinstance(layer, (nn.Linear, TiedLinear)):
        return layer.out_features
    if isinstance(layer, nn.BatchNorm1d):
        return layer.num_features
    return None


def summary_table(rows, footer):
    """The text of a network's ``summary()``: ``rows`` of (layer, output shape,
    parameters) under their header row, in aligned columns between rules, then
    ``footer``."""
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}" for r in rows]
    rule = "-" * len(lines[0])
    lines.insert(1, rule)
    lines.append(rule)
    lines.append(footer)
    return "\n".join(lines)


def build_autoencoder(
    n_features, n_components, hidden_layer_sizes, *, seed, weight_init="glorot", **options
):
    """Build an :class:`Autoencoder` initialised from ``seed`` (see :func:`init_weights`).

    Construction runs under a forked RNG, so torch's global random state is left as it was.
    """
    with torch.random.fork_rng(devices=[]):
        module = Autoencoder(n_features, n_components, hidden_layer_sizes, **options)
    return init_weights(module, seed, weight_init)


#: The weight distributions of :func:`init_weights`.
WEIGHT_INITS = ("glorot", "fan_in")


def init_weights(module, seed, weight_init="glorot"):
    """Re-initialise every linear and convolutional layer from ``seed`` without touching
    torch's global RNG; biases start at zero.

    ``"glorot"``: Glorot/Xavier uniform weights, as scikit-learn's MLP has.
    ``"fan_in"``: uniform in ``+-1/sqrt(fan_in)``, the variance-scaling initialisation
    (scale 1/3, fan-in, uniform) of the DEC papers' Keras code; with a learning rate as
    large as theirs (SGD at 1.0) its smaller weights near the 10 codes keep the first
    steps from diverging.
    """
    if weight_init not in WEIGHT_INITS:
        raise ValueError(f"unknown weight_init {weight_init!r}; expected one of {WEIGHT_INITS}")
    generator = torch.Generator(device="cpu").manual_seed(int(seed))
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
                if weight_init == "glorot":
                    nn.init.xavier_uniform_(layer.weight, generator=generator)
                else:
                    fan_in = nn.init._calculate_fan_in_and_fan_out(layer.weight)[0]
                    bound = 1.0 / math.sqrt(fan_in)
                    nn.init.uniform_(layer.weight, -bound, bound, generator=generator)
                if layer.bias is not None:
                    layer.bias.zero_()
            elif isinstance(layer, TiedLinear):
                layer.bias.zero_()
    return module


def init_from_pca(module, mean, components):
    """Start ``module`` (with a linear path) as PCA: the untrained network reconstructs
    every row as PCA with these ``components`` does.

    The linear paths become the projection onto the components (centred at ``mean``)
    and back; the last layers of the multilayer paths start at zero, so that those paths
    add nothing until training moves them. ``components`` has at most
    ``n_components`` rows (fewer when the data have fewer dimensions); the other codes
    start at zero in the linear path. Needs untied weights and a linear output.
    """
    if module.encoder_linear is None:
        raise ValueError("init_from_pca needs a network built with linear_path=True")
    mean = torch.as_tensor(mean, dtype=torch.float32)
    components = torch.as_tensor(components, dtype=torch.float32)
    rank = components.shape[0]
    with torch.no_grad():
        encode, decode = module.encoder_linear, module.decoder_linear
        for layer in (encode, decode, module.encoder[-1], module.decoder[-1]):
            layer.weight.zero_()
            layer.bias.zero_()
        encode.weight[:rank] = components.to(encode.weight.device)
        encode.bias[:rank] = -(components @ mean).to(encode.bias.device)
        decode.weight[:, :rank] = components.t().to(decode.weight.device)
        decode.bias.copy_(mean.to(decode.bias.device))
    return module


def init_output_bias(module, mean):
    """Start the reconstruction at the data's per-feature ``mean`` (a float tensor).

    The output layer's bias becomes ``mean`` (``logit(mean)`` under a sigmoid, the mean
    clipped to [0.001, 0.999]), so that training starts from the mean image, as PCA
    does, instead of from 0.5 everywhere, and spends its first epochs on structure.
    """
    output_layer = module.decoder[-1]
    mean = torch.as_tensor(mean, dtype=torch.float32)
    if module.output_activation == "sigmoid":
        mean = torch.logit(mean.clamp(1e-3, 1 - 1e-3))
    with torch.no_grad():
        output_layer.bias.copy_(mean.to(output_layer.bias.device))
    return module


# Float64 copies of fitted networks, for float64 input; dropped with the network.
_FLOAT64_COPIES = weakref.WeakKeyDictionary()


def float64_copy(module):
    """A float64 copy of ``module``, made again only if its weights changed in place.

    The weights are compared by value: tensor versions would miss a fused optimizer's
    in-place step (fused Adam leaves them unchanged). A float32 value survives the round
    trip through float64 exactly, so equal means unchanged.
    """
    cached = _FLOAT64_COPIES.get(module)
    if cached is None or not _same_values(module, cached):
        cached = copy.deepcopy(module).double()
        _FLOAT64_COPIES[module] = cached
    return cached


def _same_values(module, float64_copy):
    with torch.no_grad():
        pairs = zip(module.state_dict().values(), float64_copy.state_dict().values())
        return all(torch.equal(a, b.to(a.dtype)) for a, b in pairs)


def hidden_activations(module, x):
    """The activations of every hidden layer of ``module`` (encoder, code, decoder) for
    the batch ``x``, side by side: the input of every linear layer but the first, the
    code being :meth:`Autoencoder.encode` (both paths, where there is a linear one)."""
    encoder_inputs, code = _linear_inputs(module.encoder, x)
    if module.encoder_linear is not None:
        code = code + module.encoder_linear(x)
    # The decoder's first linear layer takes the code: its inputs are the code, then the
    # decoder's hidden activations.
    decoder_inputs, _ = _linear_inputs(module.decoder, code)
    return torch.cat([*encoder_inputs[1:], *decoder_inputs], dim=1)


def _linear_inputs(layers, x):
    """The input of every linear layer of the sequence ``layers`` run on ``x``, and the
    sequence's output."""
    inputs = []
    for layer in layers:
        if isinstance(layer, (nn.Linear, TiedLinear)):
            inputs.append(x)
        x = layer(x)
    return inputs, x
