"""The contract of the estimators that train a DenoisingAutoencoder for another task.

DAEOutlierDetector, DAEImputer and DeepClustering share one base
(``sk_dae._wrapper.AutoencoderWrapper``); every test here states one promise that holds
for each of them, and for DenoisingAutoencoder itself where it applies (save and load,
a failed fit). What is particular to one estimator is tested in its own module.
"""

import pickle
import warnings

import numpy as np
import pytest
import torch
from conftest import interrupt_at_step
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from sk_dae import DAEImputer, DAEOutlierDetector, DeepClustering, DenoisingAutoencoder

WRAPPERS = [DAEOutlierDetector, DAEImputer, DeepClustering]
ESTIMATORS = [DenoisingAutoencoder, *WRAPPERS]


def small_autoencoder(**params):
    return DenoisingAutoencoder(
        **{"n_components": 3, "hidden_layer_sizes": (16,), "max_iter": 3, **params}
    )


def make(cls, autoencoder=None, **params):
    """A small, fast instance of ``cls``."""
    autoencoder = small_autoencoder() if autoencoder is None else autoencoder
    if cls is DenoisingAutoencoder:
        return autoencoder.set_params(**params)
    if cls is DeepClustering:
        params = {"n_clusters": 3, "max_iter": 2, "n_init": 1, **params}
    return cls(autoencoder=autoencoder, **params)


@pytest.fixture(scope="module")
def X():
    X = load_digits().data[:240] / 16.0
    # Holes for the imputer; every other estimator gets the rows without them.
    return X.astype(np.float32)


def data_for(cls, X):
    if cls is DAEImputer:
        return np.where(np.random.default_rng(0).random(X.shape) < 0.2, np.nan, X)
    return X


def outputs(estimator, X):
    """What a user reads from the fitted estimator."""
    if isinstance(estimator, DAEOutlierDetector):
        return estimator.score_samples(X)
    if isinstance(estimator, DeepClustering):
        return estimator.predict_proba(X)
    return estimator.transform(X)


def fit_quiet(estimator, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # budgets this short
        return estimator.fit(X)


def diverging():
    # A learning rate no network survives: the fit raises a ValueError that says so.
    return small_autoencoder(output_activation="identity", optimizer="sgd", learning_rate_init=1e12)


def fitted_attributes(estimator):
    """The names of the fitted attributes of ``estimator`` (or of a ``vars`` dict)."""
    names = estimator if isinstance(estimator, dict) else vars(estimator)
    return sorted(name for name in names if name.endswith("_"))


@pytest.mark.parametrize("cls", WRAPPERS)
def test_the_given_autoencoder_is_cloned_and_never_fitted(cls, X):
    template = small_autoencoder()
    estimator = fit_quiet(make(cls, template), data_for(cls, X))
    assert not hasattr(template, "module_")
    assert estimator.autoencoder is template
    assert estimator.autoencoder_ is not template and hasattr(estimator.autoencoder_, "module_")


@pytest.mark.parametrize("cls", WRAPPERS)
def test_the_shared_parameters_are_set_on_the_autoencoder(cls, X):
    template = small_autoencoder(random_state=7, n_threads=2)
    kept = fit_quiet(make(cls, template), data_for(cls, X))
    assert (kept.autoencoder_.random_state, kept.autoencoder_.n_threads) == (7, 2)
    given = fit_quiet(
        make(cls, template, random_state=3, n_threads=1, device="cpu"), data_for(cls, X)
    )
    autoencoder = given.autoencoder_
    assert (autoencoder.random_state, autoencoder.n_threads, autoencoder.device) == (3, 1, "cpu")
    assert autoencoder.device_ == torch.device("cpu")


@pytest.mark.parametrize("cls", WRAPPERS)
def test_a_seed_gives_the_same_model_twice(cls, X):
    data = data_for(cls, X)
    first = fit_quiet(make(cls, random_state=0), data)
    second = fit_quiet(make(cls, random_state=0), data)
    np.testing.assert_array_equal(outputs(first, data), outputs(second, data))


@pytest.mark.parametrize("cls", WRAPPERS)
def test_fit_leaves_torch_threads_as_they_were(cls, X):
    before = torch.get_num_threads()
    fit_quiet(make(cls, n_threads=1), data_for(cls, X))
    assert torch.get_num_threads() == before


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_a_failed_fit_leaves_an_unfitted_estimator_unfitted(cls, X):
    estimator = make(cls, diverging())
    with pytest.raises(ValueError, match="diverged"):
        estimator.fit(data_for(cls, X))
    # Nothing but the parameters: no fitted attribute, no private state of the fit.
    assert sorted(vars(estimator)) == sorted(estimator.get_params(deep=False))


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_a_failed_refit_leaves_the_fitted_estimator_as_it_was(cls, X):
    data = data_for(cls, X)
    estimator = fit_quiet(make(cls, random_state=0), data)
    before = dict(vars(estimator))
    expected = outputs(estimator, data)
    if cls is DenoisingAutoencoder:
        estimator.set_params(output_activation="identity", optimizer="sgd", learning_rate_init=1e12)
    else:
        estimator.set_params(autoencoder=diverging())
    with pytest.raises(ValueError, match="diverged"):
        estimator.fit(data)
    after = vars(estimator)
    assert sorted(after) == sorted(before)
    assert all(after[name] is before[name] for name in before if name.endswith("_"))
    np.testing.assert_array_equal(outputs(estimator, data), expected)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_an_interrupt_before_any_step_changes_nothing(cls, X):
    data = data_for(cls, X)
    estimator = fit_quiet(make(cls, random_state=0), data)
    before = dict(vars(estimator))
    with interrupt_at_step(1), pytest.raises(KeyboardInterrupt):
        estimator.fit(data)
    assert vars(estimator) == before


def test_a_failure_after_pretraining_restores_the_clusterer(X):
    # Pretraining succeeds; fine-tuning with a learning rate no network survives fails.
    estimator = fit_quiet(make(DeepClustering, random_state=0), X)
    before = dict(vars(estimator))
    estimator.set_params(learning_rate_init=1e12)
    with pytest.raises(ValueError, match="Fine-tuning diverged"):
        fit_quiet(estimator, X)
    assert fitted_attributes(estimator) == fitted_attributes(before)
    assert all(vars(estimator)[name] is before[name] for name in fitted_attributes(before))


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_save_and_load_give_the_same_outputs(cls, X, tmp_path):
    data = data_for(cls, X)
    estimator = fit_quiet(make(cls, random_state=0), data)
    path = tmp_path / "model.safetensors"
    estimator.save(path)
    loaded = cls.load(path)
    assert type(loaded) is cls
    assert fitted_attributes(loaded) == fitted_attributes(estimator)
    np.testing.assert_array_equal(outputs(loaded, data), outputs(estimator, data))


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_an_unfitted_estimator_saves_its_parameters(cls, tmp_path):
    estimator = make(cls, random_state=4)
    path = tmp_path / "model.safetensors"
    estimator.save(path)
    loaded = cls.load(path)
    assert fitted_attributes(loaded) == []
    assert repr(loaded) == repr(estimator)


@pytest.mark.parametrize("cls", WRAPPERS)
def test_a_file_of_another_class_is_refused(cls, X, tmp_path):
    other = DenoisingAutoencoder if cls is not DenoisingAutoencoder else DAEImputer
    path = tmp_path / "model.safetensors"
    make(other).save(path)
    with pytest.raises(ValueError, match=f"not a {cls.__name__}"):
        cls.load(path)


@pytest.mark.parametrize("cls", WRAPPERS)
def test_pickle_gives_the_same_outputs(cls, X):
    data = data_for(cls, X)
    estimator = fit_quiet(make(cls, random_state=0), data)
    loaded = pickle.loads(pickle.dumps(estimator))
    np.testing.assert_array_equal(outputs(loaded, data), outputs(estimator, data))
