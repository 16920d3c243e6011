"""Denoising as a task of its own: training on (noisy, clean) pairs, scoring denoisers,
explicit noise clipping, a fixed epoch budget, and a warning for inputs the model never saw.
"""

import warnings

import numpy as np
import pytest
from conftest import small
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_dae import DenoisingAutoencoder
from sk_dae.metrics import make_denoising_scorer

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def pairs(digits):
    """600 digits and a noisy copy of them (Gaussian 0.3, clipped to [0, 1])."""
    X = digits[0][:600]
    noisy = np.clip(X + np.random.default_rng(0).normal(0, 0.3, X.shape), 0, 1)
    return noisy, X


def test_pairs_train_towards_the_clean_rows(pairs):
    noisy, clean = pairs
    params = dict(n_components=16, noise=None, max_iter=40, tol=None)
    on_pairs = small(target="y", **params).fit(noisy, clean)
    on_noisy = small(**params).fit(noisy)
    error = np.mean((on_pairs.reconstruct(noisy) - clean) ** 2)
    assert error < np.mean((noisy - clean) ** 2)  # better than doing nothing
    assert error < 0.9 * np.mean((on_noisy.reconstruct(noisy) - clean) ** 2)
    assert on_pairs.score(noisy, clean) == pytest.approx(-error, rel=1e-5)


def test_target_input_ignores_class_labels(digits):
    X, y = digits[0][:300], digits[1][:300]
    with_labels = small(max_iter=3, tol=None).fit(X, y)
    without = small(max_iter=3, tol=None).fit(X)
    np.testing.assert_array_equal(with_labels.transform(X), without.transform(X))
    assert with_labels.score(X, y) == without.score(X)


@pytest.mark.parametrize(
    "y, message",
    [(None, "pass them as y"), ("labels", "target='input'"), ("short", "X's shape")],
)
def test_target_y_refuses_what_is_not_clean_rows(pairs, digits, y, message):
    noisy, clean = pairs
    y = {"labels": digits[1][:600], "short": clean[:, :10], None: None}[y]
    model = small(target="y", max_iter=2, tol=None).fit(noisy, clean)
    before = model.transform(noisy)
    with pytest.raises(ValueError, match=message):
        model.fit(noisy, y)
    np.testing.assert_array_equal(model.transform(noisy), before)
    with pytest.raises(ValueError, match=message):
        model.score(noisy, y)


def test_grid_search_over_pairs_scores_the_denoised_rows(pairs):
    noisy, clean = pairs
    search = GridSearchCV(
        small(target="y", noise=None, max_iter=5, tol=None),
        {"n_components": [2, 16]},
        cv=2,
    ).fit(noisy, clean)
    assert search.best_params_ == {"n_components": 16}
    best = search.best_estimator_
    assert search.score(noisy, clean) == pytest.approx(
        -np.mean((best.reconstruct(noisy) - clean) ** 2), rel=1e-5
    )


def test_early_stopping_on_pairs_scores_the_held_out_rows_against_their_targets(pairs):
    # Every row is the same pair, so whichever rows are held out, the best epoch's
    # validation score is the final model's error against the clean row.
    noisy, clean = np.repeat(pairs[0][:1], 60, axis=0), np.repeat(pairs[1][:1], 60, axis=0)
    model = small(target="y", noise=None, early_stopping=True, max_iter=8, tol=None)
    model.fit(noisy, clean)
    assert len(model.validation_scores_) == 8
    assert model.best_validation_score_ == max(model.validation_scores_)
    assert model.best_validation_score_ == pytest.approx(model.score(noisy, clean), rel=1e-5)
    assert model.score(noisy, clean) != pytest.approx(model.score(noisy, noisy), rel=1e-2)


def test_partial_fit_takes_pairs_as_fit_does(pairs):
    noisy, clean = pairs
    one_epoch = small(target="y", max_iter=1, learning_rate="constant", tol=None)
    one_epoch.fit(noisy, clean)
    chunked = small(target="y").partial_fit(noisy, clean)
    np.testing.assert_array_equal(chunked.transform(noisy), one_epoch.transform(noisy))
    towards_noisy = small(target="y").partial_fit(noisy, noisy)
    assert not np.array_equal(towards_noisy.transform(noisy), chunked.transform(noisy))


def test_tol_none_trains_exactly_max_iter_epochs_without_warning(digits):
    X = digits[0][:300]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = small(max_iter=7, tol=None).fit(X)
    assert model.n_iter_ == 7
    # A tol the loss cannot beat stops training after the first epoch and
    # n_iter_no_change + 1 epochs without progress.
    stopped = small(max_iter=7, tol=10.0, n_iter_no_change=1).fit(X)
    assert stopped.n_iter_ == 3


def test_clip_noise_is_an_explicit_choice(digits):
    X = digits[0][:200]
    gaussian = dict(noise="gaussian", noise_level=0.5, max_iter=1, tol=None)
    auto = small(**gaussian).fit(X)
    unclipped = small(clip_noise=False, **gaussian).fit(X)
    assert auto.output_activation_ == "sigmoid"
    noisy = auto.corrupt(X, random_state=0)
    assert noisy.min() >= 0 and noisy.max() <= 1
    raw = unclipped.corrupt(X, random_state=0)
    assert raw.min() < -0.5 and raw.max() > 1.5
    # Clipping is the only difference: the same draw, clipped.
    np.testing.assert_allclose(np.clip(raw, 0, 1), noisy, atol=1e-6)


def test_clip_noise_true_clips_standardized_data_too(digits):
    X = StandardScaler().fit_transform(digits[0][:200])
    model = small(noise_level=2.0, clip_noise=True, max_iter=1, tol=None).fit(X)
    assert model.output_activation_ == "identity"
    noisy = model.corrupt(X, random_state=0)
    assert noisy.min() >= X.min() - 1e-6 and noisy.max() <= X.max() + 1e-6


def test_reconstruct_warns_on_inputs_far_outside_the_training_range(digits):
    X = digits[0][:200]
    model = small(max_iter=1, tol=None).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.reconstruct(digits[0][200:400])  # the same kind of data: silent
    with pytest.warns(UserWarning, match="outside the range of the training data"):
        model.reconstruct(X * 16)  # pixels in 0..16 given to a model of [0, 1]


def test_partial_fit_warns_when_later_data_lie_beyond_the_sigmoid_chosen_first(digits):
    X = digits[0][:200]
    model = small().partial_fit(X)
    assert model.output_activation_ == "sigmoid"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.partial_fit(digits[0][200:400])  # the same kind of data: silent
    with pytest.warns(UserWarning, match=r"sigmoid .* cannot be reconstructed"):
        model.partial_fit(X * 16)  # pixels in 0..16 given to a model of [0, 1]


def test_denoising_scorer_prefers_the_model_trained_for_the_noise(digits):
    X = digits[0]
    base = DenoisingAutoencoder(n_components=16, max_iter=40, tol=None, random_state=0)
    grid = {"noise_level": [0.0, 0.3]}
    by_denoising = GridSearchCV(base, grid, scoring=make_denoising_scorer("gaussian", 0.5), cv=2)
    by_reconstruction = GridSearchCV(base, grid, cv=2)
    assert by_denoising.fit(X).best_params_ == {"noise_level": 0.3}
    assert by_reconstruction.fit(X).best_params_ == {"noise_level": 0.0}


def test_denoising_scorer_draws_the_same_noise_for_every_call(digits):
    X = digits[0][:300]
    model = small(max_iter=3, tol=None).fit(X)
    scorer = make_denoising_scorer("masking", 0.3, random_state=1)
    assert scorer(model, X) == scorer(model, X)
    assert scorer(model, X) != make_denoising_scorer("masking", 0.3, random_state=2)(model, X)


def test_denoising_scorer_refuses_what_cannot_reconstruct(digits):
    X = digits[0][:100]
    pipe = make_pipeline(StandardScaler(), small(max_iter=1, tol=None)).fit(X)
    with pytest.raises(TypeError, match="reconstruct"):
        make_denoising_scorer()(pipe, X)
    with pytest.raises(ValueError, match="noise must be one of"):
        make_denoising_scorer("speckle")
