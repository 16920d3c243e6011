"""skops: every estimator, fitted or not, alone and in a Pipeline, through skops.io.

skops rebuilds only the types a user trusts; the estimators' state holds numpy arrays and
plain data, so the only types to trust are sk_dae's estimators themselves.
"""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_dae import DAEImputer, DAEOutlierDetector, DeepClustering, DenoisingAutoencoder
from sk_dae._persistence import tensor_state

sio = pytest.importorskip("skops.io")

ESTIMATORS = [DenoisingAutoencoder, DAEOutlierDetector, DAEImputer, DeepClustering]

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def small_autoencoder(**params):
    return DenoisingAutoencoder(
        **{"n_components": 3, "hidden_layer_sizes": (16,), "max_iter": 3, "random_state": 0}
        | params
    )


def make(cls):
    if cls is DenoisingAutoencoder:
        return small_autoencoder()
    params = {"n_clusters": 3, "max_iter": 2, "n_init": 1} if cls is DeepClustering else {}
    return cls(autoencoder=small_autoencoder(), random_state=0, **params)


@pytest.fixture(scope="module")
def data(digits):
    X, y = digits
    return X[:240].astype(np.float32), y[:240]


def data_for(cls, X):
    if cls is DAEImputer:
        return np.where(np.random.default_rng(0).random(X.shape) < 0.2, np.nan, X)
    return X


def outputs(estimator, X):
    if isinstance(estimator, DAEOutlierDetector):
        return estimator.decision_function(X)
    if isinstance(estimator, DeepClustering):
        return estimator.predict_proba(X)
    return estimator.transform(X)


def fit_quiet(estimator, X, y=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


def round_trip(obj):
    """``obj`` through skops, trusting exactly the types skops reports as untrusted,
    which must all be sk_dae's own."""
    payload = sio.dumps(obj)
    untrusted = sio.get_untrusted_types(data=payload)
    assert untrusted, "an sk_dae estimator must be trusted explicitly"
    assert all(name.startswith("sk_dae.") for name in untrusted), untrusted
    return sio.loads(payload, trusted=untrusted)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_fitted_estimator_round_trips_with_equal_outputs(cls, data):
    X = data_for(cls, data[0])
    estimator = fit_quiet(make(cls), X)
    # No torch object in the state: what a GPU-fitted model's file holds is then
    # independent of the GPU.
    assert _torch_objects(estimator.__getstate__()) == []
    loaded = round_trip(estimator)
    assert type(loaded) is cls
    assert repr(loaded) == repr(estimator)
    np.testing.assert_array_equal(outputs(loaded, X), outputs(estimator, X))


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_unfitted_estimator_round_trips(cls):
    estimator = make(cls)
    loaded = round_trip(estimator)
    assert repr(loaded) == repr(estimator)
    assert not any(name.endswith("_") for name in vars(loaded))


def test_pipeline_of_scaler_autoencoder_classifier_round_trips(data):
    X, y = data
    pipeline = make_pipeline(
        StandardScaler(),
        small_autoencoder(),
        LogisticRegression(max_iter=200),
    )
    fit_quiet(pipeline, X, y)
    loaded = round_trip(pipeline)
    np.testing.assert_array_equal(loaded.predict_proba(X), pipeline.predict_proba(X))
    unfitted = round_trip(make_pipeline(StandardScaler(), small_autoencoder()))
    assert repr(unfitted) == repr(make_pipeline(StandardScaler(), small_autoencoder()))


def test_pipeline_of_imputer_and_classifier_round_trips(data):
    X, y = data
    holes = data_for(DAEImputer, X)
    pipeline = make_pipeline(make(DAEImputer), LogisticRegression(max_iter=200))
    fit_quiet(pipeline, holes, y)
    loaded = round_trip(pipeline)
    np.testing.assert_array_equal(loaded.predict_proba(holes), pipeline.predict_proba(holes))


def test_training_continues_after_a_round_trip_as_without_it(data):
    # The optimizer's moments and the noise stream travel too.
    X = data[0]
    model = fit_quiet(small_autoencoder(), X)
    loaded = round_trip(model)
    for estimator in (model, loaded):
        estimator.partial_fit(X)
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))


def _torch_objects(value, path="state"):
    """The paths of every torch object inside ``value``."""
    if torch.is_tensor(value) or type(value).__module__.startswith("torch"):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _torch_objects(v, f"{path}[{k!r}]")]
    if isinstance(value, (list, tuple)):
        return [p for i, v in enumerate(value) for p in _torch_objects(v, f"{path}[{i}]")]
    if hasattr(value, "__getstate__") and type(value).__module__.startswith("sk_dae"):
        return _torch_objects(value.__getstate__(), f"{path}.{type(value).__name__}")
    return []


def test_gpu_fitted_model_loads_on_a_cpu_only_machine(data, monkeypatch):
    # A model fitted on a GPU differs from a CPU one only in device_ once pickled (its
    # arrays are CPU copies); skops loads it onto the CPU when CUDA is unavailable.
    X = data[0]
    model = fit_quiet(small_autoencoder(), X)
    gpu_model = pickle.loads(pickle.dumps(model))
    gpu_model.device_ = torch.device("cuda:0")
    payload = sio.dumps(gpu_model)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    loaded = sio.loads(payload, trusted=sio.get_untrusted_types(data=payload))
    assert loaded.device_ == torch.device("cpu")
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))


def test_pickles_holding_tensors_still_load(data):
    # Pickles written before the state held numpy arrays hold CPU tensors instead.
    X = data[0]
    model = fit_quiet(small_autoencoder(), X)
    old_state = tensor_state(model.__getstate__())
    assert torch.is_tensor(old_state["_generator_state"])
    old = DenoisingAutoencoder.__new__(DenoisingAutoencoder)
    old.__setstate__(old_state)
    np.testing.assert_array_equal(old.transform(X), model.transform(X))
    for estimator in (model, old):
        estimator.partial_fit(X)
    np.testing.assert_array_equal(old.transform(X), model.transform(X))


def test_a_checkpoint_parameter_round_trips_as_an_sk_dae_type():
    from sk_dae import Checkpoint

    model = small_autoencoder(checkpoint=Checkpoint("fit.ckpt", every_epochs=2))
    assert round_trip(model).checkpoint == model.checkpoint


def test_a_convolutional_autoencoder_round_trips_with_equal_codes(data):
    X = data[0]
    conv = fit_quiet(small_autoencoder(architecture="conv", image_shape=(8, 8)), X)
    loaded = round_trip(conv)
    assert loaded.module_.spec()["architecture"] == "conv"
    np.testing.assert_array_equal(loaded.transform(X), conv.transform(X))
