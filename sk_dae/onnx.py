"""ONNX export of sk_dae's estimators through skl2onnx, for serving without torch.

:func:`register_converters` registers converters with skl2onnx for
:class:`~sk_dae.DenoisingAutoencoder` and :class:`~sk_dae.DAEImputer` (their
``transform``) and :class:`~sk_dae.DAEOutlierDetector` (``predict`` and
``decision_function``), so that ``skl2onnx.to_onnx(pipeline, X[:1])`` converts a Pipeline holding
them and onnxruntime runs it. The converters build no graph by hand: they export what
``transform`` computes as a torch module with ``torch.onnx.export`` and merge that graph
into the one skl2onnx builds, so whatever network the estimator holds (multilayer,
tied, batch-normalised, with a linear path, or convolutional) converts as torch runs
it. A float32 input gives a float32 graph, a float64 input a graph of the network's
float64 copy, as ``transform`` computes.

Needs the ``onnx`` extra: ``pip install sk-dae[onnx]`` (skl2onnx, onnx, onnxruntime).
"""

from __future__ import annotations

import copy
import io
import warnings

import numpy as np
import torch

from ._autoencoder import DenoisingAutoencoder
from ._core.network import Autoencoder, float64_copy, hidden_activations
from ._imputer import DAEImputer
from ._outliers import DAEOutlierDetector

__all__ = ["register_converters", "to_onnx"]

#: The highest opset the network's graph is exported in (torch's exporter lags behind
#: onnx); the whole model gets at least this, skl2onnx's own operators at most theirs.
MAX_NETWORK_OPSET = 18


class _Transform(torch.nn.Module):
    """What ``DenoisingAutoencoder.transform`` computes on a batch, as one module:
    missing entries enter the network as zeros, then the code (or every hidden layer's
    activations)."""

    def __init__(self, network, layers):
        super().__init__()
        self.network = network
        self.layers = layers

    def forward(self, x):
        x = torch.where(torch.isnan(x), torch.zeros_like(x), x)
        if self.layers == "all":
            return hidden_activations(self.network, x)
        return Autoencoder.encode(self.network, x)


class _Impute(torch.nn.Module):
    """What ``DAEImputer.transform`` computes (missing entries as NaN, no posterior
    sampling): the observed features standardized, reconstructed, the missing entries
    filled from the reconstruction, the features empty in training dropped (or zeros),
    the indicator columns after them."""

    def __init__(self, imputer, network, dtype):
        super().__init__()
        self.network = network
        valid = np.flatnonzero(imputer._valid_mask)
        as_tensor = lambda a: torch.as_tensor(np.asarray(a), dtype=dtype)  # noqa: E731
        self.register_buffer("valid", torch.as_tensor(valid, dtype=torch.int64))
        self.register_buffer("mean", as_tensor(imputer.mean_[valid]))
        self.register_buffer("scale", as_tensor(imputer.scale_[valid]))
        # A one-hot map puts the valid features back in their columns, zeros elsewhere;
        # multiplying by one and adding zeros changes no value.
        placement = indicated = None
        if imputer.keep_empty_features:
            placement = np.zeros((valid.size, imputer.n_features_in_))
            placement[np.arange(valid.size), valid] = 1.0
            placement = as_tensor(placement)
        if imputer.add_indicator:
            indicated = torch.as_tensor(np.asarray(imputer.indicator_.features_, np.int64))
        self.register_buffer("placement", placement)
        self.register_buffer("indicated", indicated)

    def forward(self, x):
        block = x.index_select(1, self.valid)
        standardized = (block - self.mean) / self.scale
        standardized = torch.where(
            torch.isnan(standardized), torch.zeros_like(standardized), standardized
        )
        filled = self.network(standardized) * self.scale + self.mean
        out = torch.where(torch.isnan(block), filled, block)
        if self.placement is not None:
            out = out @ self.placement
        if self.indicated is not None:
            indicator = torch.isnan(x.index_select(1, self.indicated)).to(x.dtype)
            out = torch.cat([out, indicator], dim=1)
        return out


class _Scores(torch.nn.Module):
    """What ``DAEOutlierDetector.predict`` and ``decision_function`` compute: the
    reconstruction error and (with neighbours) the mean distances of the code to its
    nearest training codes, in float64 as the detector computes them, their largest
    excess over the training median in interquartile ranges, shifted by ``offset_``."""

    def __init__(self, detector, network):
        super().__init__()
        self.network = network
        n_features = detector.n_features_in_
        weights = 1.0 / np.square(detector.error_scale_) / n_features
        self.register_buffer("weights", torch.as_tensor(weights, dtype=torch.float64))
        self.k = int(detector.n_neighbors_)
        self.offset = float(detector.offset_)
        points = center = spread = None
        if self.k > 0:
            codes = [np.asarray(index._fit_X, np.float64) for index in detector.code_neighbors_]
            points = torch.as_tensor(np.stack(codes))
            center = torch.as_tensor(detector.part_center_, dtype=torch.float64)
            spread = torch.as_tensor(detector.part_spread_, dtype=torch.float64)
        self.register_buffer("points", points)
        self.register_buffer("center", center)
        self.register_buffer("spread", spread)

    def forward(self, x):
        # The difference in the input's dtype, its square in float64, as the detector.
        errors = ((x - self.network(x)).to(torch.float64) ** 2) @ self.weights
        anomaly = errors
        if self.k > 0:
            code = Autoencoder.encode(self.network, x).to(torch.float64)
            norm = torch.sqrt((code**2).sum(dim=1, keepdim=True))
            tiny = float(np.finfo(np.float64).tiny)
            # max and relu rather than clamp: torch exports a one-sided clamp as a Clip
            # with an omitted input, which skl2onnx cannot place in its graph.
            views = (code, code / torch.maximum(norm, torch.full_like(norm, tiny)))
            parts = [errors]
            for view, points in zip(views, self.points):
                squared = (
                    (view**2).sum(dim=1, keepdim=True)
                    - 2.0 * view @ points.T
                    + (points**2).sum(dim=1)
                )
                distances = torch.sqrt(torch.relu(squared))
                nearest = torch.topk(distances, self.k + 1, dim=1, largest=False).values
                parts.append(nearest[:, 1:].mean(dim=1))
            excess = (torch.stack(parts, dim=1) - self.center) / self.spread
            anomaly = excess.max(dim=1).values
        decision = -anomaly - self.offset
        label = torch.where(decision < 0, -1, 1).to(torch.int64)
        # float64 scores whatever the input, as decision_function returns.
        return label, decision.unsqueeze(1)


def _n_outputs(model):
    if isinstance(model, DAEImputer):
        return len(model.get_feature_names_out())
    return model._n_features_out if model.transform_layers != "all" else _width_of_all(model)


def _width_of_all(model):
    x = torch.zeros(1, model.n_features_in_, device=model.device_)
    with torch.inference_mode():
        return int(hidden_activations(model.module_, x).shape[1])


def _check_convertible(model):
    if isinstance(model, DAEImputer):
        if not (isinstance(model.missing_values, float) and np.isnan(model.missing_values)):
            raise NotImplementedError(
                "Only a DAEImputer with missing_values=np.nan converts to ONNX; got "
                f"missing_values={model.missing_values!r}."
            )
        if model.sample_posterior:
            raise NotImplementedError(
                "A DAEImputer with sample_posterior=True draws random noise in "
                "transform, which its ONNX graph would not reproduce; set "
                "sample_posterior=False to convert it."
            )


def _shape_calculator(operator):
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType, Int64TensorType

    model = operator.raw_operator
    _check_convertible(model)
    input_type = operator.inputs[0].type
    n_rows = input_type.shape[0] if input_type.shape else None
    kind = DoubleTensorType if isinstance(input_type, DoubleTensorType) else FloatTensorType
    if isinstance(model, DAEOutlierDetector):
        operator.outputs[0].type = Int64TensorType([n_rows])
        operator.outputs[1].type = DoubleTensorType([n_rows, 1])
        return
    operator.outputs[0].type = kind([n_rows, _n_outputs(model)])


def _exported_graph(model, dtype, opset):
    """The ONNX model of ``model.transform`` on ``dtype`` rows, from torch's exporter."""
    import onnx

    dae = model.autoencoder_ if isinstance(model, (DAEImputer, DAEOutlierDetector)) else model
    # A copy: Module.to moves the fitted model's own network in place.
    network = copy.deepcopy(dae.module_).to("cpu")
    if dtype == np.float64:
        network = float64_copy(network)
    torch_dtype = torch.float64 if dtype == np.float64 else torch.float32
    outputs = ["Y"]
    if isinstance(model, DAEImputer):
        module = _Impute(model, network, torch_dtype).eval()
    elif isinstance(model, DAEOutlierDetector):
        module = _Scores(model, network).eval()
        outputs = ["label", "scores"]
    else:
        module = _Transform(network, model.transform_layers).eval()
    example = torch.zeros(2, model.n_features_in_, dtype=torch_dtype)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of torch.export's, which
        # needs onnxscript and takes seconds; both give the same operators here.
        warnings.simplefilter("ignore")
        arguments = dict(
            input_names=["X"],
            output_names=outputs,
            dynamic_axes={name: {0: "N"} for name in ["X", *outputs]},
            opset_version=opset,
        )
        try:
            torch.onnx.export(module, (example,), buffer, dynamo=False, **arguments)
        except TypeError:  # torch before 2.5 has only the TorchScript exporter
            torch.onnx.export(module, (example,), buffer, **arguments)
    return onnx.load_from_string(buffer.getvalue()), outputs


def _converter(scope, operator, container):
    """Merge the exported network's graph into skl2onnx's, its names made unique."""
    from onnx import helper, numpy_helper
    from skl2onnx.common.data_types import DoubleTensorType

    model = operator.raw_operator
    dtype = np.float64 if isinstance(operator.inputs[0].type, DoubleTensorType) else np.float32
    opset = min(container.target_opset, MAX_NETWORK_OPSET)
    onx, outputs = _exported_graph(model, dtype, opset)
    graph = onx.graph
    names = {"X": operator.inputs[0].full_name}
    names.update((name, variable.full_name) for name, variable in zip(outputs, operator.outputs))

    def rename(name):
        if name == "":  # an optional input left out
            return name
        if name not in names:
            names[name] = scope.get_unique_variable_name(f"dae_{name}")
        return names[name]

    for tensor in graph.initializer:
        array = numpy_helper.to_array(tensor)
        container.add_initializer(
            rename(tensor.name), tensor.data_type, list(array.shape), numpy_helper.from_array(array)
        )
    for node in graph.node:
        attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        container.add_node(
            node.op_type,
            [rename(name) for name in node.input],
            [rename(name) for name in node.output],
            op_domain=node.domain,
            op_version=opset if node.domain in ("", "ai.onnx") else None,
            name=scope.get_unique_operator_name(f"DAE_{node.op_type}"),
            **attributes,
        )


def register_converters():
    """Register sk_dae's converters with skl2onnx; calling it again changes nothing.

    After it, ``skl2onnx.to_onnx`` converts a :class:`~sk_dae.DenoisingAutoencoder`
    and a :class:`~sk_dae.DAEImputer` (with ``missing_values=np.nan`` and
    ``sample_posterior=False``; others raise ``NotImplementedError``), their
    ``transform``; a :class:`~sk_dae.DAEOutlierDetector`, as skl2onnx converts
    outlier detectors: the labels of ``predict`` and the scores of
    ``decision_function`` (float64, of shape ``(n_samples, 1)``); and any Pipeline
    holding them.

    See Also
    --------
    to_onnx : Register, then convert.

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime
    >>> from skl2onnx import to_onnx
    >>> from sk_dae import DenoisingAutoencoder
    >>> from sk_dae.onnx import register_converters
    >>> X = np.random.default_rng(0).random((100, 8), dtype=np.float32)
    >>> dae = DenoisingAutoencoder(2, hidden_layer_sizes=(16,), max_iter=5).fit(X)
    >>> register_converters()
    >>> onx = to_onnx(dae, X[:1])
    >>> session = onnxruntime.InferenceSession(onx.SerializeToString())
    >>> codes = session.run(None, {"X": X})[0]
    >>> bool(np.allclose(codes, dae.transform(X), atol=1e-5))
    True
    """
    from skl2onnx import update_registered_converter

    for cls in (DenoisingAutoencoder, DAEImputer, DAEOutlierDetector):
        update_registered_converter(cls, f"SkDae{cls.__name__}", _shape_calculator, _converter)


def to_onnx(model, X, **kwargs):
    """:func:`register_converters`, then ``skl2onnx.to_onnx(model, X, **kwargs)``.

    Parameters
    ----------
    model : estimator or Pipeline
        Fitted; any of its steps may be a :class:`~sk_dae.DenoisingAutoencoder`.
    X : ndarray
        A few rows of the input (float32 or float64), which give its type.
    **kwargs
        Passed to ``skl2onnx.to_onnx`` (``target_opset``, ``options``, ...).

    Returns
    -------
    onx : onnx.ModelProto
        The converted model.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sk_dae import DenoisingAutoencoder
    >>> from sk_dae.onnx import to_onnx
    >>> X = np.random.default_rng(0).random((100, 8), dtype=np.float32)
    >>> pipeline = make_pipeline(StandardScaler(), DenoisingAutoencoder(2, max_iter=5)).fit(X)
    >>> [node.op_type for node in to_onnx(pipeline, X[:1]).graph.node][:2]
    ['Scaler', 'IsNaN']
    """
    import skl2onnx

    register_converters()
    return skl2onnx.to_onnx(model, X, **kwargs)
