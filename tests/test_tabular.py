"""DenoisingAutoencoder on tables: swap noise, noise in units of each feature's spread,
and missing values in fit and inference."""

import numpy as np
import pytest
import torch
from conftest import fit_quiet, small, tiny
from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import StandardScaler
from torch.nn import functional as F

from sk_dae import DenoisingAutoencoder
from sk_dae._core.training import reconstruction_loss

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def X(digits):
    """600 digits in [0, 1], float64 (read-only)."""
    return digits[0][:600]


@pytest.fixture(scope="module")
def cancer():
    """breast_cancer's 569 x 30 features, standardized (read-only)."""
    X = StandardScaler().fit_transform(load_breast_cancer().data)
    X.flags.writeable = False
    return X


def _round_trip(dae, tmp_path):
    path = tmp_path / "dae.safetensors"
    dae.save(path)
    return DenoisingAutoencoder.load(path)


# ----------------------------------------------------------------- swap noise


def test_swap_noise_trains_and_is_reproducible(cancer):
    a = fit_quiet(small(noise="swap", noise_level=0.15), cancer)
    b = fit_quiet(small(noise="swap", noise_level=0.15), cancer)
    assert a.loss_curve_ == b.loss_curve_
    assert a.loss_curve_[-1] < a.loss_curve_[0]
    np.testing.assert_array_equal(a.transform(cancer), b.transform(cancer))


def test_swap_corrupt_takes_values_from_the_same_column(cancer):
    dae = fit_quiet(tiny(noise="swap", noise_level=0.3), cancer)
    noisy = dae.corrupt(cancer, random_state=0)
    changed = noisy != cancer
    assert changed.mean() == pytest.approx(0.3, abs=0.02)
    for j in range(cancer.shape[1]):
        assert np.isin(noisy[:, j], cancer[:, j]).all()
    np.testing.assert_array_equal(dae.corrupt(cancer, random_state=0), noisy)


def test_swap_noise_level_is_a_fraction(cancer):
    with pytest.raises(ValueError, match="noise_level must be a fraction"):
        tiny(noise="swap", noise_level=1.2).fit(cancer)


def test_swap_noise_model_round_trips_through_save(cancer, tmp_path):
    dae = fit_quiet(tiny(noise="swap", noise_level=0.2), cancer)
    loaded = _round_trip(dae, tmp_path)
    np.testing.assert_array_equal(loaded.transform(cancer), dae.transform(cancer))
    np.testing.assert_array_equal(
        loaded.corrupt(cancer, random_state=1), dae.corrupt(cancer, random_state=1)
    )


# ----------------------------------------------------------------- noise in units of spread


def test_std_noise_scale_is_in_units_of_each_features_spread(cancer):
    scales = np.array([1.0, 10.0, 1000.0] * 10)
    raw = cancer * scales + 5.0
    dae = fit_quiet(tiny(noise_level=0.2, noise_scale="std"), raw)
    np.testing.assert_allclose(dae.feature_scale_, raw.std(axis=0), rtol=1e-6)
    diff = dae.corrupt(raw, random_state=0) - raw
    # 569 draws per feature: the sample std is within 3 standard errors (9%) of 0.2 std.
    np.testing.assert_allclose(diff.std(axis=0) / raw.std(axis=0), 0.2, rtol=0.1)


def test_absolute_noise_scale_keeps_the_default_behaviour(X):
    default = fit_quiet(small(max_iter=2), X)
    explicit = fit_quiet(small(max_iter=2, noise_scale="absolute"), X)
    assert default.feature_scale_ is None
    assert default.loss_curve_ == explicit.loss_curve_


def test_std_noise_scale_floors_constant_features(X):
    dae = fit_quiet(tiny(noise_level=0.3, noise_scale="std"), X)  # digits: constant pixels
    assert np.all(dae.feature_scale_ > 0)
    constant = X.std(axis=0) == 0
    assert constant.any()
    assert np.all(dae.feature_scale_[constant] == dae.feature_scale_.min())
    assert np.isfinite(dae.reconstruct(X)).all()


def test_negligible_gaussian_noise_warns_at_the_callers_line(X):
    with pytest.warns(UserWarning, match="below 1% of the data's typical") as record:
        fit_quiet(tiny(), X * 255)
    assert record[0].filename == __file__ or record[0].filename.endswith("conftest.py")
    # Standardized data, noise in units of spread, or another noise: no warning.
    fit_quiet(tiny(noise_scale="std"), X * 255)
    fit_quiet(tiny(noise="masking"), X * 255)
    fit_quiet(tiny(), X)


def test_std_noise_scale_round_trips_through_save(cancer, tmp_path):
    dae = fit_quiet(tiny(noise_scale="std"), cancer * 100)
    loaded = _round_trip(dae, tmp_path)
    np.testing.assert_array_equal(loaded.feature_scale_, dae.feature_scale_)
    np.testing.assert_array_equal(
        loaded.corrupt(cancer * 100, random_state=1), dae.corrupt(cancer * 100, random_state=1)
    )


# ----------------------------------------------------------------- missing values


def _hide(X, fraction, seed=0):
    """A copy of ``X`` with a ``fraction`` of its entries set to NaN (MCAR), and the mask."""
    hidden = np.random.default_rng(seed).random(X.shape) < fraction
    return np.where(hidden, np.nan, X), hidden


def test_fit_on_missing_values_reconstructs_hidden_entries_better_than_means(digits):
    X = digits[0]
    X_nan, hidden = _hide(X, 0.2)
    dae = fit_quiet(
        DenoisingAutoencoder(
            n_components=16, noise="masking", noise_level=0.2, max_iter=60, random_state=0
        ),
        X_nan,
    )
    reconstruction = dae.reconstruct(X_nan)
    assert np.isfinite(reconstruction).all()
    column_means = np.nanmean(X_nan, axis=0)
    mean_rmse = np.sqrt(np.mean((np.broadcast_to(column_means, X.shape) - X)[hidden] ** 2))
    dae_rmse = np.sqrt(np.mean((reconstruction - X)[hidden] ** 2))
    assert dae_rmse < 0.85 * mean_rmse  # measured: 0.203 against 0.272


def test_missing_values_in_give_finite_values_out(X):
    X_nan, _ = _hide(X, 0.3)
    dae = fit_quiet(small(), X_nan)
    for method in (dae.transform, dae.reconstruct, dae.score_samples):
        assert np.isfinite(method(X_nan)).all()
    assert np.isfinite(dae.loss_curve_).all()
    assert dae.__sklearn_tags__().input_tags.allow_nan


def test_missing_values_enter_as_zeros_and_scores_count_observed_entries(X):
    dae = fit_quiet(small(), X)
    X_nan, hidden = _hide(X, 0.3)
    zeros = np.where(hidden, 0.0, X)
    np.testing.assert_array_equal(dae.transform(X_nan), dae.transform(zeros))
    squared = np.where(hidden, np.nan, (dae.reconstruct(zeros) - zeros) ** 2)
    np.testing.assert_allclose(dae.score_samples(X_nan), -np.nanmean(squared, axis=1))
    # Without missing values, a score is the plain mean squared error of the row.
    np.testing.assert_allclose(dae.score_samples(X), -np.mean((dae.reconstruct(X) - X) ** 2, 1))


def test_masked_loss_is_the_mean_over_observed_entries(X):
    dae = fit_quiet(tiny(output_activation="identity"), X)
    generator = torch.Generator().manual_seed(0)
    logits, target = torch.randn(20, 64, generator=generator), torch.rand(20, 64)
    observed = torch.rand(20, 64, generator=generator) > 0.3
    for loss, errors in [
        ("mse", (logits - target) ** 2),
        ("bce", F.binary_cross_entropy_with_logits(logits, target, reduction="none")),
    ]:
        masked = reconstruction_loss(dae.module_, logits, target, loss, observed)
        torch.testing.assert_close(masked, errors[observed].mean())


def test_partial_fit_and_early_stopping_accept_missing_values(X):
    X_nan, _ = _hide(X, 0.2)
    dae = small()
    for chunk in np.array_split(X_nan, 3):
        dae.partial_fit(chunk)
    assert np.isfinite(dae.loss_curve_).all() and len(dae.loss_curve_) == 3
    stopped = fit_quiet(small(early_stopping=True), X_nan)
    assert np.isfinite(stopped.validation_scores_).all()


def test_infinity_is_still_refused(X):
    X_inf = X.copy()
    X_inf[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        tiny().fit(X_inf)
    dae = fit_quiet(tiny(), X)
    with pytest.raises(ValueError, match="infinity"):
        dae.transform(X_inf)
    with pytest.raises(ValueError, match="every entry is missing"):
        tiny().fit(np.full((5, 3), np.nan))


@pytest.mark.parametrize("noise", ["gaussian", "masking", "swap"])
def test_model_fitted_on_missing_values_round_trips_through_save(X, tmp_path, noise):
    X_nan, _ = _hide(X, 0.2)
    dae = fit_quiet(tiny(noise=noise, noise_scale="std"), X_nan)
    loaded = _round_trip(dae, tmp_path)
    np.testing.assert_array_equal(loaded.reconstruct(X_nan), dae.reconstruct(X_nan))
    np.testing.assert_array_equal(loaded.feature_scale_, dae.feature_scale_)
    loaded.partial_fit(X_nan)
    dae.partial_fit(X_nan)
    np.testing.assert_array_equal(loaded.transform(X_nan), dae.transform(X_nan))


# ----------------------------------------------------------------- deep stack features


@pytest.mark.parametrize("tied", [False, True])
def test_transform_layers_all_returns_every_hidden_activation(cancer, tied):
    dae = fit_quiet(
        tiny(hidden_layer_sizes=(12, 6), transform_layers="all", tied_weights=tied), cancer
    )
    stack = dae.transform(cancer)
    assert stack.shape == (cancer.shape[0], 12 + 6 + 3 + 6 + 12)
    names = dae.get_feature_names_out()
    assert len(names) == stack.shape[1]
    assert names[0] == "denoisingautoencoder_enc1_0"
    assert names[18] == "denoisingautoencoder_code_0"
    assert names[-1] == "denoisingautoencoder_dec2_11"
    # The code sits in the middle; ReLU layers are non-negative.
    np.testing.assert_array_equal(
        stack[:, 18:21], dae.set_params(transform_layers="code").transform(cancer)
    )
    assert (stack[:, :18] >= 0).all()


def test_deep_stack_features_as_a_frame_and_after_save(cancer, tmp_path):
    dae = fit_quiet(tiny(transform_layers="all"), cancer)
    frame = dae.set_output(transform="pandas").transform(cancer)
    assert list(frame.columns) == list(dae.get_feature_names_out())
    loaded = _round_trip(dae.set_output(transform="default"), tmp_path)
    assert loaded.transform_layers == "all"
    np.testing.assert_array_equal(loaded.transform(cancer), dae.transform(cancer))
