"""ONNX: skl2onnx converts a Pipeline with a DenoisingAutoencoder; onnxruntime runs it."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_dae import DAEImputer, DAEOutlierDetector, DenoisingAutoencoder

onnxruntime = pytest.importorskip("onnxruntime")
pytest.importorskip("skl2onnx")
sk_dae_onnx = pytest.importorskip("sk_dae.onnx")

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data(digits):
    X, y = digits
    return np.ascontiguousarray(X[:300], dtype=np.float32), y[:300]


def small(**params):
    base = {"n_components": 4, "hidden_layer_sizes": (16,), "max_iter": 3, "random_state": 0}
    return DenoisingAutoencoder(**{**base, **params})


def fit_quiet(estimator, X, y=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


def run(onx, X):
    session = onnxruntime.InferenceSession(
        onx.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return session.run(None, {session.get_inputs()[0].name: X})


@pytest.mark.parametrize(
    "params, dtype",
    [
        ({}, np.float32),
        ({}, np.float64),
        ({"init": "pca"}, np.float32),  # a linear path beside the encoder
        (
            {"tied_weights": True, "batch_norm": True, "dropout": 0.2, "activation": "tanh"},
            np.float32,
        ),
        ({"transform_layers": "all", "hidden_layer_sizes": (16, 8)}, np.float32),
        ({"architecture": "conv", "image_shape": (8, 8), "init": "pca"}, np.float32),
    ],
    ids=["default", "float64", "linear-path", "tied-batchnorm-dropout-tanh", "all-layers", "conv"],
)
def test_transform_is_reproduced_by_onnxruntime(data, params, dtype):
    X = data[0].astype(dtype)
    dae = fit_quiet(small(**params), X)
    onx = sk_dae_onnx.to_onnx(dae, X[:1])
    (codes,) = run(onx, X)
    assert codes.dtype == dtype
    np.testing.assert_allclose(codes, dae.transform(X), rtol=0, atol=1e-5)


def test_skl2onnx_converts_after_registration_missing_entries_as_zeros(data):
    # As transform does, missing entries enter the network as zeros.
    from skl2onnx import to_onnx

    X = data[0].copy()
    X[::3, ::5] = np.nan
    dae = fit_quiet(small(), data[0])
    sk_dae_onnx.register_converters()
    sk_dae_onnx.register_converters()  # again: nothing changes
    (codes,) = run(to_onnx(dae, X[:1]), X)
    np.testing.assert_allclose(codes, dae.transform(X), rtol=0, atol=1e-5)


def test_pipeline_of_scaler_autoencoder_classifier_converts(data):
    X, y = data
    pipeline = fit_quiet(
        make_pipeline(StandardScaler(), small(), LogisticRegression(max_iter=300)), X, y
    )
    onx = sk_dae_onnx.to_onnx(pipeline, X[:1], options={"zipmap": False})
    labels, probabilities = run(onx, X)
    np.testing.assert_allclose(probabilities, pipeline.predict_proba(X), rtol=0, atol=1e-5)
    np.testing.assert_array_equal(labels, pipeline.predict(X))


def holes(X, seed=0):
    X = np.where(np.random.default_rng(seed).random(X.shape) < 0.2, np.nan, X)
    X[:, 1] = np.nan  # a feature empty in training
    return X


@pytest.mark.parametrize(
    "params, dtype",
    [
        ({"add_indicator": True, "keep_empty_features": True}, np.float32),
        ({"standardize": True, "add_indicator": True}, np.float64),
    ],
    ids=["indicator-keep-empty", "standardized-float64"],
)
def test_imputer_transform_is_reproduced_by_onnxruntime(data, params, dtype):
    X = holes(data[0]).astype(dtype)
    imputer = fit_quiet(DAEImputer(autoencoder=small(), **params), X)
    X_new = holes(data[0], seed=1).astype(dtype)
    (filled,) = run(sk_dae_onnx.to_onnx(imputer, X_new[:1]), X_new)
    assert filled.dtype == dtype
    np.testing.assert_allclose(filled, imputer.transform(X_new), rtol=0, atol=1e-5)


def test_imputer_in_a_pipeline_converts_and_posterior_sampling_is_refused(data):
    X, y = holes(data[0]), data[1]
    pipeline = fit_quiet(
        make_pipeline(DAEImputer(autoencoder=small()), LogisticRegression(max_iter=300)), X, y
    )
    onx = sk_dae_onnx.to_onnx(pipeline, X[:1], options={"zipmap": False})
    _, probabilities = run(onx, X)
    np.testing.assert_allclose(probabilities, pipeline.predict_proba(X), rtol=0, atol=1e-5)
    sampling = fit_quiet(DAEImputer(autoencoder=small(), sample_posterior=True), X)
    with pytest.raises(NotImplementedError, match="sample_posterior"):
        sk_dae_onnx.to_onnx(sampling, X[:1])


@pytest.mark.parametrize(
    "params, dtype",
    [({}, np.float32), ({}, np.float64), ({"n_neighbors": 0, "error": "mse"}, np.float32)],
    ids=["default", "float64", "no-neighbours-mse"],
)
def test_outlier_detector_labels_and_scores_are_reproduced(digits, params, dtype):
    X, X_new = (digits[0][rows].astype(dtype) for rows in (slice(300), slice(300, 600)))
    detector = fit_quiet(DAEOutlierDetector(autoencoder=small(), **params), X)
    labels, scores = run(sk_dae_onnx.to_onnx(detector, X[:1]), X_new)
    np.testing.assert_array_equal(labels, detector.predict(X_new))
    # float64 scores, as decision_function's; a float32 network's reconstruction differs
    # from torch's in its last bits, and the scores (up to about 100 here) carry that.
    np.testing.assert_allclose(
        scores[:, 0], detector.decision_function(X_new), rtol=1e-7, atol=1e-5
    )
