"""DAEImputer: sklearn's imputer API (missing_values, add_indicator, keep_empty_features,
feature names, set_output, Pipeline) and what it fills."""

import numpy as np
import pandas as pd
import pytest
from conftest import short_training, small, tiny
from sklearn.impute import MissingIndicator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline

from sk_dae import DAEImputer
from sk_dae._imputer import default_params

pytestmark = [
    pytest.mark.usefixtures("one_torch_thread"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]


def _hide(X, fraction, seed=0):
    hidden = np.random.default_rng(seed).random(X.shape) < fraction
    return np.where(hidden, np.nan, X), hidden


def _fast(**params):
    return DAEImputer(autoencoder=tiny(output_activation="identity"), **params)


@pytest.fixture(scope="module")
def X(digits):
    return digits[0][:400]


def test_fills_every_hole_and_keeps_observed_entries(X):
    X_missing, hidden = _hide(X, 0.2)
    filled = _fast().fit_transform(X_missing)
    assert filled.shape == X.shape and np.isfinite(filled).all()
    np.testing.assert_array_equal(filled[~hidden], X[~hidden])
    assert not np.array_equal(filled[hidden], X[hidden])


def test_default_beats_the_column_means_on_digits(digits):
    X = digits[0][:600]
    X_missing, hidden = _hide(X, 0.2)
    filled = DAEImputer(random_state=0).fit_transform(X_missing)
    means = np.broadcast_to(np.nanmean(X_missing, axis=0), X.shape)
    rmse = np.sqrt(np.mean((filled - X)[hidden] ** 2))
    assert rmse < 0.7 * np.sqrt(np.mean((means - X)[hidden] ** 2))  # measured 0.146 / 0.268


def test_other_missing_values_placeholder(X):
    X_missing, hidden = _hide(X, 0.2)
    coded = np.where(hidden, -1.0, X)
    a = _fast(missing_values=-1.0).fit_transform(coded)
    b = _fast().fit_transform(X_missing)
    np.testing.assert_allclose(a, b, rtol=1e-5)
    with pytest.raises(ValueError, match="NaN"):
        _fast(missing_values=-1.0).fit(X_missing)


def test_add_indicator_appends_missing_indicator_columns(X):
    X_missing, hidden = _hide(X, 0.2)
    imputer = _fast(add_indicator=True).fit(X_missing)
    out = imputer.transform(X_missing)
    indicator = MissingIndicator().fit(X_missing)
    assert out.shape[1] == X.shape[1] + indicator.features_.size
    np.testing.assert_array_equal(out[:, X.shape[1] :], indicator.transform(X_missing))
    names = imputer.get_feature_names_out()
    assert names[0] == "x0" and names[-1].startswith("missingindicator_")


@pytest.mark.parametrize("keep", [False, True])
def test_empty_features_are_dropped_or_kept_as_zero(X, keep):
    X_missing, _ = _hide(X, 0.2)
    X_missing[:, 5] = np.nan
    imputer = _fast(keep_empty_features=keep).fit(X_missing)
    out = imputer.transform(X_missing)
    assert out.shape[1] == (64 if keep else 63)
    if keep:
        assert np.all(out[:, 5] == 0)
    assert ("x5" in imputer.get_feature_names_out()) == keep


def test_rows_without_holes_pass_unchanged_and_full_holes_get_filled(X):
    X_missing, _ = _hide(X, 0.2)
    imputer = _fast().fit(X_missing)
    np.testing.assert_array_equal(imputer.transform(X[:10]), X[:10])
    empty_row = np.full((1, 64), np.nan)
    assert np.isfinite(imputer.transform(empty_row)).all()


def test_dataframes_names_and_set_output(X):
    X_missing, _ = _hide(X, 0.2)
    frame = pd.DataFrame(X_missing, columns=[f"p{i}" for i in range(64)])
    imputer = _fast().set_output(transform="pandas").fit(frame)
    out = imputer.transform(frame)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(frame.columns)
    assert not out.isna().any().any()


def test_in_a_pipeline_before_a_classifier(digits):
    X, y = digits
    X_missing, _ = _hide(X[:500], 0.2)
    pipe = make_pipeline(_fast(), LogisticRegression(max_iter=200))
    with short_training():
        scores = cross_val_score(pipe, X_missing, y[:500], cv=2)
    assert scores.mean() > 0.8


def test_float32_stays_float32(X):
    X_missing, _ = _hide(X.astype(np.float32), 0.2)
    assert _fast().fit_transform(X_missing).dtype == np.float32


# ------------------------------------------------------------ multiple imputation


def _drawing(seed):
    dae = small(noise="masking", noise_level=0.2, output_activation="identity")
    return DAEImputer(autoencoder=dae, sample_posterior=True, random_state=seed)


def test_sample_posterior_draws_differ_by_seed_and_reproduce(X):
    X_missing, hidden = _hide(X, 0.2)
    a, a_again, b = (_drawing(seed).fit_transform(X_missing) for seed in (0, 0, 1))
    np.testing.assert_array_equal(a, a_again)
    for draw in (a, b):
        np.testing.assert_array_equal(draw[~hidden], X[~hidden])
    assert np.abs(a - b)[hidden].mean() > 0.01


def test_sample_posterior_draws_spread_around_the_deterministic_fill(X):
    X_missing, hidden = _hide(X, 0.2)
    imputer = _drawing(0).fit(X_missing)
    draws = np.stack([imputer.transform(X_missing) for _ in range(30)])
    for draw in draws:
        np.testing.assert_array_equal(draw[~hidden], X[~hidden])
    assert not np.array_equal(draws[0], draws[1])  # one network, fresh noise each call
    best = imputer.set_params(sample_posterior=False).transform(X_missing)
    spread = draws.std(axis=0)[hidden].mean()
    gap = np.sqrt(np.mean((draws.mean(axis=0) - best)[hidden] ** 2))
    error = np.sqrt(np.mean((best - X)[hidden] ** 2))
    assert spread > 0.01 and gap < 0.25 * error  # measured 0.028, 0.024, 0.266


def test_sample_posterior_without_noise_is_the_deterministic_fill(X):
    X_missing, _ = _hide(X, 0.2)
    imputer = DAEImputer(autoencoder=small(noise=None), sample_posterior=True).fit(X_missing)
    best = imputer.set_params(sample_posterior=False).transform(X_missing)
    np.testing.assert_array_equal(
        imputer.set_params(sample_posterior=True).transform(X_missing), best
    )


# ------------------------------------------------------------ defaults and scaling


def test_standardize_auto_only_centers_data_in_the_unit_interval(X):
    X_missing, _ = _hide(X, 0.2)
    pixels = _fast().fit(X_missing)
    np.testing.assert_array_equal(pixels.scale_, 1.0)
    np.testing.assert_allclose(pixels.mean_, np.nanmean(X_missing, axis=0))
    spread = np.nanstd(X_missing, axis=0)
    forced = _fast(standardize=True).fit(X_missing)
    np.testing.assert_allclose(forced.scale_, np.where(spread > 0, spread, 1.0))
    table = _fast().fit(X_missing * 16.0)  # out of [0, 1]: standardized
    np.testing.assert_allclose(table.scale_, np.where(spread > 0, 16.0 * spread, 1.0))
    centered = _fast(standardize=False).fit(X_missing * 16.0)
    np.testing.assert_array_equal(centered.scale_, 1.0)


def test_default_autoencoder_follows_the_data_shape():
    assert default_params(569, 30)["batch_size"] == 32
    assert default_params(10_000, 784)["batch_size"] == 156
    assert default_params(70_000, 784)["batch_size"] == 256
    assert default_params(1797, 64)["hidden_layer_sizes"] == (256, 128)
    wide = default_params(10_000, 784)
    assert (wide["hidden_layer_sizes"], wide["n_components"]) == ((512, 256), 64)
    assert default_params(10, 3)["max_iter"] == "auto"


def test_default_autoencoder_is_the_one_fitted(X):
    X_missing, _ = _hide(X, 0.2)
    with short_training():
        imputer = DAEImputer(random_state=0).set_params(autoencoder=None)
        imputer.fit(X_missing[:64])
    fitted = imputer.autoencoder_.get_params()
    for name, value in default_params(64, 64).items():
        assert fitted[name] == value, name
