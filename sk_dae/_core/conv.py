"""The convolutional autoencoder, and the builder of either network from its spec.

Rows stay flat and channels-last, ``(n_samples, H * W * C)``, as images usually come
flattened: the first layer views a batch as images, the last flattens them back, so the
network has the interface of :class:`~sk_dae._core.network.Autoencoder` (``encode``,
``decode_logits``, ``output``, ``spec``, ``widths``, ``summary``, the linear paths of a
PCA start) and everything around it (training, inference, persistence) is unchanged.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .network import Autoencoder, _block, build_autoencoder, init_weights, summary_table

#: At most this many strided layers; each halves the sides of at least 8 pixels.
MAX_CONV_LAYERS = 4


def resolve_image_shape(image_shape, n_features):
    """``(H, W, C)`` of rows of ``n_features`` values: ``image_shape`` (``(H, W)`` or
    ``(H, W, C)``) checked against ``n_features``, or for None a square grey image when
    ``n_features`` is a perfect square, else one row of ``n_features`` pixels."""
    if image_shape is None:
        side = math.isqrt(n_features)
        return (side, side, 1) if side * side == n_features else (1, n_features, 1)
    shape = tuple(int(s) for s in image_shape)
    if len(shape) == 2:
        shape = (*shape, 1)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(
            f"image_shape must be (height, width) or (height, width, channels) of positive "
            f"ints; got {image_shape!r}."
        )
    if math.prod(shape) != n_features:
        raise ValueError(
            f"image_shape={image_shape!r} holds {math.prod(shape)} values per row, but X has "
            f"{n_features} features; rows must be images flattened channels-last "
            "(height * width * channels values)."
        )
    return shape


def conv_plan(image_shape, conv_channels="auto"):
    """The channels and ``(row, column)`` strides of the encoder's convolutions.

    Every layer halves each side of at least 8 pixels (stride 2), until no side is that
    long or there are :data:`MAX_CONV_LAYERS` layers: 8x8 digits get one layer (to 4x4),
    28x28 MNIST two (to 7x7), 64x64 pictures four (to 4x4); an image without such a side
    one layer of stride 1. ``"auto"`` channels double from 16 per layer, at most 128;
    given channels keep the strides of the plan and stride 1 beyond it.
    """
    height, width = image_shape[:2]
    strides = []
    while len(strides) < MAX_CONV_LAYERS:
        stride = (2 if height >= 8 else 1, 2 if width >= 8 else 1)
        if stride == (1, 1):
            break
        strides.append(stride)
        height, width = -(-height // stride[0]), -(-width // stride[1])
    strides = strides or [(1, 1)]
    if conv_channels == "auto":
        channels = tuple(min(128, 16 * 2**i) for i in range(len(strides)))
    else:
        channels = tuple(int(c) for c in conv_channels)
        if not channels or min(channels) < 1:
            raise ValueError(
                f"conv_channels must be 'auto' or a non-empty tuple of positive ints; got "
                f"{conv_channels!r}."
            )
        strides = (strides + [(1, 1)] * len(channels))[: len(channels)]
    return channels, tuple(strides)


def _sizes(image_shape, strides):
    """The ``(height, width)`` after every convolution, the input's first."""
    sizes = [tuple(image_shape[:2])]
    for stride in strides:
        sizes.append(tuple(-(-s // k) for s, k in zip(sizes[-1], stride)))
    return sizes


class ImageView(nn.Module):
    """Flat channels-last rows ``(N, H * W * C)`` viewed as images ``(N, C, H, W)``.

    The permuted view is what torch calls the channels-last memory format: no copy."""

    def __init__(self, image_shape):
        super().__init__()
        self.image_shape = tuple(image_shape)

    def forward(self, x):
        return x.reshape(-1, *self.image_shape).permute(0, 3, 1, 2)

    def extra_repr(self):
        return f"image_shape={self.image_shape}"


class ConvOutput(nn.Module):
    """The decoder's last layer: a transposed convolution to the image's channels, the
    images flattened back to channels-last rows, and one bias per pixel.

    A bias per pixel (not per channel) lets the output start at the mean image, as the
    MLP's output layer does; :attr:`weight` is the convolution's, so that a PCA start
    zeroes this layer as it zeroes the MLP's."""

    def __init__(self, in_channels, image_shape, stride, output_padding):
        super().__init__()
        self.conv = nn.ConvTranspose2d(
            in_channels,
            image_shape[2],
            3,
            stride=stride,
            padding=1,
            output_padding=output_padding,
            bias=False,
        )
        self.bias = nn.Parameter(torch.zeros(math.prod(image_shape)))

    @property
    def weight(self):
        return self.conv.weight

    def forward(self, x):
        return self.conv(x).permute(0, 2, 3, 1).flatten(1) + self.bias


class ConvAutoencoder(Autoencoder):
    """A convolutional autoencoder of flat, channels-last image rows.

    The encoder runs 3x3 convolutions (padding 1, strides from :func:`conv_plan`), then
    the dense layers ``hidden_layer_sizes`` and a linear code of ``n_components``; the
    decoder mirrors it with transposed convolutions. Batch norm, dropout and the linear
    paths of a PCA start are those of :class:`~sk_dae._core.network.Autoencoder`, and so
    is the forward path (``encode``, ``decode_logits``, ``output``, ...), which only
    needs the ``encoder`` and ``decoder`` sequences and the linear paths built here.

    Examples
    --------
    >>> import torch
    >>> from sk_dae._core.conv import ConvAutoencoder
    >>> net = ConvAutoencoder(64, 8, (32,), image_shape=(8, 8, 1))
    >>> net(torch.zeros(5, 64)).shape
    torch.Size([5, 64])
    >>> net.encode(torch.zeros(5, 64)).shape
    torch.Size([5, 8])
    """

    def __init__(
        self,
        n_features,
        n_components,
        hidden_layer_sizes=(),
        *,
        image_shape,
        conv_channels="auto",
        conv_strides=None,
        activation="relu",
        output_activation="identity",
        batch_norm=False,
        dropout=0.0,
        linear_path=False,
        tied_weights=False,
        architecture="conv",
    ):
        nn.Module.__init__(self)  # the layers are built here, not by the MLP's constructor
        if tied_weights:
            raise ValueError("a convolutional autoencoder cannot tie its weights")
        if output_activation not in ("sigmoid", "identity"):
            raise ValueError(f"unknown output activation {output_activation!r}")
        image_shape = resolve_image_shape(image_shape, int(n_features))
        channels, strides = conv_plan(image_shape, conv_channels)
        if conv_strides is not None:
            strides = tuple(tuple(int(k) for k in s) for s in conv_strides)
        hidden = tuple(int(h) for h in hidden_layer_sizes)
        self._spec = dict(
            architecture="conv",
            n_features=int(n_features),
            n_components=int(n_components),
            hidden_layer_sizes=hidden,
            image_shape=image_shape,
            conv_channels=channels,
            conv_strides=strides,
            activation=activation,
            output_activation=output_activation,
            batch_norm=bool(batch_norm),
            dropout=float(dropout),
            linear_path=bool(linear_path),
        )
        self.widths = [int(n_features), *hidden, int(n_components)]
        self.output_activation = output_activation
        block = dict(activation=activation, batch_norm=batch_norm, dropout=dropout)
        dense = [*hidden, int(n_components)]
        self.encoder = _conv_encoder(image_shape, channels, strides, dense, block)
        self.decoder = _conv_decoder(image_shape, channels, strides, dense, block)
        self.encoder_linear = nn.Linear(n_features, n_components) if linear_path else None
        self.decoder_linear = nn.Linear(n_components, n_features) if linear_path else None

    def spec(self):
        """The constructor arguments, enough to rebuild the module for a state dict."""
        return dict(self._spec)

    def summary(self):
        """A table of layers, output shapes and parameter counts, as text."""
        rows = [("layer", "output shape", "parameters")]
        parameter = next(self.parameters())
        x = torch.zeros(2, self.widths[0], dtype=parameter.dtype, device=parameter.device)
        training = self.training
        self.eval()
        parts = [("encoder", self.encoder), ("decoder", self.decoder)]
        with torch.no_grad():
            for part_name, part in parts:
                for i, layer in enumerate(part):
                    x = layer(x)
                    n_params = sum(p.numel() for p in layer.parameters())
                    shape = "(-1, " + ", ".join(map(str, x.shape[1:])) + ")"
                    name = f"{part_name}.{i} {type(layer).__name__}"
                    rows.append((name, shape, f"{n_params:,}"))
        self.train(training)
        rows.append(("output", f"(-1, {self.widths[0]}) {self.output_activation}", ""))
        if self.encoder_linear is not None:
            n_linear = sum(
                p.numel()
                for m in (self.encoder_linear, self.decoder_linear)
                for p in m.parameters()
            )
            rows.append(("linear paths", "(encoder, decoder)", f"{n_linear:,}"))
        total = sum(p.numel() for p in self.parameters())
        footer = f"total parameters: {total:,} (image {self._spec['image_shape']})"
        return summary_table(rows, footer)


def _conv_encoder(image_shape, channels, strides, dense, block):
    """Image view, convolutions, flattening, the ``dense`` layers (the code last)."""
    sizes = _sizes(image_shape, strides)
    layers = [ImageView(image_shape)]
    for c_in, c_out, stride in zip((image_shape[2], *channels), channels, strides):
        conv = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1)
        layers += _block(conv, c_out, norm=nn.BatchNorm2d, **block)
    layers.append(nn.Flatten())
    widths = [channels[-1] * sizes[-1][0] * sizes[-1][1], *dense]
    for a, b in zip(widths[:-2], widths[1:-1]):
        layers += _block(nn.Linear(a, b), b, **block)
    layers.append(nn.Linear(widths[-2], widths[-1]))  # the code layer is linear
    return nn.Sequential(*layers)


def _conv_decoder(image_shape, channels, strides, dense, block):
    """The mirror of :func:`_conv_encoder`: dense layers from the code, transposed
    convolutions, and the :class:`ConvOutput` to flat rows."""
    sizes = _sizes(image_shape, strides)
    widths = [channels[-1] * sizes[-1][0] * sizes[-1][1], *dense]
    layers = []
    for a, b in zip(widths[:0:-1], widths[-2::-1]):
        layers += _block(nn.Linear(a, b), b, **block)
    layers.append(nn.Unflatten(1, (channels[-1], *sizes[-1])))
    for i in range(len(channels) - 1, 0, -1):
        conv = nn.ConvTranspose2d(
            channels[i],
            channels[i - 1],
            3,
            stride=strides[i],
            padding=1,
            output_padding=_output_padding(sizes[i], strides[i]),
        )
        layers += _block(conv, channels[i - 1], norm=nn.BatchNorm2d, **block)
    padding = _output_padding(sizes[0], strides[0])
    layers.append(ConvOutput(channels[0], image_shape, strides[0], padding))
    return nn.Sequential(*layers)


def _output_padding(size, stride):
    """The output padding that makes a transposed convolution of ``stride`` give back
    ``size`` from the strided convolution's ``ceil(size / stride)``: 1 for an even side
    halved, else 0."""
    return tuple(1 if k == 2 and s % 2 == 0 else 0 for s, k in zip(size, stride))


def multiply_adds_per_row(spec):
    """The multiply-adds of one forward pass of a row through the network ``spec``
    describes (both halves), for the thread policy."""
    if spec.get("architecture", "mlp") != "conv":
        widths = [spec["n_features"], *spec["hidden_layer_sizes"], spec["n_components"]]
        return 2 * sum(a * b for a, b in zip(widths[:-1], widths[1:]))
    image_shape, channels = spec["image_shape"], spec["conv_channels"]
    sizes = _sizes(image_shape, spec["conv_strides"])
    total = 0
    for (h, w), c_in, c_out in zip(sizes[1:], (image_shape[2], *channels), channels):
        total += 2 * 9 * h * w * c_in * c_out  # the convolution and its transpose
    flat = channels[-1] * sizes[-1][0] * sizes[-1][1]
    dense = [flat, *spec["hidden_layer_sizes"], spec["n_components"]]
    return total + 2 * sum(a * b for a, b in zip(dense[:-1], dense[1:]))


def build_network(
    n_features,
    n_components,
    hidden_layer_sizes,
    *,
    seed,
    architecture="mlp",
    weight_init="glorot",
    **options,
):
    """Build the network of ``architecture`` (an
    :class:`~sk_dae._core.network.Autoencoder` for ``"mlp"``, a :class:`ConvAutoencoder`
    for ``"conv"``) initialised from ``seed``, leaving torch's global RNG as it was.

    The keyword arguments are those of the network's constructor, as its ``spec()``
    returns them; a spec without ``architecture`` is an MLP's (models saved before there
    were two). ``weight_init`` is the weights' distribution (see
    :func:`~sk_dae._core.network.init_weights`)."""
    if architecture == "mlp":
        return build_autoencoder(
            n_features,
            n_components,
            hidden_layer_sizes,
            seed=seed,
            weight_init=weight_init,
            **options,
        )
    if architecture != "conv":
        raise ValueError(f"unknown architecture {architecture!r}")
    with torch.random.fork_rng(devices=[]):
        module = ConvAutoencoder(n_features, n_components, hidden_layer_sizes, **options)
    return init_weights(module, seed, weight_init)
