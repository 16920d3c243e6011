"""What the defaults do: a network sized from the data, a cosine-annealed budget of
epochs run in full, an output that starts at the data's mean."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sk_dae import DenoisingAutoencoder

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


def test_the_default_budget_runs_in_full_without_warning(digits):
    X = digits[0][:300]  # two batches an epoch: the budget's cap of 200 epochs
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = DenoisingAutoencoder(n_components=4, hidden_layer_sizes=(16,), random_state=0)
        model.fit(X)
    assert model.n_iter_ == 200 == len(model.loss_curve_)


def test_an_explicit_budget_under_the_cosine_schedule_is_run_in_full(digits):
    X = digits[0][:300]
    # An unreachable tol would stop a constant step size after a few epochs ...
    constant = DenoisingAutoencoder(
        n_components=4, learning_rate="constant", tol=10.0, n_iter_no_change=2, max_iter=12
    ).fit(X)
    assert constant.n_iter_ == 4
    # ... while the cosine schedule is a budget: all epochs run, and no warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        cosine = DenoisingAutoencoder(n_components=4, tol=10.0, n_iter_no_change=2, max_iter=12)
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


def test_the_untrained_output_is_the_mean_row(digits):
    X = digits[0][:300]
    # One step at a tiny rate: the output is still, to within that step, the mean row.
    model = DenoisingAutoencoder(
        n_components=4, max_iter=1, batch_size=300, learning_rate_init=1e-9, random_state=0
    ).fit(X)
    mean = np.clip(X.mean(axis=0), 1e-3, 1 - 1e-3)
    rebuilt = model.reconstruct(X)
    # The hidden units add something, but the mean row dominates: far closer to it than
    # a 0.5 start would be.
    assert np.abs(rebuilt - mean).mean() < 0.2 * np.abs(0.5 - mean).mean()
