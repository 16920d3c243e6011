"""What the defaults do: a network sized from the data that starts as PCA on small data,
a held-out check that keeps training only while it helps, a cosine-annealed budget."""

import warnings

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning

from sk_dae import DenoisingAutoencoder
from sk_dae._autoencoder import PCA_START_MAX_ROWS

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize(
    "n_features, n_components, widths",
    [
        (784, 32, [784, 512, 256, 32]),  # images: two layers
        (64, 16, [64, 128, 16]),  # 8x8 digits
        (13, 2, [13, 128, 2]),  # a small table
        (64, 100, [64, 200, 100]),  # an overcomplete code gets room
        (1000, 16, [1000, 512, 256, 16]),  # at most 512 units
    ],
)
def test_auto_hidden_layers_follow_the_data_width(n_features, n_components, widths):
    X = np.random.default_rng(0).random((20, n_features))
    model = DenoisingAutoencoder(n_components=n_components, max_iter=1, random_state=0).fit(X)
    assert model.module_.widths == widths


def test_without_held_out_rows_the_budget_runs_in_full_without_warning(digits):
    X = digits[0][:300]  # nine batches an epoch: the budget's cap of 200 epochs
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = DenoisingAutoencoder(
            n_components=4, hidden_layer_sizes=(16,), early_stopping=False, random_state=0
        )
        model.fit(X)
    assert model.n_iter_ == 200 == len(model.loss_curve_)
    assert model.validation_scores_ is None


def test_the_held_out_check_ends_the_budget_early_without_warning(digits):
    X = digits[0][:300]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = DenoisingAutoencoder(n_components=4, hidden_layer_sizes=(16,), random_state=0)
        model.fit(X)
    assert len(model.validation_scores_) == model.n_iter_ < 200
    # The weights kept are the best epoch's, or the PCA start's when no epoch beat it.
    assert model.best_validation_score_ >= max(model.validation_scores_)


def test_an_explicit_budget_under_the_cosine_schedule_is_run_in_full(digits):
    X = digits[0][:300]
    # An unreachable tol would stop a constant step size after a few epochs ...
    constant = DenoisingAutoencoder(
        n_components=4,
        learning_rate="constant",
        tol=10.0,
        n_iter_no_change=2,
        max_iter=12,
        early_stopping=False,
    ).fit(X)
    assert constant.n_iter_ == 4
    # ... while the cosine schedule is a budget: all epochs run, and no warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        cosine = DenoisingAutoencoder(
            n_components=4, tol=10.0, n_iter_no_change=2, max_iter=12, early_stopping=False
        )
        cosine.fit(X)
    assert cosine.n_iter_ == 12


def test_warm_start_anneals_again_from_the_initial_step(digits):
    X = digits[0][:300]
    model = DenoisingAutoencoder(n_components=4, max_iter=5, warm_start=True, random_state=0)
    model.fit(X)
    weights = model.module_.encoder[0].weight.detach().clone()
    model.fit(X)  # a step size annealed to zero would leave the weights as they were
    assert model.n_iter_ == 10
    assert not np.allclose(model.module_.encoder[0].weight.detach().numpy(), weights.numpy())


def test_a_random_start_outputs_the_mean_row(digits):
    X = digits[0][:300]
    # One step at a tiny rate: the output is still, to within that step, the mean row.
    model = DenoisingAutoencoder(
        n_components=4,
        init="random",
        max_iter=1,
        batch_size=300,
        learning_rate_init=1e-9,
        random_state=0,
    ).fit(X)
    mean = np.clip(X.mean(axis=0), 1e-3, 1 - 1e-3)
    rebuilt = model.reconstruct(X)
    # The hidden units add something, but the mean row dominates: far closer to it than
    # a 0.5 start would be.
    assert np.abs(rebuilt - mean).mean() < 0.2 * np.abs(0.5 - mean).mean()


def _pca_error(X_train, X_test, k):
    pca = PCA(k).fit(X_train)
    return np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2)


def test_the_untrained_network_is_pca(digits):
    X = digits[0][:300]
    model = DenoisingAutoencoder(4, max_iter=1, learning_rate_init=1e-12, random_state=0).fit(X)
    pca = PCA(4).fit(X)
    assert model.output_activation_ == "identity" and model.module_.spec()["linear_path"]
    np.testing.assert_allclose(model.transform(X), pca.transform(X), atol=1e-4)
    np.testing.assert_allclose(
        model.reconstruct(X), pca.inverse_transform(pca.transform(X)), atol=1e-4
    )


@pytest.mark.parametrize("n_rows", [60, 200])
@pytest.mark.parametrize("noise", [0.0, 0.25])
def test_a_default_fit_is_never_worse_than_pca_on_new_rows(digits, n_rows, noise):
    X = digits[0]
    rng = np.random.default_rng(0)
    X_train = X[:n_rows] + noise * rng.standard_normal((n_rows, X.shape[1]))
    X_test = X[1000:1300]
    model = DenoisingAutoencoder(8, random_state=0).fit(X_train)
    dae_error = np.mean((model.reconstruct(X_test) - X_test) ** 2)
    assert dae_error <= 1.001 * _pca_error(X_train, X_test, 8)


def test_a_default_fit_learns_more_than_pca_when_the_rows_allow(digits):
    X = digits[0]
    model = DenoisingAutoencoder(8, random_state=0).fit(X[:1000])
    dae_error = np.mean((model.reconstruct(X[1000:]) - X[1000:]) ** 2)
    assert dae_error < 0.8 * _pca_error(X[:1000], X[1000:], 8)


def test_the_start_follows_the_number_of_rows():
    X = np.random.default_rng(0).random((PCA_START_MAX_ROWS, 6), dtype=np.float32)
    constant = dict(max_iter=1, learning_rate="constant", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # one epoch of a constant step
        few = DenoisingAutoencoder(2, **constant).fit(X[:500])
        many = DenoisingAutoencoder(2, **constant).fit(X)
    assert few.module_.spec()["linear_path"] and few.output_activation_ == "identity"
    assert not many.module_.spec()["linear_path"] and many.output_activation_ == "sigmoid"
    # learning_rate_init="auto": small steps keep a PCA start, larger ones train faster.
    assert few._optimizer.param_groups[0]["lr"] == 1e-3
    assert many._optimizer.param_groups[0]["lr"] == 3e-3


def test_partial_fit_at_the_defaults_holds_nothing_out(digits):
    model = DenoisingAutoencoder(4, random_state=0).partial_fit(digits[0][:300])
    assert model.t_ == 300  # every row trained on
    with pytest.raises(ValueError, match="early_stopping=True"):
        DenoisingAutoencoder(4, early_stopping=True).partial_fit(digits[0][:300])


@pytest.mark.parametrize(
    "params", [dict(tied_weights=True), dict(loss="bce"), dict(output_activation="sigmoid")]
)
def test_what_a_pca_start_cannot_have_starts_at_random_or_is_refused(digits, params):
    X = digits[0][:100]
    auto = DenoisingAutoencoder(2, max_iter=1, random_state=0, **params).fit(X)
    assert not auto.module_.spec()["linear_path"]
    with pytest.raises(ValueError, match="init='pca'"):
        DenoisingAutoencoder(2, init="pca", **params).fit(X)


def test_all_layers_of_a_pca_start_hold_its_codes(digits):
    X = digits[0][:300]
    params = dict(n_components=4, hidden_layer_sizes=(16,), max_iter=3, random_state=0)
    codes = DenoisingAutoencoder(**params).fit(X).transform(X)
    layers = DenoisingAutoencoder(transform_layers="all", **params).fit(X).transform(X)
    assert layers.shape == (300, 16 + 4 + 16)
    np.testing.assert_array_equal(layers[:, 16:20], codes)


def test_a_near_complete_default_fit_learns_to_denoise_without_losing_the_clean_rows(
    digits_split,
):
    # 32 codes of 64 pixels: PCA already reconstructs clean digits well, so a check on
    # clean rows alone kept PCA's weights; the held-out check's corrupted half lets the
    # network learn what it trains for, at a clean error within 1% of PCA's.
    X_train, X_test = digits_split.X_train, digits_split.X_test
    model = DenoisingAutoencoder(32, random_state=0).fit(X_train)
    pca = PCA(32).fit(X_train)
    noisy = np.clip(X_test + np.random.default_rng(0).normal(0, 0.1, X_test.shape), 0, 1)

    def error(rebuilt, target):
        return np.mean((rebuilt - target) ** 2)

    pca_rebuild = lambda X: pca.inverse_transform(pca.transform(X))  # noqa: E731
    assert error(model.reconstruct(noisy), X_test) < 0.9 * error(pca_rebuild(noisy), X_test)
    assert error(model.reconstruct(X_test), X_test) <= 1.01 * error(pca_rebuild(X_test), X_test)
